"""The retrieval chain: condense -> retrieve -> (refuse | generate) -> check citations.

``Assistant.stream`` yields events as they happen: ``Standalone`` (the question as searched),
``Passages``, ``Token`` (answer text pieces) and ``Final`` (the checked ``Answer``);
``Assistant.ask`` returns the answer; ``Assistant.as_runnable`` exposes the same as a LangChain
Runnable. The chain asks the generator of a mode for its parts: its ``QueryRewriter`` condenses
a follow-up and its ``Translator``, where it has one, gives a Chinese BM25 query.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.runnables import Runnable, RunnableGenerator

from assistant.arithmetic import asked_difference, computed_answer, find_difference
from assistant.citations import CheckedAnswer, bigram_overlap, check_answer, join_checked
from assistant.followup import asked_part
from assistant.generators import looks_like_refusal
from assistant.retrieval import HybridSearcher, RetrievalResult
from assistant.settings import AssistantSettings
from assistant.sufficiency import Sufficiency, SufficiencyChecker
from assistant.support import JudgeCheck
from assistant.terms import Term, held, library_terms
from assistant.types import (
    FALLBACK_UNSUPPORTED,
    FALLBACK_VALUES,
    REFUSAL,
    Answer,
    AnswerSentence,
    GenerationRequest,
    Generator,
    Language,
    Passage,
    SupportCheck,
    SupportJudge,
    Timings,
    Turn,
)
from ingest.errors import ModelUnavailable, WhitepaperError
from ingest.index import DocumentRecord, Index
from ingest.text import IDEOGRAPH_SPAN, LATIN_TERM, detect_language, is_named_term

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport, Progress

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 1000
#: The line before evidence quoted for parts of a question the model's answer left out.
MISSED_PARTS_LEAD_IN: dict[Language, str] = {"zh": "原文还写道：", "en": "The paper also says:"}
#: Before the model's translations of a fallback's Chinese quotes (an English question).
TRANSLATED_LEAD_IN = "Translated from the paper:"
#: Before the quotes left untranslated (beyond ``MAX_TRANSLATED_QUOTES``, or failed the check).
UNTRANSLATED_LEAD_IN = "And in the paper's Chinese:"
#: Quotes translated at most: an English sentence per quote at ~15 tokens/s on 2 cores;
#: three took 8–15 s more than the Chinese quotes on calib, two hold what those gained.
MAX_TRANSLATED_QUOTES = 2
MAX_MISSED_QUOTES = 2
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class QuestionError(WhitepaperError):
    """The question cannot be asked as given (empty, too long, no words)."""


@dataclass(frozen=True)
class Standalone:
    """The question as it will be searched (a follow-up rewritten to stand alone)."""

    question: str


@dataclass(frozen=True)
class Passages:
    """The retrieved passages, numbered as the generator sees them."""

    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class Token:
    """A piece of the answer text as the generator writes it (unchecked)."""

    text: str


@dataclass(frozen=True)
class Status:
    """What happens between the tokens and the checked answer: ``"checking"`` (each sentence
    against its passage), ``"quoting"`` (nothing the model wrote held: the passages are
    quoted instead, and the streamed text is not the answer) or ``"translating"`` (an
    English reader's quotes are being translated, ~8-15 s on 2 cores)."""

    stage: Literal["checking", "quoting", "translating"]


@dataclass(frozen=True)
class Final:
    """The checked answer; always the last event."""

    answer: Answer


#: One step of a streamed answer.
Event = Standalone | Passages | Token | Status | Final


def _translator(
    generator: Generator, request: GenerationRequest
) -> Callable[[list[str]], list[str]] | None:
    """The generator's ``translate`` when the reader asked in English and it has one."""
    return getattr(generator, "translate", None) if request.language == "en" else None


def clean_question(question: str) -> str:
    """Strip control characters; refuse empty, word-less or over-long questions clearly."""
    text = _CONTROL.sub(" ", question or "").strip()
    if not text:
        raise QuestionError("the question is empty: type a question about the document")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}: "
            "ask about one thing at a time"
        )
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        raise QuestionError("the question has no words, only punctuation or symbols: rephrase it")
    return text


