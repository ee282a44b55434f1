"""Text rules every stage shares: character classes, sentences with offsets, language, tokens.

Ingest chunks by these sentences and indexes these tokens; the assistant quotes, checks and
scores with the same rules; the eval set and the UI read languages by the same rule. Defined
here only, so a change to one is a change to all.

Character classes are given as the bodies of regex classes (no brackets) so callers combine
them: ``re.compile(rf"[{IDEOGRAPHS}{CJK_PUNCTUATION}]")``.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CJK_PUNCTUATION",
    "CLOSERS",
    "COMPAT_IDEOGRAPHS",
    "CONTENT",
    "IDEOGRAPHS",
    "IDEOGRAPH_SPAN",
    "LATIN_TERM",
    "STOPS",
    "Language",
    "Sentence",
    "answer_sentence_ends",
    "detect_language",
    "ends_line_sentence",
    "ends_sentence",
    "has_cjk",
    "has_ideograph",
    "is_named_term",
    "is_wide",
    "split_sentences",
    "tokenize",
    "visual_width",
]

Language = Literal["zh", "en"]

# -- character classes --------------------------------------------------------------------

#: CJK Unified Ideographs and Extension A.
IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff"
#: CJK Compatibility Ideographs (counted by language detection only).
COMPAT_IDEOGRAPHS = "\uf900-\ufaff"
#: Extension A to the end of the Unified block in one range, with the Yijing hexagram symbols
#: (U+4DC0-4DFF) between them: the class the content and footnote rules have always used.
IDEOGRAPH_SPAN = "\u3400-\u9fff"
#: CJK symbols and punctuation (、。「」…) and the full-width ASCII forms (！，：０-９Ａ-Ｚ).
CJK_PUNCTUATION = "\u3001-\u303f\uff01-\uff5e"
#: Sentence stops of both widths: full stops, question and exclamation marks, semicolons.
STOPS = "。！？!?；;"
#: What may close a sentence after its stop: closing quotes and brackets.
CLOSERS = "”’」』）)》\"'"

#: A character that carries content: an ideograph, a Latin letter or a digit.
CONTENT = re.compile(rf"[{IDEOGRAPH_SPAN}A-Za-z0-9]")
#: A Latin term: letters, digits and joiners (-·.), starting with a letter and ending with a
#: letter or digit ("GPT-3", "DALL·E", "AlexNet").
LATIN_TERM = re.compile(r"[A-Za-z][A-Za-z0-9\-·.]*[A-Za-z0-9]")

_CJK = re.compile(rf"[{IDEOGRAPHS}{COMPAT_IDEOGRAPHS}]")
_IDEOGRAPH = re.compile(rf"[{IDEOGRAPHS}]")
_LATIN = re.compile(r"[A-Za-z]")


def has_cjk(text: str) -> bool:
    """Whether ``text`` has a CJK ideograph (compatibility ideographs included)."""
    return bool(_CJK.search(text))


def has_ideograph(text: str) -> bool:
    """Whether ``text`` has a CJK Unified ideograph (Extension A included, compatibility
    ideographs not): how the LLM judge chooses to ask in Chinese."""
    return bool(_IDEOGRAPH.search(text))


def is_wide(char: str) -> bool:
    """Whether a character is East Asian wide or full-width (CJK text, full-width forms)."""
    return unicodedata.east_asian_width(char) in "WF"


def visual_width(text: str) -> float:
    """Line width in em: wide (CJK, full-width) characters count 1, others 0.5."""
    return sum(1.0 if is_wide(c) else 0.5 for c in text)


def is_named_term(word: str) -> bool:
    """An acronym, CamelCase or letter-digit name ("GAN", "ChatGPT", "GPT-3"): two capitals
    or a digit. Ordinary capitalised words ("Diffusion") are not."""
    return sum(c.isupper() for c in word) >= 2 or any(c.isdigit() for c in word)


# -- language -----------------------------------------------------------------------------


def detect_language(text: str) -> Language:
    """Chinese when the text has CJK ideographs not outnumbered 2:1 by Latin letters.

    So "什么是GAN？" is Chinese, while an English question quoting one Chinese term stays English.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return "zh" if cjk > 0 and cjk * 2 >= latin else "en"


