"""The support checker: does a passage back a sentence, read as a careful reader would?

Answers, ``whitepaper verify`` and the eval all use this one checker. It decides in layers,
cheapest first, and says which layer decided:

1. **Exact checks** (well under a millisecond each). What the sentence asserts must be in the
   passage as written: numbers with their units and dates ("2022 年 5 月", "43.25 万美元",
   "10.8 个百分点"; English "May 2022", "432,500"), Latin names ("GAN", "Illiac Suite"),
   titles in 《》 and terms in “”, and Chinese proper names (jieba's nr/ns/nt/nz tags).
2. **Polarity and quantifiers.** A negation (不/未/没有/无/并非/尚未…, not/no/never) or an
   overclaim (唯一/首个/仅/所有/必然…, only/first/all/every) that the sentence asserts and its
   passage sentence does not, or a negation of the passage that the sentence drops.
3. **Alignment.** The sentence is cut into clauses; each clause must align to ONE passage
   sentence (its content covered by that sentence). A clause that only the whole passage
   covers mixes two sentences: merged examples and swapped roles fail here.
4. **A model, only for what the cheap layers cannot decide**: the local LLM's yes/no logits on
   the aligned passage sentences (not the whole passage). English sentences about a Chinese
   passage share no characters with it, so for them alignment is by e5 similarity and the model
   layer decides more often.

Every threshold is in :class:`CheckerConfig`, chosen on the calibration split of the labelled
pairs (``eval/sets/support-pairs-v1.jsonl``); eval/README.md reports the test split.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.types import SupportJudge, Verdict
from ingest.errors import WhitepaperError
from ingest.text import COMPAT_IDEOGRAPHS, CONTENT, IDEOGRAPHS, detect_language, split_sentences

log = logging.getLogger(__name__)

__all__ = [
    "CheckerConfig",
    "JudgeCheck",
    "PairsError",
    "SupportChecker",
    "Verdict",
    "clauses",
    "read_pairs",
]


@dataclass(frozen=True)
class CheckerConfig:
    """Thresholds of the checker, chosen on the calibration split of the labelled pairs
    (eval/sets/support-pairs-v1.jsonl; eval/README.md has the tables).

    On the calibration pairs that pass the exact and polarity layers, the local model's yes/no
    on the aligned passage sentences agreed with the labels more often than any alignment cut
    (Chinese 0.92 at P(yes) >= 0.8 against 0.90 for the best cut; English 0.93 at >= 0.6
    against 0.73), so with a model every such pair goes to the model. Without one, a clause
    counts as aligned at the best single cut on the calibration pairs.
    """

    #: Without a model: share of a clause's character bigrams in one passage sentence.
    align_cut: float = 0.46
    #: Without a model: e5 cosine of an English clause to the closest Chinese passage sentence.
    semantic_cut: float = 0.76
    #: With a model: below these a clause aligns to nothing, and no model is asked.
    align_floor: float = 0.15
    semantic_floor: float = 0.70
    #: The model's P(yes) needed, by the sentence's language.
    model_threshold_zh: float = 0.8
    model_threshold_en: float = 0.6
    #: Names: check jieba-tagged proper names (nr/ns/nt/nz) of at least this many characters.
    name_min_chars: int = 2


# --- text rules -------------------------------------------------------------------------------

_CONTENT = CONTENT
_CJK_RUN = re.compile(rf"[{IDEOGRAPHS}{COMPAT_IDEOGRAPHS}]")

_UNIT = (
    r"个百分点|百分点|percentage points?|%|percent|per cent|年代|个月|年|月|日|号|万亿|亿|万|千|百|"
    r"秒钟|秒|分钟|小时|天|周|星期|个|倍|次|项|家|种|名|部|篇|首|幅|元|美元|亿元|万元|"
    r"million|billion|thousand|trillion|seconds?|minutes?|hours?|days?|weeks?|months?|years?"
)
_NUMBER = re.compile(rf"(?<![A-Za-z0-9.\-])(\d+(?:,\d{{3}})*(?:\.\d+)?)\s*({_UNIT})?", re.I)
_MULTIPLIER = {
    "万": 1e4,
    "万元": 1e4,
    "亿": 1e8,
    "亿元": 1e8,
    "万亿": 1e12,
    "千": 1e3,
    "百": 1e2,
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
}
#: Units whose number must match with the same unit (a date part, a share).
_STRICT_UNIT = {
    "年": "year",
    "月": "month",
    "日": "day",
    "号": "day",
    "%": "percent",
    "percent": "percent",
    "per cent": "percent",
    "个百分点": "points",
    "百分点": "points",
    "percentage point": "points",
    "percentage points": "points",
    "秒": "second",
    "秒钟": "second",
    "second": "second",
    "seconds": "second",
    "分钟": "minute",
    "minute": "minute",
    "minutes": "minute",
    "小时": "hour",
    "hour": "hour",
    "hours": "hour",
    "天": "day",
    "days": "day",
    "周": "week",
    "星期": "week",
    "week": "week",
    "weeks": "week",
    "个月": "months",
    "month": "months",
    "months": "months",
    "year": "year",
    "years": "year",
}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
_EN_MONTH = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December)"
    r"\b(?:\s+(\d{1,2})(?:st|nd|rd|th)?)?,?\s+(\d{4})\b"
)
_LATIN_TERM = re.compile(r"[A-Za-z][A-Za-z0-9\-·.'’]*[A-Za-z0-9]|[A-Za-z]")
_QUOTED = re.compile(r"“([^”]{1,40})”|《([^》]{1,60})》|「([^」]{1,40})」|\"([^\"]{1,40})\"")
#: English words the Chinese text writes otherwise (AI -> 人工智能): never checkable strings.
_TRANSLATED = re.compile(r"^AI(-\w+)?$")

# Polarity and quantifier words of the two languages. A Chinese word counts as a jieba token
# (so 不断/不仅/无论 are not negations). English words map to the Chinese words that carry them,
# so an English sentence about a Chinese passage is checked too.
_ZH_NEGATIONS = frozenset(
    [
        "不",
        "未",
        "没",
        "没有",
        "无",
        "非",
        "并非",
        "尚未",
        "不是",
        "不会",
        "不能",
        "无法",
        "不再",
        "未能",
        "未曾",
        "绝非",
        "并不",
        "从未",
        "从不",
        "不可",
        "难以",
        "未必",
        "毫无",
        "不得",
        "勿",
        "别",
        "否",
    ]
)
_ZH_QUANTIFIERS = frozenset(
    [
        "唯一",
        "首个",
        "首次",
        "首部",
        "首款",
        "第一",
        "第一个",
        "最早",
        "最先",
        "所有",
        "全部",
        "一切",
        "必然",
        "必将",
        "一定",
        "必须",
        "仅",
        "仅仅",
        "只",
        "只有",
        "只是",
        "完全",
        "总是",
        "始终",
        "永远",
        "均",
        "皆",
        "全都",
        "都",
        "已",
        "已经",
        "已然",
        "最",
    ]
)
_EN_NEGATIONS = {
    "not": ("不", "未", "没", "无", "非"),
    "no": ("不", "未", "没", "无", "非"),
    "never": ("从未", "从不", "未", "不"),
    "none": ("没有", "无", "未"),
    "nor": ("不", "未", "无"),
    "cannot": ("不", "无法", "难以", "未"),
    "without": ("无", "没有", "不", "未"),
}
_EN_QUANTIFIERS = {
    "only": ("仅", "只", "唯一"),
    "sole": ("唯一", "仅"),
    "solely": ("仅", "只", "唯一"),
    "unique": ("唯一", "独"),
    "first": ("首", "第一", "最早", "最先", "开创", "先"),
    "earliest": ("最早", "首", "第一"),
    "all": ("所有", "全部", "一切", "均", "都", "全"),
    "every": ("所有", "每", "均", "都", "全"),
    "always": ("总是", "始终", "一直", "永远"),
    "inevitably": ("必然", "必将", "一定"),
    "must": ("必须", "必然", "一定", "需", "要"),
    "already": ("已", "已经"),
}
_EN_NOT = re.compile(r"n['’]t\b", re.I)
_EN_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_CLAUSE_BREAK = re.compile(
    r"[，；;：:]|,(?!\d{3}\b)|(?<=\s)(?:and|but|while|whereas|which)\s", re.I
)
_EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "and",
        "or",
        "but",
        "if",
        "then",
        "than",
        "so",
        "such",
        "into",
        "over",
        "under",
        "about",
        "also",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
        "how",
        "why",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "may",
        "might",
        "will",
        "would",
        "shall",
        "should",
        "their",
        "there",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "paper",
        "white",
        "report",
        "says",
        "said",
        "states",
        "according",
    ]
)


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _bigrams(text: str) -> set[str]:
    chars = "".join(_CONTENT.findall(unicodedata.normalize("NFKC", text).lower()))
    return {chars[i : i + 2] for i in range(len(chars) - 1)} or ({chars} if chars else set())


def _coverage(text: str, against: str) -> float:
    grams = _bigrams(text)
    return len(grams & _bigrams(against)) / len(grams) if grams else 1.0


def _en_words(text: str) -> set[str]:
    words = set()
    for w in _EN_WORD.findall(text.lower()):
        if w in _EN_STOP or len(w) < 2:
            continue
        words.add(w[:-1] if w.endswith("s") and len(w) > 3 else w)
    return words


def _jieba() -> object:
    import jieba

    with _JIEBA_LOCK:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
    return jieba


_JIEBA_LOCK = threading.Lock()
_MODEL_LOCK = threading.Lock()


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    import jieba

    _jieba()
    return tuple(t for t in jieba.lcut(text) if t.strip())


@lru_cache(maxsize=4096)
def _names(
    text: str, flags: tuple[str, ...] = ("nr", "ns", "nt", "nz", "nrt", "nrfg")
) -> tuple[str, ...]:
    """Chinese proper names by jieba's POS tags (person, place, organisation, other)."""
    import jieba.posseg

    _jieba()
    return tuple(
        p.word for p in jieba.posseg.lcut(text) if p.flag in flags and _CJK_RUN.search(p.word)
    )


