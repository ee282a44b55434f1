"""The typed results of ``whitepaper bench`` and their JSON form.

Every section returns one frozen dataclass of this module; :class:`BenchResults` holds the
sections of one or more runs (a run of some sections replaces just those), the runs' metadata
(tree state included) and the checked targets. :func:`to_json` and :func:`from_json` convert
any of these types to and from plain JSON by their field names and type hints, so the file
format is the dataclasses themselves (``FORMAT_VERSION``; older files: ``eval.bench.legacy``).
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from eval.bench.figures import (
    Latency,
    LatencyByLanguage,
    LatencySummary,
    PairRun,
    Profile,
    RunLatency,
    Summary,
    Versus,
    percentile,
    ratio,
)

__all__ = [
    "Latency",
    "LatencyByLanguage",
    "LatencySummary",
    "PairRun",
    "Profile",
    "RunLatency",
    "Summary",
    "Versus",
    "percentile",
    "ratio",
]

FORMAT_VERSION = 2
ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")


# -- sections --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestRun:
    """One ingest into a fresh index, the same chunk texts embedded alone, a re-ingest."""

    seconds: float
    cpu_seconds: float
    embed_seconds_in_ingest: float
    embed_alone_seconds: float
    embed_alone_cpu_seconds: float
    pages: int
    chunks: int
    pages_per_s: float
    chunks_per_s: float
    ratio_to_embedding: float
    cpu_ratio_to_embedding: float | None
    non_embedding_seconds: float
    reingest_seconds: float
    reingest_embedded: int
    reingest_unchanged: int


@dataclass(frozen=True)
class TutorialIngest:
    """The tutorial pipeline's ingest of the same PDF (one run)."""

    pages: int
    chunks: int
    seconds: float
    cpu_seconds: float
    embed_seconds: float
    pages_per_s: float
    chunks_per_s: float
    ratio_to_embedding: float | None


@dataclass(frozen=True)
class IngestSection:
    """Ingest of the bundled PDF, ours (several runs) beside the tutorial's."""

    pdf: str
    pages: int
    chunks: int
    runs: tuple[IngestRun, ...]
    tutorial: TutorialIngest
    seconds: Summary
    pages_per_s: Summary
    chunks_per_s: Summary
    embed_alone_seconds: Summary
    ratio_to_embedding: Summary
    cpu_ratio_to_embedding: Summary
    non_embedding_seconds: Summary
    reingest_seconds: Summary
    reingest_embedded: int
    profile: Profile | None = None


@dataclass(frozen=True)
class RetrievalScores:
    """Mean retrieval figures of one pipeline over a group of eval items."""

    hit_at_1: float | None
    hit_at_5: float | None
    mrr: float | None
    evidence_recall_at_5: float | None
    context_chars: float | None


@dataclass(frozen=True)
class QualityFigures:
    """Ours beside the tutorial on a group of answerable eval items."""

    items: int
    ours: RetrievalScores
    tutorial: RetrievalScores
    #: The tutorial given its top chunks until they hold as many characters as our passages.
    tutorial_same_context_hit: float | None
    tutorial_same_context_chunks: float | None
    hit_at_5_only_ours: int
    hit_at_5_only_tutorial: int


@dataclass(frozen=True)
class QualitySection:
    """Retrieval quality on the dev set, overall, per question language and per item type."""

    overall: QualityFigures
    by_language: dict[str, QualityFigures]
    by_type: dict[str, QualityFigures]
    eval_set: str
    note: str


@dataclass(frozen=True)
class RetrievalStages:
    """Median milliseconds of each retrieval stage, timed at its public method in real searches."""

    embed_query: float
    dense_search: float
    bm25_search: float
    whole_search: float
    rest: float
    bm25_lookup: float | None = None
    fetch_chunks: float | None = None


@dataclass(frozen=True)
class RetrievalSection:
    """Warm retrieval latency, ours (subject) against the tutorial's (baseline)."""

    queries: int
    languages: dict[str, int]
    latency: Versus
    stages_ms: RetrievalStages
    note: str
    profile: Profile | None = None


@dataclass(frozen=True)
class AnswerRun:
    """One pass of extractive answers over the questions."""

    latency: Latency
    retrieve_p50: float | None
    refused: int


@dataclass(frozen=True)
class ExtractiveSection:
    """Extractive answers: the first ask of each question, then warm repeats."""

    questions: int
    languages: dict[str, int]
    first_ask: AnswerRun
    warm: LatencySummary
    warm_retrieve_p50: Summary
    runs: tuple[AnswerRun, ...]
    note: str
    profile: Profile | None = None


@dataclass(frozen=True)
class PipelineRun:
    """One pipeline's local-LLM answers in one run (milliseconds; prompt sizes in tokens)."""

    first_token: Latency
    total: Latency
    retrieve: Latency
    prompt_tokens: float | None
    evaluated_tokens: float | None


