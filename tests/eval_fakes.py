"""Deterministic fakes for the eval tests: answers and a scripted assistant.

Passages and the support judge come from :mod:`assistant.fakes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant.types import (
    REFUSAL,
    Answer,
    AnswerSentence,
    Citation,
    Language,
    Passage,
    Timings,
    Turn,
)


def citation(marker: int, sentence_index: int, chunk_id: str | None = None) -> Citation:
    return Citation(
        marker=marker,
        chunk_id=chunk_id or f"c{marker}",
        doc_id="doc",
        title="AIGC 白皮书",
        page_index=marker - 1,
        page_label=str(marker),
        section_path=("一、AIGC",),
        quote="quote",
        quote_start=0,
        quote_end=5,
        doc_start=0,
        doc_end=5,
        sentence_index=sentence_index,
        support=1.0,
    )


def sentence(text: str, *markers: int) -> AnswerSentence:
    return AnswerSentence(text=text, markers=markers, supported=True, support=1.0)


def answer(
    text: str,
    passages: Sequence[Passage] = (),
    *,
    question: str = "q",
    refused: bool = False,
    language: Language = "zh",
    sentences: Sequence[AnswerSentence] = (),
    citations: Sequence[Citation] = (),
    total_ms: float = 100.0,
    first_token_ms: float | None = 20.0,
) -> Answer:
    return Answer(
        question=question,
        text=text,
        citations=tuple(citations),
        passages=tuple(passages),
        standalone_question=question,
        refused=refused,
        mode="fake",
        timings=Timings(retrieve_ms=5.0, first_token_ms=first_token_ms, total_ms=total_ms),
        language=language,
        sentences=tuple(sentences),
    )


def refusal(language: Language = "zh", passages: Sequence[Passage] = ()) -> Answer:
    return answer(REFUSAL[language], passages, refused=True, language=language)


@dataclass
class ScriptedAssistant:
    """Answers each question with a scripted answer; records every call.

    ``fail_after`` makes the call after that many answers raise, to simulate a crash.
    """

    answers: Mapping[str, Answer]
    fail_after: int | None = None
    calls: list[tuple[str, tuple[Turn, ...], str | None]] = field(default_factory=list)

    def ask(
        self, question: str, history: Sequence[Turn] = (), *, mode: str | None = None
    ) -> Answer:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RuntimeError("scripted crash")
        self.calls.append((question, tuple(history), mode))
        return self.answers[question]