def clauses(sentence: str) -> list[str]:
    """The sentence's clauses: cut at commas, semicolons and colons; tiny pieces join the next."""
    pieces = [p.strip() for p in _CLAUSE_BREAK.split(sentence)]
    out: list[str] = []
    carry = ""
    for piece in pieces:
        piece = (carry + piece) if carry else piece
        content = len(_CONTENT.findall(piece))
        if content < (6 if detect_language(piece) == "zh" else 12):
            carry = piece + " "
            continue
        out.append(piece)
        carry = ""
    if carry.strip():
        if out:
            out[-1] = out[-1] + " " + carry.strip()
        else:
            out.append(carry.strip())
    return [c for c in out if _CONTENT.search(c)]


# --- the exact layers -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Number:
    text: str
    value: float
    kind: str | None  # "year", "month", "day", "percent", "points" or None


_EN_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}
_EN_NUMBER_WORDS.update({"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100})
_ZH_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_WORD_NUMBER = re.compile(
    rf"\b({'|'.join(_EN_NUMBER_WORDS)})\s+({_UNIT})\b|([零一二两三四五六七八九十]{{1,3}})\s*"
    r"(个百分点|百分点|个月|秒钟|秒|分钟|小时|天|周|星期|年)",
    re.I,
)


def _zh_number(text: str) -> int | None:
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_ZH_DIGITS.get(tens, 1) if tens else 1) * 10 + (
            _ZH_DIGITS.get(ones, 0) if ones else 0
        )
    if len(text) == 1:
        return _ZH_DIGITS.get(text)
    return None


def _numbers(text: str) -> list[_Number]:
    found: list[_Number] = []
    for m in _WORD_NUMBER.finditer(text):
        if m.group(1):
            value, unit = _EN_NUMBER_WORDS[m.group(1).lower()], m.group(2).lower()
        else:
            number = _zh_number(m.group(3))
            if number is None:
                continue
            value, unit = number, m.group(4)
        kind = _STRICT_UNIT.get(unit)
        if kind in (None, "year", "month", "day"):
            continue  # "三年" is a span, "一月" a month name: left to the other layers
        found.append(_Number(m.group(0).strip(), float(value), kind))
    for m in _EN_MONTH.finditer(text):
        month = _MONTHS[m.group(1).lower()]
        found.append(_Number(f"{m.group(1)}", float(month), "month"))
        if m.group(2):
            found.append(_Number(m.group(2), float(m.group(2)), "day"))
    masked = _EN_MONTH.sub(lambda m: " " * len(m.group(0)) + m.group(3), text)
    for m in _NUMBER.finditer(masked):
        raw, unit = m.group(1), (m.group(2) or "").lower()
        # Digits inside a Latin name ("GPT-3", "DALL-E 2") belong to the name's check.
        before = masked[max(0, m.start() - 12) : m.start()]
        if re.search(r"[A-Za-z]-?$", before) or re.search(r"\b[A-Z][A-Z\-]+\s$", before):
            continue
        amount = float(raw.replace(",", "")) * _MULTIPLIER.get(unit, 1.0)
        kind = _STRICT_UNIT.get(unit)
        if kind is None and not unit and re.fullmatch(r"(1[89]|20)\d\d", raw):
            kind = "year-like"
        found.append(_Number(m.group(0).strip(), amount, kind))
    return found


def _number_problems(sentence: str, passage: str) -> list[str]:
    passage_numbers = _numbers(passage)
    values = {round(n.value, 6) for n in passage_numbers}
    # A value may be written with a multiplier in one text and plainly in the other.
    values |= {
        round(float(m.replace(",", "")), 6)
        for m in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", passage)
    }
    by_kind: dict[str, set[float]] = {}
    for n in passage_numbers:
        if n.kind:
            by_kind.setdefault(n.kind.replace("year-like", "year"), set()).add(round(n.value, 6))
    problems = []
    for n in _numbers(sentence):
        value = round(n.value, 6)
        kind = (n.kind or "").replace("year-like", "year")
        if value not in values or (
            kind and kind not in ("year",) and value not in by_kind.get(kind, set())
        ):
            problems.append(f"number {n.text} not in the passage")
    return problems


def _latin_terms(sentence: str, language: str) -> list[str]:
    words = [w.strip(".'’") for w in _LATIN_TERM.findall(sentence)]
    if language == "zh":
        return [w for w in words if w and not _TRANSLATED.match(w)]
    # English: acronyms, CamelCase and letter-digit names are names; ordinary capitalised
    # words are translations of Chinese text and are left to the other layers.
    return [
        w
        for w in words
        if len(w) >= 2
        and (sum(c.isupper() for c in w) >= 2 or any(c.isdigit() for c in w))
        and not _TRANSLATED.match(w)
    ]


def _term_problems(
    sentence: str, passage: str, language: str, vocabulary: frozenset[str] | None, min_name: int
) -> list[str]:
    norm_passage = _normal(passage)
    problems = []
    for term in _latin_terms(sentence, language):
        if _normal(term) not in norm_passage:
            problems.append(f"name {term} not in the passage")
    for m in _QUOTED.finditer(sentence):
        quoted = next(g for g in m.groups() if g)
        if _CONTENT.search(quoted) and _normal(quoted) not in norm_passage:
            problems.append(f"quoted {quoted} not in the passage")
    if language == "zh":
        for name in _names(sentence):
            if len(name) >= min_name and _normal(name) not in norm_passage:
                problems.append(f"name {name} not in the passage")
    return list(dict.fromkeys(problems))


def _normal_unit(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3})", "", _normal(text))


