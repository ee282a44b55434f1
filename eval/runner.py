"""Run an assistant over an eval set, score every answer, and write the run to a folder.

A run folder holds:

* ``run.json`` — what the run is: eval-set path and sha256, requested mode, judges and how
  follow-ups are asked. Written first, so an interrupted run can be resumed only with the same
  set, mode, judges and conversation.
* ``results.jsonl`` — one line per answered item, written (and flushed) as soon as the item is
  answered: the question and history, the answer text, citations, retrieved passages in rank
  order, the standalone question, refusal flag, timings and every per-item score.
* ``metrics.json`` — every metric overall and by type as ``{value, low, high, n}`` (bootstrap
  95% percentile interval), the same per split of the set (``splits``: ``calib``, ``test``) with
  the calib–test gap of the headline figures (``split_gap``), the judges, mode, eval set,
  timestamp, git commit and latencies.

Follow-up items (items with a history) are asked one of two ways, or both
(``conversation``):

* ``reference`` — the history is the set's: its assistant turns are the reference answers.
  Every run sees the same input, so the figures isolate the last turn.
* ``live`` — a real conversation: the history's user turns are asked in order, and the
  assistant's own answers become the history of the next turn and of the item's question.
  Errors of an earlier turn carry over, as they would for a user.
* ``both`` — the item's scores are the reference ones; the live answer and its scores are kept
  in the record under ``live`` and aggregated as the group :data:`LIVE_GROUP` of
  ``metrics.json``.

Every completed run also appends its headline figures to ``history.jsonl`` in the *parent* of
the run folder (e.g. ``eval/runs/history.jsonl`` for ``eval/runs/extractive-dev/``), so that
runs written to sibling folders form one trend (see :func:`history_path`).

An exception from the assistant stops the run; everything answered so far is kept and the
next call with ``resume=True`` continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import numpy as np

from assistant.types import Answer, SupportJudge, Turn
from eval.dataset import ITEM_TYPES, EvalItem, dump_eval_set
from eval.metrics import (
    ItemScores,
    aggregate,
    aggregate_splits,
    headline_keys,
    judge_of,
    score_item,
)
from ingest.errors import WhitepaperError

__all__ = [
    "CONVERSATIONS",
    "HISTORY_FILE",
    "LIVE_GROUP",
    "MANIFEST_FILE",
    "METRICS_FILE",
    "RESULTS_FILE",
    "Conversation",
    "EvalRunError",
    "QuestionAnswerer",
    "RunResult",
    "filter_items",
    "history_path",
    "load_history",
    "load_run",
    "run_eval",
    "run_manifest",
    "select_subset",
]

RESULTS_FILE = "results.jsonl"
METRICS_FILE = "metrics.json"
MANIFEST_FILE = "run.json"
HISTORY_FILE = "history.jsonl"

Conversation = Literal["reference", "live", "both"]
"""How follow-up items are asked (see the module docstring)."""

CONVERSATIONS: tuple[str, ...] = get_args(Conversation)

LIVE_GROUP = "followup-live"
"""The ``metrics.json`` group of the follow-ups asked live when a run asks them both ways."""

_REPO_ROOT = Path(__file__).resolve().parent.parent


class EvalRunError(WhitepaperError):
    """A run cannot start or continue (mismatched resume, unknown subset ids...)."""


class QuestionAnswerer(Protocol):
    """What the runner needs of the assistant: answer one question, given the history."""

    def ask(
        self, question: str, history: Sequence[Turn] = (), *, mode: str | None = None
    ) -> Answer: ...


@dataclass(frozen=True)
class RunResult:
    """A finished run: its folder, ``metrics.json`` content and per-item scores.

    Attributes:
        out_dir: The run folder.
        metrics: The content of ``metrics.json``.
        scores: Per-item scores in eval-set order.
        records: The ``results.jsonl`` lines of the run's items, in eval-set order.
        answered: Items answered by this call.
        resumed: Items taken over from an earlier, interrupted call.
        live_scores: With ``conversation="both"``: the scores of the follow-ups asked live.
    """

    out_dir: Path
    metrics: dict[str, Any]
    scores: tuple[ItemScores, ...]
    records: tuple[dict[str, Any], ...]
    answered: int = 0
    resumed: int = 0
    live_scores: tuple[ItemScores, ...] = ()

    def __repr__(self) -> str:
        return (
            f"RunResult(out_dir={str(self.out_dir)!r}, items={len(self.scores)}, "
            f"answered={self.answered}, resumed={self.resumed})"
        )

    @property
    def results_path(self) -> Path:
        return self.out_dir / RESULTS_FILE

    @property
    def metrics_path(self) -> Path:
        return self.out_dir / METRICS_FILE

    @property
    def violations(self) -> dict[str, tuple[str, ...]]:
        """Item id -> broken invariants, for the items that broke any."""
        return {s.id: s.violations for s in self.scores if s.violations}


def history_path(run_dir: str | Path) -> Path:
    """Where the runs next to ``run_dir`` record their headline figures, one line per run."""
    return Path(run_dir).resolve().parent / HISTORY_FILE


# --------------------------------------------------------------------------- item selection


def select_subset(items: Sequence[EvalItem], size: int = 20, seed: int = 0) -> list[EvalItem]:
    """A fixed, type-stratified subset: items drawn round-robin over the types.

    Deterministic for a given set, size and seed; returned in eval-set order. Meant to pick a
    subset once (e.g. for slow local-LLM runs); its ids are then kept in the baseline file.
    """
    rng = random.Random(seed)
    pools = []
    for item_type in ITEM_TYPES:
        pool = [item for item in items if item.type == item_type]
        rng.shuffle(pool)
        pools.append(pool)
    chosen: set[str] = set()
    while len(chosen) < min(size, len(items)):
        for pool in pools:
            if pool and len(chosen) < size:
                chosen.add(pool.pop().id)
    return [item for item in items if item.id in chosen]


def filter_items(items: Sequence[EvalItem], ids: Sequence[str]) -> list[EvalItem]:
    """The items with these ids, in eval-set order.

    Raises:
        EvalRunError: When an id is not in the set.
    """
    known = {item.id for item in items}
    missing = [i for i in ids if i not in known]
    if missing:
        raise EvalRunError(
            f"{len(missing)} subset id(s) are not in the eval set: {', '.join(missing[:10])}"
        )
    wanted = set(ids)
    return [item for item in items if item.id in wanted]


# --------------------------------------------------------------------------- records


def _history_turns(item: EvalItem) -> tuple[Turn, ...]:
    return tuple(Turn(role=t.role, content=t.content) for t in item.history)


def _ask_live(
    assistant: QuestionAnswerer, item: EvalItem, mode: str | None
) -> tuple[tuple[Turn, ...], Answer]:
    """Ask the history's user turns in order, each with the answers so far, then the item."""
    turns: list[Turn] = []
    for turn in item.history:
        if turn.role == "user":
            earlier = assistant.ask(turn.content, tuple(turns), mode=mode)
            turns += [Turn("user", turn.content), Turn("assistant", earlier.text)]
    return tuple(turns), assistant.ask(item.question, tuple(turns), mode=mode)


