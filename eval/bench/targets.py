"""The targets of the benchmark: one row each in :data:`TARGETS`, checked by :func:`check`.

A row names the target, its limit (``value <= limit``; None: the value must beat the
tutorial's), its unit, and how to read the measured value from the results. A target whose
section did not run is "not measured". GB are read as GiB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from eval.bench.results import (
    BenchResults,
    ColdSection,
    ExtractiveSection,
    IngestSection,
    LocalSection,
    Profile,
    QualitySection,
    RetrievalScores,
    RetrievalSection,
    ScaleSection,
    TargetCheck,
    UiSection,
)

S = TypeVar("S")


@dataclass(frozen=True)
class Reading:
    """A measured value as a target reads it from the results."""

    value: float | None
    #: What exactly was measured, shown after the label ("200 queries, zh+en").
    context: str = ""
    #: For a target without a fixed limit: the tutorial's figure the value must beat.
    baseline: float | None = None
    #: A reason the target is missed whatever the value (e.g. a re-ingest that embedded).
    veto: str | None = None
    #: The profile of the measured path, which names its slowest stage.
    profile: Profile | None = None


NOT_MEASURED = Reading(None)


@dataclass(frozen=True)
class Target:
    """One target: ``read(results)`` must be at most ``limit`` (None: beat the baseline)."""

    key: str
    label: str
    limit: float | None
    unit: str
    read: Callable[[BenchResults], Reading]


def _from(
    kind: type[S],
    value: Callable[[S], float | None],
    context: Callable[[S], str] | None = None,
    *,
    profiled: bool = True,
    veto: Callable[[S], str | None] | None = None,
) -> Callable[[BenchResults], Reading]:
    """A reader of one figure of the section result of type ``kind``."""

    def read(results: BenchResults) -> Reading:
        section = results.get(kind)
        if section is None:
            return NOT_MEASURED
        profile = getattr(section, "profile", None) if profiled else None
        return Reading(
            value(section),
            context(section) if context else "",
            veto=veto(section) if veto else None,
            profile=profile,
        )

    return read


def _ahead_of_tutorial(metric: Callable[[RetrievalScores], float | None]) -> Any:
    """A reader of a quality figure, ours against the tutorial's as the baseline."""

    def read(results: BenchResults) -> Reading:
        quality = results.get(QualitySection)
        if quality is None:
            return NOT_MEASURED
        figures = quality.overall
        return Reading(
            metric(figures.ours),
            f"dev set, {figures.items} answerable",
            baseline=metric(figures.tutorial),
        )

    return read


def _cold_rss(mode: str) -> Callable[[ColdSection], float | None]:
    def value(cold: ColdSection) -> float | None:
        figures = cold.modes.get(mode)
        return figures.peak_rss_mib.median if figures else None

    return value


def _reingest_veto(ingest: IngestSection) -> str | None:
    n = ingest.reingest_embedded
    return f"re-embedded {n} chunks" if n else None


def _scale_context(scale: ScaleSection) -> str:
    points = scale.points
    # With three sizes or more, growth is the last slope against the first (see the section).
    start = points[1] if len(points) > 2 else points[0]
    return f"up to {points[-1].pages} vs up to {start.pages} pages"


