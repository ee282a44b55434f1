"""Answering one eval item (follow-ups with the set's history or live) and the
``results.jsonl`` record of it: what was asked, the answer, and every per-item score."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from assistant.types import Answer, SupportJudge, Turn
from eval.dataset import EvalItem
from eval.metrics import (
    ItemScores,
    score_item,
)

Conversation = Literal["reference", "live", "both"]
"""How follow-up items are asked (see the module docstring)."""

CONVERSATIONS: tuple[str, ...] = get_args(Conversation)


class QuestionAnswerer(Protocol):
    """What the runner needs of the assistant: answer one question, given the history."""

    def ask(
        self, question: str, history: Sequence[Turn] = (), *, mode: str | None = None
    ) -> Answer: ...


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
        # What strict checking took out, and whether the model's answer was replaced by quotes:
        # where a maintainer looks when the checker is suspected of being too strict.
        "removed_sentences": list(answer.removed_sentences),
        "fallback": answer.fallback,
        "sufficiency_margin": answer.sufficiency_margin,
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