def _turns_json(turns: Sequence[Turn]) -> list[dict[str, str]]:
    return [{"role": t.role, "content": t.content} for t in turns]


def _answer_item(
    assistant: QuestionAnswerer,
    item: EvalItem,
    mode: str | None,
    judges: Sequence[SupportJudge],
    conversation: Conversation,
) -> dict[str, Any]:
    """The ``results.jsonl`` record of one item, asked as ``conversation`` says."""
    if not item.history or conversation == "reference":
        answer = assistant.ask(item.question, _history_turns(item), mode=mode)
        record = _record(item, answer, score_item(item, answer, judges))
        if item.history:
            record["conversation"] = "reference"
        return record
    if conversation == "live":
        turns, answer = _ask_live(assistant, item, mode)
        record = _record(item, answer, score_item(item, answer, judges))
        record["conversation"] = "live"
        record["live_history"] = _turns_json(turns)
        return record
    answer = assistant.ask(item.question, _history_turns(item), mode=mode)
    record = _record(item, answer, score_item(item, answer, judges))
    record["conversation"] = "reference"
    turns, live = _ask_live(assistant, item, mode)
    record["live"] = {
        "live_history": _turns_json(turns),
        **_answer_fields(live),
        "scores": score_item(item, live, judges).to_json(),
    }
    return record


