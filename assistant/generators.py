"""The LLM generator: any LangChain chat model (local llama.cpp or OpenAI-compatible) behind
the ``Generator`` protocol, plus the condense step those modes use."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.followup import RuleRewriter, needs_context
from assistant.markers import citation_grammar
from assistant.prompts import CONDENSE_PROMPT, answer_messages, history_text
from assistant.types import GenerationRequest, Passage, QueryRewriter, Translator, Turn
from ingest.text import detect_language

log = logging.getLogger(__name__)

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


def looks_like_refusal(text: str) -> bool:
    """Whether a generated answer says the passages do not hold the answer."""
    head = text.strip()[:80]
    return bool(_REFUSAL_HINTS.search(head))


class ChatGenerator:
    """Answers with a chat model through an LCEL chain: messages | model | text.

    The prompt is budgeted: a passage longer than ``passage_budget`` characters is replaced
    by an excerpt of its sentences most relevant to the question (in document order), so a
    small local model reads a top-5 context quickly. Citations are still checked against
    the whole passages. The model is also its own rewriter (``condense``); the search query of
    an English question comes from ``translator`` (no model call on the critical path, see
    ``assistant.crosslingual``).
    """

    def __init__(
        self,
        chat_model: BaseChatModel,
        mode: str,
        excerpter: Excerpter | None = None,
        passage_budget: int = 700,
        translator: Translator | None = None,
    ) -> None:
        self.mode = mode
        self.chat_model = chat_model
        self.excerpter = excerpter
        self.passage_budget = passage_budget
        self.rewriter: QueryRewriter = self
        self.translator = translator
        self.chain: Runnable[Any, str] = (
            RunnableLambda(self.messages) | chat_model | StrOutputParser()
        )

    def messages(self, request: GenerationRequest) -> list[BaseMessage]:
        """The prompt: system prompt, numbered (excerpted) passages, the question."""
        texts: dict[int, str] = {}
        if self.excerpter is not None:
            for p in request.passages:
                if len(p.text) > self.passage_budget:
                    texts[p.number] = self.excerpter.excerpt(
                        request.standalone_question, p, self.passage_budget, request.question
                    )
        if self.excerpter is None:
            return answer_messages(request, texts, max_chars=self.passage_budget)
        # Excerpts are whole sentences: a sentence cut in two reads as another claim.
        return answer_messages(request, texts, max_chars=None)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """The answer's text as it is written. A model that takes a grammar (the local one) can
        only write sentences ending in 【n】 for the given passages, or the refusal
        (``assistant.markers``); another is asked to by the prompt and checked after."""
        if not getattr(self.chat_model, "accepts_grammar", False) or not request.passages:
            yield from self.chain.stream(request)
            return
        grammar = citation_grammar(p.number for p in request.passages)
        model = self.chat_model.bind(grammar=grammar)
        yield from (RunnableLambda(self.messages) | model | StrOutputParser()).stream(request)

    def _complete(self, prompt: str, max_chars: int = 300) -> str:
        text = (self.chat_model | StrOutputParser()).invoke([HumanMessage(prompt)])
        return text.strip().splitlines()[0].strip()[:max_chars] if text.strip() else ""

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """The model rewrites a follow-up into a standalone question (rule as a fallback)."""
        if not history or not needs_context(question):
            return question
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
