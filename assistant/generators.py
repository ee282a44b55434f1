"""The LLM generator: any LangChain chat model (local llama.cpp or OpenAI-compatible) behind
the ``Generator`` protocol, plus the condense and translate steps those modes use."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda

from assistant.followup import RuleRewriter, needs_context
from assistant.language import detect_language, has_cjk
from assistant.prompts import CONDENSE_PROMPT, TRANSLATE_PROMPT, answer_messages, history_text
from assistant.types import GenerationRequest, Turn

log = logging.getLogger(__name__)

_REFUSAL_HINTS = re.compile(
    r"没有找到|未找到|没有提及|未提及|没有提到|未提到|无法回答|不包含|没有相关|并未|资料中没有|"
    r"does not cover|not covered|not mention|no information|cannot answer|can't answer|"
    r"do(es)? not contain|not provided|no relevant",
    re.I,
)


def looks_like_refusal(text: str) -> bool:
    """Whether a generated answer says the passages do not hold the answer."""
    head = text.strip()[:80]
    return bool(_REFUSAL_HINTS.search(head))


class ChatGenerator:
    """Answers with a chat model through an LCEL chain: messages | model | text."""

    def __init__(self, chat_model: BaseChatModel, mode: str, max_passage_chars: int = 700) -> None:
        self.mode = mode
        self.chat_model = chat_model
        self.chain: Runnable[Any, str] = (
            RunnableLambda(lambda r: answer_messages(r, max_passage_chars))
            | chat_model
            | StrOutputParser()
        )

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        yield from self.chain.stream(request)

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

    def translate(self, question: str) -> str | None:
        """A Chinese search query for an English question (for BM25), or None."""
        if has_cjk(question) and detect_language(question) == "zh":
            return None
        try:
            text = self._complete(TRANSLATE_PROMPT.format(question=question), 200)
        except Exception as exc:
            log.warning("translation failed (%s); BM25 uses the English question", exc)
            return None
        return text if has_cjk(text) else None