TARGETS: tuple[Target, ...] = (
    Target(
        "ingest_ratio",
        "ingest time / embedding time",
        1.1,
        "×",
        _from(
            IngestSection, lambda s: s.ratio_to_embedding.median, lambda s: f"{s.pages}-page PDF"
        ),
    ),
    Target(
        "reingest",
        "unchanged re-ingest",
        0.5,
        "s",
        _from(
            IngestSection, lambda s: s.reingest_seconds.median, profiled=False, veto=_reingest_veto
        ),
    ),
    Target(
        "retrieval_p50",
        "retrieval p50, warm",
        25.0,
        "ms",
        _from(
            RetrievalSection,
            lambda s: s.latency.subject.all.p50.median,
            lambda s: f"{s.queries} queries, zh+en",
        ),
    ),
    Target(
        "extractive_p50",
        "extractive answer p50, warm",
        60.0,
        "ms",
        _from(ExtractiveSection, lambda s: s.warm.p50.median),
    ),
    Target(
        "local_first_token_p50",
        "local LLM first token p50 (top-5)",
        4000.0,
        "ms",
        _from(LocalSection, lambda s: s.ours.first_token.p50.median),
    ),
    Target(
        "local_total_p50",
        "local LLM total p50 (top-5)",
        12000.0,
        "ms",
        _from(LocalSection, lambda s: s.ours.total.p50.median),
    ),
    Target(
        "ui_cold_start",
        "cold start to a usable UI (HTTP 200)",
        8.0,
        "s",
        _from(UiSection, lambda s: s.ready_s.median),
    ),
    Target(
        "rss_extractive",
        "peak RSS, extractive (`whitepaper ask`)",
        1024.0,
        "MiB",
        _from(ColdSection, _cold_rss("extractive, first ask")),
    ),
    Target(
        "rss_local",
        "peak RSS, local (`whitepaper ask`)",
        3 * 1024.0,
        "MiB",
        _from(ColdSection, _cold_rss("local")),
    ),
    Target(
        "quality_hit@5",
        "hit@5 ahead of the tutorial",
        None,
        "",
        _ahead_of_tutorial(lambda f: f.hit_at_5),
    ),
    Target(
        "quality_mrr", "MRR ahead of the tutorial", None, "", _ahead_of_tutorial(lambda f: f.mrr)
    ),
    Target(
        "scale_retrieval_p50",
        "retrieval p50 of the largest synthetic corpus",
        50.0,
        "ms",
        _from(
            ScaleSection,
            lambda s: s.points[-1].retrieval.p50,
            lambda s: f"{s.points[-1].pages} pages",
        ),
    ),
    Target(
        # "Constant per-page cost": the largest corpus may cost at most this much more per page.
        "scale_per_page",
        "ingest cost per further page",
        1.25,
        "×",
        _from(ScaleSection, lambda s: s.per_page_growth, _scale_context),
    ),
    Target(
        # "Bounded memory": peak RSS of the largest ingest against the smallest.
        "scale_memory",
        "peak ingest RSS, largest vs smallest corpus",
        1.5,
        "×",
        _from(
            ScaleSection,
            lambda s: s.rss_growth,
            lambda s: f"{s.points[-1].pages} vs {s.points[0].pages} pages",
        ),
    ),
)

_BY_KEY = {t.key: t for t in TARGETS}


def limit(key: str) -> float:
    """The fixed limit of target ``key`` (what a section compares with to decide on a profile)."""
    value = _BY_KEY[key].limit
    if value is None:
        raise KeyError(f"target {key!r} has no fixed limit")
    return value


def check(target: Target, results: BenchResults) -> TargetCheck:
    """Read the target's value from the results and say whether, and by how much, it is met."""
    got = target.read(results)
    label = f"{target.label} ({got.context})" if got.context else target.label
    stage = got.profile.slowest_stage if got.profile else None
    path = got.profile.path if got.profile else None
    value, unit = got.value, target.unit
    if target.limit is None:
        limit_text = "> tutorial" if got.baseline is None else f"> {got.baseline:.3f} (tutorial)"
        if value is None or got.baseline is None:
            return TargetCheck(target.key, label, limit_text, None, unit, None, "not measured")
        base = got.baseline
        margin = f"{value - base:+.3f} ({value / base - 1:+.0%})" if base else f"{value:+.3f}"
        return TargetCheck(target.key, label, limit_text, value, unit, value > base, margin)
    limit_text = f"≤ {target.limit:g} {unit}"
    if value is None:
        return TargetCheck(target.key, label, limit_text, None, unit, None, "not measured")
    met = value <= target.limit and got.veto is None
    share = abs(target.limit - value) / target.limit if target.limit else 0.0
    if got.veto is not None:
        margin = got.veto
    elif met:
        margin = f"met, {share:.0%} under"
    else:
        margin = f"missed by {value - target.limit:.3g} {unit} (+{share:.0%})"
    return TargetCheck(
        target.key, label, limit_text, round(value, 3), unit, met, margin, stage, path
    )


def check_all(results: BenchResults) -> tuple[TargetCheck, ...]:
    """Every target of :data:`TARGETS` against the results, in table order."""
    return tuple(check(t, results) for t in TARGETS)
