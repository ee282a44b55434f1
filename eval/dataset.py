"""Schema, loader and validator for the evaluation sets under ``eval/sets/``.

An evaluation set is a JSONL file: one JSON object per line, each an
:class:`EvalItem`.  Items carry a question (optionally with a chat history for
follow-ups), a short reference answer, verbatim evidence passages from the
source document and a few key facts a correct answer must contain.

Three layers of checking are provided:

* :class:`EvalItem` / :class:`Turn` (pydantic, frozen) check the *shape* of one
  item: field names, types, allowed values of ``type`` and ``role``.
* :func:`load_eval_set` parses a file and raises :class:`EvalSetError` naming
  the offending line on bad JSON or a schema violation.
* :func:`validate_eval_set` checks the *content* of a whole set against the
  source text and returns a list of human-readable problems (empty when the set
  is clean): duplicate ids, evidence that is not verbatim, evidence that spans a
  line or has the wrong length, missing or superfluous evidence / key facts,
  wrong refusal text, history on the wrong kind of item.

The module performs no I/O at import time.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.types import REFUSAL
from ingest.text import detect_language

__all__ = [
    "EVIDENCE_MAX_CHARS",
    "EVIDENCE_MAX_ITEMS",
    "EVIDENCE_MIN_CHARS",
    "ITEM_TYPES",
    "KEY_FACTS_MAX",
    "KEY_FACTS_MIN",
    "REFUSAL_EN",
    "REFUSAL_ZH",
    "EvalItem",
    "EvalSetError",
    "ItemType",
    "Turn",
    "dump_eval_set",
    "expected_refusal",
    "load_eval_set",
    "type_mix",
    "validate_eval_set",
]

ItemType = Literal["factual", "multihop", "crosslingual", "unanswerable", "followup"]
"""The kinds of evaluation item."""

ITEM_TYPES: tuple[str, ...] = get_args(ItemType)

REFUSAL_ZH = REFUSAL["zh"]
"""Fixed reference answer of an unanswerable item asked in Chinese (the assistant's refusal)."""

REFUSAL_EN = REFUSAL["en"]
"""Fixed reference answer of an unanswerable item asked in English (the assistant's refusal)."""

EVIDENCE_MIN_CHARS = 15
EVIDENCE_MAX_CHARS = 80
EVIDENCE_MAX_ITEMS = 3
KEY_FACTS_MIN = 1
KEY_FACTS_MAX = 4


class Turn(BaseModel):
    """One message of a prior conversation (used by follow-up items)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class EvalItem(BaseModel):
    """One evaluation item.

    Attributes:
        id: Unique identifier within the set, e.g. ``"a-001"``.
        type: Kind of item (see :data:`ItemType`).
        question: The question as a user would ask it.
        history: Prior conversation; non-empty only for ``followup`` items.
        answerable: ``False`` only for ``unanswerable`` items.
        reference_answer: Short correct answer, or the fixed refusal
            (:data:`REFUSAL_ZH` / :data:`REFUSAL_EN`) for unanswerable items.
        evidence: 1-3 verbatim single-line substrings of the source text
            (15-80 characters each); empty for unanswerable items.
        key_facts: 1-4 short strings a correct answer must contain, each
            verbatim in the source text; empty for unanswerable items.
        split: ``"calib"`` (tuning may look at it) or ``"test"`` (held out: figures are
            reported on it, nothing is chosen by it); ``None`` for sets without a split.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    type: ItemType
    question: str = Field(min_length=1)
    history: list[Turn] = Field(default_factory=list)
    answerable: bool
    reference_answer: str = Field(min_length=1)
    evidence: list[str] = Field(default_factory=list)
    key_facts: list[str] = Field(default_factory=list)
    split: Literal["calib", "test"] | None = None


class EvalSetError(ValueError):
    """Raised by :func:`load_eval_set` when a line is not a valid item."""

    def __init__(self, path: str | Path, line_no: int, message: str) -> None:
        self.path = str(path)
        self.line_no = line_no
        self.message = message
        super().__init__(f"{self.path}:{line_no}: {message}")


def _format_validation_error(err: ValidationError) -> str:
    """Render a pydantic error compactly: ``field.path: message; ...``."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "<item>"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def load_eval_set(path: str | Path) -> list[EvalItem]:
    """Load a JSONL evaluation set.

    Blank lines are ignored.  Every other line must be a JSON object matching
    :class:`EvalItem`.

    Args:
        path: Path of the ``.jsonl`` file (UTF-8).

    Returns:
        The items in file order.

    Raises:
        EvalSetError: On invalid JSON, a non-object line or a schema violation;
            the message names the file and the 1-based line number.
    """
    path = Path(path)
    items: list[EvalItem] = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalSetError(
                    path, line_no, f"invalid JSON: {exc.msg} (column {exc.colno})"
                ) from exc
            if not isinstance(data, dict):
                raise EvalSetError(
                    path, line_no, f"expected a JSON object, got {type(data).__name__}"
                )
            try:
                items.append(EvalItem.model_validate(data))
            except ValidationError as exc:
                item_id = data.get("id", "?")
                raise EvalSetError(
                    path,
                    line_no,
                    f"schema error in item {item_id!r}: {_format_validation_error(exc)}",
                ) from exc
    return items


def dump_eval_set(items: Iterable[EvalItem]) -> str:
    """Serialise items as JSONL text (``ensure_ascii=False``, one item a line)."""
    return "".join(json.dumps(item.model_dump(), ensure_ascii=False) + "\n" for item in items)


def expected_refusal(question: str) -> str:
    """The fixed refusal matching the language of ``question``."""
    return REFUSAL[detect_language(question)]


def _check_item(item: EvalItem, source_text: str) -> list[str]:
    """Content problems of one item (see :func:`validate_eval_set`)."""
    problems: list[str] = []

    def report(msg: str) -> None:
        problems.append(f"{item.id}: {msg}")

    # answerable <-> type
    if item.type == "unanswerable" and item.answerable:
        report("type is 'unanswerable' but answerable is true")
    if item.type != "unanswerable" and not item.answerable:
        report(
            f"answerable is false but type is {item.type!r} "
            "(only 'unanswerable' items may be unanswerable)"
        )

    # history <-> followup
    if item.type == "followup":
        if not item.history:
            report("followup item has an empty history")
        else:
            if item.history[0].role != "user":
                report("history should start with a user turn")
            if item.history[-1].role != "assistant":
                report("history should end with an assistant turn")
            for prev, cur in pairwise(item.history):
                if prev.role == cur.role:
                    report(f"history has two consecutive {cur.role!r} turns")
                    break
    elif item.history:
        report(
            f"non-followup item (type {item.type!r}) has a history of {len(item.history)} turn(s)"
        )

    if item.type == "crosslingual" and detect_language(item.question) != "en":
        report("crosslingual question should be asked in English")

    if not item.question.strip():
        report("question is blank")

    # evidence checks apply to whatever evidence is present
    seen_evidence: set[str] = set()
    for i, ev in enumerate(item.evidence):
        label = f"evidence[{i}] {ev[:30]!r}{'…' if len(ev) > 30 else ''}"
        if ev in seen_evidence:
            report(f"{label} is duplicated")
        seen_evidence.add(ev)
        if "\n" in ev or "\r" in ev:
            report(f"{label} spans a line break (evidence must lie within one line)")
        elif ev not in source_text:
            report(f"{label} is not an exact substring of the source text")
        if not EVIDENCE_MIN_CHARS <= len(ev) <= EVIDENCE_MAX_CHARS:
            report(
                f"{label} has {len(ev)} characters "
                f"(must be {EVIDENCE_MIN_CHARS}-{EVIDENCE_MAX_CHARS})"
            )

    for i, fact in enumerate(item.key_facts):
        if not fact.strip():
            report(f"key_facts[{i}] is blank")
        elif fact not in source_text:
            report(f"key_facts[{i}] {fact!r} does not occur verbatim in the source text")

    if item.answerable:
        if not item.evidence:
            report("answerable item has no evidence")
        elif len(item.evidence) > EVIDENCE_MAX_ITEMS:
            report(
                f"answerable item has {len(item.evidence)} evidence passages "
                f"(max {EVIDENCE_MAX_ITEMS})"
            )
        if not KEY_FACTS_MIN <= len(item.key_facts) <= KEY_FACTS_MAX:
            report(
                f"answerable item has {len(item.key_facts)} key facts "
                f"(must be {KEY_FACTS_MIN}-{KEY_FACTS_MAX})"
            )
    else:
        if item.evidence:
            report(
                f"unanswerable item has {len(item.evidence)} evidence passage(s) (must be empty)"
            )
        if item.key_facts:
            report(f"unanswerable item has {len(item.key_facts)} key fact(s) (must be empty)")
        refusal = expected_refusal(item.question)
        if item.reference_answer != refusal:
            report(f"unanswerable item's reference_answer must be the fixed refusal {refusal!r}")

    return problems


def validate_eval_set(items: Sequence[EvalItem], source_text: str) -> list[str]:
    """Check a whole evaluation set against the source document.

    Args:
        items: The items, e.g. from :func:`load_eval_set`.
        source_text: The exact text of the source document the evidence must
            be quoted from.

    Returns:
        Human-readable problems, each prefixed with the item id; an empty list
        means the set is valid.  Reported problems:

        * duplicate ids;
        * evidence that is not an exact substring of ``source_text``, spans a
          line break, or is outside 15-80 characters; repeated evidence;
        * key facts that do not occur verbatim in ``source_text``;
        * answerable items without evidence (or more than 3 passages) or
          without 1-4 key facts;
        * unanswerable items with evidence or key facts, or whose
          ``reference_answer`` is not the fixed refusal of the question's
          language; ``answerable`` inconsistent with ``type``;
        * followups without history (or a history not alternating
          user/assistant, starting with user and ending with assistant);
          non-followups with history; crosslingual questions not in English.
    """
    problems: list[str] = []
    counts = Counter(item.id for item in items)
    for item_id, n in counts.items():
        if n > 1:
            problems.append(f"{item_id}: duplicate id ({n} items)")
    for item in items:
        problems.extend(_check_item(item, source_text))
    return problems


def type_mix(items: Sequence[EvalItem]) -> dict[str, float]:
    """Share of each item type in ``items``.

    Returns:
        A mapping from every type in :data:`ITEM_TYPES` to its fraction of the
        items (0.0 for absent types, and for all types when ``items`` is empty).
        The fractions sum to 1.0 for a non-empty set.
    """
    total = len(items)
    counts: Counter[str] = Counter(item.type for item in items)
    return {t: (counts[t] / total if total else 0.0) for t in ITEM_TYPES}
