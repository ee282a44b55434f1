"""What crosses the assistant's boundaries: passages, citations, answers, and the protocols of
its replaceable parts (generator, query rewriter, translator, support judge)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from ingest.model import SECTION_SEP
from ingest.text import Language

Role = Literal["user", "assistant"]

#: The fixed refusal, by language: what the assistant answers when the document does not cover a
#: question (and the reference answer of the eval set's unanswerable items).
REFUSAL: dict[Language, str] = {
    "zh": "白皮书中没有找到与该问题相关的内容。",
    "en": "The white paper does not cover this question.",
}
#: Why an answer is the passages' own sentences instead of the model's (``Answer.fallback``):
#: nothing the model wrote held, or (an English question) it wrote values without words.
FALLBACK_UNSUPPORTED = "the model's answer was not supported by the passages; quoting them"
FALLBACK_VALUES = "the model gave values without words; the sentences it cited, translated"
#: The extractive answer's first line, by language (not a claim; dropped from a history gist).
LEAD_IN: dict[Language, str] = {"zh": "根据白皮书：", "en": "According to the white paper:"}


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass(frozen=True)
class Turn:
    """One message of the chat history."""

    role: Role
    content: str


@dataclass(frozen=True)
class Passage:
    """A retrieved passage as numbered in the prompt (``number`` is 1-based).

    It may merge neighbouring chunks of one section; ``chunk_ids`` lists them in order. Its
    provenance travels with it: ``chunk_offsets`` (where each chunk starts in ``text``),
    ``chunk_starts`` (where it starts in the document text) and ``page_spans`` (each page of
    ``page_indices`` as a span of the document text), so a quote is placed on its page by
    arithmetic, never by searching.
    """

    number: int
    chunk_ids: tuple[str, ...]
    doc_id: str
    title: str
    content_hash: str
    text: str
    start: int
    end: int
    page_labels: tuple[str, ...]
    page_indices: tuple[int, ...]
    section_path: tuple[str, ...]
    score: float
    dense_similarity: float | None = None
    chunk_offsets: tuple[int, ...] = ()  # where each chunk starts inside ``text``
    chunk_starts: tuple[int, ...] = ()  # where each chunk starts in the document text
    page_spans: tuple[tuple[int, int], ...] = ()  # (start, end) of each page in the document

    def __repr__(self) -> str:
        return f"Passage({self.number}, {self.chunk_ids[0]}, text={_short(self.text)!r})"

    def _chunk_index(self, offset: int) -> int:
        starts = self.chunk_offsets or (0,)
        pick = 0
        for i, start in enumerate(starts):
            if start <= offset:
                pick = i
        return min(pick, len(self.chunk_ids) - 1)

    def chunk_at(self, offset: int) -> str:
        """The id of the chunk that holds the character at ``offset`` of ``text``."""
        return self.chunk_ids[self._chunk_index(offset)]

    def document_offset(self, offset: int) -> int:
        """Where the character at ``offset`` of ``text`` stands in the document text (merged
        chunks that did not overlap are joined by a newline the document may not have)."""
        i = self._chunk_index(offset)
        if i >= len(self.chunk_starts):
            return self.start + offset
        return self.chunk_starts[i] + offset - (self.chunk_offsets or (0,))[i]

    def text_offset(self, document_offset: int) -> int:
        """Where a character of the document text stands in ``text`` (its inverse)."""
        if not self.chunk_starts:
            return document_offset - self.start
        pick = 0
        for i, start in enumerate(self.chunk_starts):
            if start <= document_offset:
                pick = i
        return (self.chunk_offsets or (0,))[pick] + document_offset - self.chunk_starts[pick]

    def page_at(self, document_offset: int) -> int:
        """The position in ``page_indices`` of the page holding a document offset (the last
        page that starts at or before it; the first page when no spans are known)."""
        pick = 0
        for i, (start, _) in enumerate(self.page_spans[: len(self.page_indices)]):
            if start <= document_offset:
                pick = i
        return pick

    @property
    def section(self) -> str:
        return SECTION_SEP.join(self.section_path)

    @property
    def pages_display(self) -> str:
        if len(self.page_labels) <= 1:
            return "".join(self.page_labels) or "?"
        return f"{self.page_labels[0]}–{self.page_labels[-1]}"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in (
            "chunk_ids",
            "page_labels",
            "page_indices",
            "section_path",
            "chunk_offsets",
            "chunk_starts",
        ):
            out[key] = list(out[key])
        out["page_spans"] = [list(span) for span in self.page_spans]
        return out


@dataclass(frozen=True)
class Citation:
    """A checked citation: which passage supports which answer sentence, with the quote.

    The quote is ``document text[doc_start:doc_end]``; it begins on page ``page_index``
    (labelled ``page_label``) at ``quote_start`` of that page's text, and ``quote_end`` runs
    past the page's end when the quote continues on the next page.
    """

    marker: int
    chunk_id: str
    doc_id: str
    title: str
    page_index: int
    page_label: str
    section_path: tuple[str, ...]
    quote: str
    quote_start: int
    quote_end: int
    doc_start: int
    doc_end: int
    sentence_index: int
    support: float

    def __repr__(self) -> str:
        return f"Citation(【{self.marker}】 p.{self.page_label}, quote={_short(self.quote)!r})"

    @property
    def section(self) -> str:
        return SECTION_SEP.join(self.section_path)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["section_path"] = list(self.section_path)
        out["section"] = self.section
        return out


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer, the passage numbers backing it, and whether they do.

    A ``computed`` sentence is arithmetic done in code on what its passages give (the years
    between two dated events, ``assistant.arithmetic``): it is checked by redoing the arithmetic
    on its cited passages, not by the support checker (no passage states its result)."""

    text: str
    markers: tuple[int, ...]
    supported: bool
    support: float
    computed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "markers": list(self.markers)}


