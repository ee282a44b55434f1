"""Results files of format 1 (``eval/bench/run.py`` before the sections were split) as
:class:`BenchResults`, so their pages can be regenerated and later runs merged into them.

Format 1 kept untyped dicts per section, one run's metadata (``meta``) plus the one before it
(``earlier_meta``); a section belongs to the run whose ``config.sections`` names it. Its tree
state has the commit and dirty flag only (no file list), and its tutorial pipeline was a
reproduction of PyPDFLoader and langchain-chroma (:data:`TUTORIAL_V1`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eval.bench.results import (
    AnswerRun,
    BenchResults,
    ChildFigures,
    ColdSection,
    ExtractiveSection,
    GitState,
    IngestRun,
    IngestSection,
    Latency,
    LatencyByLanguage,
    LatencySummary,
    LocalRun,
    LocalSample,
    LocalSection,
    ModelRates,
    PairRun,
    PipelineRun,
    PipelineSummary,
    Profile,
    QualityFigures,
    QualitySection,
    RetrievalScores,
    RetrievalSection,
    RetrievalStages,
    RunLatency,
    RunMeta,
    ScalePoint,
    ScaleSection,
    SectionMeta,
    SectionResult,
    SectionRun,
    ServerIngest,
    ServerSection,
    Summary,
    TutorialIngest,
    UiSection,
    Versus,
    from_json,
)

J = Mapping[str, Any]

TUTORIAL_V1 = (
    "`eval/bench/tutorial.py` as it was then: pypdf `extract_text()` per page, reproducing "
    "langchain_community's PyPDFLoader (not installed then) → RecursiveCharacterTextSplitter"
    "(500, 50) → a fresh Chroma collection written with chromadb directly (same e5 vectors), "
    "reproducing langchain-chroma → top-5 dense → the LangChain RAG prompt and the same local LLM."
)


def from_format_1(data: J) -> BenchResults:
    """The typed results of a format-1 results file (targets re-checked by today's table)."""
    from eval.bench.targets import check_all

    runs = [_run(data["meta"])] + ([_run(data["earlier_meta"])] if data.get("earlier_meta") else [])
    metas = [data["meta"]] + ([data["earlier_meta"]] if data.get("earlier_meta") else [])
    sections = []
    for name, raw in data.get("sections", {}).items():
        owner = next(
            (r for r, m in zip(runs, metas, strict=True) if name in m["config"]["sections"]),
            runs[0],
        )
        sections.append(_section(name, raw, owner.started))
    results = BenchResults(2, tuple(runs), tuple(sections))
    return BenchResults(2, results.runs, results.sections, check_all(results))


def _run(meta: J) -> RunMeta:
    git = meta.get("git") or {}
    return RunMeta(
        started=meta["started"],
        seconds=meta["seconds"],
        load_start=meta["load_start"],
        load_end=meta["load_end"],
        cpus=meta.get("cpus"),
        machine=meta["machine"],
        python=meta["python"],
        packages=dict(meta.get("packages", {})),
        git=GitState(git.get("commit"), git.get("dirty")),
        peak_rss_of_bench_mib=meta.get("peak_rss_of_bench_mib"),
        settings=dict(meta.get("settings", {})),
        config=dict(meta.get("config", {})),
        tutorial=TUTORIAL_V1,
    )


def _section(name: str, raw: J, run: str) -> SectionRun:
    m = raw.get("meta", {})
    meta = SectionMeta(run, m["at"], m["seconds"], m["load_before"], m["load_after"])
    if raw.get("status") != "ok":
        return SectionRun(name, raw["status"], meta, None, raw.get("reason") or raw.get("error"))
    return SectionRun(name, "ok", meta, _CONVERT[name](raw))


def _s(data: Any) -> Summary:
    if isinstance(data, int | float):
        return Summary(float(data), float(data), float(data), 1)
    result: Summary = from_json(Summary, data)
    return result


def _lat(data: J) -> Latency:
    result: Latency = from_json(Latency, data)
    return result


def _lsum(data: J) -> LatencySummary:
    return LatencySummary(_s(data["p50"]), _s(data["p95"]))


def _profile(data: J | None) -> Profile | None:
    if not data or "profile" not in data:
        return None
    return Profile(data["profile"], data["seconds"], data["stages_s"], data["slowest_stage"])


def _versus(data: J, subject: str, baseline: str) -> Versus:
    """Format 1 kept ``{name}``, ``{name}_zh``, ``{name}_en`` and per-run dicts alike."""

    def by_lang(d: J, name: str) -> LatencyByLanguage:
        return LatencyByLanguage(_lsum(d[name]), _lsum(d[f"{name}_zh"]), _lsum(d[f"{name}_en"]))

    def run_lat(d: J, name: str) -> RunLatency:
        return RunLatency(_lat(d[name]), _lat(d[f"{name}_zh"]), _lat(d[f"{name}_en"]))

    runs = [PairRun(run_lat(r, subject), run_lat(r, baseline)) for r in data["runs"]]
    fresh = Versus.of(runs)
    return Versus(
        by_lang(data, subject),
        by_lang(data, baseline),
        fresh.ratio_p50,
        fresh.ratio_p95,
        tuple(runs),
    )


def _ingest(d: J) -> IngestSection:
    t = d["tutorial"]
    return IngestSection(
        pdf=d["pdf"],
        pages=d["pages"],
        chunks=d["chunks"],
        runs=tuple(from_json(IngestRun, r) for r in d["runs"]),
        tutorial=TutorialIngest(
            t["pages"],
            t["chunks"],
            t["seconds"],
            t["cpu_seconds"],
            t["embed_seconds"],
            t["pages_per_s"],
            t["chunks_per_s"],
            t["ratio_to_embedding"],
        ),
        seconds=_s(d["seconds"]),
        pages_per_s=_s(d["pages_per_s"]),
        chunks_per_s=_s(d["chunks_per_s"]),
        embed_alone_seconds=_s(d["embed_alone_seconds"]),
        ratio_to_embedding=_s(d["ratio_to_embedding"]),
        cpu_ratio_to_embedding=_s(d["cpu_ratio_to_embedding"]),
        non_embedding_seconds=_s(d["non_embedding_seconds"]),
        reingest_seconds=_s(d["reingest_seconds"]),
        reingest_embedded=d["reingest_embedded"],
        profile=_profile(d.get("profile")),
    )


def _quality_figures(d: J) -> QualityFigures:
    def scores(s: J) -> RetrievalScores:
        return RetrievalScores(
            s["hit@1"], s["hit@5"], s["mrr"], s["evidence_recall@5"], s["context_chars"]
        )

    same = d["tutorial_same_context"]
    return QualityFigures(
        items=d["items"],
        ours=scores(d["ours"]),
        tutorial=scores(d["tutorial"]),
        tutorial_same_context_hit=same["hit"],
        tutorial_same_context_chunks=same["chunks"],
        hit_at_5_only_ours=d["hit@5_only_ours"],
        hit_at_5_only_tutorial=d["hit@5_only_tutorial"],
    )


def _quality(d: J) -> QualitySection:
    return QualitySection(
        overall=_quality_figures(d),
        by_language={k: _quality_figures(v) for k, v in d["by_language"].items()},
        by_type={k: _quality_figures(v) for k, v in d["by_type"].items()},
        eval_set=d["eval_set"],
        note=d["note"],
    )


def _retrieval(d: J) -> RetrievalSection:
    st = d["stages_ms"]
    return RetrievalSection(
        queries=d["queries"],
        languages=dict(d["languages"]),
        latency=_versus(d, "ours", "tutorial"),
        stages_ms=RetrievalStages(
            st["embed_query"], st["dense_search"], st["bm25_search"], st["whole_search"], st["rest"]
        ),
        note=d["note"],
        profile=_profile(d.get("profile")),
    )


def _answer_run(d: J) -> AnswerRun:
    return AnswerRun(_lat(d), d.get("retrieve_p50"), d.get("refused", 0))


def _extractive(d: J) -> ExtractiveSection:
    return ExtractiveSection(
        questions=d["questions"],
        languages=dict(d["languages"]),
        first_ask=_answer_run(d["first_ask"]),
        warm=_lsum(d["warm"]),
        warm_retrieve_p50=_s(d["warm"]["retrieve_p50"]),
        runs=tuple(_answer_run(r) for r in d["runs"]),
        note=d["note"],
        profile=_profile(d.get("profile")),
    )


def _local(d: J) -> LocalSection:
    def pipeline(who: str) -> PipelineSummary:
        return PipelineSummary(
            _lsum(d[f"{who}_first_token"]),
            _lsum(d[f"{who}_total"]),
            _lsum(d[f"{who}_retrieve"]),
            _s(d[f"{who}_prompt_tokens"]),
            _s(d[f"{who}_evaluated_tokens"]),
        )

    def run(r: J) -> LocalRun:
        def side(who: str) -> PipelineRun:
            return PipelineRun(
                _lat(r[f"{who}_first_token"]),
                _lat(r[f"{who}_total"]),
                _lat(r[f"{who}_retrieve"]),
                r.get(f"{who}_prompt_tokens"),
                r.get(f"{who}_evaluated_tokens"),
            )

        return LocalRun(side("ours"), side("tutorial"), r.get("ours_refused", 0))

    rates = d.get("model_rates")
    return LocalSection(
        questions=d["questions"],
        languages=dict(d["languages"]),
        load_and_first_pair_s=d["load_and_first_pair_s"],
        ours=pipeline("ours"),
        tutorial=pipeline("tutorial"),
        ratio_first_token_p50=_s(d["ratio_first_token_p50"]),
        ratio_total_p50=_s(d["ratio_total_p50"]),
        model_rates=from_json(ModelRates, rates) if rates else None,
        runs=tuple(run(r) for r in d["runs"]),
        samples=tuple(from_json(LocalSample, s) for s in d.get("samples", ())),
        settings=dict(d["settings"]),
        note=d["note"],
        profile=_profile(d.get("profile")),
    )


def _child(d: J) -> ChildFigures:
    refused = d.get("refused") or [None]
    return ChildFigures(
        answer_s=_s(d["answer_s"]),
        exit_s=_s(d.get("exit_s", {"median": None, "min": None, "max": None, "n": 0})),
        peak_rss_mib=_s(d["peak_rss_mib"]),
        failures=tuple(line for lines in d.get("failures", ()) for line in lines),
        refused=refused[0],
    )


def _cold(d: J) -> ColdSection:
    modes = {k: _child(v) for k, v in d["modes"].items() if "answer_s" in v}
    not_run = {k: v.get("status", "") for k, v in d["modes"].items() if "answer_s" not in v}
    return ColdSection(d["question"], modes, not_run, d["note"])


def _ui(d: J) -> UiSection:
    return UiSection(
        _s(d["ready_s"]), _s(d["peak_rss_at_ready_mib"]), d["note"], _profile(d.get("profile"))
    )


def _server(d: J) -> ServerSection:
    i = d["ingest"]
    return ServerSection(
        startup_s=d["server_startup_s"],
        ingest=ServerIngest(
            _s(i["seconds"]),
            _s(i["embed_seconds"]),
            _s(i["non_embedding_seconds"]),
            _s(i["reingest_seconds"]),
        ),
        retrieval=_versus(d["retrieval"], "server", "embedded"),
        extractive_warm=_versus(d["extractive_warm"], "server", "embedded"),
        cold_extractive=_child(d["cold_extractive"]),
        server_peak_rss_mib=d.get("server_peak_rss_mib"),
        note=d["note"],
    )


def _scale(d: J) -> ScaleSection:
    return ScaleSection(
        embedding=d["embedding"],
        points=tuple(from_json(ScalePoint, p) for p in d["points"]),
        per_page_growth=d.get("per_page_growth"),
        non_embedding_per_page_growth=d.get("non_embedding_per_page_growth"),
        rss_growth=d.get("rss_growth"),
        note=d["note"],
    )


_CONVERT: dict[str, Callable[[J], SectionResult]] = {
    "ingest": _ingest,
    "quality": _quality,
    "retrieval": _retrieval,
    "extractive": _extractive,
    "local": _local,
    "cold": _cold,
    "ui": _ui,
    "server": _server,
    "scale": _scale,
}
