"""A BM25 index over jieba search-mode tokens, persisted as one NumPy ``.npz`` file.

Memory stays proportional to the postings, not to the corpus text: a build tokenises one chunk
at a time into flat arrays, and the saved file holds those arrays as they are."""

from __future__ import annotations

import json
import math
import os
import zipfile
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from ingest.text import tokenize

_FORMAT = 2  # 1: JSON with one list per term


class _PostingsBuilder:
    """Collects postings a chunk at a time in flat arrays (12 bytes a posting), so a build
    holds neither every chunk's tokens nor a Python tuple per posting."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}  # term -> its row, in order of first appearance
        self.lengths = array("i")
        self._term_rows = array("i")
        self._docs = array("i")
        self._tfs = array("i")

    def add(self, tokens: Sequence[str]) -> None:
        doc = len(self.lengths)
        self.lengths.append(len(tokens))
        for term, tf in Counter(tokens).items():
            self._term_rows.append(self.rows.setdefault(term, len(self.rows)))
            self._docs.append(doc)
            self._tfs.append(tf)

    def index(self, ids: Sequence[str]) -> Bm25Index:
        """The index of the chunks added so far, ``ids`` naming them in the order added."""
        term_rows = np.frombuffer(self._term_rows, dtype=np.int32)
        # Stable, so each term's chunks stay in the ascending order they were added in.
        order = np.argsort(term_rows, kind="stable")
        offsets = np.zeros(len(self.rows) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_rows, minlength=len(self.rows)), out=offsets[1:])
        docs = np.frombuffer(self._docs, dtype=np.int32)[order]
        tfs = np.frombuffer(self._tfs, dtype=np.int32)[order]
        return Bm25Index(ids, self.lengths, self.rows, offsets, docs, tfs)


class Bm25Index:
    """Okapi BM25 over tokenised chunks. ``search`` returns (chunk id, score), best first.

    The postings are compressed sparse rows: the chunks that hold the term of row ``r`` are
    ``docs[offsets[r]:offsets[r + 1]]``, ascending, with the term's frequencies in them at the
    same positions of ``tfs``. Build one with ``build`` (texts) or ``from_tokens``.
    """

    def __init__(
        self,
        ids: Sequence[str],
        lengths: Sequence[int] | np.ndarray,
        rows: dict[str, int],
        offsets: np.ndarray,
        docs: np.ndarray,
        tfs: np.ndarray,
        k1: float = 1.5,
        b: float = 0.75,
    ) -> None:
        self.ids = list(ids)
        self.k1 = k1
        self.b = b
        self.lengths = np.asarray(lengths, dtype=np.float32)
        self.avg_len = float(self.lengths.mean()) if len(self.lengths) else 0.0
        self._rows = rows
        self._offsets = np.asarray(offsets, dtype=np.int64)
        self._docs = np.asarray(docs, dtype=np.int32)
        self._tfs = np.asarray(tfs, dtype=np.float32)
        if (
            len(self.lengths) != len(self.ids)
            or len(self._offsets) != len(rows) + 1
            or len(self._docs) != len(self._tfs)
            or self._offsets[-1] != len(self._docs)
        ):
            raise ValueError(
                f"inconsistent BM25 index: {len(self.ids)} ids, {len(self.lengths)} lengths, "
                f"{len(rows)} terms, {len(self._offsets)} offsets, {len(self._docs)} postings"
            )

    @classmethod
    def build(cls, ids: Sequence[str], texts: Iterable[str]) -> Bm25Index:
        """Index ``texts`` (one per id, in order; any iterable, consumed one text at a time)."""
        return cls.from_tokens(ids, (tokenize(t) for t in texts))

    @classmethod
    def from_tokens(cls, ids: Sequence[str], tokens: Iterable[Sequence[str]]) -> Bm25Index:
        builder = _PostingsBuilder()
        for toks in tokens:
            builder.add(toks)
        return builder.index(ids)

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every token the index holds."""
        return frozenset(self._rows)

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        scores = np.zeros(len(self.ids), dtype=np.float32)
        n = len(self.ids)
        for term, qtf in Counter(tokenize(query)).items():
            row = self._rows.get(term)
            if row is None:
                continue
            start, end = self._offsets[row], self._offsets[row + 1]
            docs, tfs = self._docs[start:end], self._tfs[start:end]
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
        header = {
            "format": _FORMAT,
            "fingerprint": fingerprint,
            "ids": self.ids,
            "terms": sorted(self._rows, key=self._rows.__getitem__),
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), np.uint8),
                lengths=self.lengths.astype(np.int32),
                offsets=self._offsets,
                docs=self._docs,
                tfs=self._tfs.astype(np.int32),
            )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> tuple[Bm25Index, str] | None:
        """The saved index and its fingerprint, or None when missing, unreadable or of an older
        format."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(data["header"].tobytes().decode("utf-8"))
                if header.get("format") != _FORMAT:
                    return None
                rows = {term: row for row, term in enumerate(header["terms"])}
                index = cls(
                    header["ids"], data["lengths"], rows, data["offsets"], data["docs"], data["tfs"]
                )
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        return index, str(header["fingerprint"])