def refusal_text(language: Language, nearest: Sequence[str]) -> str:
    """The fixed refusal, followed by the nearest sections the document does cover."""
    if not nearest:
        return REFUSAL[language]
    if language == "zh":
        return f"{REFUSAL[language]}\n最接近的章节：" + "；".join(nearest)
    return f"{REFUSAL[language]}\nNearest sections it does cover: " + "; ".join(nearest)


def unknown_terms(question: str, vocabulary: frozenset[str] | set[str]) -> list[str]:
    """Named Latin terms of the question whose words the index has never seen."""
    unknown = []
    for term in LATIN_TERM.findall(question):
        if not is_named_term(term):
            continue
        words = [w.lower() for w in re.findall(r"[A-Za-z]{3,}", term)]
        if words and any(w not in vocabulary for w in words):
            unknown.append(term)
    return unknown


def nearest_sections(passages: Sequence[Passage], n: int = 2) -> tuple[str, ...]:
    seen: list[str] = []
    for p in passages:
        name = p.section or p.title
        if name and name not in seen:
            seen.append(name)
    return tuple(seen[:n])


class Assistant:
    """Answers questions over one index with one of several generators.

    Besides answering (``stream``, ``ask``), it offers what a front end needs without
    reaching into its parts: ``warm_up``/``warm_up_model``/``model_ready`` to load the heavy
    parts ahead of the first question, and the library operations (``documents``,
    ``ingest``, ``remove_document``, ``writing``, ``page_text``, ``check_store``).
    """

    def __init__(
        self,
        settings: AssistantSettings,
        index: Index,
        searcher: HybridSearcher,
        judge: SupportCheck,
        generator_factories: dict[str, Callable[[], Generator]],
        model_judge_factory: Callable[[], SupportJudge] | None = None,
        default_mode: str = "extractive",
        notice: str | None = None,
        model_checker: SupportCheck | None = None,
        sufficiency: SufficiencyChecker | None = None,
        model_sufficiency: SufficiencyChecker | None = None,
    ) -> None:
        self.settings = settings
        self.sufficiency = sufficiency or SufficiencyChecker(
            lambda: library_terms(index), fallback=settings.retrieval.refusal_threshold
        )
        #: The LLM modes' refusal signal: the cheap one plus the model's yes/no, when wired.
        self.model_sufficiency = model_sufficiency
        self.index = index
        self.searcher = searcher
        self.judge = judge
        #: The checker of the LLM modes: the same layers, with the model for the undecided band.
        self.model_checker = model_checker or judge
        self._factories = generator_factories
        self._generators: dict[str, Generator] = {}
        self._model_judge_factory = model_judge_factory
        self._model_judge: SupportJudge | None = None
        self.default_mode = default_mode
        self.notice = notice
        self._lock = threading.RLock()

    @property
    def modes(self) -> list[str]:
        return list(self._factories)

    def generator(self, mode: str) -> Generator:
        if mode not in self._factories:
            raise ModelUnavailable(
                f"mode {mode!r} is not available (available: {', '.join(self._factories)}); for "
                "openai set WHITEPAPER_OPENAI_BASE_URL and WHITEPAPER_OPENAI_MODEL"
            )
        with self._lock:  # two first requests must not build (and load) a model twice
            if mode not in self._generators:
                self._generators[mode] = self._factories[mode]()
            return self._generators[mode]

    @property
    def can_quote(self) -> bool:
        """Whether extractive quotes can stand in for a model answer that failed the check."""
        return "extractive" in self._factories

    def checker_for(self, mode: str) -> SupportCheck:
        """The checker a mode's answers are checked with (the eval re-checks with it too)."""
        return self.judge if mode == "extractive" else self.model_checker

    def model_judge(self) -> SupportJudge:
        if self._model_judge_factory is None:
            raise ModelUnavailable(
                "no model judge is configured: install the local model or set "
                "WHITEPAPER_OPENAI_BASE_URL and WHITEPAPER_OPENAI_MODEL"
            )
        with self._lock:
            if self._model_judge is None:
                self._model_judge = self._model_judge_factory()
            return self._model_judge

    # -- readiness ------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the embedding model, open the vector store and load BM25, so the first
        question does not wait for them. Raises what opening them raises."""
        self.searcher.warm_up()

    def warm_up_model(self, mode: str) -> bool:
        """Load the model of an LLM ``mode`` now (it would load on its first question).

        Returns whether the mode has a model that loads (False: nothing to do, e.g. the
        extractive mode or a remote endpoint). Raises what loading raises."""
        warm = getattr(self._chat_model(self.generator(mode)), "warm_up", None)
        if warm is None:
            return False
        warm()
        return True

    def model_ready(self, mode: str) -> bool:
        """Whether ``mode`` answers without loading a model first. Never builds or loads
        anything: a mode not used yet is not ready unless it has no model to load."""
        with self._lock:
            generator = self._generators.get(mode)
        if generator is None:
            return False
        return bool(getattr(self._chat_model(generator), "loaded", True))

    @staticmethod
    def _chat_model(generator: Generator) -> Any:
        return getattr(generator, "chat_model", None)

    # -- the library ----------------------------------------------------------------------------

    def documents(self) -> list[DocumentRecord]:
        """The documents of the index, as the catalog lists them."""
        return self.index.documents()

    def page_text(self, content_hash: str, page_index: int) -> tuple[str, str, list[str]] | None:
        """One page of a document version: (label, text, footnotes), or None if unknown."""
        return self.index.page_text(content_hash, page_index)

    def check_store(self) -> int:
        """Open the vector store now (``IndexDamaged`` if it cannot be); its chunk count."""
        return self.index.check_store()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the home's write lock (shared with the CLI's ingests) for a compound change;
        ``ingest`` and ``remove_document`` inside it take it again without waiting."""
        with self.index.writing():
            yield

    def ingest(self, paths: Sequence[Path], progress: Progress | None = None) -> IngestReport:
        """Ingest files into the index under the write lock (a bad file is reported, not
        raised), with the index's own embedding model."""
        from ingest.pipeline import Ingestor

        if progress is None:
            ingestor = Ingestor(self.settings, self.searcher.embeddings, self.index)
        else:
            ingestor = Ingestor(
                self.settings, self.searcher.embeddings, self.index, progress=progress
            )
        return ingestor.ingest(list(paths))

    def remove_document(self, doc_id: str) -> DocumentRecord:
        """Remove a document from the index (``DocumentNotFound`` if it has none)."""
        return self.index.remove(doc_id)

    # -- answering ------------------------------------------------------------------------------

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        mode: str | None = None,
        strict: bool | None = None,
        doc_id: str | None = None,
        top_k: int | None = None,
        verify: str = "checker",
    ) -> Iterator[Event]:
        """Answer a question, yielding events; the last event holds the checked ``Answer``."""
        started = time.perf_counter()
        question = clean_question(question)
        mode = mode or self.default_mode
        strict = self.settings.generation.strict if strict is None else strict
        if strict is None:
            strict = mode != "extractive"
        language = detect_language(question)
        generator = self.generator(mode)

        standalone = generator.rewriter.condense(question, history)
        translator = generator.translator
        bm25_query = translator.translate(standalone) if translator is not None else None
        yield Standalone(standalone)

        result = self.searcher.search(standalone, bm25_query=bm25_query, top_k=top_k, doc_id=doc_id)
        retrieve_ms = (time.perf_counter() - started) * 1000
        yield Passages(result.passages)

        nearest = nearest_sections(result.passages)
        request = GenerationRequest(question, standalone, language, result.passages)
        sufficiency = self._sufficiency(request, result, mode)

        def refusal_with(timings: Timings) -> Answer:
            return self._refusal(
                question, standalone, result, mode, language, nearest, timings, sufficiency.margin
            )

        if not sufficiency.sufficient:
            refusal = refusal_with(Timings(round(retrieve_ms, 1), None, _elapsed_ms(started)))
            yield Token(refusal.text)
            yield Final(refusal)
            return

        pieces: list[str] = []
        first_token_ms: float | None = None
        for piece in generator.stream(request):
            if first_token_ms is None:
                first_token_ms = (time.perf_counter() - started) * 1000
            pieces.append(piece)
            yield Token(piece)
        raw = "".join(pieces)
        if mode != "extractive":
            yield Status("checking")

        checker = self.checker_for(mode)
        if verify == "model":
            checker = JudgeCheck(self.model_judge())
        # A model sentence that only restates the question is no answer (the prompt forbids it;
        # a small model still does it): removed in strict mode, like an unsupported one.
        asked = standalone if mode != "extractive" else None
        checked = check_answer(raw, result.passages, checker, strict=strict, question=asked)
        fallback = None
        refused = looks_like_refusal(raw)
        if not checked.sentences and not refused and mode != "extractive" and self.can_quote:
            # Nothing the model wrote survived the check: the reader gets the quotes from the
            # same passages, never an uncited or empty answer.
            yield Status("quoting")
            quotes = "".join(self.generator("extractive").stream(request))
            fallback_checked = check_answer(quotes, result.passages, self.judge, strict=True)
            if fallback_checked.sentences:
                fallback = FALLBACK_UNSUPPORTED
                if _translator(generator, request) is not None:
                    yield Status("translating")
                translated = self._translated_quotes(generator, request, fallback_checked, checker)
                if translated is not None:
                    fallback += ", translated (each translation checked against its passage)"
                    fallback_checked = translated
                checked = replace(
                    fallback_checked,
                    removed_unsupported=checked.removed_unsupported
                    + fallback_checked.removed_unsupported,
                    removed=checked.removed + fallback_checked.removed,
                )
        if fallback is None and not refused and _only_values(checked, request, generator):
            # An English reader got values without words ("43.25【1】"): the unit the model would
            # copy is Chinese (43.25 万美元), so the bare value misleads. The sentences its
            # markers name, translated and each checked against its own, say it whole.
            yield Status("translating")
            translated = self._translated_quotes(generator, request, _cited(checked), checker)
            if translated is not None:
                fallback = FALLBACK_VALUES
                checked = translated
        if fallback is None and not refused and checked.sentences and mode != "extractive":
            checked = self._quote_missed_parts(request, checked)
        if not refused and checked.sentences:
            checked = self._computed_difference(request, checked, checker)
        if refused or not checked.sentences:
            timings = Timings(round(retrieve_ms, 1), _round(first_token_ms), _elapsed_ms(started))
            yield Final(refusal_with(timings))
            return
        answer = Answer(
            question=question,
            text=checked.text,
            citations=checked.citations,
            passages=result.passages,
            standalone_question=standalone,
            refused=False,
            mode=mode,
            timings=Timings(
                round(retrieve_ms, 1),
                _round(first_token_ms),
                _elapsed_ms(started),
            ),
            language=language,
            sentences=checked.sentences,
            nearest_sections=nearest,
            removed_unsupported=checked.removed_unsupported,
            removed_sentences=checked.removed,
            fallback=fallback,
            sufficiency_margin=sufficiency.margin,
        )
        yield Final(answer)

    def _translated_quotes(
        self,
        generator: Generator,
        request: GenerationRequest,
        quotes: CheckedAnswer,
        checker: SupportCheck,
    ) -> CheckedAnswer | None:
        """For a reader who asked in English, the Chinese quotes of a fallback translated by
        the model (the ``MAX_TRANSLATED_QUOTES`` closest to the question), each translation
        checked against its own quote (strict); the quotes not translated follow in Chinese.
        None when the generator cannot translate, the quotes are not Chinese, or no
        translation holds."""
        translate = _translator(generator, request)
        chinese = [s for s in quotes.sentences if s.markers and _IDEOGRAPH.search(s.text)]
        if translate is None or not chinese:
            return None
        kept: list[str] = []
        dropped: list[str] = []
        chosen = self._closest(request, chinese, MAX_TRANSLATED_QUOTES)
        rest = [s for s in chinese if s not in chosen]  # not translated, in their order
        for source, english in zip(chosen, translate([s.text for s in chosen]), strict=True):
            # Each translation must say what its own quote says (numbers, names, polarity,
            # then the model's yes/no across the languages), not just something in a passage.
            if english and checker.check(english, source.text).supported:
                kept.append(f"{english}【{source.markers[0]}】")
            else:
                dropped += [english] if english else []
                rest.append(source)
        if not kept:
            log.info("no translation of the quotes held; quoting them in Chinese")
            return None
        # Nothing the quotes said is lost: the rest follow in the paper's Chinese (in order).
        rest.sort(key=chinese.index)
        translated = check_answer(
            f"{TRANSLATED_LEAD_IN}\n{' '.join(kept)}", request.passages, checker, strict=True
        )
        if rest and translated.sentences:
            in_chinese = "".join(f"{s.text}【{s.markers[0]}】" for s in rest)
            translated = join_checked(
                translated,
                check_answer(
                    f"{UNTRANSLATED_LEAD_IN}\n{in_chinese}", request.passages, checker, strict=True
                ),
            )
        log.info("translated %d quote(s): %d held", len(chosen), len(kept))
        if not translated.sentences:
            return None
        return replace(
            translated,
            removed_unsupported=translated.removed_unsupported + len(dropped),
            removed=translated.removed + tuple(dropped),
        )

    def _closest(
        self, request: GenerationRequest, quotes: list[AnswerSentence], k: int
    ) -> list[AnswerSentence]:
        """The ``k`` of ``quotes`` the quoting selector scores closest to the question, in
        their order (the first ``k`` without a selector)."""
        rank = getattr(self.generator("extractive"), "rank", None) if self.can_quote else None
        if rank is None or len(quotes) <= k:
            return quotes[:k]
        question = request.standalone_question
        scores = {s.text: s.score for s in rank(question, request.passages, asked_part(question))}
        best = sorted(quotes, key=lambda q: -scores.get(q.text, float("-inf")))[:k]
        return [q for q in quotes if q in best]

    def _quote_missed_parts(
        self, request: GenerationRequest, checked: CheckedAnswer
    ) -> CheckedAnswer:
        """A part of the question the model's answer left out, where the evidence answers it,
        is quoted after the answer (at most ``MAX_MISSED_QUOTES`` sentences): the evidence
        sentences (the extractive choice) the answer did not draw on that hold a content term
        of the question which neither the answer nor the evidence it drew on holds."""
        if not self.can_quote:
            return checked
        quoter = self.generator("extractive")
        select = getattr(quoter, "select", None)
        if select is None:
            return checked
        chosen = select(
            request.standalone_question, request.passages, asked_part(request.standalone_question)
        )
        answer = [s.text for s in checked.sentences]
        if any(_IDEOGRAPH.search(e.text) for e in chosen) and not any(
            _IDEOGRAPH.search(a) for a in answer
        ):
            # An answer in another language than its evidence (English from Chinese): the
            # term test below cannot see what a translation said (a Chinese sentence matched
            # the question only by an English gloss, "Generated Content", was seen quoted),
            # and the reader asked in the answer's language.
            return checked
        # An evidence sentence the answer drew on (an answer sentence mostly made of its words)
        # answers what it holds, whether or not the answer repeats the question's words.
        used = [e for e in chosen if any(bigram_overlap(a, e.text) >= 0.5 for a in answer)]
        said = "\n".join(answer + [e.text for e in used])
        missed = [
            e
            for e in chosen
            if e not in used
            and not e.terms <= _held_terms(e.terms, said)
            and bigram_overlap(e.text, said) < 0.5
        ][:MAX_MISSED_QUOTES]
        if not missed:
            return checked
        quotes = "".join(f"{s.text}【{s.passage.number}】" for s in missed)
        added = check_answer(
            f"{MISSED_PARTS_LEAD_IN[request.language]}\n{quotes}",
            request.passages,
            self.judge,
            strict=True,
        )
        if not added.sentences:
            return checked
        log.info("quoted %d evidence sentence(s) for parts the answer left out", len(missed))
        return join_checked(checked, added)

    def _computed_difference(
        self, request: GenerationRequest, checked: CheckedAnswer, checker: SupportCheck
    ) -> CheckedAnswer:
        """For a question asking how many years lie between two things (or how much sooner one
        thing took than another), the difference of the two quantities the answer's cited
        sentences give, computed and shown as a computation after the answer
        (``assistant.arithmetic``); the answer as it was when there is none."""
        question = request.standalone_question
        if asked_difference(question) is None:
            return checked  # most questions: no term statistics needed
        terms = (
            getattr(self.generator("extractive"), "question_terms", None)
            if self.can_quote
            else None
        )
        if terms is None:
            return checked
        difference = find_difference(
            question, terms(question, request.passages), checked.sentences, request.passages
        )
        if difference is None:
            return checked
        computed = computed_answer(difference, request.language, request.passages, checker)
        log.info("computed the difference asked: %s", computed.sentences[0].text)
        return join_checked(checked, computed)

    def ask(self, question: str, history: Sequence[Turn] = (), **kwargs: Any) -> Answer:
        """Answer a question and return the checked ``Answer``."""
        final: Answer | None = None
        for event in self.stream(question, history, **kwargs):
            if isinstance(event, Final):
                final = event.answer
        assert final is not None
        return final

    def as_runnable(self) -> Runnable[Any, Event]:
        """A LangChain Runnable: input {"question", "history"?, "mode"?}; streams ``Event``s."""

        def run(inputs: Iterator[dict[str, Any]]) -> Iterator[Event]:
            for item in inputs:
                history = [
                    Turn(t["role"], t["content"]) if isinstance(t, dict) else t
                    for t in item.get("history", ())
                ]
                options = {k: v for k, v in item.items() if k not in ("question", "history")}
                yield from self.stream(item["question"], history, **options)

        return RunnableGenerator(run)

    def sufficiency_for(self, mode: str) -> SufficiencyChecker:
        """The refusal signal of a mode: the model-backed one for the LLM modes when wired."""
        if mode != "extractive" and self.model_sufficiency is not None:
            return self.model_sufficiency
        return self.sufficiency

    def _sufficiency(
        self, request: GenerationRequest, result: RetrievalResult, mode: str
    ) -> Sufficiency:
        """Whether to refuse before generation: the evidence is insufficient
        (``assistant.sufficiency``: no passage, a named term the library never mentions, or a
        low calibrated score)."""
        verdict = self.sufficiency_for(mode).assess(
            request.standalone_question, result.passages, request.language, result.best_similarity
        )
        if not verdict.sufficient:
            log.info("refusing before generation: %s", verdict.reason)
        return verdict

    def _refusal(
        self,
        question: str,
        standalone: str,
        result: RetrievalResult,
        mode: str,
        language: Language,
        nearest: tuple[str, ...],
        timings: Timings,
        sufficiency_margin: float | None = None,
    ) -> Answer:
        """The fixed refusal (with the nearest sections) as an ``Answer``."""
        return Answer(
            question=question,
            text=refusal_text(language, nearest),
            citations=(),
            passages=result.passages,
            standalone_question=standalone,
            refused=True,
            mode=mode,
            timings=timings,
            language=language,
            nearest_sections=nearest,
            sufficiency_margin=sufficiency_margin,
        )


_IDEOGRAPH = re.compile(f"[{IDEOGRAPH_SPAN}]")
_WORD = re.compile(r"[A-Za-z]{2,}")


def _only_values(checked: CheckedAnswer, request: GenerationRequest, generator: Generator) -> bool:
    """Whether an answer for an English reader, from a generator that translates, holds no
    English word at all (only numbers, symbols and markers)."""
    return (
        bool(checked.sentences)
        and _translator(generator, request) is not None
        and not any(_WORD.search(s.text) for s in checked.sentences)
    )


def _cited(checked: CheckedAnswer) -> CheckedAnswer:
    """The passage sentences an answer's citations quote, one per citation, as quotes."""
    seen: dict[tuple[int, str], AnswerSentence] = {}
    for c in checked.citations:
        seen.setdefault((c.marker, c.quote), AnswerSentence(c.quote, (c.marker,), True, 1.0))
    return replace(checked, sentences=tuple(seen.values()), removed_unsupported=0, removed=())


def _held_terms(terms: frozenset[str], text: str) -> set[str]:
    return held([Term(t, 1.0, True) for t in terms], text)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