def _record(item: EvalItem, answer: Answer, scores: ItemScores) -> dict[str, Any]:
    return {
        "id": item.id,
        "type": item.type,
        "split": item.split,
        "question": item.question,
        "history": [t.model_dump() for t in item.history],
        "answerable": item.answerable,
        **_answer_fields(answer),
        "scores": scores.to_json(),
    }


def _answer_fields(answer: Answer) -> dict[str, Any]:
    return {
        "answer": answer.text,
        "standalone_question": answer.standalone_question,
        "refused": answer.refused,
        "mode": answer.mode,
        "language": answer.language,
        "citations": [
            {
                "marker": c.marker,
                "chunk_id": c.chunk_id,
                "page": c.page_label,
                "page_index": c.page_index,
                "section": c.section,
                "quote": c.quote,
                "sentence_index": c.sentence_index,
                "support": c.support,
            }
            for c in answer.citations
        ],
        "sentences": [s.to_json() for s in answer.sentences],
        "passages": [
            {
                "number": p.number,
                "chunk_ids": list(p.chunk_ids),
                "pages": list(p.page_labels),
                "section": p.section,
                "score": p.score,
                "text": p.text,
            }
            for p in answer.passages
        ],
        "timings": asdict(answer.timings),
    }


def _scores_of(record: Mapping[str, Any]) -> ItemScores:
    return ItemScores.from_json(record["id"], record["type"], record["scores"], record.get("split"))


def _live_scores_of(records: Sequence[Mapping[str, Any]]) -> tuple[ItemScores, ...]:
    return tuple(
        ItemScores.from_json(r["id"], r["type"], r["live"]["scores"], r.get("split"))
        for r in records
        if "live" in r
    )


def _read_results(path: Path) -> dict[str, dict[str, Any]]:
    """Records by id; a torn last line (a crash mid-write) is dropped from the file."""
    if not path.exists():
        return {}
    records: dict[str, dict[str, Any]] = {}
    good_lines: list[str] = []
    torn = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            torn = True
            continue
        records[record["id"]] = record
        good_lines.append(line)
    if torn:
        path.write_text("".join(f"{line}\n" for line in good_lines), encoding="utf-8")
    return records


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


# --------------------------------------------------------------------------- entry points


