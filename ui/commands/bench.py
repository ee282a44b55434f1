"""The bench command: timings of ingest, retrieval, answers, cold start and memory."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ui.commands.common import emit, user_errors
from ui.settings import Settings


@click.command()
@click.option(
    "--runs",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="Repeats of every timed figure (median, min and max are reported).",
)
@click.option(
    "--queries",
    type=click.IntRange(1),
    default=200,
    show_default=True,
    help="Warm retrieval queries per run (Chinese and English).",
)
@click.option(
    "--answers",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="Questions of the extractive answer timings.",
)
@click.option(
    "--llm-questions",
    type=click.IntRange(0),
    default=10,
    show_default=True,
    help="Questions of the local LLM timings (0 skips the local LLM everywhere).",
)
@click.option(
    "--llm-runs",
    type=click.IntRange(1),
    default=None,
    help="Repeats of the local LLM timings (default: --runs).",
)
@click.option(
    "--only",
    default=None,
    help="Comma-separated sections: ingest, quality, retrieval, extractive, local, "
    "cold, ui, server, scale (default: all but scale).",
)
@click.option(
    "--scale",
    is_flag=True,
    help="Add the 55/500/2,000-page synthetic series (about an hour with e5).",
)
@click.option(
    "--scale-pages",
    default="55,500,2000",
    show_default=True,
    help="Corpus sizes of the scale series, in pages.",
)
@click.option(
    "--scale-embedding",
    default=None,
    help="Embedding of the scale series (default: WHITEPAPER_EMBEDDING); "
    "hash:384 times the pipeline without the model.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("bench"),
    show_default=True,
    help="Folder of results.json, results.md and profiles/.",
)
@click.option(
    "--profile/--no-profile",
    "profile_all",
    default=True,
    show_default=True,
    help="Profile every path (pyinstrument); --no-profile: only paths that miss a target.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_obj
def bench(
    settings: Settings,
    runs: int,
    queries: int,
    answers: int,
    llm_questions: int,
    llm_runs: int | None,
    only: str | None,
    scale: bool,
    scale_pages: str,
    scale_embedding: str | None,
    out_dir: Path,
    profile_all: bool,
    as_json: bool,
) -> None:
    """Measure ingest, retrieval, answers, cold start and memory beside the tutorial pipeline.

    Writes OUT/results.json and OUT/results.md, and a profile of each path into OUT/profiles/
    (with --no-profile only of paths that miss a target). A run of some sections (--only)
    replaces just those in results.json.

    \b
    Examples:
      whitepaper bench                          # everything but scale (make bench)
      whitepaper bench --only quality,retrieval --runs 5
      whitepaper bench --only scale --scale     # the synthetic 55/500/2,000-page series
    """
    from eval.bench.results import to_json
    from eval.bench.run import (
        BenchConfig,
        console_lines,
        parse_pages,
        parse_sections,
        run_bench,
        write_results,
    )

    with user_errors():
        config = BenchConfig(
            runs=runs,
            queries=queries,
            answers=answers,
            llm_questions=llm_questions,
            llm_runs=llm_runs,
            sections=parse_sections(only, scale),
            scale_pages=parse_pages(scale_pages),
            scale_embedding=scale_embedding,
            profiles_dir=out_dir / "profiles",
            profile_all=profile_all,
        )
        results = run_bench(settings, config)
        merged, json_path, md_path = write_results(results, out_dir)
    lines = [*console_lines(merged), f"wrote {json_path} and {md_path}"]
    emit(as_json, to_json(merged), "\n".join(lines))
    if results.failed:
        sys.exit(1)
