"""The LLM generator: any LangChain chat model (local llama.cpp or OpenAI-compatible) behind
the ``Generator`` protocol, plus the condense step those modes use."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.citations import said_key
from assistant.followup import RuleRewriter, asked_part, needs_context, referent
from assistant.markers import citation_grammar, translation_grammar
from assistant.prompts import CONDENSE_PROMPT, answer_messages, history_text, translate_messages
from assistant.types import GenerationRequest, Passage, QueryRewriter, Translator, Turn
from ingest.text import detect_language

log = logging.getLogger(__name__)

#: The selection margin of a model's evidence when an English question meets Chinese sentences
#: (scored by meaning alone): their e5 similarities sit close together (calib: 0.07 from the
#: best to the sixth sentence, against 0.16 for a Chinese question's mixed scores), so the
#: quoting margin (0.1) let nearly every sentence in, up to the cap.
EVIDENCE_MEANING_MARGIN: float | None = 0.03
#: The selection margin of a model's evidence otherwise (None: the quoting margin, 0.1).
EVIDENCE_MARGIN: float | None = 0.15

_REFUSAL_HINTS = re.compile(
    r"没有找到|未找到|没有提及|未提及|没有提到|未提到|无法回答|不包含|没有相关|并未|资料中没有|"
    r"does not cover|not covered|not mention|no information|cannot answer|can't answer|"
    r"do(es)? not contain|not provided|no relevant",
    re.I,
)


class Excerpter(Protocol):
    """Shortens a passage to its sentences most relevant to a question."""

    def excerpt(
        self, question: str, passage: Passage, budget: int, keywords_from: str | None = None
    ) -> str: ...


class EvidenceSentence(Protocol):
    """A sentence an excerpter's ``select`` chose (``assistant.extractive.ScoredSentence``)."""

    passage: Passage
    text: str
    offset: int


_CITED_SENTENCE = re.compile(r"([^【】]*?)((?:【\d+】)+)[。.!?！？]?")


