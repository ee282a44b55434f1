"""Figures of the benchmark: a per-run figure summarised over the runs, latencies of one run,
two paths timed side by side, a profile. The building blocks of ``eval.bench.results``."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def ratio(a: float | None, b: float | None, digits: int = 3) -> float | None:
    """``a / b`` rounded, or None when either is missing or ``b`` is zero."""
    return round(a / b, digits) if a is not None and b else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation), or None for no values."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


@dataclass(frozen=True)
class Summary:
    """A figure measured once per run: the median of the runs, their min and max, how many."""

    median: float | None
    min: float | None
    max: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None], digits: int = 3) -> Summary:
        """The summary of per-run values (None values are dropped)."""
        kept = [float(v) for v in values if v is not None]
        if not kept:
            return cls(None, None, None, 0)
        med = round(float(statistics.median(kept)), digits)
        return cls(med, round(min(kept), digits), round(max(kept), digits), len(kept))


@dataclass(frozen=True)
class Latency:
    """Latencies of one run in milliseconds: p50, p95, mean and the number of samples."""

    p50: float | None
    p95: float | None
    mean: float | None
    count: int

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Latency:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 2)

        mean = sum(samples_ms) / len(samples_ms) if samples_ms else None
        return cls(
            r(percentile(samples_ms, 50)), r(percentile(samples_ms, 95)), r(mean), len(samples_ms)
        )


@dataclass(frozen=True)
class LatencySummary:
    """p50 and p95 over the runs (each a :class:`Summary` of the runs' own p50 and p95)."""

    p50: Summary
    p95: Summary

    @classmethod
    def of(cls, runs: Sequence[Latency]) -> LatencySummary:
        return cls(
            Summary.of([r.p50 for r in runs], digits=2), Summary.of([r.p95 for r in runs], digits=2)
        )


@dataclass(frozen=True)
class RunLatency:
    """One run's latencies, all inputs and per question language."""

    all: Latency
    zh: Latency
    en: Latency


@dataclass(frozen=True)
class LatencyByLanguage:
    """:class:`LatencySummary` over the runs, all inputs and per question language."""

    all: LatencySummary
    zh: LatencySummary
    en: LatencySummary

    @classmethod
    def of(cls, runs: Sequence[RunLatency]) -> LatencyByLanguage:
        return cls(
            LatencySummary.of([r.all for r in runs]),
            LatencySummary.of([r.zh for r in runs]),
            LatencySummary.of([r.en for r in runs]),
        )


@dataclass(frozen=True)
class PairRun:
    """One run of two paths timed alternately on the same inputs."""

    subject: RunLatency
    baseline: RunLatency


@dataclass(frozen=True)
class Versus:
    """Two paths timed alternately input by input: a subject against its baseline.

    The ratios are subject / baseline within each run, summarised over the runs.
    """

    subject: LatencyByLanguage
    baseline: LatencyByLanguage
    ratio_p50: Summary
    ratio_p95: Summary
    runs: tuple[PairRun, ...]

    @classmethod
    def of(cls, runs: Sequence[PairRun]) -> Versus:
        return cls(
            LatencyByLanguage.of([r.subject for r in runs]),
            LatencyByLanguage.of([r.baseline for r in runs]),
            Summary.of([ratio(r.subject.all.p50, r.baseline.all.p50) for r in runs]),
            Summary.of([ratio(r.subject.all.p95, r.baseline.all.p95) for r in runs]),
            tuple(runs),
        )


@dataclass(frozen=True)
class Profile:
    """A pyinstrument profile of one path: its text report, seconds per stage, the slowest."""

    path: str
    seconds: float
    stages_s: dict[str, float]
    slowest_stage: str | None

    @classmethod
    def of(cls, path: str, seconds: float, stages: Mapping[str, float]) -> Profile:
        slowest = max(stages, key=lambda k: stages[k]) if stages else None
        return cls(path, round(seconds, 3), {k: round(v, 3) for k, v in stages.items()}, slowest)
