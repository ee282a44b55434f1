"""The regression gate: compare a run with a stored baseline, and update that baseline.

The baseline file (``eval/baseline.json``) maps a run name to an entry::

    {
      "extractive-dev": {
        "mode": "extractive",
        "set": {"path": "eval/sets/aigc-dev-v1.jsonl", "sha256": "…"},
        "judges": [{"name": "lexical", "threshold": 0.5}],
        "subset": null,
        "updated": "2025-01-01T00:00:00+00:00",
        "git_commit": "…",
        "metrics": {"hit@5": {"value": 0.91, "n": 130}, "refusal_f1": {…}, …},
        "items": {"a-001": {"hit@5": true, "key_fact_recall": false, …}, …}
      },
      "local-subset20": {"subset": ["a-003", "b-017", …], …}
    }

``metrics`` holds the headline figures (:data:`eval.metrics.HEADLINE_METRICS`, the citation
ones per judge); ``items`` holds per-item pass/fail flags (:func:`item_flags`) so that a report
or a failing gate can name the items that flipped. ``subset`` is the fixed list of item ids a
run name is restricted to (``null``: the whole set); it is kept across baseline updates.

The gate fails when an invariant is broken, when the run's items are not the baseline's, or
when a headline figure falls more than ``max(2 points, 1/n)`` below the baseline (one item's
worth on a small set). Flipped items are listed either way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.metrics import ItemScores, judge_of
from ingest.errors import WhitepaperError

__all__ = [
    "DEFAULT_BASELINE_PATH",
    "FLAG_METRICS",
    "MIN_TOLERANCE",
    "BaselineError",
    "Flips",
    "GateResult",
    "MetricCheck",
    "baseline_entry",
    "check_gate",
    "compare_flags",
    "item_flags",
    "load_baseline",
    "require_entry",
    "subset_ids",
    "update_baseline",
]

DEFAULT_BASELINE_PATH = Path(__file__).resolve().parent / "baseline.json"
MIN_TOLERANCE = 0.02
"""A headline figure may fall this much (2 points) below the baseline, or 1/n if larger."""

FLAG_METRICS = (
    "hit@1",
    "hit@5",
    "key_fact_recall",
    "refusal_correct",
    "language_match",
    "citation_recall",
    "citation_precision",
)
"""Per-item metrics kept as flags (judged ones per judge); an item passes at full marks."""

_EPS = 1e-9  # a drop of exactly the tolerance passes despite float rounding


class BaselineError(WhitepaperError):
    """The baseline file is unreadable or lacks the requested run."""


@dataclass(frozen=True)
class MetricCheck:
    """One headline figure against the baseline."""

    key: str
    baseline: float
    current: float | None
    tolerance: float
    passed: bool


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict.

    Attributes:
        passed: No failure.
        failures: Why the gate failed, one line each.
        checks: Every headline comparison.
        regressions: Item id -> flags that went from pass to fail.
        improvements: Item id -> flags that went from fail to pass.
        notes: Things worth knowing that do not fail the gate (another set version...).
    """

    passed: bool
    failures: tuple[str, ...]
    checks: tuple[MetricCheck, ...] = ()
    regressions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    improvements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

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


def _base_metric(key: str) -> str:
    judge = judge_of(key)
    return key[: -len(judge) - 2] if judge is not None else key


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
    baseline_items: Mapping[str, Mapping[str, bool]], per_item: Sequence[ItemScores]
) -> Flips:
    """Items whose flags went from pass to fail (regressions) or back (improvements).

    Flags missing on either side (e.g. a judge not run) are not compared.
    """
    regressions: dict[str, tuple[str, ...]] = {}
    improvements: dict[str, tuple[str, ...]] = {}
    for scores in per_item:
        before = baseline_items.get(scores.id)
        if before is None:
            continue
        now = item_flags(scores)
        worse = tuple(k for k, ok in before.items() if ok and now.get(k) is False)
        better = tuple(k for k, ok in before.items() if not ok and now.get(k) is True)
        if worse:
            regressions[scores.id] = worse
        if better:
            improvements[scores.id] = better
    return Flips(regressions, improvements)


