"""A BM25 index over jieba search-mode tokens, persisted as one JSON file."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

_FORMAT = 1
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
    """Lower-cased jieba search-mode tokens, without punctuation and stop words."""
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


class Bm25Index:
    """Okapi BM25 over pre-tokenised chunks. ``search`` returns (chunk id, score), best first."""

    def __init__(
        self, ids: Sequence[str], tokens: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75
    ) -> None:
        self.ids = list(ids)
        self.k1 = k1
        self.b = b
        self.lengths = np.array([len(t) for t in tokens], dtype=np.float32)
        self.avg_len = float(self.lengths.mean()) if len(self.lengths) else 0.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for doc, toks in enumerate(tokens):
            for term, tf in Counter(toks).items():
                postings.setdefault(term, []).append((doc, tf))
        self._postings = {
            term: (
                np.array([d for d, _ in p], dtype=np.int32),
                np.array([f for _, f in p], dtype=np.float32),
            )
            for term, p in postings.items()
        }

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> Bm25Index:
        return cls(ids, [tokenize(t) for t in texts])

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every token the index holds."""
        return frozenset(self._postings)

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        scores = np.zeros(len(self.ids), dtype=np.float32)
        n = len(self.ids)
        for term, qtf in Counter(tokenize(query)).items():
            posting = self._postings.get(term)
            if posting is None:
                continue
            docs, tfs = posting
            idf = math.log(1.0 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            norm = self.k1 * (1.0 - self.b + self.b * self.lengths[docs] / self.avg_len)
            scores[docs] += qtf * idf * tfs * (self.k1 + 1.0) / (tfs + norm)
        hits = np.nonzero(scores)[0]
        if not len(hits):
            return []
        top = hits[np.argsort(-scores[hits], kind="stable")][:k]
        return [(self.ids[i], float(scores[i])) for i in top]

    def save(self, path: Path, fingerprint: str) -> None:
        """Write atomically (temp file + rename): a reader never sees half a file."""
        postings = {
            term: [docs.tolist(), tfs.astype(int).tolist()]
            for term, (docs, tfs) in self._postings.items()
        }
        payload = {
            "format": _FORMAT,
            "fingerprint": fingerprint,
            "ids": self.ids,
            "lengths": self.lengths.astype(int).tolist(),
            "postings": postings,
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> tuple[Bm25Index, str] | None:
        """The saved index and its fingerprint, or None when missing or unreadable."""
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if payload.get("format") != _FORMAT:
            return None
        index = cls.__new__(cls)
        index.ids = payload["ids"]
        index.k1, index.b = 1.5, 0.75
        index.lengths = np.array(payload["lengths"], dtype=np.float32)
        index.avg_len = float(index.lengths.mean()) if len(index.lengths) else 0.0
        index._postings = {
            term: (np.array(d, dtype=np.int32), np.array(f, dtype=np.float32))
            for term, (d, f) in payload["postings"].items()
        }
        return index, str(payload["fingerprint"])
