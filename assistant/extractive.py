"""The extractive generator: no model, offline, quick. It quotes the passages' sentences that
best answer the question, in document order, each followed by its citation."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.followup import RuleRewriter
from assistant.types import LEAD_IN, GenerationRequest, Passage, QueryRewriter, Translator
from ingest.embeddings import embedding_name
from ingest.text import CONTENT, ends_sentence, split_sentences, tokenize


@dataclass(frozen=True)
class ScoredSentence:
    passage: Passage
    text: str
    offset: int  # in the document
    score: float


class SentenceVectors:
    """Embeddings of passage sentences, computed once per sentence and embedding model.

    Kept in memory and, when a path is given, in a small SQLite file beside the index, so a
    sentence is embedded once across processes (the CLI, the UI, an eval run).
    """

    def __init__(self, embeddings: Embeddings, path: Path | None = None) -> None:
        self.embeddings = embeddings
        self.model = embedding_name(embeddings)
        self.path = path
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _store(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors(key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )
        return self._db

    def get(self, sentences: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha1(f"{self.model}\n{s}".encode()).hexdigest() for s in sentences]
        with self._lock:
            missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
            db = self._store()
            if missing and db is not None:
                marks = ",".join("?" * len(missing))
                for key, blob in db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", missing
                ):
                    self._cache[key] = np.frombuffer(blob, dtype=np.float32)
            todo = {k: s for k, s in zip(keys, sentences, strict=True) if k not in self._cache}
        if todo:
            vectors = self.embeddings.embed_documents(list(todo.values()))
            with self._lock:
                rows = []
                for key, vector in zip(todo, vectors, strict=True):
                    array = np.asarray(vector, dtype=np.float32)
                    self._cache[key] = array
                    rows.append((key, array.tobytes()))
                db = self._store()
                if db is not None:
                    with db:
                        db.executemany("INSERT OR REPLACE INTO vectors VALUES(?, ?)", rows)
        with self._lock:
            return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, 1))


class ExtractiveGenerator:
    """Picks sentences by embedding similarity plus keyword overlap; follow-ups are condensed
    by the deterministic rule, and nothing is translated."""

    mode = "extractive"

    def __init__(
        self,
        embeddings: Embeddings,
        cache_path: Path | None = None,
        max_sentences: int = 3,
        max_chars: int = 360,
        semantic_weight: float = 0.8,
        margin: float = 0.05,
    ) -> None:
        self.embeddings = embeddings
        self.rewriter: QueryRewriter = RuleRewriter()
        self.translator: Translator | None = None
        self.vectors = SentenceVectors(embeddings, cache_path)
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.semantic_weight = semantic_weight
        self.margin = margin

    def rank(
        self, question: str, passages: Sequence[Passage], keywords_from: str | None = None
    ) -> list[ScoredSentence]:
        """Every claim-like sentence of the passages, scored against the question."""
        candidates: list[tuple[Passage, str, int]] = []
        for passage in passages:
            heading_free = passage.text
            for span in split_sentences(heading_free):
                raw = heading_free[span.start : span.end]
                text = raw.strip()
                if len(CONTENT.findall(text)) < 8 or not ends_sentence(text):
                    continue  # headings, captions and fragments are not answers
                offset = passage.start + span.start + (len(raw) - len(raw.lstrip()))
                candidates.append((passage, text, offset))
        if not candidates:
            return []
        query_vec = np.asarray(self.embeddings.embed_query(question), dtype=np.float32)
        sims = self.vectors.get([c[1] for c in candidates]) @ query_vec
        q_terms = set(tokenize(keywords_from or question))
        scored = []
        for (passage, text, offset), sim in zip(candidates, sims, strict=True):
            overlap = len(q_terms & set(tokenize(text))) / len(q_terms) if q_terms else 0.0
            score = self.semantic_weight * float(sim) + (1 - self.semantic_weight) * overlap
            scored.append(ScoredSentence(passage, text, offset, score))
        scored.sort(key=lambda s: -s.score)
        return scored

    def select(
        self, question: str, passages: Sequence[Passage], keywords_from: str | None = None
    ) -> list[ScoredSentence]:
        ranked = self.rank(question, passages, keywords_from)
        if not ranked:
            return []
        best = ranked[0].score
        chosen: list[ScoredSentence] = []
        used = 0
        for sentence in ranked:
            if len(chosen) >= self.max_sentences or sentence.score < best - self.margin:
                break
            if chosen and used + len(sentence.text) > self.max_chars:
                continue
            if any(sentence.text == c.text for c in chosen):
                continue
            chosen.append(sentence)
            used += len(sentence.text)
        chosen.sort(key=lambda s: (s.passage.doc_id, s.offset))
        return chosen

    def excerpt(
        self, question: str, passage: Passage, budget: int, keywords_from: str | None = None
    ) -> str:
        """The passage's best sentences for the question, in document order, within budget."""
        chosen: list[ScoredSentence] = []
        used = 0
        for sentence in self.rank(question, [passage], keywords_from):
            if chosen and used + len(sentence.text) > budget:
                continue
            chosen.append(sentence)
            used += len(sentence.text)
        if not chosen:
            return passage.text[:budget]
        chosen.sort(key=lambda s: s.offset)
        return "…".join(s.text for s in chosen)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        # Meaning from the standalone question; keywords from what the reader actually asked
        # (a rewritten follow-up also carries the previous turn's words).
        chosen = self.select(request.standalone_question, request.passages, request.question)
        yield LEAD_IN[request.language] + "\n"
        for sentence in chosen:
            yield f"{sentence.text}【{sentence.passage.number}】"