def _overall(metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    return metrics["metrics"]["overall"]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def check_gate(
    metrics: Mapping[str, Any],
    per_item: Sequence[ItemScores],
    baseline_entry: Mapping[str, Any],
) -> GateResult:
    """Compare a run with its baseline entry.

    Args:
        metrics: The run's ``metrics.json`` content (``RunResult.metrics``).
        per_item: The run's per-item scores (``RunResult.scores``).
        baseline_entry: One entry of the baseline file.

    Returns:
        A :class:`GateResult` that fails on any broken invariant, a different item set, or a
        headline figure more than ``max(MIN_TOLERANCE, 1/n)`` below the baseline (``n``: the
        items the baseline figure was computed over).
    """
    failures: list[str] = []
    notes: list[str] = []
    for scores in per_item:
        failures += [f"invariant broken in {scores.id}: {v}" for v in scores.violations]

    baseline_ids = set(baseline_entry.get("items", {}))
    current_ids = {s.id for s in per_item}
    if baseline_ids != current_ids:
        missing, extra = sorted(baseline_ids - current_ids), sorted(current_ids - baseline_ids)
        failures.append(
            "the run's items are not the baseline's "
            f"({len(missing)} missing: {', '.join(missing[:5]) or '-'}; "
            f"{len(extra)} extra: {', '.join(extra[:5]) or '-'})"
        )

    overall = _overall(metrics)
    checks: list[MetricCheck] = []
    for key, base in baseline_entry.get("metrics", {}).items():
        if base.get("value") is None:
            continue
        current = overall.get(key, {}).get("value")
        tolerance = max(MIN_TOLERANCE, 1.0 / base["n"]) if base.get("n") else MIN_TOLERANCE
        ok = current is not None and current >= base["value"] - tolerance - _EPS
        checks.append(MetricCheck(key, base["value"], current, tolerance, ok))
        if current is None:
            failures.append(f"{key} is missing from the run (baseline {_pct(base['value'])})")
        elif not ok:
            failures.append(
                f"{key} fell from {_pct(base['value'])} to {_pct(current)} "
                f"(more than the {100 * tolerance:.1f}-point tolerance)"
            )

    if baseline_entry.get("set", {}).get("sha256") not in (None, metrics["set"]["sha256"]):
        notes.append("the eval set file differs from the baseline's")
    if baseline_entry.get("mode") != metrics.get("mode"):
        notes.append(f"mode {metrics.get('mode')!r} vs baseline {baseline_entry.get('mode')!r}")
    flips = compare_flags(baseline_entry.get("items", {}), per_item)
    return GateResult(
        passed=not failures,
        failures=tuple(failures),
        checks=tuple(checks),
        regressions=flips.regressions,
        improvements=flips.improvements,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- baseline file


def load_baseline(path: str | Path = DEFAULT_BASELINE_PATH) -> dict[str, dict[str, Any]]:
    """The baseline file's entries by run name; empty when the file does not exist.

    Raises:
        BaselineError: When the file is not a JSON object.
    """
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise BaselineError(f"{path} should hold a JSON object keyed by run name")
    return data


def require_entry(
    baseline: Mapping[str, Mapping[str, Any]], name: str, path: str | Path = DEFAULT_BASELINE_PATH
) -> Mapping[str, Any]:
    """The entry of run ``name``.

    Raises:
        BaselineError: When there is none, saying how to create it.
    """
    if name not in baseline:
        known = ", ".join(sorted(baseline)) or "none"
        raise BaselineError(
            f"{path} has no baseline for run {name!r} (it has: {known}); "
            "run once with --update-baseline to create it"
        )
    return baseline[name]


def subset_ids(baseline: Mapping[str, Mapping[str, Any]], name: str) -> list[str] | None:
    """The fixed item ids of run ``name``, or ``None`` when it covers the whole set."""
    subset = baseline.get(name, {}).get("subset")
    return list(subset) if subset is not None else None


def baseline_entry(
    metrics: Mapping[str, Any],
    per_item: Sequence[ItemScores],
    *,
    subset: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A baseline entry for a run: its headline figures and per-item flags."""
    overall = _overall(metrics)
    return {
        "mode": metrics.get("mode"),
        "set": dict(metrics["set"]),
        "judges": list(metrics.get("judges", [])),
        "subset": list(subset) if subset is not None else None,
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": metrics.get("git", {}).get("commit"),
        "metrics": {
            key: {"value": overall[key]["value"], "n": overall[key]["n"]}
            for key in metrics["headline"]
            if key in overall
        },
        "items": {s.id: item_flags(s) for s in per_item},
    }


def update_baseline(
    name: str,
    metrics: Mapping[str, Any],
    per_item: Sequence[ItemScores],
    *,
    path: str | Path = DEFAULT_BASELINE_PATH,
    subset: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Write run ``name``'s entry into the baseline file (other entries are kept).

    Only for an explicit ``--update-baseline``. An existing entry's ``subset`` is kept unless
    a new one is given.

    Returns:
        The new entry.
    """
    path = Path(path)
    baseline = load_baseline(path)
    if subset is None:
        subset = subset_ids(baseline, name)
    entry = baseline_entry(metrics, per_item, subset=subset)
    baseline[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(baseline, ensure_ascii=False, indent=2, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")
    return entry
