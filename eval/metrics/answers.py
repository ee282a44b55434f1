"""Figures of one answer's text: key facts, refusal, language, faithfulness per judge, and the
invariants every answer must keep.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.arithmetic import marker_holds_operand
from assistant.arithmetic import verify as verify_computation
from assistant.citations import as_claim
from assistant.types import REFUSAL, Answer, AnswerSentence, Language, SupportJudge
from eval.dataset import KeyFact, key_fact_found
from ingest.text import detect_language

_MARKER_RE = re.compile(r"【(\d+)】")
_REFUSALS = tuple(REFUSAL.values())


# --------------------------------------------------------------------------- answer text


def key_fact_recall(key_facts: Sequence[KeyFact], answer_text: str) -> float | None:
    """Share of key facts contained in the answer (whitespace- and case-insensitive).

    A key fact given as a list of alternatives counts when any one of them is contained; a
    number is not found inside a longer number (``"6 年"`` is not in ``"2006 年"``).
    ``None`` when there are no key facts (unanswerable items).
    """
    if not key_facts:
        return None
    return sum(key_fact_found(fact, answer_text) for fact in key_facts) / len(key_facts)


def is_refusal(answer: Answer) -> bool:
    """Whether the answer counts as a refusal: flagged *and* starting with a fixed sentence."""
    return answer.refused and answer.text.startswith(_REFUSALS)


def answer_language(answer: Answer) -> Language:
    """The language the answer is written in: a refusal's fixed sentence decides, else the
    text (markers removed) by the rule of :func:`ingest.text.detect_language`."""
    if is_refusal(answer):
        return "zh" if answer.text.startswith(REFUSAL["zh"]) else "en"
    return detect_language(_MARKER_RE.sub("", answer.text))


def language_matches(question: str, answer: Answer) -> bool:
    """Whether the answer is in the language of the question."""
    return bool(answer.text.strip()) and answer_language(answer) == detect_language(question)


# --------------------------------------------------------------------------- faithfulness


@dataclass(frozen=True)
class CitationScores:
    """ALCE-style citation figures of one answer under one judge (``None``: not applicable)."""

    judge: str
    recall: float | None
    precision: float | None
    sentences: int
    citations: int
    unsupported_sentences: tuple[int, ...] = ()


def _answer_sentences(answer: Answer) -> list[AnswerSentence]:
    if answer.sentences:
        return list(answer.sentences)
    if not answer.text.strip():
        return []
    # No segmentation given: judge the whole text as one sentence with all its markers.
    markers = tuple(int(m) for m in _MARKER_RE.findall(answer.text))
    return [AnswerSentence(text=answer.text, markers=markers, supported=False, support=0.0)]


def citation_scores(answer: Answer, judge: SupportJudge) -> CitationScores:
    """Citation recall and precision of a non-refusal answer (see the module docstring).

    Markers refer to ``Passage.number``; a marker with no such passage supports nothing.
    Each (sentence, passage text) pair is scored once.
    """
    sentences = [] if answer.refused else _answer_sentences(answer)
    sentences = [s for s in sentences if _MARKER_RE.sub("", s.text).strip()]
    if not sentences:
        return CitationScores(judge.name, None, None, 0, 0)
    by_number = {p.number: p.text for p in answer.passages}
    cache: dict[tuple[str, str], bool] = {}

    def supports(sentence: str, text: str) -> bool:
        key = (sentence, text)
        if key not in cache:
            cache[key] = judge.score(sentence, text) >= judge.threshold
        return cache[key]

    supported = precise = n_citations = 0
    unsupported: list[int] = []
    for index, sentence in enumerate(sentences):
        if sentence.computed:
            # Arithmetic on what the passages give: redone, whatever the judge.
            if verify_computation(sentence, answer.passages):
                supported += 1
            else:
                unsupported.append(index)
            n_citations += len(sentence.markers)
            precise += sum(
                marker_holds_operand(sentence, p)
                for p in answer.passages
                if p.number in sentence.markers
            )
            continue
        # A bare value is judged as the answer to its question, as the chain checks it.
        claim = as_claim(_MARKER_RE.sub("", sentence.text).strip(), answer.standalone_question)
        markers = list(dict.fromkeys(sentence.markers))
        texts = [by_number[m] for m in markers if m in by_number]
        if texts and supports(claim, "\n".join(texts)):
            supported += 1
        else:
            unsupported.append(index)
        n_citations += len(markers)
        precise += sum(m in by_number and supports(claim, by_number[m]) for m in markers)
    return CitationScores(
        judge=judge.name,
        recall=supported / len(sentences),
        precision=precise / n_citations if n_citations else 0.0,
        sentences=len(sentences),
        citations=n_citations,
        unsupported_sentences=tuple(unsupported),
    )


# --------------------------------------------------------------------------- invariants


def check_invariants(answer: Answer) -> list[str]:
    """Broken invariants of one answer, as human-readable lines (empty when all hold)."""
    n = len(answer.passages)
    problems: list[str] = []

    def marker_ok(marker: int) -> bool:
        return 1 <= marker <= n

    for marker in sorted({int(m) for m in _MARKER_RE.findall(answer.text)}):
        if not marker_ok(marker):
            problems.append(f"answer text shows marker 【{marker}】 outside 1..{n}")
    for index, sentence in enumerate(answer.sentences):
        for marker in sentence.markers:
            if not marker_ok(marker):
                problems.append(f"sentence {index} cites 【{marker}】 outside 1..{n}")
    retrieved = {cid for p in answer.passages for cid in p.chunk_ids}
    for citation in answer.citations:
        if not marker_ok(citation.marker):
            problems.append(f"citation 【{citation.marker}】 outside 1..{n}")
        if citation.chunk_id not in retrieved:
            problems.append(
                f"citation 【{citation.marker}】 names chunk {citation.chunk_id!r}, "
                "which was not retrieved"
            )
    if answer.refused:
        fixed = REFUSAL.get(answer.language, REFUSAL["zh"])
        if not answer.text.startswith(fixed):
            problems.append(f"refusal does not start with the fixed sentence {fixed!r}")
    return problems
