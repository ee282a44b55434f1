"""What a question asks about: its content terms, weighted by how rare they are in the library.

A question's frame (question words, "according to the white paper", "提到", "哪些") says how
it asks, not what; so do the words of the document's own name, which any question about the
document may carry. A term's weight is its inverse document frequency over the library's
chunks, found by substring (so it does not depend on how a tokeniser cut the chunk), and is
zero for frame words and for the documents' title words.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ingest.text import IDEOGRAPH_SPAN, tokenize

# Words that frame a question in either language: question words, reporting verbs, references
# to "the paper" itself, quantity and list words. A language's word list, not an item's.
_FRAME_ZH = frozenset(
    "什么 哪些 哪个 哪种 哪几 哪几个 哪一 哪一年 哪家 哪位 哪里 几个 "  # noqa: SIM905
    "几种 多少 如何 怎么 怎样 为什么 为何 是否 有没有 是不是 吗 呢 请问 "
    "请 根据 按照 按 依据 据 文中 书中 报告 本文 文章 白皮 白皮书 提到 "
    "提及 提出 指出 认为 介绍 谈到 说 讲 写 描述 列举 列出 举例 举 "
    "例子 给出 论述 阐述 讨论 分析 主要 分别 具体 哪方面 方面 一些 其中 "
    "什么样 样 里 中 的 了 是 有 在 和 与 及 或 等 个 种 这 那 该 "
    "其 为 对 从 以 被 把 将 也 都 又 还 就 所 之 名字 名称 叫做 "
    "例子 举个 说法 情况 时候 前者 后者 做些 哪件 哪项 哪份 哪部 可以 "
    "能够 目前".split()
)
# Numeral-and-measure words ("三个", "第一个", "几年", "两家", "一共") count things, pointer
# words ("这个", "那幅", "该项") refer back, and "多快" / "多久" ask how much: all frame.
_FRAME_PATTERN = re.compile(
    rf"^(?:第?[一二三四五六七八九十百千两几]+[{IDEOGRAPH_SPAN}]?|[这那该此][{IDEOGRAPH_SPAN}]{{0,2}}"
    rf"|哪[{IDEOGRAPH_SPAN}]{{0,2}}|多[快久长大高远少深重])$"
)
_FRAME_EN = frozenset(
    "a an the of to in on at by for with from into about as and or but not no is are was were be "  # noqa: SIM905
    "been being do does did done have has had it its this that these those there their they them "
    "he she his her we you your i what which who whom whose when where why how whether "
    "according paper white whitepaper report document author authors mention mentioned mentions "
    "mention describe described describes say says said state states stated list listed lists "
    "give gives given name named names example examples kind kinds type types way ways main "
    "mainly some any many much more most other such can could would should will may might "
    "also only just than then so very one two three four five several each both either".split()
)
FRAME_WORDS = _FRAME_ZH | _FRAME_EN
# A question's reference to the document itself ("根据白皮书，", "白皮书中提到的", "according to
# the white paper", "does the paper"): it names where to look, not what is asked, yet an embedding
# of the whole question is drawn to the document's sentences about itself ("本白皮书主要聚焦于…").
_DOCUMENT_ZH = re.compile(
    r"(?:根据|按照|依据|据|按|在)?(?:本|该|这份)?(?:白皮书|本文|文中|书中|本报告)"
    r"(?:中|里|内|所|的)*(?:提到|提及|指出|认为|所说|说|讲|写|介绍|列举|谈到|描述)?(?:的|了)?[，,：:]?"
)
_DOCUMENT_EN = re.compile(
    r"(?:,\s*)?\b(?:according to|as stated in|in|from|by)\s+"
    r"the\s+(?:white\s*paper|paper|report|document)\b(?:\s*,)?",
    re.IGNORECASE,
)
_DOCUMENT_EN_SUBJECT = re.compile(
    r"\bthe\s+(?:white\s*paper|paper|report|document)\b", re.IGNORECASE
)
_LATIN_WORD = re.compile(r"[a-z][a-z0-9'\-]*")
_CJK = re.compile(rf"[{IDEOGRAPH_SPAN}]")
_CONTENT_UNIT = re.compile(rf"[{IDEOGRAPH_SPAN}]|[A-Za-z0-9]+")


@dataclass(frozen=True)
class Term:
    """One content term of a question and its weight (its IDF in the library)."""

    text: str
    weight: float
    known: bool  # the library holds it somewhere


class TermStatistics(Protocol):
    """How many chunks of the library hold a term (by substring, lower-cased)."""

    @property
    def size(self) -> int: ...

    def document_frequency(self, term: str) -> int: ...

    def is_title_word(self, term: str) -> bool: ...


class CorpusTerms:
    """Term statistics of a set of texts (the library's chunks), with the documents' titles."""

    def __init__(self, texts: Iterable[str], titles: Iterable[str] = ()) -> None:
        self._texts = [_Folded(t) for t in texts]
        self._titles = [_Folded(t) for t in titles if t]
        self._df: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self._texts)

    def document_frequency(self, term: str) -> int:
        key = term.lower()
        with self._lock:
            if key not in self._df:
                self._df[key] = sum(text.holds(key) for text in self._texts)
            return self._df[key]

    def is_title_word(self, term: str) -> bool:
        key = term.lower()
        return bool(key.strip()) and any(title.holds(key) for title in self._titles)


def idf(stats: TermStatistics, term: str) -> float:
    """BM25's inverse document frequency; a title word counts as held by every chunk."""
    n = stats.size
    df = n if stats.is_title_word(term) else stats.document_frequency(term)
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def question_terms(question: str, stats: TermStatistics) -> tuple[Term, ...]:
    """The question's content terms, frame words and title words left out, rarest first.

    Chinese terms are jieba's search-mode tokens (a compound and its parts, so a sentence that
    holds only part of a compound gets part of its weight). Latin words are kept only when the
    library holds them: an English question over a Chinese document shares with it only names
    and numbers, and an untranslated word says nothing about the evidence.
    """
    seen: dict[str, Term] = {}
    for token in tokenize(question):
        text = token.strip().lower()
        if not text or text in seen or is_frame(text) or _is_filler(text):
            continue
        if stats.is_title_word(text):
            continue
        known = stats.document_frequency(text) > 0
        if not _CJK.search(text) and not known and not any(c.isdigit() for c in text):
            continue
        seen[text] = Term(text, idf(stats, text), known)
    return tuple(sorted(seen.values(), key=lambda t: (-t.weight, t.text)))


def without_document_reference(question: str) -> str:
    """The question without its references to the document itself, for embedding it against
    the document's sentences ("白皮书认为 AIGC 的核心是什么？" → "AIGC 的核心是什么？"; "What does
    the white paper say about X?" → "What does it say about X?"); the question itself when
    nothing else would remain."""
    text = _DOCUMENT_ZH.sub("", question)
    text = _DOCUMENT_EN.sub("", text)
    text = _DOCUMENT_EN_SUBJECT.sub("it", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text if len(_CONTENT_UNIT.findall(text)) >= 3 else question


def is_frame(word: str) -> bool:
    """Whether a (lower-cased) word frames a question rather than naming what it asks."""
    return word in FRAME_WORDS or bool(_FRAME_PATTERN.match(word))


def _is_filler(text: str) -> bool:
    """A single CJK character or a one-letter Latin word: too short to mean a topic alone."""
    if _CJK.search(text):
        return len(text) < 2
    return len(text) < 2 and not text.isdigit()


def coverage(terms: Sequence[Term], text: str, among: Iterable[str] | None = None) -> float:
    """The weighted share of ``terms`` (or of those named in ``among``) that ``text`` holds."""
    pool = terms if among is None else [t for t in terms if t.text in set(among)]
    total = sum(t.weight for t in pool)
    if total <= 0:
        return 0.0
    folded = _Folded(text)
    return sum(t.weight for t in pool if folded.holds(t.text)) / total


def held(terms: Sequence[Term], text: str) -> set[str]:
    """The terms ``text`` holds."""
    folded = _Folded(text)
    return {t.text for t in terms if folded.holds(t.text)}


class _Folded:
    """A text prepared for term look-ups: a CJK term is found anywhere, whitespace ignored (a
    PDF line break may cut a word); a Latin word only as a whole word ("gpt" is not in
    "chatgpt", "gan" not in "organ")."""

    def __init__(self, text: str) -> None:
        self.lower = text.lower()
        self.compact = re.sub(r"\s+", "", self.lower)

    def holds(self, term: str) -> bool:
        if not term:
            return False
        if _CJK.search(term):
            return term in self.compact
        if term not in self.lower:
            return False
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", self.lower) is not None


_CACHE_LOCK = threading.Lock()
_CACHE: dict[tuple[int, tuple[str, ...]], CorpusTerms] = {}


def library_terms(index: object) -> CorpusTerms:
    """The term statistics of an index's active chunks, rebuilt when its documents change."""
    hashes = tuple(sorted(index.active_hashes()))  # type: ignore[attr-defined]
    key = (id(index), hashes)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    chunks = index.chunks()  # type: ignore[attr-defined]
    stats = CorpusTerms([c.text for c in chunks], {c.title for c in chunks})
    with _CACHE_LOCK:
        for old in [k for k in _CACHE if k[0] == id(index)]:
            del _CACHE[old]
        _CACHE[key] = stats
    return stats