def run_eval(
    assistant: QuestionAnswerer,
    items: Sequence[EvalItem],
    out_dir: str | Path,
    *,
    mode: str | None,
    judges: Sequence[SupportJudge] = (),
    limit: int | None = None,
    resume: bool = True,
    progress: bool = True,
    set_path: str | Path | None = None,
    name: str | None = None,
    resamples: int = 1000,
    seed: int = 0,
    conversation: Conversation = "reference",
) -> RunResult:
    """Ask every item, score it, and write ``results.jsonl``, ``metrics.json`` and history.

    Args:
        assistant: Anything with ``ask(question, history, *, mode)`` returning an ``Answer``.
        items: The eval items (e.g. :func:`eval.dataset.load_eval_set`, or a subset).
        out_dir: The run folder (created if needed).
        mode: Passed to ``assistant.ask``; recorded (the answers' own modes are counted too).
        judges: Support judges for the citation metrics; one pair of figures per judge.
        limit: Only the first ``limit`` items.
        resume: Keep the items already in ``results.jsonl`` and answer only the others. The
            folder must hold a run of the same items, mode and judges. With ``False`` the
            folder's earlier results are discarded.
        progress: Show a tqdm progress bar on stderr.
        set_path: The eval-set file, recorded with its sha256 (else the items' sha256).
        name: Run name for the report and history (default: the folder name).
        resamples: Bootstrap resamples per interval.
        seed: Bootstrap seed.
        conversation: How follow-ups are asked: with the set's history (``reference``), as
            a real conversation (``live``) or both ways (see the module docstring).

    Raises:
        EvalRunError: Duplicate item ids, a negative limit, or ``resume`` over a folder that
            holds another run.
    """
    if limit is not None and limit < 0:
        raise EvalRunError(f"limit must be 0 or more, got {limit}")
    if conversation not in CONVERSATIONS:
        raise EvalRunError(
            f"conversation must be one of {', '.join(CONVERSATIONS)}, got {conversation!r}"
        )
    out = Path(out_dir)
    selected = list(items)[:limit] if limit is not None else list(items)
    duplicates = [i for i, n in Counter(item.id for item in items).items() if n > 1]
    if duplicates:
        raise EvalRunError(f"duplicate item ids in the eval set: {', '.join(duplicates[:10])}")

    manifest = run_manifest(items, set_path, mode, judges, conversation)
    out.mkdir(parents=True, exist_ok=True)
    results_path, manifest_path = out / RESULTS_FILE, out / MANIFEST_FILE
    if resume and results_path.exists():
        old = json.loads(manifest_path.read_text("utf-8")) if manifest_path.exists() else {}
        differences = _same_run(old, manifest)
        if differences:
            raise EvalRunError(
                f"{out} holds results of another run (different {', '.join(differences)}); "
                "choose another output folder or run without resuming to overwrite them"
            )
    else:
        results_path.unlink(missing_ok=True)
        (out / METRICS_FILE).unlink(missing_ok=True)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")

    done = _read_results(results_path)
    todo = [item for item in selected if item.id not in done]
    resumed = len(selected) - len(todo)
    from tqdm import tqdm

    with (
        results_path.open("a", encoding="utf-8") as fh,
        tqdm(
            total=len(selected),
            initial=resumed,
            desc="eval",
            unit="item",
            file=sys.stderr,
            disable=not progress,
        ) as bar,
    ):
        for item in todo:
            record = _answer_item(assistant, item, mode, judges, conversation)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            done[item.id] = record
            bar.update(1)

    records = [done[item.id] for item in selected]
    scores = [_scores_of(r) for r in records]
    metrics_path = out / METRICS_FILE
    first_metrics = not metrics_path.exists()
    metrics = _metrics_json(name or out.resolve().name, manifest, scores, records, resamples, seed)
    metrics_path.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), "utf-8")
    if todo or first_metrics:
        _append_history(out.resolve(), metrics)
    return RunResult(
        out_dir=out,
        metrics=metrics,
        scores=tuple(scores),
        records=tuple(records),
        answered=len(todo),
        resumed=resumed,
        live_scores=_live_scores_of(records),
    )


def load_run(run_dir: str | Path) -> RunResult:
    """Read a finished run folder back (for a report or a gate check without re-running).

    Raises:
        EvalRunError: When the folder has no ``metrics.json``.
    """
    out = Path(run_dir)
    metrics_path = out / METRICS_FILE
    if not metrics_path.exists():
        raise EvalRunError(f"{out} holds no finished eval run ({METRICS_FILE} is missing)")
    metrics = json.loads(metrics_path.read_text("utf-8"))
    done = _read_results(out / RESULTS_FILE)
    missing = [i for i in metrics["item_ids"] if i not in done]
    if missing:
        raise EvalRunError(f"{out / RESULTS_FILE} lacks {len(missing)} item(s) of the run")
    records = [done[i] for i in metrics["item_ids"]]
    return RunResult(
        out_dir=out,
        metrics=metrics,
        scores=tuple(_scores_of(r) for r in records),
        records=tuple(records),
        live_scores=_live_scores_of(records),
    )
