"""Section ``cold``: ``whitepaper ask`` in a new process, to the answer, and its peak memory."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from eval.bench import measure
from eval.bench.context import BenchContext, child_env, console_script, copy_home, llm_items
from eval.bench.measure import ChildRun, mib
from eval.bench.results import ChildFigures, ColdSection, Summary

log = logging.getLogger(__name__)

PROFILES: tuple[str, ...] = ()

NOTE = (
    "`whitepaper ask --json` in a new process, from spawn to the answer on stdout; peak RSS from "
    "wait4. First ask: no sentence-vector cache (deleted before each run); repeat ask: the cache "
    "the previous run left. Disk cache warm in both."
)


def run(ctx: BenchContext) -> ColdSection:
    from assistant.llm.model_file import local_model_available

    cfg = ctx.config
    home = copy_home(ctx.our_home(), ctx.work / "cold-home")
    exe = console_script("whitepaper")
    question = llm_items(ctx.items, 1)[0].question
    env = child_env(ctx.settings, home)
    cache = home / "sentence_vectors.sqlite"
    variants: dict[str, list[str]] = {
        "extractive, first ask": ["--mode", "extractive"],
        "extractive, repeat ask": ["--mode", "extractive"],
    }
    not_run: dict[str, str] = {}
    if cfg.llm_questions < 1:
        not_run["local"] = "skipped (--llm-questions 0)"
    elif not local_model_available():
        not_run["local"] = "unavailable"
    else:
        variants["local"] = ["--mode", "local"]
    got: dict[str, list[ChildRun]] = {k: [] for k in variants}
    for r in range(cfg.runs):
        for name, args in variants.items():
            if name.endswith("first ask"):
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{cache}{suffix}").unlink(missing_ok=True)
            log.info("bench: cold start %s, run %d/%d", name, r + 1, cfg.runs)
            got[name].append(
                measure.run_child([exe, "ask", *args, "--json", question], env, timeout=900)
            )
    return ColdSection(
        question=question,
        modes={name: child_figures(children) for name, children in got.items()},
        not_run=not_run,
        note=NOTE,
    )


def child_figures(children: Sequence[ChildRun], answers: bool = True) -> ChildFigures:
    """Summaries of the successful runs; the last stderr line of each failed one."""
    ok = [c for c in children if c.returncode == 0]
    refused = None
    if answers and ok:
        try:
            refused = bool(json.loads(ok[0].stdout).get("refused"))
        except ValueError:
            refused = None
    return ChildFigures(
        answer_s=Summary.of([c.first_output_s for c in ok]),
        exit_s=Summary.of([c.exit_s for c in ok]),
        peak_rss_mib=Summary.of([mib(c.peak_rss_bytes) for c in ok], digits=1),
        failures=tuple(
            (c.stderr.strip().splitlines() or [f"exit {c.returncode}"])[-1]
            for c in children
            if c.returncode
        ),
        refused=refused,
    )