@dataclass(frozen=True)
class LocalRun:
    """Ours and the tutorial over the same questions in one run."""

    ours: PipelineRun
    tutorial: PipelineRun
    ours_refused: int


@dataclass(frozen=True)
class PipelineSummary:
    """One pipeline's local-LLM figures over the runs."""

    first_token: LatencySummary
    total: LatencySummary
    retrieve: LatencySummary
    prompt_tokens: Summary
    evaluated_tokens: Summary

    @classmethod
    def of(cls, runs: Sequence[PipelineRun]) -> PipelineSummary:
        return cls(
            LatencySummary.of([r.first_token for r in runs]),
            LatencySummary.of([r.total for r in runs]),
            LatencySummary.of([r.retrieve for r in runs]),
            Summary.of([r.prompt_tokens for r in runs], digits=1),
            Summary.of([r.evaluated_tokens for r in runs], digits=1),
        )


@dataclass(frozen=True)
class ModelRates:
    """The local model's own speed on this machine, tokens per second."""

    prompt_tokens: int
    prompt_tokens_per_s: float
    generated_tokens: int
    generation_tokens_per_s: float
    threads: int
    flash_attn: bool


@dataclass(frozen=True)
class LocalSample:
    """One answer of the first run, kept to show what was timed."""

    who: str
    id: str
    question: str
    first_token_ms: float | None
    total_ms: float
    answer: str


@dataclass(frozen=True)
class LocalSection:
    """The local LLM's first token and whole answer, ours beside the tutorial's prompt."""

    questions: int
    languages: dict[str, int]
    load_and_first_pair_s: float
    ours: PipelineSummary
    tutorial: PipelineSummary
    ratio_first_token_p50: Summary
    ratio_total_p50: Summary
    model_rates: ModelRates | None
    runs: tuple[LocalRun, ...]
    samples: tuple[LocalSample, ...]
    settings: dict[str, int]
    note: str
    profile: Profile | None = None


@dataclass(frozen=True)
class ChildFigures:
    """Processes started anew, one per run: time to the answer and to exit, peak RSS."""

    answer_s: Summary
    exit_s: Summary
    peak_rss_mib: Summary
    failures: tuple[str, ...]
    refused: bool | None = None


@dataclass(frozen=True)
class ColdSection:
    """``whitepaper ask`` from process start, per variant; variants not run with the reason."""

    question: str
    modes: dict[str, ChildFigures]
    not_run: dict[str, str]
    note: str


@dataclass(frozen=True)
class UiSection:
    """``whitepaper ui`` from process start to HTTP 200 on its page."""

    ready_s: Summary
    peak_rss_at_ready_mib: Summary
    note: str
    profile: Profile | None = None


@dataclass(frozen=True)
class ServerIngest:
    """Ingest into a Chroma server, over the runs (seconds)."""

    seconds: Summary
    embed_seconds: Summary
    non_embedding_seconds: Summary
    reingest_seconds: Summary


@dataclass(frozen=True)
class ServerSection:
    """A ``chroma run`` server (subject) beside the embedded index (baseline)."""

    startup_s: float
    ingest: ServerIngest
    retrieval: Versus
    extractive_warm: Versus
    cold_extractive: ChildFigures
    server_peak_rss_mib: float | None
    note: str


@dataclass(frozen=True)
class ScalePoint:
    """One corpus size of the scale series (one run)."""

    pages: int
    documents: int
    chunks: int
    generate_pdfs_s: float
    ingest_s: float
    embed_s: float
    per_page_ms: float
    non_embedding_per_page_ms: float
    peak_rss_mib: float | None
    retrieval: Latency
    #: The cost of the pages added since the previous size (None for the first size).
    marginal_per_page_ms: float | None = None
    marginal_non_embedding_per_page_ms: float | None = None


@dataclass(frozen=True)
class ScaleSection:
    """The synthetic corpus series: per-page ingest cost, memory and retrieval as it grows."""

    embedding: str
    points: tuple[ScalePoint, ...]
    per_page_growth: float | None
    non_embedding_per_page_growth: float | None
    rss_growth: float | None
    note: str


SectionResult = (
    IngestSection
    | QualitySection
    | RetrievalSection
    | ExtractiveSection
    | LocalSection
    | ColdSection
    | UiSection
    | ServerSection
    | ScaleSection
)

#: Section name -> its result type, in run order (the names of ``--only``).
SECTION_TYPES: dict[str, type[Any]] = {
    "ingest": IngestSection,
    "quality": QualitySection,
    "retrieval": RetrievalSection,
    "extractive": ExtractiveSection,
    "local": LocalSection,
    "cold": ColdSection,
    "ui": UiSection,
    "server": ServerSection,
    "scale": ScaleSection,
}