def _anchors(
    clause: str, language: str, vocabulary: frozenset[str] | None
) -> list[re.Pattern[str]]:
    """What of a clause must be found in the very passage sentence it aligns to."""
    found: list[str] = []
    for n in _numbers(clause):
        digits = re.sub(r",", "", n.text.split()[0]) if n.text[:1].isdigit() else ""
        if n.kind == "month" and not digits:
            found.append(rf"(?<!\d){int(n.value)}月")
        elif digits and (n.kind or "").startswith("year"):
            found.append(rf"(?<!\d){re.escape(re.sub(r'[^0-9.]', '', digits))}(?!\d)")
        elif digits and not any(u in n.text for u in _MULTIPLIER):
            found.append(rf"(?<![\d.]){re.escape(re.sub(r'[^0-9.]', '', digits))}(?![\d])")
    for term in _latin_terms(clause, language):
        found.append(re.escape(_normal(term)))
    if language == "zh":
        # Places and organisations (jieba tags common nouns such as 白皮书 as persons or
        # "other proper nouns" too often for those tags to be anchors).
        people_places = _names(clause, ("ns", "nt"))
        found += [re.escape(_normal(name)) for name in people_places if len(name) >= 2]
    for m in _QUOTED.finditer(clause):
        quoted = next(g for g in m.groups() if g)
        if _CONTENT.search(quoted):
            found.append(re.escape(_normal(quoted)))
    return [re.compile(f) for f in dict.fromkeys(found)]


