"""Section ``server``: a ``chroma run`` server that the bench starts on loopback, beside the
embedded index: ingest, retrieval, warm extractive answers and a cold ``whitepaper ask``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from assistant.chain import Assistant
from assistant.factory import build_assistant
from assistant.settings import AssistantSettings
from eval.bench import measure
from eval.bench.context import (
    BenchContext,
    answer_items,
    child_env,
    console_script,
    llm_items,
    retrieval_queries,
    time_pair,
    turns,
)
from eval.bench.measure import ChromaServer, timed
from eval.bench.results import ChildFigures, ServerIngest, ServerSection, Summary, Versus
from eval.bench.sections.cold import child_figures
from eval.dataset import EvalItem
from ingest.index import Index
from ingest.pipeline import Ingestor
from ingest.text import detect_language

log = logging.getLogger(__name__)

PROFILES: tuple[str, ...] = ()

NOTE = (
    "`chroma run` on loopback started by the benchmark; embedded and server alternate query by "
    "query; extractive answers warm (sentence vectors cached on both sides); the cold start is "
    "`whitepaper ask` with WHITEPAPER_CHROMA_URL set"
)


def run(ctx: BenchContext) -> ServerSection:
    embedded = ctx.assistant()
    chroma = console_script("chroma")
    with measure.chroma_server(chroma, ctx.work / "chroma-server") as server:
        ingest, settings = _ingest(ctx, server)
        remote = build_assistant(
            settings, embeddings=ctx.embeddings, index=Index(settings, ctx.embeddings)
        )
        queries = retrieval_queries(ctx.items, ctx.config.queries)
        for q, _ in queries[:5]:
            remote.searcher.search(q)
        retrieval = []
        for r in range(ctx.config.runs):
            log.info("bench: server retrieval run %d/%d", r + 1, ctx.config.runs)
            retrieval.append(
                time_pair(ctx, queries, remote.searcher.search, embedded.searcher.search, r)
            )
        answers = _answers(ctx, remote, embedded)
        cold = _cold(ctx, server, settings)
        peak = measure.mib(server.peak_rss())
    return ServerSection(
        startup_s=round(server.startup_s, 2),
        ingest=ingest,
        retrieval=Versus.of(retrieval),
        extractive_warm=answers,
        cold_extractive=cold,
        server_peak_rss_mib=peak,
        note=NOTE,
    )


def _ingest(ctx: BenchContext, server: ChromaServer) -> tuple[ServerIngest, AssistantSettings]:
    runs: list[tuple[float, float, float]] = []
    settings = ctx.settings
    for r in range(ctx.config.runs):
        log.info("bench: server ingest run %d/%d", r + 1, ctx.config.runs)
        settings = ctx.home_settings(
            ctx.work / f"server-{r}", chroma_url=server.url, collection=f"bench-server-{r}"
        )
        with timed() as t:
            index, report = ctx.ingest(settings.home, settings)
        with timed() as again:
            Ingestor(settings, ctx.embeddings, index).ingest([ctx.config.pdf])
        index.close()
        runs.append((t.wall, sum(o.embed_seconds for o in report.outcomes), again.wall))
    return (
        ServerIngest(
            seconds=Summary.of([w for w, _, _ in runs]),
            embed_seconds=Summary.of([e for _, e, _ in runs]),
            non_embedding_seconds=Summary.of([w - e for w, e, _ in runs]),
            reingest_seconds=Summary.of([a for _, _, a in runs]),
        ),
        settings,
    )


def _answers(ctx: BenchContext, remote: Assistant, embedded: Assistant) -> Versus:
    items = answer_items(ctx.items, ctx.config.answers)
    for item in items:  # warm both; the server side's sentence cache starts empty
        embedded.ask(item.question, turns(item), mode="extractive")
        remote.ask(item.question, turns(item), mode="extractive")

    def asker(assistant: Assistant) -> Callable[[EvalItem], Any]:
        return lambda i: assistant.ask(i.question, turns(i), mode="extractive")

    inputs: list[tuple[EvalItem, str]] = [(i, detect_language(i.question)) for i in items]
    runs = []
    for r in range(ctx.config.runs):
        log.info("bench: server extractive run %d/%d", r + 1, ctx.config.runs)
        runs.append(time_pair(ctx, inputs, asker(remote), asker(embedded), r))
    return Versus.of(runs)


def _cold(ctx: BenchContext, server: ChromaServer, settings: AssistantSettings) -> ChildFigures:
    env = child_env(ctx.settings, settings.home) | {
        "WHITEPAPER_CHROMA_URL": server.url,
        "WHITEPAPER_COLLECTION": settings.collection,
    }
    exe = console_script("whitepaper")
    question = llm_items(ctx.items, 1)[0].question
    cold = []
    for r in range(ctx.config.runs):
        log.info("bench: server cold start run %d/%d", r + 1, ctx.config.runs)
        argv = [exe, "ask", "--mode", "extractive", "--json", question]
        cold.append(measure.run_child(argv, env, timeout=900))
    return child_figures(cold)
