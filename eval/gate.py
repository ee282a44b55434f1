"""The regression gate: compare a run with a stored baseline (the file: :mod:`eval.baseline`).

The baseline file (``eval/baseline.json`` unless another is given) maps a run name to an
entry::

    {
      "extractive-dev": {
        "format": 2,
        "mode": "extractive",
        "conversation": "both",
        "set": {"path": "eval/sets/aigc-dev-v1.jsonl", "sha256": "…"},
        "judges": [{"name": "lexical", "threshold": 0.7}],
        "subset": null,
        "updated": "2025-01-01T00:00:00+00:00",
        "git_commit": "…",
        "accepted_regression": null,
        "figures": {"hit@5": {"group": "overall", "metric": "hit@5", "value": 0.95, "n": 138},
                    "factual:key_fact_recall": {…}, …},
        "items": {"a-001": {"hit@5": 1.0, "key_fact_recall": 0.5, …}, …},
        "live_items": {"b-070": {…}, …}
      },
      "local-calib60": {"subset": ["a-003", "b-017", …], …}
    }

``figures`` are the gated figures of the run (:func:`gated_figures`); ``items`` hold each
item's values of those metrics (:func:`eval.metrics.item_values`) and ``live_items`` those of
the follow-ups asked live, so the gate can compare item by item and name the items that
flipped. ``subset`` is the fixed list of item ids a run name is restricted to (``null``: the
whole set); it is kept across baseline updates. ``accepted_regression`` holds the reason given
with ``--accept-regression`` (and the gate's failures then) when the entry replaced a baseline
the run did not pass.

**Like with like.** A baseline entry is only compared with a run of the same eval-set file
(sha256), mode, judges (names and thresholds), conversation and entry format; any difference
fails the gate with a message naming it (:func:`identity_differences`). Entries written before
format 2 (no ``format`` field) fail this way and must be re-recorded.

**What is gated.** Overall: hit@5, MRR@10, key-fact recall, refusal recall, false-refusal rate,
language match, answered-with-citation, and citation recall and precision per judge; per item
type and for the live follow-ups: hit@5 and key-fact recall. Refusal F1 is reported, not gated:
its two parts are. A figure fixed by construction is not gated (:data:`FIXED_BY_CONSTRUCTION`):
in extractive mode every answer sentence is a verbatim passage sentence cited to that passage,
and the support checker (the one the assistant checks answers with) accepts a verbatim sentence
of its own passage, so the checker's citation recall and precision are 100% whatever the
change. In the model modes answers are strict by default, so every sentence shown passed the
checker and its citation recall is 100% too. They are still reported; the independent model
judge's figures are gated in every mode.

**Tolerance: a paired, one-sided test over the items.** The run and the baseline score the
same items, so the gate compares them item by item: for each gated figure, ``d_i`` is the
change of item ``i``'s value (sign flipped for lower-is-better figures) over the ``n`` items
scored on both sides, and the gate fails when the mean drop exceeds::

    tolerance = max(1 / n, Z * sd(d) / sqrt(n))        Z = 1.645 (one-sided 95%)

One item's worth of net drop always passes; beyond that, a drop fails unless it is within the
noise of the item-level changes (many items flipping both ways widen the tolerance, items
only getting worse do not: with no item improving, about three items going from pass to fail
fail the gate at any ``n``). The unpaired binomial tolerance ``Z * sqrt(p(1-p)/n)`` was not
chosen: it measures how far the figure could be from a population value, not whether the same
items got worse, and would let key-fact recall over 138 items fall 6 points (20 points on a
20-item subset) without failing.

**Model modes: never below what another CPU build moves.** llama.cpp's kernels differ between
CPU builds (AMX, AVX-512, AVX2 only), and greedy text with them, so in the local and OpenAI
modes a figure's tolerance is at least ``2 * s / sqrt(n)`` (:func:`build_term`), ``s`` being
the RMS per-item change measured between two builds (:data:`CROSS_BUILD_RMS`,
eval/cpu-spread.md). On the 60-item local subset (47–48 answered items) that is 7.3 points
for the citation figures and 8.7 for key-fact recall: a drop of ten answers' support still
fails.

Flipped items (a flag metric of :data:`FLAG_METRICS` going from full marks to less, or back)
are listed either way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.metrics import (
    HEADLINE_METRICS,
    LOWER_IS_BETTER,
    ItemScores,
    item_values,
    judge_of,
    judged,
)
from ingest.errors import WhitepaperError

__all__ = [
    "BUILD_Z",
    "CROSS_BUILD_RMS",
    "DEFAULT_BASELINE_PATH",
    "FIXED_BY_CONSTRUCTION",
    "FLAG_METRICS",
    "GATED_OVERALL",
    "GATED_PER_GROUP",
    "GATE_FORMAT",
    "Z_ONE_SIDED",
    "BaselineError",
    "Flips",
    "GateResult",
    "MetricCheck",
    "build_term",
    "check_gate",
    "compare_flags",
    "gated_figures",
    "identity_differences",
    "item_flags",
    "paired_drop",
]

DEFAULT_BASELINE_PATH = Path(__file__).resolve().parent / "baseline.json"
GATE_FORMAT = 2
"""The entry format this gate writes and compares with (entries without one are format 1)."""

Z_ONE_SIDED = 1.645
"""One-sided 95% normal quantile of the paired tolerance."""

#: Modes whose answers come from llama.cpp or another model: their greedy text differs between
#: CPU builds (AVX-512 with AMX against AVX2 only), so their figures move with no change to
#: the code, and their tolerance is never below what a build change moves (:func:`build_term`).
MODEL_MODES = frozenset({"local", "openai"})

#: RMS per-item change ``s`` of a figure between two CPU builds of llama.cpp (native with AMX
#: against GGML_NATIVE=OFF with AVX2 only), pooled over 60 items and rounded up to cover the
#: largest shift seen: eval/cpu-spread.md. Retrieval and refusals did not move (0 of 48 and
#: 0 of 60 items): they keep only the paired term. The answer-wording figures that were not
#: measured separately (language match, answered with a citation) take the citation figures'
#: value, since they move with the same wording.
CROSS_BUILD_RMS: Mapping[str, float] = {
    "key_fact_recall": 0.30,
    "citation_recall": 0.25,
    "citation_precision": 0.25,
    "language_match": 0.25,
    "answered_with_citation": 0.25,
}
BUILD_Z = 2.0
"""About 95% of build-to-build shifts of a mean over ``n`` items stay within ``2 s / sqrt(n)``."""


def build_term(metric: str, n: int) -> float:
    """What a CPU-build change alone may move a model mode's figure over ``n`` paired items.

    ``2 * s / sqrt(n)`` with ``s`` from :data:`CROSS_BUILD_RMS` (0 for a figure that did not
    move between builds), e.g. 6.9 points for a citation figure over 52 items.
    """
    rms = CROSS_BUILD_RMS.get(metric, 0.0)
    return BUILD_Z * rms / math.sqrt(n) if n and rms else 0.0


GATED_OVERALL = tuple(m for m in HEADLINE_METRICS if m != "refusal_f1")
"""Figures gated over all items: the headline ones but refusal F1 (its two parts are gated);
the citation ones per judge."""

GATED_PER_GROUP = ("hit@5", "key_fact_recall")
"""Figures gated per item type and for the follow-ups asked live."""

FIXED_BY_CONSTRUCTION: Mapping[str, frozenset[str]] = {
    "extractive": frozenset({"citation_recall[checker]", "citation_precision[checker]"}),
    # Strict by default in the model modes: every sentence shown passed the checker.
    "local": frozenset({"citation_recall[checker]"}),
    "openai": frozenset({"citation_recall[checker]"}),
}
"""Mode -> figures that cannot move in that mode (see the module docstring); not gated."""

FLAG_METRICS = (
    "hit@1",
    "hit@5",
    "key_fact_recall",
    "refusal_correct",
    "language_match",
    "answered_with_citation",
    "citation_recall",
    "citation_precision",
)
"""Per-item metrics kept as flags (judged ones per judge); an item passes at full marks."""

_JUDGED = ("citation_recall", "citation_precision")
_LIVE_GROUP = "followup-live"  # eval.runner.LIVE_GROUP; the runner imports nothing from here
_EPS = 1e-9  # a drop of exactly the tolerance passes despite float rounding


class BaselineError(WhitepaperError):
    """The baseline file is unreadable, lacks the requested run, or may not be written."""


@dataclass(frozen=True)
class MetricCheck:
    """One gated figure against the baseline.

    Attributes:
        key: The figure's label: the metric overall, ``group:metric`` in a group.
        baseline: The baseline's figure.
        current: The run's figure (``None``: missing from the run).
        drop: Mean paired drop over the items scored on both sides (positive: worse).
        tolerance: The largest drop that passes (see the module docstring).
        n: Items scored on both sides.
        passed: Within tolerance.
    """

    key: str
    baseline: float
    current: float | None
    drop: float
    tolerance: float
    n: int
    passed: bool


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict.

    Attributes:
        passed: No failure.
        failures: Why the gate failed, one line each.
        checks: Every gated comparison (none when the run is not comparable).
        regressions: Item id -> flags that went from pass to fail (``id (live)`` for a
            follow-up asked live).
        improvements: Item id -> flags that went from fail to pass.
        notes: Things worth knowing that do not fail the gate.
        comparable: The run and the baseline have the same set, mode, judges, conversation
            and format (else ``failures`` says what differs and nothing else is compared).
    """

    passed: bool
    failures: tuple[str, ...]
    checks: tuple[MetricCheck, ...] = ()
    regressions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    improvements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    comparable: bool = True

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = ["gate: PASSED" if self.passed else "gate: FAILED"]
        lines += [f"  - {f}" for f in self.failures]
        lines += [f"  note: {n}" for n in self.notes]
        for title, flips in (("flipped to fail", self.regressions), ("fixed", self.improvements)):
            if flips:
                lines.append(f"  {title}: {len(flips)} item(s)")
                lines += [f"    {i}: {', '.join(flags)}" for i, flags in flips.items()]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The verdict as plain JSON (for ``--json``)."""
        return {
            "passed": self.passed,
            "comparable": self.comparable,
            "failures": list(self.failures),
            "checks": [
                {
                    "key": c.key,
                    "baseline": c.baseline,
                    "current": c.current,
                    "drop": c.drop,
                    "tolerance": c.tolerance,
                    "n": c.n,
                    "passed": c.passed,
                }
                for c in self.checks
            ],
            "regressions": {k: list(v) for k, v in self.regressions.items()},
            "improvements": {k: list(v) for k, v in self.improvements.items()},
            "notes": list(self.notes),
        }


def _base_metric(key: str) -> str:
    judge = judge_of(key)
    return key[: -len(judge) - 2] if judge is not None else key


def _label(group: str, metric: str) -> str:
    return metric if group == "overall" else f"{group}:{metric}"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


# --------------------------------------------------------------------------- what is gated


def gated_figures(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (group, metric) pairs of a run's ``metrics.json`` the gate compares.

    Only figures defined on the run (a value over at least one item) and not fixed by
    construction in its mode (:data:`FIXED_BY_CONSTRUCTION`).
    """
    fixed = FIXED_BY_CONSTRUCTION.get(str(metrics.get("mode")), frozenset())
    judges = [j["name"] for j in metrics.get("judges", [])]
    table = metrics["metrics"]
    wanted: list[tuple[str, str]] = []
    for metric in GATED_OVERALL:
        names = [judged(metric, j) for j in judges] if metric in _JUDGED else [metric]
        wanted += [("overall", name) for name in names if name not in fixed]
    for group in table:
        if group != "overall":
            wanted += [(group, metric) for metric in GATED_PER_GROUP]
    return [(g, m) for g, m in wanted if table.get(g, {}).get(m, {}).get("value") is not None]


