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
  key facts that are too easy (short, contained in the question, Chinese for an
  English question), wrong refusal text, history on the wrong kind of item, and
  a calibration/test split that is incomplete or holds out too few items.

A key fact is a string or a list of accepted alternatives (any one counts);
:func:`key_fact_alternatives` gives the alternatives of either form.  Splits are
assigned by :func:`assign_splits` (seeded and stratified, blind to results).

The module performs no I/O at import time.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.types import REFUSAL
from ingest.text import detect_language, has_cjk

#: The language of a question (the assistant's own rule).
question_language = detect_language

__all__ = [
    "EVIDENCE_MAX_CHARS",
    "EVIDENCE_MAX_ITEMS",
    "EVIDENCE_MIN_CHARS",
    "ITEM_TYPES",
    "KEY_FACTS_MAX",
    "KEY_FACTS_MIN",
    "KEY_FACT_MIN_CHARS",
    "MIN_TEST_SHARE",
    "REFUSAL_EN",
    "REFUSAL_ZH",
    "SPLITS",
    "SPLIT_SEED",
    "EvalItem",
    "EvalSetError",
    "ItemType",
    "KeyFact",
    "Split",
    "Turn",
    "assign_splits",
    "dump_eval_set",
    "expected_refusal",
    "key_fact_alternatives",
    "key_fact_found",
    "load_eval_set",
    "question_language",
    "split_counts",
    "type_mix",
    "validate_eval_set",
]

ItemType = Literal["factual", "multihop", "crosslingual", "unanswerable", "followup"]
"""The kinds of evaluation item."""

ITEM_TYPES: tuple[str, ...] = get_args(ItemType)

Split = Literal["calib", "test"]
"""``calib``: tuning may look at the item; ``test``: held out, only reported."""

SPLITS: tuple[str, ...] = get_args(Split)

KeyFact = str | list[str]
"""A key fact: one string, or a list of accepted alternatives (any one matches)."""

REFUSAL_ZH = REFUSAL["zh"]
"""Fixed reference answer of an unanswerable item asked in Chinese (the assistant's refusal)."""

REFUSAL_EN = REFUSAL["en"]
"""Fixed reference answer of an unanswerable item asked in English (the assistant's refusal)."""

EVIDENCE_MIN_CHARS = 15
EVIDENCE_MAX_CHARS = 80
EVIDENCE_MAX_ITEMS = 3
KEY_FACTS_MIN = 1
KEY_FACTS_MAX = 4
KEY_FACT_MIN_CHARS = 3
"""Shortest key fact (whitespace removed) unless it is a number with its unit."""
ENGLISH_ITEM_CHINESE_FACT_MAX_CHARS = 4
"""Longest Chinese-only key fact of an English item: a name that stays Chinese, not a quote."""

MIN_TEST_SHARE = 0.4
"""Least share of each item type that a split set holds out as ``test``."""
SPLIT_SEED = "aigc-dev-v2"
"""Default seed of :func:`assign_splits`."""

_WS_RE = re.compile(r"\s+")
# A number with an optional short unit ("68年", "10.8个百分点", "43.25万美元", "8%"), folded.
_NUMBER_RE = re.compile(r"^[0-9][0-9.,]*(?P<unit>[^0-9.,]{0,4})$")


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
        key_facts: 1-4 facts a correct answer must contain, each a string or a list of
            accepted alternatives (see :func:`validate_eval_set` for the rules); empty for
            unanswerable items.
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
    key_facts: list[KeyFact] = Field(default_factory=list)
    split: Split | None = None


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
    """Serialise items as JSONL text (``ensure_ascii=False``, one item a line).

    A key fact keeps its form (string or list of alternatives); an item without a split
    is written without the ``split`` field.
    """
    return "".join(
        json.dumps(item.model_dump(exclude_none=True), ensure_ascii=False) + "\n" for item in items
    )


