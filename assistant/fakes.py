"""Deterministic fakes of the assistant's replaceable parts, for tests and demos.

- :class:`ScriptedChatModel` is a LangChain chat model that answers from a script and records
  every prompt it is given, so tests can assert exact prompts (answer, condense, translate).
- :class:`FakeGenerator` is a ``Generator`` that streams scripted answers and records requests.
- :class:`FakeJudge` is a ``SupportJudge`` with a transparent rule (containment by default).
- :func:`make_passage` builds a ``Passage`` with sensible provenance in one line.

Nothing here loads a model or touches the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from assistant.followup import RuleRewriter
from assistant.types import GenerationRequest, Passage, QueryRewriter, Translator, Verdict
from ingest.text import CONTENT

__all__ = [
    "FakeGenerator",
    "FakeJudge",
    "ScriptedChatModel",
    "contains_rule",
    "make_passage",
    "pieces",
]

_MARKERS = re.compile(r"【[^】]*】")


def pieces(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (how the fakes stream)."""
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class ScriptedChatModel(BaseChatModel):
    """A chat model that replies from a script and records the prompts it gets.

    A reply is chosen by the first rule whose key occurs in the prompt's text (so one model can
    serve the condense, translate and answer prompts of a ``ChatGenerator``); otherwise the next
    unused entry of ``replies`` is taken. Running out of replies is an error that shows the
    prompt, never a silent default. Streaming yields ``chunk_chars`` characters at a time.

    >>> model = ScriptedChatModel(replies=["AIGC 是人工智能生成内容。【1】"])
    >>> model.invoke("什么是 AIGC？").content
    'AIGC 是人工智能生成内容。【1】'
    >>> model.prompt_texts()
    ['human: 什么是 AIGC？']
    """

    replies: list[str] = Field(default_factory=list)
    rules: list[tuple[str, str]] = Field(default_factory=list)
    chunk_chars: int = 3
    fail_with: str | None = None  # raise RuntimeError(fail_with) on every call
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    next_reply: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def prompt_texts(self) -> list[str]:
        """Every recorded prompt as one string: ``role: content`` lines."""
        return [_render(messages) for messages in self.prompts]

    def _reply(self, messages: list[BaseMessage]) -> str:
        self.prompts.append(list(messages))
        if self.fail_with is not None:
            raise RuntimeError(self.fail_with)
        text = _render(messages)
        for key, reply in self.rules:
            if key in text:
                return reply
        if self.next_reply >= len(self.replies):
            raise AssertionError(
                f"ScriptedChatModel has no reply left ({len(self.replies)} scripted) for:\n{text}"
            )
        self.next_reply += 1
        return self.replies[self.next_reply - 1]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self._reply(messages)))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in pieces(self._reply(messages), self.chunk_chars):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


def _render(messages: Sequence[BaseMessage]) -> str:
    return "\n".join(f"{m.type}: {m.content}" for m in messages)


class FakeGenerator:
    """A ``Generator`` that streams scripted answers (the last one repeats) and records requests.

    ``mode`` defaults to ``"fake"``; register it under any mode name in an ``Assistant``.
    Follow-ups are condensed by the extractive rule unless another ``rewriter`` is given.
    """

    def __init__(
        self,
        *answers: str,
        mode: str = "fake",
        chunk_chars: int = 4,
        rewriter: QueryRewriter | None = None,
        translator: Translator | None = None,
    ) -> None:
        if not answers:
            raise ValueError("FakeGenerator needs at least one scripted answer")
        self.answers = list(answers)
        self.mode = mode
        self.chunk_chars = chunk_chars
        self.rewriter: QueryRewriter = rewriter or RuleRewriter()
        self.translator = translator
        self.requests: list[GenerationRequest] = []

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        yield from pieces(answer, self.chunk_chars)


def _content(text: str) -> str:
    return "".join(CONTENT.findall(_MARKERS.sub("", text))).lower()


def contains_rule(sentence: str, passage: str) -> float:
    """1.0 when the sentence's letters and digits occur, in order and together, in the passage."""
    needle = _content(sentence)
    return 1.0 if needle and needle in _content(passage) else 0.0


class FakeJudge:
    """A ``SupportJudge`` with a visible rule (default ``contains_rule``); records its calls."""

    def __init__(
        self,
        rule: Callable[[str, str], float] = contains_rule,
        threshold: float = 0.5,
        name: str = "fake",
    ) -> None:
        self.rule = rule
        self.threshold = threshold
        self.name = name
        self.calls: list[tuple[str, str]] = []

    def score(self, sentence: str, passage: str) -> float:
        self.calls.append((sentence, passage))
        return float(self.rule(sentence, passage))

    def check(self, sentence: str, passage: str, *, use_model: bool = True) -> Verdict:
        value = self.score(sentence, passage)
        return Verdict(value >= self.threshold, value, (f"{self.name}: {value:.2f}",), self.name)

    def quote_score(self, sentence: str, quote: str) -> float:
        return self.score(sentence, quote)


def make_passage(
    number: int,
    text: str,
    *,
    chunk_ids: Sequence[str] | None = None,
    chunk_offsets: Sequence[int] = (),
    page_labels: Sequence[str] | None = None,
    page_indices: Sequence[int] | None = None,
    page_spans: Sequence[tuple[int, int]] | None = None,
    section_path: Sequence[str] = ("一、人工智能生成内容的发展历程与概念",),
    doc_id: str = "aigc-whitepaper-2022.pdf",
    title: str = "人工智能生成内容（AIGC）白皮书",
    start: int = 0,
    score: float = 0.5,
    dense_similarity: float | None = 0.9,
) -> Passage:
    """A passage numbered ``number`` (one chunk ``c<number>`` on page ``<number>`` by default).

    Its text is the document text from ``start``; without ``page_spans`` its pages share the
    passage's span in equal parts."""
    labels = tuple(page_labels) if page_labels is not None else (str(number),)
    indices = (
        tuple(page_indices)
        if page_indices is not None
        else tuple(number - 1 + i for i in range(len(labels)))
    )
    end = start + len(text)
    if page_spans is None:
        step = len(text) / max(1, len(labels))
        cuts = [start + round(step * i) for i in range(len(labels))] + [end]
        page_spans = list(pairwise(cuts))
    return Passage(
        number=number,
        chunk_ids=tuple(chunk_ids) if chunk_ids is not None else (f"c{number}",),
        doc_id=doc_id,
        title=title,
        content_hash="fakehash",
        text=text,
        start=start,
        end=end,
        page_labels=labels,
        page_indices=indices,
        section_path=tuple(section_path),
        score=score,
        dense_similarity=dense_similarity,
        chunk_offsets=tuple(chunk_offsets),
        page_spans=tuple(page_spans),
    )
