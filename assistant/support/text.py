"""Text helpers every layer of the support checker reads: normal forms, character bigrams,
English content words and jieba tokens and proper names.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache

from assistant.terms import is_frame
from ingest.text import COMPAT_IDEOGRAPHS, CONTENT, IDEOGRAPHS

_CONTENT = CONTENT
_CJK_RUN = re.compile(rf"[{IDEOGRAPHS}{COMPAT_IDEOGRAPHS}]")


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


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    import jieba

    _jieba()
    return tuple(t for t in jieba.lcut(text) if t.strip())


@lru_cache(maxsize=4096)
def _names(
    text: str, flags: tuple[str, ...] = ("nr", "ns", "nt", "nz", "nrt", "nrfg")
) -> tuple[str, ...]:
    """Chinese proper names by jieba's POS tags (person, place, organisation, other). A word
    that frames a sentence (the language's frame words: 白皮书, 报告, 文中 …) is no name, though
    jieba tags 白皮书 as one: "白皮书指出……" cites the paper, it names nothing a passage
    must hold."""
    import jieba.posseg

    _jieba()
    return tuple(
        p.word
        for p in jieba.posseg.lcut(text)
        if p.flag in flags and _CJK_RUN.search(p.word) and not is_frame(p.word)
    )