def key_fact_alternatives(fact: KeyFact) -> list[str]:
    """The accepted spellings of a key fact: ``[fact]`` for a string, the list otherwise."""
    return [fact] if isinstance(fact, str) else list(fact)


def key_fact_found(fact: KeyFact, text: str) -> bool:
    """Whether ``text`` contains the key fact (any one alternative of it).

    Whitespace and case are ignored; a number is not found inside a longer number, so
    ``"6 年"`` is not in ``"2006 年"`` and ``"2000"`` is not in ``"20000"``.
    """
    folded = _fold(text)
    return any(_alternative_pattern(alt).search(folded) for alt in key_fact_alternatives(fact))


def _alternative_pattern(alternative: str) -> re.Pattern[str]:
    folded = _fold(alternative)
    head = r"(?<![0-9.])" if folded[:1].isdigit() else ""
    tail = r"(?![0-9])" if folded[-1:].isdigit() else ""
    return re.compile(head + re.escape(folded) + tail)


def _fold(text: str) -> str:
    """Whitespace removed and case folded: the form key facts are compared in."""
    return _WS_RE.sub("", text).casefold()


@lru_cache(maxsize=4)
def _folded_source(source_text: str) -> str:
    return _fold(source_text)


def _is_number(text: str, *, with_unit: bool = False) -> bool:
    """A number, optionally (or, ``with_unit``, necessarily) with a short unit (``"68 年"``)."""
    match = _NUMBER_RE.match(_fold(text))
    return match is not None and (not with_unit or bool(match["unit"]))


def _is_english_fact(fact: KeyFact) -> bool:
    """Every alternative in Latin script: an answer in Chinese cannot contain the fact."""
    return all(
        re.search(r"[A-Za-z]", alt) is not None and not has_cjk(alt)
        for alt in key_fact_alternatives(fact)
    )


def _split_rank(seed: str, item_id: str) -> str:
    return hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()


def assign_splits(
    items: Sequence[EvalItem], seed: str = SPLIT_SEED, test_share: float = MIN_TEST_SHARE
) -> list[EvalItem]:
    """Tag every item ``calib`` or ``test``, stratified by type and question language.

    Within each stratum (type x :func:`question_language`) the items are ordered by
    ``sha256(f"{seed}:{id}")`` and the first ``ceil(test_share * n)`` become ``test``, so
    every stratum (hence every type) holds out at least ``test_share`` of its items.  The
    assignment depends only on the ids, types, question languages and the seed: never on
    how a system does on an item.

    Returns:
        The items in their original order, each a copy with ``split`` set.
    """
    strata: dict[tuple[str, str], list[EvalItem]] = defaultdict(list)
    for item in items:
        strata[(item.type, question_language(item.question))].append(item)
    split_of: dict[str, Split] = {}
    for members in strata.values():
        ranked = sorted(members, key=lambda it: _split_rank(seed, it.id))
        n_test = math.ceil(Fraction(str(test_share)) * len(ranked))  # exact: 0.4 * 15 is 6
        for rank, item in enumerate(ranked):
            split_of[item.id] = "test" if rank < n_test else "calib"
    return [item.model_copy(update={"split": split_of[item.id]}) for item in items]


def split_counts(items: Sequence[EvalItem]) -> dict[str, dict[str, int]]:
    """Items per type and split: ``{type: {"calib": n, "test": n, "none": n, "total": n}}``.

    Every type in :data:`ITEM_TYPES` is present, plus ``"all"`` over the whole set.
    """
    counts: dict[str, dict[str, int]] = {
        t: dict.fromkeys(("calib", "test", "none", "total"), 0) for t in (*ITEM_TYPES, "all")
    }
    for item in items:
        for key in (item.type, "all"):
            counts[key][item.split or "none"] += 1
            counts[key]["total"] += 1
    return counts


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

    problems.extend(f"{item.id}: {msg}" for msg in _key_fact_problems(item, source_text))

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