_FROM_TO = (
    re.compile(
        rf"从([{IDEOGRAPHS}A-Za-z0-9]{{1,12}}?)(?:逐渐)?(?:向|到|至)([{IDEOGRAPHS}A-Za-z0-9]{{1,12}})"
    ),
    re.compile(r"\bfrom ([A-Za-z][\w\- ]{0,30}?) to ([A-Za-z][\w\-]*(?: [\w\-]+){0,3})", re.I),
)


def _swapped_relation(clause: str, aligned: str) -> str | None:
    """A "from X to Y" (从 X 向/到 Y) whose two sides the passage has the other way round."""
    for frame in _FROM_TO:
        for m in frame.finditer(clause):
            x, y = _normal(m.group(1)), _normal(m.group(2))
            for n in frame.finditer(aligned):
                px, py = _normal(n.group(1)), _normal(n.group(2))
                if x and y and (x in py or py in x) and (y in px or px in y) and x != y:
                    return f"the passage goes from {n.group(1)} to {n.group(2)}, not the reverse"
    return None


def _anchored(units: Sequence[str], anchors: Sequence[re.Pattern[str]]) -> list[str]:
    """The passage sentences that hold (nearly) all of a clause's anchors.

    A clause's names and numbers must stand in one passage sentence; with four or more, one
    may be missing (the document's own subject, e.g. "AIGC", is often only implied)."""
    if not anchors:
        return list(units)
    normal = [_normal_unit(u) for u in units]
    found = [sum(bool(a.search(n)) for a in anchors) for n in normal]
    need = len(anchors) - (1 if len(anchors) >= 4 else 0)
    best = max(found)
    if best < need:
        return []
    return [u for u, f in zip(units, found, strict=True) if f == best]


