"""Reader feedback: 👍/👎 on an answer, with an optional comment, kept as JSONL lines.

The file is append-only. A rating writes a line; a comment (or a changed rating) on the same
answer appends a newer line with the same ``id``, and readers take the last line of each id.
``export_eval_candidates`` turns the 👎 items into eval-set candidates in the schema of
``eval/dataset.py`` (evidence and key facts left for a person to fill in).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from assistant.types import Answer, Turn
from ingest.errors import WhitepaperError

FEEDBACK_FILE = "feedback.jsonl"
#: What an exported candidate carries until a person writes the real reference answer.
REFERENCE_PLACEHOLDER = "TODO: write the reference answer from the white paper"

Verdict = Literal["up", "down"]


class FeedbackError(WhitepaperError):
    """The feedback file cannot be read or the export cannot be written."""


@dataclass(frozen=True)
class FeedbackRecord:
    """One rating of one answer (``id`` is the answer's id in the UI)."""

    id: str
    time: str
    verdict: Verdict
    question: str
    history: tuple[dict[str, str], ...]
    answer: str
    citations: tuple[dict[str, Any], ...]
    mode: str
    refused: bool
    standalone_question: str = ""
    doc_id: str | None = None
    comment: str = ""
    timings: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"FeedbackRecord({self.id!r}, {self.verdict}, question={self.question[:30]!r})"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["history"] = list(self.history)
        out["citations"] = list(self.citations)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedbackRecord:
        return cls(
            id=str(data["id"]),
            time=str(data.get("time", "")),
            verdict="down" if data.get("verdict") == "down" else "up",
            question=str(data.get("question", "")),
            history=tuple(data.get("history") or ()),
            answer=str(data.get("answer", "")),
            citations=tuple(data.get("citations") or ()),
            mode=str(data.get("mode", "")),
            refused=bool(data.get("refused", False)),
            standalone_question=str(data.get("standalone_question", "")),
            doc_id=data.get("doc_id"),
            comment=str(data.get("comment", "")),
            timings=dict(data.get("timings") or {}),
        )


def feedback_path(home: Path) -> Path:
    """Where the UI keeps feedback for an index home."""
    return home / FEEDBACK_FILE


class FeedbackStore:
    """Appends feedback lines to one JSONL file (thread-safe within a process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def rate(
        self,
        feedback_id: str,
        answer: Answer,
        history: Sequence[Turn],
        verdict: Verdict,
        *,
        doc_id: str | None = None,
        comment: str = "",
    ) -> FeedbackRecord:
        """Record a 👍/👎 on an answer."""
        record = FeedbackRecord(
            id=feedback_id,
            time=_now(),
            verdict=verdict,
            question=answer.question,
            history=tuple({"role": t.role, "content": t.content} for t in history),
            answer=answer.text,
            citations=tuple(c.to_json() for c in answer.citations),
            mode=answer.mode,
            refused=answer.refused,
            standalone_question=answer.standalone_question,
            doc_id=doc_id,
            comment=comment.strip(),
            timings=asdict(answer.timings),
        )
        self._append(record)
        return record

    def comment(self, feedback_id: str, comment: str) -> FeedbackRecord | None:
        """Attach a comment to the latest rating of ``feedback_id`` (None if never rated)."""
        current = next((r for r in self.read() if r.id == feedback_id), None)
        if current is None:
            return None
        record = replace(current, comment=comment.strip(), time=_now())
        self._append(record)
        return record

    def read(self) -> list[FeedbackRecord]:
        """The latest record of every rated answer, in the order they were first rated."""
        if not self.path.exists():
            return []
        latest: dict[str, FeedbackRecord] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise FeedbackError(f"cannot read {self.path}: {exc.strerror}") from exc
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = FeedbackRecord.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise FeedbackError(
                    f"{self.path}:{number}: not a feedback line ({exc}): fix or delete that line"
                ) from exc
            latest[record.id] = record
        return list(latest.values())

    def _append(self, record: FeedbackRecord) -> None:
        line = json.dumps(record.to_json(), ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- export to the eval set -----------------------------------------------------------------


def eval_candidate(record: FeedbackRecord) -> dict[str, Any]:
    """A 👎 answer as an eval item (``eval/dataset.py`` schema) for a person to complete.

    The question and history are kept; ``evidence`` and ``key_facts`` are empty and the
    reference answer is a placeholder. Whether the question is answerable is a person's call:
    candidates start as answerable (the reader expected an answer).
    """
    from ingest.text import detect_language

    if record.history:
        item_type = "followup"
    elif detect_language(record.question) == "en":
        item_type = "crosslingual"
    else:
        item_type = "factual"
    return {
        "id": f"fb-{record.id}",
        "type": item_type,
        "question": record.question,
        "history": [dict(t) for t in record.history],
        "answerable": True,
        "reference_answer": REFERENCE_PLACEHOLDER,
        "evidence": [],
        "key_facts": [],
    }


@dataclass(frozen=True)
class ExportResult:
    written: int
    skipped: int  # already in the target file
    path: Path


def export_eval_candidates(
    store: FeedbackStore, target: Path, *, append: bool = False
) -> ExportResult:
    """Write the 👎 items as eval candidates (JSONL) to ``target``.

    Refuses to overwrite an existing file unless ``append`` (then ids already there are
    skipped, so exporting twice adds nothing twice).
    """
    from eval.dataset import EvalItem

    if not store.path.exists():
        raise FeedbackError(
            f"no feedback yet: {store.path} does not exist (rate answers with 👍/👎 in "
            "`whitepaper ui` first, or set WHITEPAPER_HOME)"
        )
    if target.exists() and not append:
        raise FeedbackError(f"{target} exists: pass --append to add to it, or choose a new file")
    existing: set[str] = set()
    if append and target.exists():
        for line in target.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    existing.add(str(json.loads(line).get("id")))
                except ValueError as exc:
                    raise FeedbackError(f"{target} is not JSONL ({exc})") from exc
    candidates = [eval_candidate(r) for r in store.read() if r.verdict == "down"]
    fresh = [c for c in candidates if c["id"] not in existing]
    lines = [
        json.dumps(EvalItem.model_validate(c).model_dump(), ensure_ascii=False) + "\n"
        for c in fresh
    ]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a" if append else "w", encoding="utf-8") as fh:
            fh.writelines(lines)
    except OSError as exc:
        raise FeedbackError(f"cannot write {target}: {exc.strerror}") from exc
    return ExportResult(len(fresh), len(candidates) - len(fresh), target)