def _stored_values(scores: ItemScores) -> dict[str, float]:
    keep = set(GATED_OVERALL) | set(FLAG_METRICS)
    return {k: round(v, 6) for k, v in item_values(scores).items() if _base_metric(k) in keep}


# --------------------------------------------------------------------------- flips


def item_flags(scores: ItemScores) -> dict[str, bool]:
    """Pass/fail flags of one item: ``True`` when a flag metric is at full marks."""
    return {
        key: value >= 1.0 - _EPS
        for key, value in scores.metrics.items()
        if _base_metric(key) in FLAG_METRICS
    }


@dataclass(frozen=True)
class Flips:
    """Items whose flags flipped against a baseline: id -> flag names."""

    regressions: dict[str, tuple[str, ...]]
    improvements: dict[str, tuple[str, ...]]


def compare_flags(
    baseline_items: Mapping[str, Mapping[str, Any]],
    per_item: Sequence[ItemScores],
    *,
    suffix: str = "",
) -> Flips:
    """Items whose flags went from pass to fail (regressions) or back (improvements).

    ``baseline_items`` holds per-item values (or the flags of a format-1 entry); a value
    passes at full marks. Flags missing on either side (e.g. a judge not run) are not
    compared. ``suffix`` is appended to the item ids (`` (live)``).
    """
    regressions: dict[str, tuple[str, ...]] = {}
    improvements: dict[str, tuple[str, ...]] = {}
    for scores in per_item:
        before = baseline_items.get(scores.id)
        if before is None:
            continue
        was = {
            k: float(v) >= 1.0 - _EPS for k, v in before.items() if _base_metric(k) in FLAG_METRICS
        }
        now = item_flags(scores)
        worse = tuple(k for k, ok in was.items() if ok and now.get(k) is False)
        better = tuple(k for k, ok in was.items() if not ok and now.get(k) is True)
        if worse:
            regressions[scores.id + suffix] = worse
        if better:
            improvements[scores.id + suffix] = better
    return Flips(regressions, improvements)


