"""Section ``extractive``: extractive answers, the first ask of each question and warm repeats."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from functools import partial

from eval.bench.context import BenchContext, answer_items, languages, turns
from eval.bench.measure import timed
from eval.bench.results import (
    AnswerRun,
    ExtractiveSection,
    Latency,
    LatencySummary,
    Summary,
    percentile,
)
from eval.bench.targets import limit
from eval.dataset import EvalItem

log = logging.getLogger(__name__)

PROFILES = ("extractive",)

#: Public function -> stage, for naming the slowest stage of the profile.
STAGES = {
    "HybridSearcher.search": "retrieval",
    "RuleRewriter.condense": "follow-up rewrite",
    "unknown_terms": "refusal check (terms the index never mentions)",
    "SentenceVectors.get": "sentence vectors (cache / e5)",
    "tokenize": "keyword overlap (jieba)",
    "split_sentences": "sentence split",
    "check_answer": "citation check",
    "Index.page_text": "locate citations on pages",
}

NOTE = (
    "first ask: the question's passage sentences are not yet embedded (the sentence vector "
    "cache is empty); warm: the same questions again, sentence vectors cached, the question "
    "itself embedded anew (query memo emptied)"
)


def run(ctx: BenchContext) -> ExtractiveSection:
    assistant = ctx.assistant()
    items = answer_items(ctx.items, ctx.config.answers)
    first = _ask_all(ctx, items, "first ask")
    runs = [
        _ask_all(ctx, items, f"warm run {r + 1}/{ctx.config.runs}") for r in range(ctx.config.runs)
    ]
    warm = LatencySummary.of([r.latency for r in runs])
    profile = None
    if ctx.should_profile((warm.p50.median or 0) > limit("extractive_p50")):
        calls = [partial(assistant.ask, i.question, turns(i), mode="extractive") for i in items]
        profile = ctx.profile_loop("extractive", STAGES, calls)
    return ExtractiveSection(
        questions=len(items),
        languages=languages(i.question for i in items),
        first_ask=first,
        warm=warm,
        warm_retrieve_p50=Summary.of([r.retrieve_p50 for r in runs], digits=2),
        runs=tuple(runs),
        note=NOTE,
        profile=profile,
    )


def _ask_all(ctx: BenchContext, items: Sequence[EvalItem], label: str) -> AnswerRun:
    assistant = ctx.assistant()
    total, retrieve = [], []
    refused = 0
    for item in items:
        ctx.forget_queries()
        with timed() as t:
            answer = assistant.ask(item.question, turns(item), mode="extractive")
        total.append(t.wall * 1000)
        retrieve.append(answer.timings.retrieve_ms)
        refused += answer.refused
    log.info("bench: extractive %s: p50 %.0f ms", label, statistics.median(total))
    return AnswerRun(Latency.of(total), percentile(retrieve, 50), refused)
