"""A Markdown report with PNG charts for one run folder written by :mod:`eval.runner`.

``write_report(run_dir, baseline)`` writes into the run folder:

* ``report.md`` — run facts, headline metrics with 95% intervals (and the baseline's figures,
  and whether each is gated), the headline figures per split of the set with the calib–test
  gap, follow-ups asked with the reference history and live, the gate's checks, broken
  invariants, every metric by type, latencies, the trend, items that flipped against the
  baseline, retrieval misses and wrong refusals;
* ``by_type.png`` — key metrics by item type (bars with interval whiskers);
* ``latency.png`` — histograms of total and first-token latency;
* ``trend.png`` — headline metrics over the earlier comparable runs in the history (same mode,
  eval-set sha256 and number of items).

Charts are drawn with matplotlib's object API on the Agg canvas: no pyplot state, no display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.gate import FIXED_BY_CONSTRUCTION, GateResult, compare_flags, gated_figures
from eval.metrics import judge_of
from eval.runner import LIVE_GROUP, RunResult, load_history, load_run

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["BY_TYPE_PNG", "LATENCY_PNG", "REPORT_FILE", "TREND_PNG", "write_report"]

REPORT_FILE = "report.md"
BY_TYPE_PNG = "by_type.png"
LATENCY_PNG = "latency.png"
TREND_PNG = "trend.png"

_BY_TYPE_METRICS = ("hit@5", "mrr@10", "key_fact_recall", "refusal_correct", "language_match")
_JUDGED_BY_TYPE = ("citation_recall", "citation_precision")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _interval(entry: Mapping[str, Any]) -> str:
    if entry.get("low") is None:
        return "—"
    return f"{_pct(entry['low'])}–{_pct(entry['high'])}"


def _cell(text: str, limit: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- charts


def _chart_keys(metrics: Mapping[str, Any]) -> list[str]:
    overall = metrics["metrics"]["overall"]
    keys = [k for k in _BY_TYPE_METRICS if k in overall]
    for key in overall:
        judge = judge_of(key)
        if judge is not None and key[: -len(judge) - 2] in _JUDGED_BY_TYPE:
            keys.append(key)
    return keys


def _plot_by_type(metrics: Mapping[str, Any], path: Path) -> None:
    keys = _chart_keys(metrics)
    groups = list(metrics["metrics"])  # "overall" first, then the types
    fig = _figure(max(6.0, 1.4 * len(keys) + 2), 4.5)
    ax = fig.subplots()
    width = 0.8 / max(1, len(groups))
    for gi, group in enumerate(groups):
        table = metrics["metrics"][group]
        xs: list[float] = []
        values: list[float] = []
        errors: tuple[list[float], list[float]] = ([], [])
        for ki, key in enumerate(keys):
            entry = table.get(key, {})
            if entry.get("value") is None:
                continue
            xs.append(ki + (gi - (len(groups) - 1) / 2) * width)
            values.append(entry["value"])
            low = entry["low"] if entry.get("low") is not None else entry["value"]
            high = entry["high"] if entry.get("high") is not None else entry["value"]
            errors[0].append(max(0.0, entry["value"] - low))
            errors[1].append(max(0.0, high - entry["value"]))
        ax.bar(xs, values, width, yerr=errors, capsize=2, label=group)
    ax.set_xticks(range(len(keys)), keys, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (95% interval)")
    ax.set_title("Metrics by item type", loc="left")
    fig.legend(loc="outside upper center", fontsize="small", ncols=len(groups))
    fig.savefig(path)


def _plot_latency(records: Sequence[Mapping[str, Any]], path: Path) -> None:
    fig = _figure(9, 3.5)
    axes = fig.subplots(1, 2)
    for ax, key, title in zip(
        axes, ("total_ms", "first_token_ms"), ("Total", "First token"), strict=True
    ):
        values = [r["timings"][key] / 1000 for r in records if r["timings"].get(key) is not None]
        if values:
            ax.hist(values, bins=min(30, max(5, len(values) // 4)))
        else:
            ax.text(0.5, 0.5, "no timings", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"{title} latency (n={len(values)})")
        ax.set_xlabel("seconds")
        ax.set_ylabel("items")
    fig.savefig(path)


def _comparable_history(run: RunResult) -> list[dict[str, Any]]:
    m = run.metrics
    return [
        h
        for h in load_history(run.out_dir)
        if h.get("mode") == m["mode"]
        and h.get("set_sha256") == m["set"]["sha256"]
        and h.get("n_items") == m["n_items"]
    ]


def _plot_trend(history: Sequence[Mapping[str, Any]], keys: Sequence[str], path: Path) -> None:
    fig = _figure(8, 4)
    ax = fig.subplots()
    xs = list(range(1, len(history) + 1))
    for key in keys:
        ys = [h["headline"].get(key) for h in history]
        points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=key)
    if not history:
        ax.text(0.5, 0.5, "no earlier runs", ha="center", va="center", transform=ax.transAxes)
    labels = [
        f"{str(h.get('timestamp', ''))[5:16].replace('T', ' ')}\n{(h.get('git_commit') or '')[:7]}"
        for h in history
    ]
    ax.set_xticks(xs, labels, fontsize="small")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("run")
    ax.set_title(f"Headline metrics over {len(history)} comparable run(s)")
    if any(ax.get_lines()):
        ax.legend(fontsize="small", loc="lower left")
    fig.savefig(path)


# --------------------------------------------------------------------------- markdown


def _facts(m: Mapping[str, Any]) -> list[str]:
    modes = ", ".join(f"{k} × {v}" for k, v in m.get("answer_modes", {}).items()) or "—"
    judges = ", ".join(f"{j['name']} (threshold {j['threshold']})" for j in m["judges"]) or "none"
    git = m.get("git", {})
    commit = (git.get("commit") or "unknown")[:12] + (" (dirty)" if git.get("dirty") else "")
    sha = m["set"]["sha256"][:12]
    where = f"`{m['set']['path']}`" if m["set"]["path"] else "items given directly"
    return [
        "| | |",
        "|---|---|",
        f"| Mode | requested `{m['mode']}`; answers: {modes} |",
        f"| Eval set | {where} (sha256 `{sha}…`), {m['n_items']} items |",
        f"| Judges | {judges} |",
        f"| Run | {m['timestamp']}, commit `{commit}` |",
    ]


def _gated_text(m: Mapping[str, Any], key: str, gated: set[str]) -> str:
    if key in gated:
        return "yes"
    if key in FIXED_BY_CONSTRUCTION.get(str(m.get("mode")), frozenset()):
        return "no: 100 by construction"
    return "no"


def _headline(m: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> list[str]:
    overall = m["metrics"]["overall"]
    gated = {key for group, key in gated_figures(m) if group == "overall"}
    lines = [
        "| Metric | Value | 95% interval | n | Baseline | Δ points | Gated |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    base_figures = (baseline or {}).get("figures", {})
    for key in m["headline"]:
        entry = overall.get(key, {"value": None, "n": 0})
        base = base_figures.get(key, {}).get("value")
        delta = "—"
        if base is not None and entry.get("value") is not None:
            delta = f"{100 * (entry['value'] - base):+.1f}"
        lines.append(
            f"| {key} | {_pct(entry.get('value'))} | {_interval(entry)} | {entry.get('n', 0)} "
            f"| {_pct(base)} | {delta} | {_gated_text(m, key, gated)} |"
        )
    return lines


def _splits(m: Mapping[str, Any]) -> list[str]:
    splits = m.get("splits", {})
    if not splits:
        return ["The eval set has no calib/test split."]
    names = [s for s in ("calib", "test") if s in splits]
    gap = m.get("split_gap", {})
    header = "| Metric | " + " | ".join(f"{s} (95% interval, n)" for s in names)
    lines = [header + (" | calib − test |" if gap else " |")]
    lines.append("|---|" + "---:|" * (len(names) + (1 if gap else 0)))
    for key in m["headline"]:
        cells = []
        for split in names:
            entry = splits[split].get(key, {})
            cells.append(f"{_pct(entry.get('value'))} ({_interval(entry)}, {entry.get('n', 0)})")
        if gap:
            value = gap.get(key)
            cells.append("—" if value is None else f"{100 * value:+.1f}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Nothing may be tuned on the test split; a large calib − test gap means a tuned value "
        "fits the calibration items rather than the paper.",
    ]
    return lines


def _followups(m: Mapping[str, Any]) -> list[str]:
    table = m["metrics"]
    if LIVE_GROUP not in table or "followup" not in table:
        how = m.get("conversation", "reference")
        return [f"Follow-ups were asked with the {how} history only."]
    lines = [
        "| Metric | reference history | live history | Δ points |",
        "|---|---:|---:|---:|",
    ]
    for key in table["followup"]:
        ref, live = table["followup"][key], table[LIVE_GROUP].get(key, {})
        if ref.get("value") is None and live.get("value") is None:
            continue
        delta = "—"
        if ref.get("value") is not None and live.get("value") is not None:
            delta = f"{100 * (live['value'] - ref['value']):+.1f}"
        lines.append(
            f"| {key} | {_pct(ref.get('value'))} (n={ref.get('n', 0)}) "
            f"| {_pct(live.get('value'))} (n={live.get('n', 0)}) | {delta} |"
        )
    lines += [
        "",
        "Reference: the history's assistant turns are the set's reference answers. Live: the "
        "history's questions were asked in order and the assistant's own answers became the "
        "history, as in a real conversation.",
    ]
    return lines


def _gate(verdict: GateResult | None) -> list[str]:
    if verdict is None:
        return ["Not gated."]
    lines = [f"**{'PASSED' if verdict.passed else 'FAILED'}**"]
    items = [f"- {f}" for f in verdict.failures] + [f"- note: {n}" for n in verdict.notes]
    lines += ["", *items] if items else []
    if verdict.checks:
        lines += [
            "",
            "| Figure | Baseline | Now | Paired drop | Tolerance | n | |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        lines += [
            f"| {c.key} | {_pct(c.baseline)} | {_pct(c.current)} | {100 * c.drop:+.1f} "
            f"| {100 * c.tolerance:.1f} | {c.n} | {'ok' if c.passed else '**fail**'} |"
            for c in verdict.checks
        ]
        lines += [
            "",
            "Paired drop: the mean per-item loss over the items scored on both sides, in points; "
            "tolerance max(1/n, 1.645·sd/√n) (see `eval/gate.py`).",
        ]
    return lines


def _by_type_table(m: Mapping[str, Any]) -> list[str]:
    groups = list(m["metrics"])
    lines = [
        "| Metric | " + " | ".join(groups) + " |",
        "|---|" + "---:|" * len(groups),
    ]
    for key in m["metrics"]["overall"]:
        cells = []
        for group in groups:
            entry = m["metrics"][group].get(key, {})
            value = entry.get("value")
            cells.append("—" if value is None else f"{_pct(value)} (n={entry['n']})")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return lines


def _latency_table(m: Mapping[str, Any]) -> list[str]:
    lines = ["| Timing | n | mean | p50 | p90 | max |", "|---|---:|---:|---:|---:|---:|"]
    for key, stats in m.get("latency_ms", {}).items():
        cells = [
            "—" if stats[s] is None else f"{stats[s]:.0f} ms" for s in ("mean", "p50", "p90", "max")
        ]
        lines.append(f"| {key} | {stats['n']} | " + " | ".join(cells) + " |")
    return lines


def _flip_table(flips: Mapping[str, Sequence[str]], records: Mapping[str, Any]) -> list[str]:
    lines = ["| Item | Type | Flags | Question |", "|---|---|---|---|"]
    for item_id, flags in flips.items():
        r = records[item_id.removesuffix(" (live)")]
        lines.append(f"| {item_id} | {r['type']} | {', '.join(flags)} | {_cell(r['question'])} |")
    return lines


def _flips(run: RunResult, baseline: Mapping[str, Any] | None) -> list[str]:
    if baseline is None:
        return ["No baseline given."]
    flips = compare_flags(baseline.get("items", {}), run.scores)
    live = compare_flags(baseline.get("live_items", {}), run.live_scores, suffix=" (live)")
    flips.regressions.update(live.regressions)
    flips.improvements.update(live.improvements)
    records = {r["id"]: r for r in run.records}
    commit = (baseline.get("git_commit") or "unknown")[:12]
    lines = [f"Baseline of {baseline.get('updated', '?')}, commit `{commit}`."]
    for title, table in (
        ("Pass → fail", flips.regressions),
        ("Fail → pass", flips.improvements),
    ):
        lines += ["", f"### {title} ({len(table)})", ""]
        lines += _flip_table(table, records) if table else ["None."]
    return lines


def _misses(run: RunResult) -> list[str]:
    records = {r["id"]: r for r in run.records}
    retrieval = [s for s in run.scores if s.metrics.get("hit@5") == 0.0]
    refusals = [s for s in run.scores if s.metrics.get("refusal_correct") == 0.0]
    lines = [f"### Retrieval misses: no evidence in the top 5 ({len(retrieval)})", ""]
    if retrieval:
        lines += ["| Item | Type | Question |", "|---|---|---|"]
        lines += [f"| {s.id} | {s.type} | {_cell(records[s.id]['question'])} |" for s in retrieval]
    else:
        lines.append("None.")
    lines += ["", f"### Wrong refusals ({len(refusals)})", ""]
    if refusals:
        lines += ["| Item | Type | Should refuse | Answer |", "|---|---|---|---|"]
        lines += [
            f"| {s.id} | {s.type} | {'yes' if s.should_refuse else 'no'} "
            f"| {_cell(records[s.id]['answer'])} |"
            for s in refusals
        ]
    else:
        lines.append("None.")
    return lines


def _removed(run: RunResult) -> list[str]:
    """The sentences strict checking took out, by item; the items whose answer became quotes."""
    rows = [r for r in run.records if r.get("removed_sentences")]
    fallbacks = sum(1 for r in run.records if r.get("fallback"))
    answered = sum(1 for r in run.records if not r.get("refused"))
    removed = sum(len(r["removed_sentences"]) for r in rows)
    lines = [
        f"{removed} sentence(s) removed from {len(rows)} answer(s); {fallbacks} of {answered} "
        "answered item(s) fell back to quotes (nothing the model wrote passed the check).",
        "",
    ]
    if rows:
        lines += ["| Item | Type | Quotes | Removed |", "|---|---|---|---|"]
        lines += [
            f"| {r['id']} | {r['type']} | {'yes' if r.get('fallback') else 'no'} "
            f"| {_cell(' / '.join(r['removed_sentences']), 160)} |"
            for r in rows
        ]
    return lines


def judge_disagreements(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Answer sentences that one judge accepts and another rejects (the production checker
    against the independent model judge, in local runs): item, sentence, who rejected it."""
    out = []
    for record in records:
        details = record.get("scores", {}).get("details", {})
        rejected = {
            key[len("unsupported_sentences[") : -1]: set(value)
            for key, value in details.items()
            if key.startswith("unsupported_sentences[")
        }
        if len(rejected) < 2:
            continue
        judges = sorted(rejected)
        sentences = record.get("sentences", [])
        every = set().union(*rejected.values())
        for index in sorted(every):
            by = [j for j in judges if index in rejected[j]]
            if len(by) == len(judges) or index >= len(sentences):
                continue
            out.append(
                {
                    "id": record["id"],
                    "sentence": sentences[index]["text"],
                    "rejected_by": by,
                    "accepted_by": [j for j in judges if j not in by],
                }
            )
    return out


