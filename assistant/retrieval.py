"""Hybrid retrieval: dense (Chroma) and BM25 (jieba) fused with reciprocal rank fusion.

Exposed as a LangChain ``BaseRetriever`` so it composes with other LangChain code; the
assistant itself calls ``search`` for the richer result (passages plus relevance).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.settings import RetrievalSettings
from assistant.terms import without_document_reference
from assistant.types import Passage
from ingest.environment import prepare_environment
from ingest.index import Index
from ingest.model import Chunk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievalResult:
    """Passages in rank order, and the best dense similarity (the refusal signal)."""

    passages: tuple[Passage, ...]
    best_similarity: float
    candidates: int


def rrf_fuse(
    rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int = 60
) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: score(id) = sum of weight / (k + rank), rank from 1."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def merge_neighbours(chunks: Sequence[Chunk]) -> list[list[Chunk]]:
    """Group chunks (given in rank order) with their retrieved neighbours of the same section.

    Returns groups in rank order of their best member; each group is in document order.
    """
    groups: list[list[Chunk]] = []
    for chunk in chunks:
        touching = [
            group
            for group in groups
            if group[0].doc_id == chunk.doc_id
            and group[0].section_path == chunk.section_path
            and any(abs(c.index - chunk.index) == 1 for c in group)
        ]
        if not touching:
            groups.append([chunk])
            continue
        # A chunk between two groups (ranks A, C, then B) joins them into one passage.
        first = touching[0]
        first.append(chunk)
        for other in touching[1:]:
            first.extend(other)
            groups.remove(other)
        first.sort(key=lambda c: c.index)
    return groups


def passage_from_chunks(
    number: int,
    group: Sequence[Chunk],
    score: float,
    similarity: float | None,
    page_spans: Mapping[int, tuple[int, int]] | None = None,
) -> Passage:
    """One passage from consecutive chunks; their one-sentence overlaps are not repeated.

    ``page_spans`` (the document's page index -> span, as the index keeps it) gives the
    passage the spans of its pages."""
    text = group[0].text
    offsets = [0]
    end = group[0].end
    for chunk in group[1:]:
        if chunk.start < end:
            offsets.append(len(text) - (end - chunk.start))
            text += chunk.text[end - chunk.start :]
        else:
            text += "\n"
            offsets.append(len(text))
            text += chunk.text
        end = chunk.end
    pages: dict[int, str] = {}
    for chunk in group:
        pages.update(zip(chunk.page_indices, chunk.page_labels, strict=True))
    indices = tuple(sorted(pages))
    return Passage(
        number=number,
        chunk_ids=tuple(c.id for c in group),
        doc_id=group[0].doc_id,
        title=group[0].title,
        content_hash=group[0].content_hash,
        text=text,
        start=group[0].start,
        end=end,
        page_labels=tuple(pages[i] for i in sorted(pages)),
        page_indices=indices,
        section_path=group[0].section_path,
        score=score,
        dense_similarity=similarity,
        chunk_offsets=tuple(offsets),
        chunk_starts=tuple(c.start for c in group),
        page_spans=tuple(page_spans[i] for i in indices) if page_spans is not None else (),
    )


class HybridSearcher:
    """Dense + BM25 search over one index, fused by RRF, with an optional cross-encoder."""

    def __init__(self, index: Index, embeddings: Embeddings, settings: RetrievalSettings) -> None:
        self.index = index
        self.embeddings = embeddings
        self.settings = settings
        self._reranker: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the embedding model, open the vector store and load BM25 now."""
        self.embeddings.embed_query("预热 warm-up")
        self.index.check_store()
        self.index.bm25()

    def search(
        self,
        query: str,
        *,
        bm25_query: str | None = None,
        top_k: int | None = None,
        doc_id: str | None = None,
    ) -> RetrievalResult:
        s = self.settings
        top_k = top_k or s.top_k
        # Searched without "according to the white paper": those words match the document's
        # preface and its sentences about itself, not what the question asks.
        vector = self.embeddings.embed_query(without_document_reference(query))
        dense = self.index.dense_search(vector, s.dense_k, doc_id=doc_id)
        keywords = without_document_reference(bm25_query or query)
        bm25_hits = self.index.bm25().search(keywords, s.bm25_k * 2)
        if doc_id is not None:
            allowed = self.index.chunk_ids(doc_id) if bm25_hits else frozenset()
            bm25_hits = [h for h in bm25_hits if h[0] in allowed]
        bm25_hits = bm25_hits[: s.bm25_k]
        fused = rrf_fuse(
            [[h.chunk.id for h in dense], [i for i, _ in bm25_hits]],
            [s.dense_weight, s.bm25_weight],
            s.rrf_k,
        )
        similarity = {h.chunk.id: h.similarity for h in dense}
        known = {h.chunk.id: h.chunk for h in dense}
        missing = [i for i, _ in fused[: top_k * 3] if i not in known]
        known.update(self.index.get_chunks(missing))
        ranked = [(known[i], score) for i, score in fused if i in known]
        if self.settings.reranker and ranked:
            ranked = self._rerank(query, ranked[: max(top_k * 4, 20)])
        head = ranked[: top_k * 2]
        score_of = {c.id: sc for c, sc in head}
        groups = (
            merge_neighbours([c for c, _ in head]) if s.merge_neighbours else [[c] for c, _ in head]
        )
        passages: list[Passage] = []
        for group in groups[:top_k]:
            best = max(group, key=lambda c: score_of[c.id])
            sims = [similarity[c.id] for c in group if c.id in similarity]
            passages.append(
                passage_from_chunks(
                    len(passages) + 1,
                    group,
                    score_of[best.id],
                    max(sims) if sims else None,
                    self.index.page_spans(group[0].content_hash),
                )
            )
        best_similarity = max((h.similarity for h in dense), default=0.0)
        return RetrievalResult(tuple(passages), best_similarity, len(fused))

    def _rerank(self, query: str, ranked: list[tuple[Chunk, float]]) -> list[tuple[Chunk, float]]:
        with self._lock:
            if self._reranker is None:
                prepare_environment()
                from sentence_transformers import CrossEncoder

                self._reranker = CrossEncoder(self.settings.reranker, device="cpu")
        scores = self._reranker.predict([(query, c.text) for c, _ in ranked])
        order = sorted(zip(ranked, scores, strict=True), key=lambda x: -float(x[1]))
        return [(c, float(score)) for (c, _), score in order]


class HybridRetriever(BaseRetriever):
    """LangChain face of ``HybridSearcher``: ``retriever.invoke("问题")`` -> Documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Any
    top_k: int | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.searcher.search(query, top_k=self.top_k)
        return [
            Document(
                page_content=p.text,
                metadata={k: v for k, v in p.to_json().items() if k != "text"}
                | {"id": p.chunk_ids[0]},
            )
            for p in result.passages
        ]