# -- sentences ----------------------------------------------------------------------------

# A document sentence ends at a stop or an ellipsis (with any closers after it), or at a
# paragraph break. ASCII "." ends a sentence only after a letter and before whitespace, so
# "43.25" and "DALL·E 2" stay whole. The spaces and one newline after the end belong to it.
_SENTENCE_END = re.compile(rf"(?:[{STOPS}…]+[{CLOSERS}]*|(?<=[A-Za-z])\.(?=\s))[ \t]*\n?|\n")
# In a generated answer a "." also ends a sentence after a digit, "%" or ")", and at the start
# of a piece (a marker stood before it: "stages【1】. It"); "》" does not close a sentence there.
_ANSWER_CLOSERS = CLOSERS.replace("》", "")
_ANSWER_SENTENCE_END = re.compile(
    rf"[{STOPS}]+[{_ANSWER_CLOSERS}]*|(?:(?<=[A-Za-z0-9%)])|^)\.(?=\s|$)|\n"
)
# A line that may close a paragraph: a stop, a colon or an ellipsis, then closers.
_LINE_END = re.compile(rf"[{STOPS}：:…]\s*[{CLOSERS}]*\s*$")
_COMPLETE = re.compile(rf"[{STOPS}.][{CLOSERS}]*$")


@dataclass(frozen=True)
class Sentence:
    """A sentence as a span ``text[start:end]`` (the whitespace after it included)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Sentence]:
    """Split ``text[start:end]`` into contiguous sentence spans that cover it (blank spans
    dropped). The rule chunks documents and finds quotes in passages."""
    end = len(text) if end is None else end
    spans: list[Sentence] = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        if m.end() > pos:
            spans.append(Sentence(pos, m.end()))
            pos = m.end()
    if pos < end:
        spans.append(Sentence(pos, end))
    return [s for s in spans if text[s.start : s.end].strip()]


def answer_sentence_ends(text: str) -> Iterator[re.Match[str]]:
    """The sentence ends of a piece of generated answer (between citation markers)."""
    return _ANSWER_SENTENCE_END.finditer(text)


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends as a complete sentence does (a stop or "."), not as a heading,
    caption or fragment."""
    return bool(_COMPLETE.search(text))


def ends_line_sentence(line: str) -> bool:
    """Whether a wrapped line ends a sentence or a lead-in (colon, ellipsis), closers and
    trailing spaces allowed: such a line, if short, closes its paragraph."""
    return bool(_LINE_END.search(line))


# -- tokens -------------------------------------------------------------------------------

_WORD = re.compile(r"\w", re.UNICODE)
_STOPWORDS = frozenset(
    "的 了 和 与 及 或 是 在 有 为 对 等 也 将 把 被 从 以 之 其 这 那 该 中 上 下 个 并 而 "  # noqa: SIM905
    "吗 呢 吧 啊 什么 哪些 如何 怎么 怎样 为什么 多少 是否 哪个 白皮书 "
    "the a an of to in and or is are was were be by for on with what which how why who "
    "does do did about its it this that as at from".split()
)
_jieba_lock = threading.Lock()
_jieba_ready = False


def tokenize(text: str) -> list[str]:
    """Lower-cased jieba search-mode tokens, without punctuation and stop words (BM25 terms and
    the extractive generator's keyword overlap)."""
    global _jieba_ready
    import jieba

    with _jieba_lock:
        if not _jieba_ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba_ready = True
    return [
        t
        for t in (tok.strip() for tok in jieba.lcut_for_search(text.lower()))
        if t and _WORD.search(t) and t not in _STOPWORDS
    ]