def _polarity_problems(clause: str, aligned: str, language: str) -> list[str]:
    """Polarity words the clause asserts and its passage sentence lacks, and the reverse for
    negations (the passage negates what the clause states plainly)."""
    problems = []
    norm_aligned = _normal(aligned)
    if language == "zh":
        tokens = _tokens(clause)
        aligned_tokens = _tokens(aligned)
        for token in tokens:
            if (
                token in _ZH_NEGATIONS
                and token not in aligned_tokens
                and not any(n in aligned_tokens for n in _negation_family(token))
            ):
                problems.append(f"negation {token} in the sentence, not in the passage")
            elif (
                token in _ZH_QUANTIFIERS or (token.startswith("最") and len(token) <= 3)
            ) and token not in norm_aligned:
                problems.append(f"quantifier {token} in the sentence, not in the passage")
        clause_negated = any(t in _ZH_NEGATIONS for t in tokens)
        if not clause_negated:
            for i, token in enumerate(aligned_tokens[:-1]):
                if token in _ZH_NEGATIONS:
                    target = aligned_tokens[i + 1]
                    if len(target) >= 2 and target in clause:
                        problems.append(
                            f"the passage says {token}{target}; the sentence drops {token}"
                        )
    else:
        words = [w.lower() for w in _EN_WORD.findall(clause)]
        lowered_aligned = aligned.lower()
        aligned_is_zh = bool(_CJK_RUN.search(aligned))
        for w in words:
            if w in _EN_NEGATIONS or _EN_NOT.search(w):
                marks = _EN_NEGATIONS.get(w, ("不", "未", "没", "无", "非"))
                present = (
                    any(m in aligned for m in marks)
                    if aligned_is_zh
                    else re.search(
                        r"\b(not|no|never|none|nor|cannot|without)\b|n['’]t\b", lowered_aligned
                    )
                )
                if not present:
                    problems.append(f"negation {w} in the sentence, not in the passage")
            elif w in _EN_QUANTIFIERS:
                marks = _EN_QUANTIFIERS[w]
                present = (
                    any(m in aligned for m in marks)
                    if aligned_is_zh
                    else re.search(rf"\b{w}\b", lowered_aligned)
                )
                if not present:
                    problems.append(f"quantifier {w} in the sentence, not in the passage")
    return list(dict.fromkeys(problems))


