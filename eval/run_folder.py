"""What a run folder holds beside its results: ``run.json`` (what the run is), ``metrics.json``
(the aggregated figures) and the ``history.jsonl`` trend in the folder's parent."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.types import SupportJudge
from eval.dataset import EvalItem, dump_eval_set
from eval.metrics import (
    ItemScores,
    aggregate,
    aggregate_splits,
    headline_keys,
    judge_of,
)
from eval.run_records import Conversation, _live_scores_of

RESULTS_FILE = "results.jsonl"
METRICS_FILE = "metrics.json"
MANIFEST_FILE = "run.json"
HISTORY_FILE = "history.jsonl"

LIVE_GROUP = "followup-live"
"""The ``metrics.json`` group of the follow-ups asked live when a run asks them both ways."""

_REPO_ROOT = Path(__file__).resolve().parent.parent


def history_path(run_dir: str | Path) -> Path:
    """Where the runs next to ``run_dir`` record their headline figures, one line per run."""
    return Path(run_dir).resolve().parent / HISTORY_FILE


# --------------------------------------------------------------------------- run identity


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _judge_json(judges: Sequence[SupportJudge]) -> list[dict[str, Any]]:
    return [{"name": j.name, "threshold": j.threshold} for j in judges]


def run_manifest(
    items: Sequence[EvalItem],
    set_path: str | Path | None,
    mode: str | None,
    judges: Sequence[SupportJudge],
    conversation: Conversation = "reference",
) -> dict[str, Any]:
    """What identifies a run: the eval set's path and sha256 (of the file, else of the items),
    the items' own sha256, the mode, the judges with their thresholds and the conversation.

    Written as ``run.json`` and copied into ``metrics.json``; the gate compares it with the
    baseline entry before anything else.
    """
    items_sha = _sha256(dump_eval_set(items).encode("utf-8"))
    file_sha = _sha256(Path(set_path).read_bytes()) if set_path is not None else items_sha
    return {
        "set": {"path": str(set_path) if set_path is not None else None, "sha256": file_sha},
        "items_sha256": items_sha,
        "mode": mode,
        "judges": _judge_json(judges),
        "conversation": conversation,
    }


def _same_run(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    differences = []
    if old.get("items_sha256") != new["items_sha256"]:
        differences.append("eval set")
    if old.get("mode") != new["mode"]:
        differences.append(f"mode ({old.get('mode')!r} vs {new['mode']!r})")
    if old.get("judges") != new["judges"]:
        differences.append("judges")
    if old.get("conversation", "reference") != new["conversation"]:
        differences.append(
            f"conversation ({old.get('conversation', 'reference')!r} vs {new['conversation']!r})"
        )
    return differences


def _git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


# --------------------------------------------------------------------------- metrics.json


def _latency(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | int | None]]:
    out: dict[str, dict[str, float | int | None]] = {}
    for key in ("retrieve_ms", "first_token_ms", "total_ms"):
        values = np.array(
            [r["timings"][key] for r in records if r["timings"].get(key) is not None], dtype=float
        )
        if values.size == 0:
            out[key] = {"n": 0, "mean": None, "p50": None, "p90": None, "max": None}
            continue
        out[key] = {
            "n": int(values.size),
            "mean": float(values.mean()),
            "p50": float(np.percentile(values, 50)),
            "p90": float(np.percentile(values, 90)),
            "max": float(values.max()),
        }
    return out


def _estimates_json(estimates: Mapping[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for key, estimate in estimates.items():
        entry = estimate.to_json()
        if judge_of(key) is not None:
            entry["judge"] = judge_of(key)
        table[key] = entry
    return table


def _split_gap(splits: Mapping[str, Mapping[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """Calib minus test of each headline figure defined on both splits."""
    if set(splits) != {"calib", "test"}:
        return {}
    gap: dict[str, Any] = {}
    for key in keys:
        calib = splits["calib"].get(key, {}).get("value")
        test = splits["test"].get(key, {}).get("value")
        gap[key] = None if calib is None or test is None else calib - test
    return gap


def _metrics_json(
    name: str,
    manifest: Mapping[str, Any],
    scores: Sequence[ItemScores],
    records: Sequence[Mapping[str, Any]],
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    judge_names = [j["name"] for j in manifest["judges"]]
    headline = headline_keys(judge_names)
    table = {
        group: _estimates_json(estimates)
        for group, estimates in aggregate(scores, resamples=resamples, seed=seed).items()
    }
    live = _live_scores_of(records)
    if live:
        table[LIVE_GROUP] = _estimates_json(
            aggregate(live, resamples=resamples, seed=seed)["overall"]
        )
    splits = {
        split: _estimates_json(estimates)
        for split, estimates in aggregate_splits(scores, resamples=resamples, seed=seed).items()
    }
    return {
        "name": name,
        **manifest,
        "answer_modes": dict(Counter(r["mode"] for r in records)),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": _git_state(),
        "n_items": len(scores),
        "item_ids": [s.id for s in scores],
        "bootstrap": {"resamples": resamples, "seed": seed, "confidence": 0.95},
        "headline": headline,
        "metrics": table,
        "splits": splits,
        "split_gap": _split_gap(splits, headline),
        "latency_ms": _latency(records),
        "violations": {s.id: list(s.violations) for s in scores if s.violations},
    }


def _append_history(run_dir: Path, metrics: Mapping[str, Any]) -> None:
    overall = metrics["metrics"]["overall"]
    line = {
        "timestamp": metrics["timestamp"],
        "name": metrics["name"],
        "run_dir": str(run_dir),
        "mode": metrics["mode"],
        "set_sha256": metrics["set"]["sha256"],
        "n_items": metrics["n_items"],
        "git_commit": metrics["git"]["commit"],
        "headline": {k: overall.get(k, {}).get("value") for k in metrics["headline"]},
    }
    with history_path(run_dir).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, ensure_ascii=False) + "\n")


def load_history(run_dir: str | Path) -> list[dict[str, Any]]:
    """The history lines next to ``run_dir`` (oldest first); empty when there is none."""
    path = history_path(run_dir)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
