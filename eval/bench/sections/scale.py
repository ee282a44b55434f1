"""Section ``scale``: a synthetic corpus of growing size (``eval.bench.synthetic``).

Per size: one ``whitepaper ingest --json DIR`` into a fresh home (peak RSS from wait4), then
the warm retrieval queries in this process. Off by default (about 25 minutes with e5).
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import replace

from assistant.retrieval import HybridSearcher
from eval.bench import measure
from eval.bench.config import BenchError
from eval.bench.context import (
    BenchContext,
    child_env,
    console_script,
    forget_queries,
    retrieval_queries,
)
from eval.bench.measure import timed
from eval.bench.results import Latency, ScalePoint, ScaleSection, ratio
from ingest.embeddings import make_embeddings
from ingest.index import Index

log = logging.getLogger(__name__)

PROFILES: tuple[str, ...] = ()

NOTE = (
    "one `whitepaper ingest --json DIR` per size into a fresh home (peak RSS from wait4), then "
    "the warm retrieval queries in this process; one run per size"
)


def run(ctx: BenchContext) -> ScaleSection:
    from eval.bench.synthetic import build_corpus

    spec = ctx.config.scale_embedding or ctx.settings.embedding
    embeddings = ctx.embeddings if spec == ctx.settings.embedding else make_embeddings(spec)
    exe = console_script("whitepaper")
    queries = retrieval_queries(ctx.items, ctx.config.queries)
    points: list[ScalePoint] = []
    for pages in ctx.config.scale_pages:
        corpus = ctx.work / "synthetic" / str(pages)
        with timed() as gen:
            files = build_corpus(corpus, pages)
        home = ctx.work / f"scale-{pages}"
        env = child_env(ctx.settings, home) | {"WHITEPAPER_EMBEDDING": spec}
        log.info("bench: scale ingest of %d pages (%d PDFs) with %s", pages, len(files), spec)
        argv = [exe, "ingest", "--json", "--no-progress", str(corpus)]
        child = measure.run_child(argv, env, timeout=6 * 3600)
        if child.returncode != 0:
            raise BenchError(f"scale ingest of {pages} pages failed: {child.stderr[-500:]}")
        report = json.loads(child.stdout)
        settings = ctx.home_settings(home, embedding=spec)
        searcher = HybridSearcher(Index(settings, embeddings), embeddings, settings.retrieval)
        for q, _ in queries[:5]:
            searcher.search(q)
        latencies = []
        for q, _ in queries:
            forget_queries(embeddings)
            with timed() as t:
                searcher.search(q)
            latencies.append(t.wall * 1000)
        searcher.index.close()
        seconds, embed, n = report["seconds"], report["embed_seconds"], report["pages"]
        points.append(
            ScalePoint(
                pages=n,
                documents=report["documents"],
                chunks=report["chunks"],
                generate_pdfs_s=round(gen.wall, 2),
                ingest_s=seconds,
                embed_s=embed,
                per_page_ms=round(seconds / n * 1000, 2),
                non_embedding_per_page_ms=round((seconds - embed) / n * 1000, 2),
                peak_rss_mib=measure.mib(child.peak_rss_bytes),
                retrieval=Latency.of(latencies),
            )
        )
        log.info(
            "bench: %d pages: %.1f ms/page, retrieval p50 %.1f ms",
            pages,
            points[-1].per_page_ms,
            points[-1].retrieval.p50 or 0.0,
        )
    points = with_slopes(points)
    first, last = points[0], points[-1]
    slopes = [p.marginal_per_page_ms for p in points[1:]]
    return ScaleSection(
        embedding=spec,
        points=tuple(points),
        # With three sizes or more: the last slope against the first; else whole per-page cost.
        per_page_growth=ratio(slopes[-1], slopes[0])
        if len(slopes) >= 2
        else ratio(last.per_page_ms, first.per_page_ms),
        non_embedding_per_page_growth=ratio(
            last.non_embedding_per_page_ms, first.non_embedding_per_page_ms
        ),
        rss_growth=ratio(last.peak_rss_mib, first.peak_rss_mib),
        note=NOTE,
    )


def with_slopes(points: list[ScalePoint]) -> list[ScalePoint]:
    """The points with the cost of each further page since the previous size.

    Fixed costs (opening Chroma, loading jieba) weigh on a small corpus: the cost of each
    further page is the slope between two sizes.
    """
    out = points[:1]
    for before, after in itertools.pairwise(points):
        pages = after.pages - before.pages
        out.append(
            replace(
                after,
                marginal_per_page_ms=round((after.ingest_s - before.ingest_s) / pages * 1000, 2),
                marginal_non_embedding_per_page_ms=round(
                    (after.ingest_s - after.embed_s - before.ingest_s + before.embed_s)
                    / pages
                    * 1000,
                    2,
                ),
            )
        )
    return out