def _negation_family(token: str) -> tuple[str, ...]:
    """Negation words that say the same ("没有" for "未", "无法" for "不能"), as jieba tokens."""
    if token in ("未", "没", "没有", "尚未", "未能", "未曾", "从未"):
        return ("未", "没", "没有", "无", "尚未", "未能", "未曾", "从未")
    if token in ("不", "不是", "并非", "非", "绝非", "并不"):
        return ("不", "不是", "并非", "非", "绝非", "并不")
    if token in ("无", "毫无", "无法", "不能", "难以", "不可"):
        return ("无", "毫无", "无法", "不能", "难以", "不可", "没有")
    return (token,)


# --- the checker ------------------------------------------------------------------------------


@dataclass
class SupportChecker:
    """The layered support check. Satisfies :class:`~assistant.types.SupportJudge`.

    ``embeddings`` (e5) aligns English sentences to Chinese passages; ``model`` (a judge with
    a yes/no score, e.g. the local LLM) decides what the cheap layers leave open; ``vocabulary``
    (the index's Latin words) lets English names be checked. All three are optional: without a
    model the undecided band is decided by the alignment score alone.
    """

    config: CheckerConfig = field(default_factory=CheckerConfig)
    embeddings: Embeddings | None = None
    model: SupportJudge | None = None
    model_source: Callable[[], SupportJudge] | None = None
    vocabulary: frozenset[str] | None = None
    vocabulary_source: Callable[[], frozenset[str]] | None = None
    name: str = "checker"
    threshold: float = 0.5
    _vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def score(self, sentence: str, passage: str) -> float:
        return self.check(sentence, passage).score

    def quote_score(self, sentence: str, quote: str) -> float:
        """How well one passage sentence carries ``sentence`` (cheap: no model call)."""
        return self.check(sentence, quote, use_model=False).score

    def check(self, sentence: str, passage: str, *, use_model: bool = True) -> Verdict:
        """Decide whether ``passage`` supports ``sentence``, with the reasons."""
        sentence = sentence.strip()
        if not _CONTENT.search(sentence):
            return Verdict(True, 1.0, ("nothing to check",), "empty")
        if not _CONTENT.search(passage):
            return Verdict(False, 0.0, ("the passage is empty",), "empty")
        language = detect_language(sentence)
        vocabulary = self.vocabulary
        if vocabulary is None and self.vocabulary_source is not None:
            vocabulary = self.vocabulary_source()

        problems = _number_problems(sentence, passage) + _term_problems(
            sentence, passage, language, vocabulary, self.config.name_min_chars
        )
        if problems:
            return Verdict(False, 0.0, tuple(problems), "terms")

        units = _passage_sentences(passage)
        aligned: list[tuple[str, str, float, float]] = []  # clause, passage sentence, best, whole
        for number, clause in enumerate(clauses(sentence) or [sentence], 1):
            anchors = _anchors(clause, language, vocabulary)
            # A clause's numbers and names must all stand in the one sentence it aligns to:
            # a name taken from the passage's next sentence is a merged example.
            candidates = _anchored(units, anchors)
            if not candidates:
                return Verdict(
                    False,
                    0.0,
                    (f"clause {number}: its names and numbers are in different passage sentences",),
                    "alignment",
                )
            best_text, best = self._align(clause, candidates, language)
            whole = self._whole(clause, passage, language)
            aligned.append((clause, best_text, best, whole))

        polarity: list[str] = []
        cross_lingual = language == "en" and bool(_CJK_RUN.search(passage))
        for clause, best_text, _, _ in aligned:
            # Across languages the aligned sentence is a guess: polarity words are looked up
            # in the whole passage instead.
            against = passage if cross_lingual else best_text
            polarity += _polarity_problems(clause, against, language)
            swapped = _swapped_relation(clause, best_text)
            if swapped:
                polarity.append(swapped)
        if polarity:
            return Verdict(False, 0.05, tuple(dict.fromkeys(polarity)), "polarity")

        cut, floor = self._cuts(language, passage)
        worst = min(aligned, key=lambda a: a[2])
        index = aligned.index(worst) + 1
        model = self._model() if use_model else None
        if model is None or worst[2] < floor:
            score = _squash(worst[2], cut)
            if score >= 0.5:
                return Verdict(True, score, (f"every clause aligns ({worst[2]:.2f})",), "alignment")
            reason = f"clause {index} aligns to no passage sentence ({worst[2]:.2f})"
            if worst[3] >= cut:
                reason = f"clause {index} mixes several passage sentences ({worst[2]:.2f})"
            return Verdict(False, score, (reason,), "alignment")
        evidence = "".join(dict.fromkeys(a[1] for a in aligned))
        p = model.score(sentence, evidence)
        threshold = (
            self.config.model_threshold_zh if language == "zh" else self.config.model_threshold_en
        )
        # Rescaled so that, like every other verdict, supported means score >= 0.5.
        return Verdict(p >= threshold, _squash(p, threshold), (f"model: {p:.2f}",), "model")

    def _model(self) -> SupportJudge | None:
        if self.model is None and self.model_source is not None:
            with _MODEL_LOCK:
                if self.model is None:
                    self.model = self.model_source()
        return self.model

    def _cuts(self, language: str, passage: str) -> tuple[float, float]:
        """(no-model cut, with-model floor) for this sentence and passage."""
        if language == "en" and _CJK_RUN.search(passage) and self.embeddings is not None:
            return self.config.semantic_cut, self.config.semantic_floor
        return self.config.align_cut, self.config.align_floor

    def _align(self, clause: str, units: Sequence[str], language: str) -> tuple[str, float]:
        if language == "en" and any(_CJK_RUN.search(u) for u in units):
            return self._semantic_align(clause, units)
        best_text, best = "", -1.0
        for unit in units:
            value = _word_coverage(clause, unit) if language == "en" else _coverage(clause, unit)
            if value > best:
                best_text, best = unit, value
        return best_text, max(best, 0.0)

    def _whole(self, clause: str, passage: str, language: str) -> float:
        if language == "en":
            if _CJK_RUN.search(passage):
                return 0.0
            return _word_coverage(clause, passage)
        return _coverage(clause, passage)

    def _semantic_align(self, clause: str, units: Sequence[str]) -> tuple[str, float]:
        if self.embeddings is None:
            return (units[0] if units else ""), 0.5  # undecidable without a model
        missing = [u for u in units if u not in self._vectors]
        if missing:
            for unit, vector in zip(missing, self.embeddings.embed_documents(missing), strict=True):
                self._vectors[unit] = np.asarray(vector, dtype=np.float32)
            if len(self._vectors) > 20000:
                self._vectors.clear()
        query = np.asarray(self.embeddings.embed_query(clause), dtype=np.float32)
        scored = [(float(self._vectors[u] @ query), u) for u in units if u in self._vectors]
        if not scored:
            return "", 0.0
        best, text = max(scored)
        return text, best


