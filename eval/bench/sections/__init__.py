"""The sections of ``whitepaper bench``, one module each, in run order.

Each module has ``run(ctx) -> <its result dataclass>`` (or raises
:class:`eval.bench.context.NotRun`) and ``PROFILES``, the profiles it may write.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from eval.bench.context import BenchContext
from eval.bench.sections import (
    cold,
    extractive,
    ingest,
    local,
    quality,
    retrieval,
    scale,
    server,
    ui,
)

MODULES: dict[str, ModuleType] = {
    "ingest": ingest,
    "quality": quality,
    "retrieval": retrieval,
    "extractive": extractive,
    "local": local,
    "cold": cold,
    "ui": ui,
    "server": server,
    "scale": scale,
}


def runner(name: str) -> Callable[[BenchContext], Any]:
    """The ``run`` function of section ``name``."""
    run: Callable[[BenchContext], Any] = MODULES[name].run
    return run


def profiles(name: str) -> tuple[str, ...]:
    """The profiles section ``name`` may write (an earlier run's are removed first)."""
    names: tuple[str, ...] = MODULES[name].PROFILES
    return names
