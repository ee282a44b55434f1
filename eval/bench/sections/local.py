"""Section ``local``: the local LLM's first token and whole answer, ours beside the tutorial's.

Both pipelines use the same model object and settings. Each run asks every question of one
pipeline, then of the other (the order alternates by run): each keeps its prompt prefix in the
model's KV cache between its own questions, as it would serving alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from eval.bench.context import BenchContext, NotRun, languages, llm_items
from eval.bench.measure import timed
from eval.bench.results import (
    Latency,
    LocalRun,
    LocalSample,
    LocalSection,
    ModelRates,
    PipelineRun,
    PipelineSummary,
    Summary,
    ratio,
)
from eval.bench.targets import limit
from eval.dataset import EvalItem
from ingest.errors import ModelUnavailable
from ingest.settings import BUNDLED_PDF

log = logging.getLogger(__name__)

PROFILES = ("local",)

#: Public function -> stage, for naming the slowest stage of the profile.
STAGES = {
    "HybridSearcher.search": "retrieval",
    "FeedbackTranslator.translate": "keyword query of an English question",
    "ChatGenerator.condense": "condense the follow-up (LLM)",
    "ChatGenerator.stream": "generate the answer (LLM)",
    "unknown_terms": "refusal check (terms the index never mentions)",
    "check_answer": "citation check",
    "Index.page_text": "locate citations on pages",
}

NOTE = (
    "ours: the whole local chain (a keyword query for English questions from the best dense "
    "chunks, hybrid retrieval, generation, citation check); tutorial: top-5 dense chunks in the"
    " LangChain RAG prompt, same model object and settings; first token and total from the "
    "start of the call. A refusal before generation has no first token."
)


@dataclass
class _Samples:
    first: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    retrieve: list[float] = field(default_factory=list)
    prompt: list[float] = field(default_factory=list)
    evaluated: list[float] = field(default_factory=list)

    def run(self) -> PipelineRun:
        def avg(values: list[float]) -> float | None:
            return round(sum(values) / len(values), 4) if values else None

        return PipelineRun(
            Latency.of(self.first),
            Latency.of(self.total),
            Latency.of(self.retrieve),
            avg(self.prompt),
            avg(self.evaluated),
        )


def run(ctx: BenchContext) -> LocalSection:
    from assistant.llm.model_file import local_model_available

    cfg = ctx.config
    if cfg.llm_questions < 1:
        raise NotRun("skipped", "--llm-questions 0")
    if not local_model_available():
        raise NotRun(
            "unavailable", "the local model or llama-cpp-python is not installed (make install)"
        )
    assistant, tutorial = ctx.assistant(), ctx.tutorial()
    try:
        generator = assistant.generator("local")
    except ModelUnavailable as exc:
        raise NotRun("unavailable", str(exc)) from exc
    chat_model = generator.chat_model  # type: ignore[attr-defined]
    tutorial.chat_model = chat_model
    # The llama.cpp runtime (None for other chat models): prompt sizes and the model's own speed.
    runtime = getattr(chat_model, "runtime", None)
    items = llm_items(ctx.items, cfg.llm_questions)
    log.info("bench: loading the local model")
    with timed() as load:
        ctx.forget_queries()
        assistant.ask(items[0].question, mode="local")
        tutorial.answer(items[0].question)
    runs: list[LocalRun] = []
    samples: list[LocalSample] = []
    for r in range(cfg.local_runs):
        log.info("bench: local LLM run %d/%d (%d questions)", r + 1, cfg.local_runs, len(items))
        got = {"ours": _Samples(), "tutorial": _Samples()}
        refused = 0
        for who in ("ours", "tutorial") if r % 2 == 0 else ("tutorial", "ours"):
            for item in items:
                refused += _ask(ctx, who, item, got[who], runtime, samples if r == 0 else None)
        runs.append(LocalRun(got["ours"].run(), got["tutorial"].run(), refused))
    ours = PipelineSummary.of([r.ours for r in runs])
    missed = (ours.first_token.p50.median or 0) > limit("local_first_token_p50") or (
        ours.total.p50.median or 0
    ) > limit("local_total_p50")
    profile = None
    if ctx.should_profile(missed):
        calls = [partial(assistant.ask, i.question, mode="local") for i in items[:3]]
        profile = ctx.profile_loop("local", STAGES, calls)
    s = ctx.settings
    return LocalSection(
        questions=len(items),
        languages=languages(i.question for i in items),
        load_and_first_pair_s=round(load.wall, 2),
        ours=ours,
        tutorial=PipelineSummary.of([r.tutorial for r in runs]),
        ratio_first_token_p50=Summary.of(
            [ratio(r.ours.first_token.p50, r.tutorial.first_token.p50) for r in runs]
        ),
        ratio_total_p50=Summary.of([ratio(r.ours.total.p50, r.tutorial.total.p50) for r in runs]),
        model_rates=model_rates(runtime) if runtime is not None else None,
        runs=tuple(runs),
        samples=tuple(samples),
        settings={
            "llm_threads": s.llm_threads,
            "llm_ctx": s.llm_ctx,
            "llm_max_tokens": s.llm_max_tokens,
            "top_k": s.top_k,
        },
        note=NOTE,
        profile=profile,
    )


def _ask(
    ctx: BenchContext,
    who: str,
    item: EvalItem,
    into: _Samples,
    runtime: Any,
    samples: list[LocalSample] | None,
) -> int:
    """Ask one question of one pipeline, add its timings; 1 if ours refused."""
    ctx.forget_queries()
    refused = 0
    evaluated_before = getattr(runtime, "evaluated_tokens", 0)
    if who == "ours":
        answer = ctx.assistant().ask(item.question, mode="local")
        first, total = answer.timings.first_token_ms, answer.timings.total_ms
        retrieve, text, refused = answer.timings.retrieve_ms, answer.text, int(answer.refused)
    else:
        reply = ctx.tutorial().answer(item.question)
        first, total, retrieve, text = (
            reply.first_token_ms,
            reply.total_ms,
            reply.retrieve_ms,
            reply.text,
        )
    if first is not None:
        into.first.append(first)
        prompt = runtime.last_prompt if runtime is not None else None  # after any translation
        if prompt is not None:
            into.prompt.append(prompt.tokens)
            # Every prompt evaluated for this question: the refusal's yes/no, the answer and the
            # checker's yes/no questions (tokens of a cached prefix are not evaluated again).
            into.evaluated.append(getattr(runtime, "evaluated_tokens", 0) - evaluated_before)
    into.total.append(total)
    into.retrieve.append(retrieve)
    if samples is not None:
        samples.append(LocalSample(who, item.id, item.question, first, total, text[:300]))
    return refused


def model_rates(runtime: Any, prompt_tokens: int = 500, new_tokens: int = 64) -> ModelRates:
    """The local model's own speed here: prompt evaluation and generation, tokens per second.

    What bounds the first token: a prompt of N new tokens cannot start answering before
    N / (prompt tokens/s). Measured on white-paper text, best of three, nothing cached.
    """
    text = (BUNDLED_PDF.parent / "source.txt").read_text(encoding="utf-8")
    with runtime.session() as llm:
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False)[1000 : 1000 + prompt_tokens]
        prompt_s, gen_s = [], []
        for _ in range(3):
            llm.n_tokens = 0  # eval() drops the KV cells from n_tokens on
            with timed() as t:
                llm.eval(tokens)
            prompt_s.append(t.wall)
            with timed() as t:
                for _ in range(new_tokens):
                    llm.eval([llm.sample(temp=0.0)])
            gen_s.append(t.wall)
        llm.n_tokens = 0
    return ModelRates(
        prompt_tokens=len(tokens),
        prompt_tokens_per_s=round(len(tokens) / min(prompt_s), 1),
        generated_tokens=new_tokens,
        generation_tokens_per_s=round(new_tokens / min(gen_s), 1),
        threads=runtime.settings.llm_threads,
        flash_attn=runtime.settings.llm_flash_attn,
    )