def _word_coverage(clause: str, against: str) -> float:
    words = _en_words(clause)
    if not words:
        return 1.0
    target = _en_words(against)
    return len(words & target) / len(words)


def _squash(value: float, cut: float) -> float:
    """Map a score onto [0, 1] with ``cut`` at 0.5 (so supported means >= 0.5 everywhere)."""
    if value >= cut:
        return float(min(1.0, 0.5 + 0.5 * (value - cut) / max(1e-9, 1.0 - cut)))
    return float(max(0.0, 0.5 * value / cut)) if cut > 0 else 0.0


def _passage_sentences(passage: str) -> list[str]:
    units = [passage[s.start : s.end].strip() for s in split_sentences(passage)]
    units = [u for u in units if _CONTENT.search(u)]
    return units or [passage.strip()]


def verdicts(
    checker: SupportChecker, pairs: Iterable[tuple[str, str]], *, use_model: bool = True
) -> list[Verdict]:
    """Check many (passage, sentence) pairs in order."""
    return [checker.check(sentence, passage, use_model=use_model) for passage, sentence in pairs]


@dataclass
class JudgeCheck:
    """Any :class:`~assistant.types.SupportJudge` used as a check on its own (e.g. the local
    model on the whole passage: the eval's independent second judge, ``ask --verify model``)."""

    judge: SupportJudge
    name: str = field(init=False)
    threshold: float = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.judge.name
        self.threshold = self.judge.threshold

    def score(self, sentence: str, passage: str) -> float:
        return self.judge.score(sentence, passage)

    def check(self, sentence: str, passage: str, *, use_model: bool = True) -> Verdict:
        value = self.judge.score(sentence, passage)
        return Verdict(value >= self.threshold, value, (f"{self.name}: {value:.2f}",), self.name)

    def quote_score(self, sentence: str, quote: str) -> float:
        return _coverage(sentence, quote)


class PairsError(WhitepaperError):
    """A pairs file that cannot be read (the message names the line)."""


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """(passage, sentence) pairs from a JSONL file; one-line errors name the bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise PairsError(
            f"{path}: no such file: give a JSONL file of passage/sentence pairs"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PairsError(f"{path}: cannot read it ({exc}): give a UTF-8 JSONL file") from None
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PairsError(f"{path}:{number}: not valid JSON ({exc.msg}): fix the line") from None
        if not isinstance(item, dict):
            raise PairsError(f'{path}:{number}: not a JSON object: write {{"passage", "sentence"}}')
        for key in ("passage", "sentence"):
            if not isinstance(item.get(key), str):
                raise PairsError(f"{path}:{number}: missing or non-text field {key!r}")
        pairs.append((item["passage"], item["sentence"]))
    if not pairs:
        raise PairsError(f"{path}: no pairs in the file: one JSON object per line")
    return pairs
