"""Follow-up questions become standalone questions before retrieval.

In extractive mode a deterministic rule carries the previous question's subject into an
elliptical follow-up or one that points back (它/其/这/那/该/第N…, it/its/they/that…). A
follow-up that points at one item of a list the previous answer gave ("第三个方面", "后者",
"the first one") gets that item (``referent``), so it is searched and quoted for that item
rather than for the whole list. The LLM modes use a condense prompt instead (see
``assistant.prompts``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.types import LEAD_IN, REFUSAL, Turn
from ingest.text import CONTENT, detect_language

_ZH_POINTERS = re.compile(
    r"它|其|这|那|该|此|上述|前者|后者|[前后上下]一(个|种|类|项|条|点|方面)|他们|它们|"
    r"第[一二三四五六七八九十\d]+|以上|刚才|前面"
)
# A follow-up that opens with a connective or a bare question word ("还有呢？", "为什么？").
_ZH_OPENERS = re.compile(r"^(还有|另外|再|那么|然后|具体|比如|例如|哪些|为什么|怎么|如何)")
_EN_POINTERS = re.compile(
    r"\b(it|its|they|their|them|this|that|these|those|former|latter|later|earlier|"
    r"the (first|second|third|other)|"
    r"what about|how about|and the|which ones?)\b",
    re.I,
)
_ZH_QUESTION_WORDS = re.compile(
    r"(请问|请|一下|吗|呢|吧|啊|是什么|有哪些|有什么|包括哪些|分别是|是哪些|是哪几个|哪[几两三][个种类项]?|"
    r"为什么|怎么样|怎样|如何|是多少|多少|什么是|什么|哪些|哪个|根据白皮书|白皮书(中|里)?)"
)
# Ordinals that point at one item of an earlier list, by the language's own words.
_ZH_NUMERALS = "一二三四五六七八九十"
_ZH_ORDINAL = re.compile(r"第([一二三四五六七八九十]|\d+)|(前者|前一)|(后者|后一|最后一)")
_EN_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_EN_ORDINAL = re.compile(
    r"\bthe (" + "|".join(_EN_ORDINALS) + r"|\d+(?:st|nd|rd|th))\b|\bthe (former)\b"
    r"|\bthe (latter|last)\b",
    re.I,
)
# A list in an answer: items marked 一是…二是… / first…, second…; else the part after a colon,
# split at semicolons, else at enumeration commas and the final conjunction.
_ZH_MARKED = re.compile(r"[一二三四五六七八九十]是|首先|其次|再次|另?一方面")
_EN_MARKED = re.compile(r"\b(?:first|second|third|fourth|fifth)(?:ly)?,", re.I)
_ZH_ITEM_SPLIT = re.compile(r"、|，|,|以及|及|和|与")
_EN_ITEM_SPLIT = re.compile(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+")
# How the rule writes what it adds to a follow-up: the list item pointed at, then the context.
_ITEM = {"zh": "（所指：{}）", "en": " (meaning: {})"}
_CONTEXT = {"zh": ("（上文：", "；", "）"), "en": (" (context: ", "; ", ")")}
_LEAD_IN = re.compile("^(" + "|".join(map(re.escape, LEAD_IN.values())) + r")\s*")
# A refusal's opening words (a reader's history may paraphrase the rest).
_REFUSAL_OPENINGS = (REFUSAL["zh"][:8], REFUSAL["en"][:30])
_EN_QUESTION_WORDS = re.compile(
    r"^(according to the white paper,?\s*)?(what|which|how|why|who|when|where|does|do|did|is|are|"
    r"can|could|tell me)\b(\s+(is|are|was|were|does|do|did)\b)?|\?$",
    re.I,
)


@dataclass(frozen=True)
class FollowupRules:
    """The deterministic rewriter's tuned values (chosen on the dev set's calib split, see
    eval/README.md).

    Attributes:
        zh_max_chars: A Chinese question of at most this many characters (punctuation and
            spaces left out) cannot stand alone.
        en_max_words: An English question of at most this many words cannot stand alone.
        zh_openers: A Chinese question opening with a connective or a bare question word
            (还有/另外/那么/具体/为什么/如何…) points back.
        answer_chars: How much of the previous answer a condensed question carries (0: none,
            only the previous question's subject).
    """

    zh_max_chars: int = 6
    en_max_words: int = 3
    zh_openers: bool = True
    answer_chars: int = 60


DEFAULT_RULES = FollowupRules()


def needs_context(question: str, rules: FollowupRules = DEFAULT_RULES) -> bool:
    """Whether a question leans on the conversation (pointer words or too short to stand)."""
    q = question.strip()
    if detect_language(q) == "zh":
        content = re.sub(r"[\s\W]", "", q)
        opener = rules.zh_openers and bool(_ZH_OPENERS.search(q))
        return bool(_ZH_POINTERS.search(q)) or opener or len(content) <= rules.zh_max_chars
    return bool(_EN_POINTERS.search(q)) or len(q.split()) <= rules.en_max_words


def subject_of(question: str) -> str:
    """The previous question with its question words and punctuation stripped."""
    if detect_language(question) == "zh":
        core = _ZH_QUESTION_WORDS.sub("", question)
        return re.sub(r"[？?！!。，,\s]+$", "", core).strip(" ，,：:")
    core = _EN_QUESTION_WORDS.sub("", question.strip())
    return core.strip(" ?,.:")


def _ordinal(question: str) -> int | None:
    """The list position a follow-up points at: 1-based, -1 for the last, None for none."""
    zh = detect_language(question) == "zh"
    match = (_ZH_ORDINAL if zh else _EN_ORDINAL).search(question)
    if match is None:
        return None
    if match.group(2):  # 前者 / the former
        return 1
    if match.group(3):  # 后者 / the latter
        return -1
    word = match.group(1).lower()
    if zh:
        return int(word) if word.isdigit() else _ZH_NUMERALS.index(word) + 1
    return _EN_ORDINALS.index(word) + 1 if word in _EN_ORDINALS else int(word[:-2])


def list_items(text: str) -> list[str]:
    """The items of the list an answer's first sentence gives (empty when it gives none):
    items marked 一是…二是… / 一方面…另一方面… / first…, second…; else, after a colon, the
    parts between semicolons, else the clause with enumeration commas (、) or, failing that,
    a conjunction, split at them."""
    text = _LEAD_IN.sub("", re.sub(r"【[^】]*】", "", text).strip())
    english = detect_language(text) == "en"
    marked = (_EN_MARKED if english else _ZH_MARKED).split(text)
    if len(marked) >= 3:
        items = [re.split(r"[。.!?！？]", m)[0] for m in marked[1:]]
    else:
        head = re.split(r"(?<=[。！？!?])|\.\s", text)[0]
        head = re.split(r"[：:]", head, maxsplit=1)[-1]
        items = re.split(r"[；;]", head)
        if len(items) < 2 and english:
            items = _EN_ITEM_SPLIT.split(head)
        elif len(items) < 2:
            clauses = re.split(r"[，,]", head)
            listing = [c for c in clauses if "、" in c] or [
                c for c in clauses if _ZH_ITEM_SPLIT.search(c)
            ]
            widest = max(listing, key=lambda c: c.count("、"), default="")
            items = _ZH_ITEM_SPLIT.split(widest) if widest else []
    items = [re.sub(r"（[^）]*）|\([^)]*\)", "", i).strip(" ，,；;。.:：、") for i in items]
    items = [i for i in items if CONTENT.search(i)]
    return items if len(items) >= 2 else []


def referent(question: str, history: Sequence[Turn]) -> str | None:
    """The item of the previous answer's list (or else the previous question's) that an
    ordinal follow-up points at ("第三个方面" -> the third item), or None."""
    position = _ordinal(question)
    if position is None:
        return None
    for turn in reversed([t for t in history if t.content.strip()]):
        items = list_items(turn.content)
        if position == -1 and items:
            return items[-1]
        if 0 < position <= len(items):
            return items[position - 1]
    return None


class RuleRewriter:
    """Deterministic condense step for extractive mode.

    The standalone question is the follow-up plus what it points back to: the previous
    question's subject and the start of the previous answer (where "the second kind" or
    "the latter" was named); an ordinal follow-up also gets the list item it points at,
    right after the question, where the generator takes the question's terms from
    (``asked_part``).
    """

    def __init__(
        self, answer_chars: int | None = None, rules: FollowupRules = DEFAULT_RULES
    ) -> None:
        self.rules = rules
        self.answer_chars = rules.answer_chars if answer_chars is None else answer_chars

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        turns = [t for t in history if t.content.strip()]
        users = [i for i, t in enumerate(turns) if t.role == "user"]
        if not users or not needs_context(question, self.rules):
            return question
        last = users[-1]
        parts = [subject_of(turns[last].content)]
        item = referent(question, turns[last:])
        has_answer = last + 1 < len(turns) and turns[last + 1].role == "assistant"
        if has_answer and self.answer_chars > 0:
            parts.append(_answer_gist(turns[last + 1].content, self.answer_chars))
        context = [p for p in parts if p]
        if not context and item is None:
            return question
        language = detect_language(question)
        asked = question.strip() + ("" if item is None else _ITEM[language].format(item))
        if not context:
            return asked
        opening, separator, closing = _CONTEXT[language]
        return f"{asked}{opening}{separator.join(context)}{closing}"


def asked_part(standalone: str) -> str:
    """A condensed question without the context the rule appended (the question and, for an
    ordinal follow-up, the item it points at): where the question's own terms come from."""
    for opening, _, closing in _CONTEXT.values():
        start = standalone.find(opening.strip())
        if start >= 0 and standalone.rstrip().endswith(closing):
            return standalone[:start].strip()
    return standalone.strip()


def _answer_gist(answer: str, limit: int) -> str:
    """The start of an earlier answer, without citation markers or a refusal."""
    text = re.sub(r"【[^】]*】", "", answer)
    text = _LEAD_IN.sub("", text.strip())
    if text.startswith(_REFUSAL_OPENINGS):
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
