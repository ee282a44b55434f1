"""The baseline file: read it, find a run's entry, write a run as the new entry.

The entry format and the rules for comparing a run with it are :mod:`eval.gate`'s; this module
only moves entries between runs and the file (``eval/baseline.json`` unless another is given).
An update replaces the file in one rename, so a crash never leaves it torn.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.gate import (
    DEFAULT_BASELINE_PATH,
    GATE_FORMAT,
    BaselineError,
    GateResult,
    _label,
    _stored_values,
    gated_figures,
)
from eval.metrics import ItemScores

__all__ = ["baseline_entry", "load_baseline", "require_entry", "subset_ids", "update_baseline"]


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
    live_scores: Sequence[ItemScores] = (),
    accepted_regression: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A baseline entry for a run: its identity, gated figures and per-item values."""
    table = metrics["metrics"]
    return {
        "format": GATE_FORMAT,
        "mode": metrics.get("mode"),
        "conversation": metrics.get("conversation", "reference"),
        "set": dict(metrics["set"]),
        "judges": list(metrics.get("judges", [])),
        "subset": list(subset) if subset is not None else None,
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": metrics.get("git", {}).get("commit"),
        "accepted_regression": dict(accepted_regression) if accepted_regression else None,
        "figures": {
            _label(group, metric): {
                "group": group,
                "metric": metric,
                "value": table[group][metric]["value"],
                "n": table[group][metric]["n"],
            }
            for group, metric in gated_figures(metrics)
        },
        "items": {s.id: _stored_values(s) for s in per_item},
        "live_items": {s.id: _stored_values(s) for s in live_scores},
    }


def update_baseline(
    name: str,
    metrics: Mapping[str, Any],
    per_item: Sequence[ItemScores],
    *,
    path: str | Path = DEFAULT_BASELINE_PATH,
    subset: Sequence[str] | None = None,
    live_scores: Sequence[ItemScores] = (),
    verdict: GateResult | None = None,
    accept_regression: str | None = None,
) -> dict[str, Any]:
    """Write run ``name``'s entry into the baseline file (other entries are kept).

    Only for an explicit ``--update-baseline``. An existing entry's ``subset`` is kept unless
    a new one is given.

    Args:
        verdict: The gate's verdict on this run against the current entry (``None`` when
            there is no entry yet).
        accept_regression: Why a failing verdict is accepted; stored in the entry.

    Returns:
        The new entry.

    Raises:
        BaselineError: When the verdict failed and no reason was given: nothing is written.
    """
    path = Path(path)
    if verdict is not None and not verdict.passed and not (accept_regression or "").strip():
        raise BaselineError(
            f"the gate failed, so baseline {name!r} in {path} was not updated; to record this "
            'run anyway, give the reason: --update-baseline --accept-regression "WHY"'
        )
    baseline = load_baseline(path)
    if subset is None:
        subset = subset_ids(baseline, name)
    accepted = None
    # The reason is kept only where the run did not pass the entry it replaces (a failing or
    # not comparable gate); over a passing gate there was nothing to accept.
    if accept_regression and (verdict is None or not verdict.passed):
        accepted = {
            "reason": accept_regression.strip(),
            "failures": list(verdict.failures) if verdict is not None else [],
        }
    entry = baseline_entry(
        metrics, per_item, subset=subset, live_scores=live_scores, accepted_regression=accepted
    )
    baseline[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(baseline, ensure_ascii=False, indent=2, sort_keys=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, path)  # a crash mid-write never leaves a torn baseline
    return entry