# --------------------------------------------------------------------------- comparison


def _judges_text(judges: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(f"{j.get('name')}@{j.get('threshold')}" for j in judges) or "none"


def identity_differences(entry: Mapping[str, Any], run: Mapping[str, Any]) -> list[str]:
    """How a run differs from a baseline entry in what makes them comparable.

    Args:
        entry: A baseline entry.
        run: The run's ``metrics.json`` or ``run.json`` (:func:`eval.runner.run_manifest`).

    Returns:
        One phrase per difference (empty when the two are comparable): entry format, eval-set
        sha256, mode, judges (names and thresholds), conversation.
    """
    differences: list[str] = []
    if entry.get("format", 1) != GATE_FORMAT:
        differences.append(
            f"the entry was recorded by an older gate (format {entry.get('format', 1)}; this "
            f"gate compares format {GATE_FORMAT}, with per-item values and per-type figures)"
        )
    base_sha = entry.get("set", {}).get("sha256")
    run_sha = run.get("set", {}).get("sha256")
    if base_sha != run_sha:
        differences.append(
            f"eval set sha256 {str(run_sha)[:12]}… vs the baseline's {str(base_sha)[:12]}… "
            f"({run.get('set', {}).get('path')} vs {entry.get('set', {}).get('path')})"
        )
    if entry.get("mode") != run.get("mode"):
        differences.append(f"mode {run.get('mode')!r} vs the baseline's {entry.get('mode')!r}")
    base_judges = [
        {"name": j.get("name"), "threshold": j.get("threshold")} for j in entry.get("judges", [])
    ]
    run_judges = [
        {"name": j.get("name"), "threshold": j.get("threshold")} for j in run.get("judges", [])
    ]
    if base_judges != run_judges:
        differences.append(
            f"judges {_judges_text(run_judges)} vs the baseline's {_judges_text(base_judges)}"
        )
    if entry.get("format", 1) == GATE_FORMAT and entry.get("conversation") != run.get(
        "conversation", "reference"
    ):
        differences.append(
            f"conversation {run.get('conversation', 'reference')!r} vs the baseline's "
            f"{entry.get('conversation')!r}"
        )
    return differences


def paired_drop(
    before: Sequence[float], after: Sequence[float], *, lower_is_better: bool = False
) -> tuple[float, float]:
    """Mean drop of paired per-item values and the tolerance it must stay within.

    Returns:
        ``(drop, tolerance)``: ``drop`` is the mean of ``before - after`` (``after - before``
        when lower is better), positive when worse; ``tolerance`` is
        ``max(1/n, Z_ONE_SIDED * sd / sqrt(n))`` with ``sd`` the sample standard deviation of
        the per-item drops.
    """
    n = len(before)
    if n == 0:
        return 0.0, 0.0
    sign = -1.0 if lower_is_better else 1.0
    drops = [sign * (b - a) for b, a in zip(before, after, strict=True)]
    mean = sum(drops) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in drops) / (n - 1)) if n > 1 else 0.0
    return mean, max(1.0 / n, Z_ONE_SIDED * sd / math.sqrt(n))