def _disagreements(run: RunResult) -> list[str]:
    rows = judge_disagreements(run.records)
    if not rows:
        return ["None (or only one judge in this run)."]
    lines = ["| Item | Sentence | Rejected by | Accepted by |", "|---|---|---|---|"]
    lines += [
        f"| {r['id']} | {_cell(r['sentence'])} | {', '.join(r['rejected_by'])} "
        f"| {', '.join(r['accepted_by'])} |"
        for r in rows
    ]
    return lines


def write_report(
    run_dir: str | Path,
    baseline: Mapping[str, Any] | None = None,
    verdict: GateResult | None = None,
) -> Path:
    """Write ``report.md`` and its charts into a finished run folder.

    Args:
        run_dir: A folder written by :func:`eval.runner.run_eval`.
        baseline: The baseline entry of this run's name (see :mod:`eval.gate`), comparable
            with the run, for the baseline column and the flipped items; ``None`` for neither.
        verdict: The gate's verdict, for its checks; ``None`` when not gated.

    Returns:
        The path of ``report.md``.

    Raises:
        eval.runner.EvalRunError: When the folder holds no finished run.
    """
    run = load_run(run_dir)
    out = Path(run_dir)
    m = run.metrics
    history = _comparable_history(run)
    _plot_by_type(m, out / BY_TYPE_PNG)
    _plot_latency(run.records, out / LATENCY_PNG)
    _plot_trend(history, m["headline"], out / TREND_PNG)

    violations = m.get("violations", {})
    lines = [f"# Eval report: {m['name']}", "", *_facts(m), "", "## Headline metrics", ""]
    lines += _headline(m, baseline)
    lines += ["", "Values and intervals in percent (bootstrap 95% percentile interval).", ""]
    lines += ["## Calibration and test splits", "", *_splits(m), ""]
    lines += ["## Follow-ups: reference and live history", "", *_followups(m), ""]
    lines += ["## Gate", "", *_gate(verdict), ""]
    lines += [f"## Broken invariants ({sum(len(v) for v in violations.values())})", ""]
    lines += [f"- {i}: {v}" for i, vs in violations.items() for v in vs] or ["None."]
    lines += ["", "## Metrics by type", "", f"![Metrics by type]({BY_TYPE_PNG})", ""]
    lines += _by_type_table(m)
    lines += ["", "## Latency", "", f"![Latency]({LATENCY_PNG})", ""]
    lines += _latency_table(m)
    lines += ["", "## Trend", "", f"![Trend]({TREND_PNG})", ""]
    lines += [f"{len(history)} comparable run(s) in `{m['name']}`'s history folder."]
    lines += ["", "## Flipped against the baseline", ""]
    lines += _flips(run, baseline)
    lines += ["", "## Misses", ""]
    lines += _misses(run)
    lines += ["", "## Removed by strict checking", ""]
    lines += _removed(run)
    lines += ["", "## Sentences the judges disagree on", ""]
    lines += _disagreements(run)
    path = out / REPORT_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
