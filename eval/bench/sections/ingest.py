"""Section ``ingest``: the bundled PDF into fresh indexes, beside the tutorial's ingest.

Per run: the whole ingest (pages/s, chunks/s), the same chunk texts embedded alone (what the
ingest cannot go below), and an unchanged re-ingest. Then the tutorial's ingest, once.
"""

from __future__ import annotations

import logging

from eval.bench import measure
from eval.bench.context import BenchContext
from eval.bench.measure import timed
from eval.bench.results import IngestRun, IngestSection, Profile, Summary, relative
from eval.bench.targets import limit
from ingest.pipeline import Ingestor

log = logging.getLogger(__name__)

PROFILES = ("ingest",)

#: Public function -> stage, for naming the slowest stage of the profile.
STAGES = {
    "Ingestor.read": "read + clean the PDF (pypdf)",
    "Chunker.chunk": "chunk",
    "Index.existing_ids": "look up stored chunk ids (Chroma)",
    "embed_documents": "embed the chunks (e5)",
    "Index.write_chunks": "write chunks (Chroma)",
    "Index.activate": "switch the catalog (SQLite)",
    "Index.collect_garbage": "collect garbage (Chroma scan)",
    "Index.refresh_bm25": "rebuild BM25 (jieba)",
}


def run(ctx: BenchContext) -> IngestSection:
    cfg = ctx.config
    ctx.warm_up()
    runs: list[IngestRun] = []
    texts: list[str] = []
    for r in range(cfg.runs):
        log.info("bench: ingest run %d/%d", r + 1, cfg.runs)
        home = ctx.work / f"ours-{r}"
        settings = ctx.home_settings(home)

        def embed_alone(texts: list[str]) -> measure.Timing:
            with timed() as t:
                ctx.embeddings.embed_documents(texts)
            return t

        # Alternate which comes first, so a load change in the run does not favour one.
        alone = embed_alone(texts) if texts and r % 2 else None
        with timed() as t:
            index, report = ctx.ingest(home, settings)
        with timed() as again:
            second = Ingestor(settings, ctx.embeddings, index).ingest([cfg.pdf])
        texts = [c.text for c in index.chunks()]
        index.close()
        alone = alone or embed_alone(texts)
        pages = sum(o.pages for o in report.outcomes)
        embed_in_ingest = round(sum(o.embed_seconds for o in report.outcomes), 3)
        runs.append(
            IngestRun(
                seconds=round(t.wall, 3),
                cpu_seconds=round(t.cpu, 3),
                embed_seconds_in_ingest=embed_in_ingest,
                embed_alone_seconds=round(alone.wall, 3),
                embed_alone_cpu_seconds=round(alone.cpu, 3),
                pages=pages,
                chunks=sum(o.chunks for o in report.outcomes),
                pages_per_s=pages / t.wall,
                chunks_per_s=len(texts) / t.wall,
                ratio_to_embedding=t.wall / alone.wall,
                cpu_ratio_to_embedding=t.cpu / alone.cpu if alone.cpu else None,
                non_embedding_seconds=t.wall - embed_in_ingest,
                reingest_seconds=round(again.wall, 4),
                reingest_embedded=sum(o.embedded for o in second.outcomes),
                reingest_unchanged=second.count("unchanged"),
            )
        )
        ctx.use_index(home)
    log.info("bench: tutorial ingest")
    _, tutorial = ctx.build_tutorial()

    def summary(values: list[float | None]) -> Summary:
        return Summary.of(values, digits=4)

    ratio = summary([r.ratio_to_embedding for r in runs])
    profile = (
        _profile(ctx) if ctx.should_profile((ratio.median or 0) > limit("ingest_ratio")) else None
    )
    return IngestSection(
        pdf=relative(cfg.pdf),
        pages=runs[-1].pages,
        chunks=runs[-1].chunks,
        runs=tuple(runs),
        tutorial=tutorial,
        seconds=summary([r.seconds for r in runs]),
        pages_per_s=summary([r.pages_per_s for r in runs]),
        chunks_per_s=summary([r.chunks_per_s for r in runs]),
        embed_alone_seconds=summary([r.embed_alone_seconds for r in runs]),
        ratio_to_embedding=ratio,
        cpu_ratio_to_embedding=summary([r.cpu_ratio_to_embedding for r in runs]),
        non_embedding_seconds=summary([r.non_embedding_seconds for r in runs]),
        reingest_seconds=summary([r.reingest_seconds for r in runs]),
        reingest_embedded=max(r.reingest_embedded for r in runs),
        profile=profile,
    )


def _profile(ctx: BenchContext) -> Profile:
    log.info("bench: profiling one ingest")
    with measure.profiled(ctx.config.profile_path("ingest"), STAGES) as got:
        ctx.ingest(ctx.work / "ours-profile")[0].close()
    return got[0]