# -- runs and the whole document -------------------------------------------------------------


@dataclass(frozen=True)
class SectionMeta:
    """When a section ran (``run``: the ``started`` of its :class:`RunMeta`) and the load."""

    run: str
    at: str
    seconds: float
    load_before: float
    load_after: float


@dataclass(frozen=True)
class SectionRun:
    """One section's outcome: ``ok`` with its result, or ``skipped``/``unavailable``/``error``."""

    name: str
    status: str
    meta: SectionMeta
    result: SectionResult | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.result is not None


@dataclass(frozen=True)
class GitState:
    """The tree the bench ran on: its commit, whether it had changes, and which files."""

    commit: str | None
    dirty: bool | None
    #: ``git status --porcelain`` lines (status and path); None: not recorded (format 1).
    changes: tuple[str, ...] | None = None

    def describe(self) -> str:
        if self.commit is None:
            return "commit unknown (not a git checkout)"
        if self.dirty is None:
            return f"commit `{self.commit}`, tree state not recorded"
        if not self.dirty:
            return f"commit `{self.commit}`, clean tree"
        if self.changes is None:
            return f"commit `{self.commit}` with uncommitted changes (files not recorded)"
        return f"commit `{self.commit}` with uncommitted changes in {len(self.changes)} file(s)"


@dataclass(frozen=True)
class RunMeta:
    """One ``whitepaper bench`` run: when, where, on which tree, with which settings."""

    started: str
    seconds: float
    load_start: float
    load_end: float
    cpus: int | None
    machine: str
    python: str
    packages: dict[str, str | None]
    git: GitState
    peak_rss_of_bench_mib: float | None
    settings: dict[str, Any]
    config: dict[str, Any]
    #: What the tutorial pipeline of this run was (it changed: see ``eval.bench.legacy``).
    tutorial: str = ""


@dataclass(frozen=True)
class TargetCheck:
    """One target checked against the results (``met`` None: not measured)."""

    key: str
    label: str
    limit: str
    value: float | None
    unit: str
    met: bool | None
    margin: str
    slowest_stage: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class BenchResults:
    """The results file: runs (newest first), sections in run order, checked targets."""

    format: int
    runs: tuple[RunMeta, ...]
    sections: tuple[SectionRun, ...]
    targets: tuple[TargetCheck, ...] = ()

    def section(self, name: str) -> SectionRun | None:
        return next((s for s in self.sections if s.name == name), None)

    def get(self, kind: type[T]) -> T | None:
        """The result of type ``kind`` if its section ran and succeeded, else None."""
        for s in self.sections:
            if isinstance(s.result, kind) and s.ok:
                return s.result
        return None

    def run_of(self, section: SectionRun) -> RunMeta | None:
        return next((r for r in self.runs if r.started == section.meta.run), None)

    @property
    def failed(self) -> list[SectionRun]:
        return [s for s in self.sections if s.status == "error"]


# -- JSON ------------------------------------------------------------------------------------


def relative(path: Path | str) -> str:
    """A path inside the project as a project-relative string (results stay portable)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def to_json(value: Any) -> Any:
    """Plain JSON data of a results dataclass (recursively), by field name."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Path):
        return relative(value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def from_json(kind: Any, data: Any) -> Any:
    """The value of type ``kind`` (a results dataclass or a field type) from :func:`to_json`."""
    if data is None or kind is Any:
        return data
    if kind is SectionRun:
        return _section_run(data)
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        return from_json(options[0], data) if len(options) == 1 else data
    if isinstance(kind, type) and is_dataclass(kind):
        hints = get_type_hints(kind)
        return kind(
            **{
                f.name: from_json(hints[f.name], data[f.name])
                for f in fields(kind)
                if f.name in data
            }
        )
    if origin is tuple:
        return tuple(from_json(get_args(kind)[0], v) for v in data)
    if origin is dict:
        return {k: from_json(get_args(kind)[1], v) for k, v in data.items()}
    if kind is float and isinstance(data, int | float):
        return float(data)
    return data


def _section_run(data: Mapping[str, Any]) -> SectionRun:
    kind = SECTION_TYPES.get(data["name"])
    result = from_json(kind, data.get("result")) if kind is not None else None
    meta = from_json(SectionMeta, data["meta"])
    return SectionRun(data["name"], data["status"], meta, result, data.get("reason"))


def load_results(data: Mapping[str, Any]) -> BenchResults:
    """Results from a results file's JSON (format 2, or the older format 1 converted)."""
    if data.get("format") == 1:
        from eval.bench.legacy import from_format_1

        return from_format_1(data)
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"unknown bench results format {data.get('format')!r}")
    results: BenchResults = from_json(BenchResults, data)
    return results
