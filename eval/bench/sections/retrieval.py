"""Section ``retrieval``: warm query latency, ours beside the tutorial's, interleaved.

The stage split times real searches: a searcher built on stand-ins of the index and the
embedder (:class:`eval.bench.measure.StageClock`) that time their public methods.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from functools import partial
from typing import cast

from langchain_core.embeddings import Embeddings

from assistant.retrieval import HybridSearcher
from eval.bench.context import BenchContext, languages, retrieval_queries, time_pair
from eval.bench.measure import StageClock
from eval.bench.results import RetrievalSection, RetrievalStages, Versus
from eval.bench.targets import limit
from ingest.index import Index

log = logging.getLogger(__name__)

PROFILES = ("retrieval",)

#: Public function -> stage, for naming the slowest stage of the profile.
STAGES = {
    "E5Embeddings.embed_query": "embed the query (e5)",
    "embed_query": "embed the query",
    "Index.dense_search": "dense search (Chroma)",
    "Bm25Index.search": "BM25 search (jieba + scoring)",
    "Index.bm25": "BM25 index lookup (catalog fingerprint)",
    "Index.get_chunks": "fetch BM25-only chunks (Chroma)",
    "merge_neighbours": "merge neighbours",
    "passage_from_chunks": "build passages",
    "rrf_fuse": "fuse rankings",
}

NOTE = (
    "a new question each time: the e5 query memo is emptied before every query; ours and the "
    "tutorial alternate query by query. Stages: each timed at its public method "
    "(Embeddings.embed_query, Index.dense_search, Index.bm25, Bm25Index.search, "
    "Index.get_chunks) inside real searches"
)


def run(ctx: BenchContext) -> RetrievalSection:
    searcher, tutorial = ctx.assistant().searcher, ctx.tutorial()
    queries = retrieval_queries(ctx.items, ctx.config.queries)
    for q, _ in queries[:5]:
        searcher.search(q)
        tutorial.retrieve(q)
    runs = []
    for r in range(ctx.config.runs):
        log.info("bench: retrieval run %d/%d (%d queries)", r + 1, ctx.config.runs, len(queries))
        runs.append(time_pair(ctx, queries, searcher.search, tutorial.retrieve, r))
    latency = Versus.of(runs)
    missed = (latency.subject.all.p50.median or 0) > limit("retrieval_p50")
    profile = None
    if ctx.should_profile(missed):
        calls = [partial(searcher.search, q) for q, _ in queries]
        profile = ctx.profile_loop("retrieval", STAGES, calls)
    return RetrievalSection(
        queries=len(queries),
        languages=languages(q for q, _ in queries),
        latency=latency,
        stages_ms=stages(ctx, searcher, [q for q, _ in queries]),
        note=NOTE,
        profile=profile,
    )


def stages(ctx: BenchContext, searcher: HybridSearcher, queries: Sequence[str]) -> RetrievalStages:
    """Median milliseconds of each stage of one search, timed at the parts' public methods."""
    clock = StageClock()
    index = clock.wrap(
        searcher.index,
        {"dense_search": "dense_search", "bm25": "bm25_lookup", "get_chunks": "fetch_chunks"},
        returns={"bm25": {"search": "bm25_search"}},
    )
    embeddings = clock.wrap(searcher.embeddings, {"embed_query": "embed_query"})
    timed = HybridSearcher(cast(Index, index), cast(Embeddings, embeddings), searcher.settings)
    for q in queries:
        ctx.forget_queries()
        started = time.perf_counter()
        timed.search(q)
        clock.lap(whole_search=(time.perf_counter() - started) * 1000)

    def median(stage: str) -> float:
        return round(statistics.median(lap.get(stage, 0.0) for lap in clock.laps), 2)

    parts = ("embed_query", "dense_search", "bm25_lookup", "bm25_search", "fetch_chunks")
    rest = [
        max(0.0, lap["whole_search"] - sum(lap.get(p, 0.0) for p in parts)) for lap in clock.laps
    ]
    return RetrievalStages(
        embed_query=median("embed_query"),
        dense_search=median("dense_search"),
        bm25_search=median("bm25_search"),
        whole_search=median("whole_search"),
        rest=round(statistics.median(rest), 2),
        bm25_lookup=median("bm25_lookup"),
        fetch_chunks=median("fetch_chunks"),
    )
