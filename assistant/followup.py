"""Follow-up questions become standalone questions before retrieval.

In extractive mode a deterministic rule carries the previous question's subject into an
elliptical follow-up or one that points back (它/其/这/那/该/第N…, it/its/they/that…). The
LLM modes use a condense prompt instead (see ``assistant.prompts``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.language import detect_language
from assistant.types import Turn

_ZH_POINTERS = re.compile(
    r"它|其|这|那|该|此|上述|前者|后者|他们|它们|第[一二三四五六七八九十\d]+|以上|刚才|前面|"
    r"^(还有|另外|再|那么|然后|具体|比如|例如|哪些|为什么|怎么|如何)"
)
_EN_POINTERS = re.compile(
    r"\b(it|its|they|their|them|this|that|these|those|the (first|second|third|former|latter)|"
    r"what about|how about|and the|which ones?)\b",
    re.I,
)
_ZH_QUESTION_WORDS = re.compile(
    r"(请问|请|一下|吗|呢|吧|啊|是什么|有哪些|有什么|包括哪些|分别是|是哪些|是哪几个|哪[几两三][个种类项]?|"
    r"为什么|怎么样|怎样|如何|多少|什么是|什么|哪些|哪个|根据白皮书|白皮书(中|里)?)"
)
_EN_QUESTION_WORDS = re.compile(
    r"^(according to the white paper,?\s*)?(what|which|how|why|who|when|where|does|do|did|is|are|"
    r"can|could|tell me)\b(\s+(is|are|was|were|does|do|did)\b)?|\?$",
    re.I,
)


def needs_context(question: str) -> bool:
    """Whether a question leans on the conversation (pointer words or too short to stand)."""
    q = question.strip()
    if detect_language(q) == "zh":
        content = re.sub(r"[\s\W]", "", q)
        return bool(_ZH_POINTERS.search(q)) or len(content) <= 6
    return bool(_EN_POINTERS.search(q)) or len(q.split()) <= 3


def subject_of(question: str) -> str:
    """The previous question with its question words and punctuation stripped."""
    if detect_language(question) == "zh":
        core = _ZH_QUESTION_WORDS.sub("", question)
        return re.sub(r"[？?！!。，,\s]+$", "", core).strip(" ，,：:")
    core = _EN_QUESTION_WORDS.sub("", question.strip())
    return core.strip(" ?,.:")


class RuleRewriter:
    """Deterministic condense step for extractive mode."""

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        previous = [t.content for t in history if t.role == "user" and t.content.strip()]
        if not previous or not needs_context(question):
            return question
        subject = subject_of(previous[-1])
        if not subject:
            return question
        if detect_language(question) == "zh":
            return f"{question.strip()}（上文：{subject}）"
        return f"{question.strip()} (context: {subject})"