@dataclass(frozen=True)
class Timings:
    retrieve_ms: float
    first_token_ms: float | None
    total_ms: float


@dataclass(frozen=True)
class Answer:
    """The structured result of one question."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    standalone_question: str
    refused: bool
    mode: str
    timings: Timings
    language: Language
    sentences: tuple[AnswerSentence, ...] = ()
    nearest_sections: tuple[str, ...] = ()
    notice: str | None = None
    removed_unsupported: int = 0
    #: The sentences strict checking removed (shown to the reader, marked, never as fact).
    removed_sentences: tuple[str, ...] = ()
    #: Set when the reader gets the passages' own sentences instead of the model's answer:
    #: it had nothing the checker accepted (``FALLBACK_UNSUPPORTED``, the extractive answer
    #: from the same passages) or, for an English question, only values
    #: (``FALLBACK_VALUES``, the sentences it cited, translated).
    fallback: str | None = None
    #: How far the evidence cleared the refusal threshold before generation (the calibrated
    #: sufficiency score minus the threshold; negative when refused there), when one was cut.
    sufficiency_margin: float | None = None

    def __repr__(self) -> str:
        return f"Answer(mode={self.mode!r}, refused={self.refused}, text={_short(self.text)!r})"

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "text": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "language": self.language,
            "citations": [c.to_json() for c in self.citations],
            "sentences": [s.to_json() for s in self.sentences],
            "passages": [p.to_json() for p in self.passages],
            "nearest_sections": list(self.nearest_sections),
            "timings": asdict(self.timings),
            "notice": self.notice,
            "removed_unsupported": self.removed_unsupported,
            "removed_sentences": list(self.removed_sentences),
            "fallback": self.fallback,
            "sufficiency_margin": self.sufficiency_margin,
        }


@dataclass(frozen=True)
class GenerationRequest:
    """What a generator gets: the question as asked and as searched (a follow-up rewritten to
    stand alone, so the history is already in it), its language, numbered passages."""

    question: str
    standalone_question: str
    language: Language
    passages: Sequence[Passage]


@runtime_checkable
class QueryRewriter(Protocol):
    """Turns a follow-up into a standalone question (a question that needs none is kept)."""

    def condense(self, question: str, history: Sequence[Turn]) -> str: ...


@runtime_checkable
class Translator(Protocol):
    """Gives a Chinese search query for a question in another language (None: keep it)."""

    def translate(self, question: str) -> str | None: ...


@runtime_checkable
class Generator(Protocol):
    """Writes an answer from numbered passages, as a stream of text pieces.

    It brings the parts that go with it: the ``rewriter`` that condenses follow-ups for it and,
    where one exists, a ``translator`` for the BM25 query.
    """

    mode: str
    rewriter: QueryRewriter
    translator: Translator | None

    def stream(self, request: GenerationRequest) -> Iterator[str]: ...


@runtime_checkable
class SupportJudge(Protocol):
    """Scores how well a passage supports a sentence, in [0, 1]; ``threshold`` decides.

    ``quote_score`` ranks the sentences of a supporting passage to pick the quote shown for a
    claim; a judge may rank them otherwise than it scores support (or just call ``score``).
    """

    name: str
    threshold: float

    def score(self, sentence: str, passage: str) -> float: ...


@dataclass(frozen=True)
class Verdict:
    """A support decision on one (passage, sentence) pair, with the reasons and the layer
    ("terms", "polarity", "alignment", "model", ...) that decided it."""

    supported: bool
    score: float
    reasons: tuple[str, ...]
    layer: str

    def to_json(self, explain: bool = False) -> dict[str, object]:
        out: dict[str, object] = {
            "supported": self.supported,
            "score": round(self.score, 3),
            "reasons": list(self.reasons),
        }
        if explain:
            out["layer"] = self.layer
        return out


@runtime_checkable
class SupportCheck(Protocol):
    """What answers are checked with: a decision per (sentence, passage), and a cheap score
    to pick the quote shown for a citation. ``use_model=False`` keeps to the cheap layers."""

    name: str
    threshold: float

    def score(self, sentence: str, passage: str) -> float: ...

    def check(self, sentence: str, passage: str, *, use_model: bool = True) -> Verdict: ...

    def quote_score(self, sentence: str, quote: str) -> float: ...