def until_repeated(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces of a cited answer up to the end of the first sentence that repeats an earlier
    one (markers and spacing aside), or up to a sentence that says the same words three times
    over. A small model that starts repeating itself (seen: a heading, again and again, inside
    one sentence) keeps at it until the token limit; the repeat adds nothing and the stream
    closes, which stops the generation."""
    text = ""
    done = 0  # characters of ``text`` already split into sentences
    seen: set[str] = set()
    for piece in pieces:
        yield piece
        text += piece
        if _loops(text[done:]):
            log.info("the model repeated itself within a sentence; generation stopped")
            return
        for match in _CITED_SENTENCE.finditer(text, done):
            if match.end() == len(text) and match.group(0)[-1] not in "。.!?！？":
                break  # a marker may still be followed by another marker or a full stop
            done = match.end()
            body = said_key(match.group(1))
            if body in seen:
                log.info("the model repeated a sentence; generation stopped")
                return
            seen.add(body)


def _loops(sentence: str, longest: int = 60) -> bool:
    """Whether ``sentence`` ends with the same run of 4 to ``longest`` characters three times
    in a row ("方向二、…方向二、…方向二、…")."""
    for size in range(4, min(longest, len(sentence) // 3) + 1):
        tail = sentence[-size:]
        if sentence[-2 * size : -size] == tail and sentence[-3 * size : -2 * size] == tail:
            return True
    return False


def looks_like_refusal(text: str) -> bool:
    """Whether a generated answer says the passages do not hold the answer."""
    head = text.strip()[:80]
    return bool(_REFUSAL_HINTS.search(head))


class ChatGenerator:
    """Answers with a chat model through an LCEL chain: messages | model | text.

    The model writes from evidence chosen for what the question asks: with an excerpter that
    also selects (the extractive generator's ``select``) and ``evidence_chars``, it reads only the
    selected sentences (each part of the question gets its own, whole sentences within
    ``evidence_chars``), under the numbers of their passages, and the passages without one
    are left out of the prompt. Otherwise a passage longer than ``passage_budget`` characters
    is replaced by an excerpt of its most relevant sentences. Citations are still checked
    against the whole passages. The model is also its own rewriter (``condense``); the search
    query of an English question comes from ``translator`` (no model call on the critical
    path, see ``assistant.crosslingual``).
    """

    def __init__(
        self,
        chat_model: BaseChatModel,
        mode: str,
        excerpter: Excerpter | None = None,
        passage_budget: int = 700,
        translator: Translator | None = None,
        evidence_chars: int | None = None,
        evidence_sentences: int = 6,
        margin: float | None = EVIDENCE_MARGIN,
        meaning_margin: float | None = EVIDENCE_MEANING_MARGIN,
    ) -> None:
        self.mode = mode
        self.chat_model = chat_model
        self.excerpter = excerpter
        self.evidence_chars = evidence_chars
        self.evidence_sentences = evidence_sentences
        self.margin = margin
        self.meaning_margin = meaning_margin
        self.passage_budget = passage_budget
        self.rewriter: QueryRewriter = self
        self.translator = translator
        self.chain: Runnable[Any, str] = (
            RunnableLambda(self.messages) | chat_model | StrOutputParser()
        )

    def evidence(self, request: GenerationRequest) -> tuple[GenerationRequest, dict[int, str]]:
        """The request as the model sees it: only the passages that hold a selected evidence
        sentence, and each passage's selected sentences (document order), by number. Without a
        selector (or when nothing is selected) the request and no replacement texts."""
        select = getattr(self.excerpter, "select", None)
        if select is None or not self.evidence_chars or not request.passages:
            return request, {}
        chosen = select(
            request.standalone_question,
            request.passages,
            asked_part(request.standalone_question),
            max_sentences=self.evidence_sentences,
            max_chars=self.evidence_chars,
            margin=self.margin,
            meaning_margin=self.meaning_margin,
        )
        by_number: dict[int, list[EvidenceSentence]] = {}
        for sentence in sorted(chosen, key=lambda s: (s.passage.number, s.offset)):
            by_number.setdefault(sentence.passage.number, []).append(sentence)
        if not by_number:
            return request, {}
        texts = {n: "…".join(s.text for s in group) for n, group in by_number.items()}
        shown = tuple(p for p in request.passages if p.number in texts)
        return replace(request, passages=shown), texts

    def messages(self, request: GenerationRequest) -> list[BaseMessage]:
        """The prompt: system prompt, numbered evidence (or excerpted passages), the question."""
        return self._prompt(request, *self.evidence(request))

    def _prompt(
        self, request: GenerationRequest, shown: GenerationRequest, texts: dict[int, str]
    ) -> list[BaseMessage]:
        if texts:  # selected evidence: whole sentences, nothing to cut
            return answer_messages(shown, texts, max_chars=None)
        if self.excerpter is None:
            return answer_messages(request, {}, max_chars=self.passage_budget)
        for p in request.passages:
            if len(p.text) > self.passage_budget:
                texts[p.number] = self.excerpter.excerpt(
                    request.standalone_question, p, self.passage_budget, request.question
                )
        # Excerpts are whole sentences: a sentence cut in two reads as another claim.
        return answer_messages(request, texts, max_chars=None)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """The answer's text as it is written. A model that takes a grammar (the local one) can
        only write sentences ending in 【n】 for the passages it was shown, or the refusal
        (``assistant.markers``); another is asked to by the prompt and checked after."""
        if not getattr(self.chat_model, "accepts_grammar", False) or not request.passages:
            yield from self.chain.stream(request)
            return
        shown, texts = self.evidence(request)
        grammar = citation_grammar((p.number for p in shown.passages), language=request.language)
        model = self.chat_model.bind(grammar=grammar)
        pieces = (model | StrOutputParser()).stream(self._prompt(request, shown, texts))
        yield from until_repeated(pieces)

    def translate(self, quotes: Sequence[str]) -> list[str]:
        """English translations of Chinese ``quotes``, one per quote and in order ("" where
        the model wrote none). With a grammar the model writes exactly one English sentence
        per quote, the i-th ending with 【i】; the caller checks each against its quote."""
        if not quotes:
            return []
        model: Any = self.chat_model
        if getattr(self.chat_model, "accepts_grammar", False):
            model = self.chat_model.bind(grammar=translation_grammar(len(quotes)))
        text = "".join((model | StrOutputParser()).stream(translate_messages(quotes)))
        found = {
            int(m.group(2)): m.group(1).strip()
            for m in re.finditer(r"([^【】]+?)\s*【(\d+)】[。.!?！？]?", text)
        }
        # The grammar lets "." run into a letter (43.25, U.S.); "responsibilities.Therefore"
        # is two sentences run together: give them their space back.
        return [
            re.sub(r"(?<=[a-z]{2})\.(?=[A-Z][a-z])", ". ", found.get(i, ""))
            for i in range(1, len(quotes) + 1)
        ]

    def _complete(self, prompt: str, max_chars: int = 300) -> str:
        text = (self.chat_model | StrOutputParser()).invoke([HumanMessage(prompt)])
        return text.strip().splitlines()[0].strip()[:max_chars] if text.strip() else ""

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The model rewrites a follow-up into a standalone question (rule as a fallback)."""
        if not history or not needs_context(question):
            return question
        if referent(question, history) is not None:
            # An ordinal follow-up ("第三个方面"): the rule names the item it points at, which a
            # small model's rewrite was seen to drop ("…的应用有哪些特点？").
            return RuleRewriter().condense(question, history)
        try:
            rewritten = self._complete(
                CONDENSE_PROMPT.format(history=history_text(history), question=question)
            )
        except Exception as exc:  # a model hiccup must not lose the question
            log.warning("condense failed (%s); using the rule", exc)
            rewritten = ""
        if not rewritten or detect_language(rewritten) != detect_language(question):
            return RuleRewriter().condense(question, history)
        return rewritten