def _key_fact_problems(item: EvalItem, source_text: str) -> list[str]:
    """Problems of an item's key facts (see :func:`validate_eval_set`)."""
    problems: list[str] = []
    question = _fold(item.question)
    source = _folded_source(source_text)
    english = question_language(item.question) == "en"
    for i, fact in enumerate(item.key_facts):
        alternatives = key_fact_alternatives(fact)
        label = f"key_facts[{i}] {fact!r}"
        if not alternatives:
            problems.append(f"{label} lists no alternatives")
            continue
        if any(not alt.strip() for alt in alternatives):
            problems.append(f"{label} has a blank alternative")
            continue
        for alt in alternatives:
            if len(_fold(alt)) < KEY_FACT_MIN_CHARS and not _is_number(alt, with_unit=True):
                problems.append(
                    f"{label}: {alt!r} is shorter than {KEY_FACT_MIN_CHARS} characters "
                    "(only a number with its unit may be shorter)"
                )
            if _fold(alt) in question:
                problems.append(f"{label}: {alt!r} is contained in the question")
        chinese_only = all(has_cjk(alt) for alt in alternatives)
        computed = item.type == "multihop" and any(_is_number(alt) for alt in alternatives)
        if (
            (not english or chinese_only)
            and not computed
            and not any(_fold(alt) in source for alt in alternatives)
        ):
            problems.append(
                f"{label} does not occur verbatim in the source text (a Chinese key fact "
                "must, unless it is a number computed by a multihop item)"
            )
        if (
            english
            and chinese_only
            and min(len(_fold(alt)) for alt in alternatives) > ENGLISH_ITEM_CHINESE_FACT_MAX_CHARS
        ):
            problems.append(
                f"{label} is Chinese only in an English item: give an English alternative "
                f"(Chinese-only key facts are names of at most "
                f"{ENGLISH_ITEM_CHINESE_FACT_MAX_CHARS} characters)"
            )
    missing = [fact for fact in item.key_facts if not key_fact_found(fact, item.reference_answer)]
    if missing:
        problems.append(f"reference_answer lacks key fact(s) {missing!r}")
    if english and item.key_facts and not any(map(_is_english_fact, item.key_facts)):
        problems.append(
            "English item has no English key fact (one whose every alternative is in Latin "
            "letters), so an answer in Chinese would pass"
        )
    return problems


def _split_problems(items: Sequence[EvalItem]) -> list[str]:
    """Problems of a set's calibration/test split (none for a set that declares no split)."""
    unsplit = [item.id for item in items if item.split is None]
    if len(unsplit) == len(items):
        return []
    problems: list[str] = [
        f"{item_id}: no split, but other items of the set have one (tag it calib or test)"
        for item_id in unsplit
    ]
    for item_type, row in split_counts(items).items():
        if item_type == "all" or not row["total"]:
            continue
        if Fraction(row["test"], row["total"]) < Fraction(str(MIN_TEST_SHARE)):
            problems.append(
                f"split: type {item_type!r} has {row['test']} of {row['total']} items in test "
                f"(at least {MIN_TEST_SHARE:.0%} needed)"
            )
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
        * key facts (every alternative of each) shorter than 3 characters, whitespace
          removed, unless a number with its unit (``"68 年"``); key facts contained in the
          question (whitespace- and case-insensitive);
        * Chinese key facts (those of a Chinese question, and Chinese-only ones of an
          English question) none of whose alternatives occurs in ``source_text``
          (whitespace- and case-insensitive), except numbers in multihop items (computed
          values such as ``"68 年"``); English items without a key
          fact wholly in Latin letters, or with a Chinese-only key fact longer than a name
          (4 characters);
        * key facts the item's own ``reference_answer`` does not contain (matched as
          :func:`key_fact_found` matches an answer);
        * a split on some items but not all; a type with less than 40% of its items in
          ``test``;
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
    problems.extend(_split_problems(items))
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