def _members(
    group: str, per_item: Sequence[ItemScores], live: Sequence[ItemScores]
) -> list[ItemScores]:
    if group == "overall":
        return list(per_item)
    if group == _LIVE_GROUP:
        return list(live)
    return [s for s in per_item if s.type == group]


def _check(
    label: str,
    figure: Mapping[str, Any],
    current: float | None,
    base_items: Mapping[str, Mapping[str, Any]],
    members: Sequence[ItemScores],
    model_mode: bool = False,
) -> MetricCheck:
    metric = figure["metric"]
    before: list[float] = []
    after: list[float] = []
    for scores in members:
        now = item_values(scores).get(metric)
        was = base_items.get(scores.id, {}).get(metric)
        if now is not None and was is not None:
            before.append(float(was))
            after.append(now)
    drop, tolerance = paired_drop(before, after, lower_is_better=metric in LOWER_IS_BETTER)
    if model_mode:
        tolerance = max(tolerance, build_term(metric, len(before)))
    passed = current is not None and bool(before) and drop <= tolerance + _EPS
    return MetricCheck(label, figure["value"], current, drop, tolerance, len(before), passed)


def check_gate(
    metrics: Mapping[str, Any],
    per_item: Sequence[ItemScores],
    baseline_entry: Mapping[str, Any],
    *,
    live_scores: Sequence[ItemScores] = (),
) -> GateResult:
    """Compare a run with its baseline entry.

    Args:
        metrics: The run's ``metrics.json`` content (``RunResult.metrics``).
        per_item: The run's per-item scores (``RunResult.scores``).
        baseline_entry: One entry of the baseline file.
        live_scores: The scores of the follow-ups asked live (``RunResult.live_scores``).

    Returns:
        A :class:`GateResult` that fails when the run is not comparable with the entry (and
        then compares nothing else), on any broken invariant, on a different item set, or
        when a gated figure drops beyond its paired tolerance (see the module docstring).
    """
    differences = identity_differences(baseline_entry, metrics)
    if differences:
        return GateResult(
            passed=False,
            failures=tuple(f"not comparable with the baseline: {d}" for d in differences),
            comparable=False,
        )
    failures: list[str] = []
    notes: list[str] = []
    for scores in per_item:
        failures += [f"invariant broken in {scores.id}: {v}" for v in scores.violations]

    model_mode = baseline_entry.get("mode") in MODEL_MODES
    baseline_ids = set(baseline_entry.get("items", {}))
    current_ids = {s.id for s in per_item}
    if baseline_ids != current_ids:
        missing, extra = sorted(baseline_ids - current_ids), sorted(current_ids - baseline_ids)
        failures.append(
            "the run's items are not the baseline's "
            f"({len(missing)} missing: {', '.join(missing[:5]) or '-'}; "
            f"{len(extra)} extra: {', '.join(extra[:5]) or '-'})"
        )

    table = metrics["metrics"]
    checks: list[MetricCheck] = []
    for label, figure in baseline_entry.get("figures", {}).items():
        group, metric = figure["group"], figure["metric"]
        current = table.get(group, {}).get(metric, {}).get("value")
        base_items = baseline_entry.get("live_items" if group == _LIVE_GROUP else "items", {})
        check = _check(
            label, figure, current, base_items, _members(group, per_item, live_scores), model_mode
        )
        checks.append(check)
        if current is None or check.n == 0:
            failures.append(f"{label} is missing from the run (baseline {_pct(figure['value'])})")
        elif not check.passed:
            verb = "rose" if metric in LOWER_IS_BETTER else "fell"
            failures.append(
                f"{label} {verb} from {_pct(figure['value'])} to {_pct(current)}: a paired drop "
                f"of {100 * check.drop:.1f} points over {check.n} items, more than the "
                f"{100 * check.tolerance:.1f}-point tolerance"
            )
    new = sorted(
        {_label(g, m) for g, m in gated_figures(metrics)} - set(baseline_entry.get("figures", {}))
    )
    if new:
        notes.append(f"not in the baseline, so not gated: {', '.join(new)}")
    if baseline_entry.get("accepted_regression"):
        reason = baseline_entry["accepted_regression"].get("reason")
        notes.append(f"the baseline was recorded over a failing gate: {reason!r}")

    flips = compare_flags(baseline_entry.get("items", {}), per_item)
    live_flips = compare_flags(baseline_entry.get("live_items", {}), live_scores, suffix=" (live)")
    return GateResult(
        passed=not failures,
        failures=tuple(failures),
        checks=tuple(checks),
        regressions={**flips.regressions, **live_flips.regressions},
        improvements={**flips.improvements, **live_flips.improvements},
        notes=tuple(notes),
    )
