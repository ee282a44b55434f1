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

Answering an item and its record live in :mod:`eval.run_records`; ``run.json``,
``metrics.json`` and the history in :mod:`eval.run_folder`. This module selects the items and
runs them.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.types import SupportJudge
from eval.dataset import ITEM_TYPES, EvalItem
from eval.metrics import (
    ItemScores,
)
from eval.run_folder import (
    HISTORY_FILE,
    LIVE_GROUP,
    MANIFEST_FILE,
    METRICS_FILE,
    RESULTS_FILE,
    _append_history,
    _metrics_json,
    _same_run,
    history_path,
    load_history,
    run_manifest,
)
from eval.run_records import (
    CONVERSATIONS,
    Conversation,
    QuestionAnswerer,
    _answer_item,
    _live_scores_of,
    _read_results,
    _scores_of,
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


class EvalRunError(WhitepaperError):
    """A run cannot start or continue (mismatched resume, unknown subset ids...)."""


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
