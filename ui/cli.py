"""The ``whitepaper`` console script: one command per user task, ``--json`` for scripts.

It is an edge: it builds the settings, calls the library, and turns the library's domain
errors into one-line messages with a non-zero exit.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from ingest.errors import WhitepaperError
from ingest.settings import BUNDLED_PDF, Settings

F = TypeVar("F", bound=Callable[..., Any])


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="whitepaper: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "chromadb", "urllib3", "jieba", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn domain errors into one line and exit 1 (click prints 'Error: ...')."""
    try:
        yield
    except WhitepaperError as exc:
        raise click.ClickException(str(exc)) from exc


def _emit(as_json: bool, payload: Any, text: str) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2) if as_json else text)


class _Bars:
    """tqdm progress bars on stderr, one per stage of the file being ingested."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None or bar.total != total or done < bar.n:
            if bar is not None:
                bar.close()
            unit = "page" if stage == "pages" else "chunk"
            bar = tqdm(total=total, desc=f"{stage:>9}", unit=unit, file=sys.stderr, leave=False)
            self._bars[stage] = bar
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


def _index(settings: Settings) -> Any:
    from ingest.embeddings import embeddings_from
    from ingest.index import Index

    return Index(settings, embeddings_from(settings))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Ask the AIGC white paper (or your own documents) and check every cited passage.

    \b
    Examples:
      whitepaper ingest                      # index the bundled white paper
      whitepaper ask "AIGC 的发展分为哪几个阶段？"
      whitepaper stats --json
    """
    _setup_logging(verbose)
    ctx.obj = Settings()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Delete the index first and ingest from scratch.")
@click.option("--keep-headers", is_flag=True, help="Do not strip running headers/page numbers.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
@click.pass_obj
def ingest(
    settings: Settings,
    paths: tuple[Path, ...],
    rebuild: bool,
    keep_headers: bool,
    as_json: bool,
    no_progress: bool,
) -> None:
    """Index PDFs, .txt or .md files (default: the bundled white paper).

    \b
    Examples:
      whitepaper ingest
      whitepaper ingest report.pdf notes/ --json
      whitepaper ingest --rebuild          # after changing WHITEPAPER_EMBEDDING
    """
    from ingest.embeddings import embeddings_from
    from ingest.index import Index
    from ingest.pipeline import Ingestor

    if keep_headers:
        settings = settings.model_copy(update={"strip_headers": False})
    targets = list(paths) or [BUNDLED_PDF]
    bars = _Bars(enabled=not no_progress)
    with _user_errors():
        embeddings = embeddings_from(settings)
        if rebuild:
            _wipe(settings)
        index = Index(settings, embeddings, create=True)
        try:
            report = Ingestor(settings, embeddings, index, progress=bars).ingest(targets)
        finally:
            bars.close()
            index.close()
    summary = report.to_json()
    lines = [
        f"{summary['documents']} document(s), {summary['pages']} pages, {summary['chunks']} chunks "
        f"({summary['new']} new, {summary['replaced']} replaced, {summary['unchanged']} unchanged; "
        f"{summary['embedded']} chunks embedded) in {summary['seconds']:.1f} s"
    ]
    lines += [f"failed: {o.error}" for o in report.failed]
    _emit(as_json, summary, "\n".join(lines))
    if report.failed:
        for outcome in report.failed if as_json else []:
            click.echo(f"Error: {outcome.error}", err=True)
        sys.exit(1)


def _wipe(settings: Settings) -> None:
    """Delete the catalog, the BM25 file and the Chroma collection of this home."""
    import shutil

    from ingest.index import open_chroma_client

    if settings.chroma_url:
        client = open_chroma_client(settings)
        try:
            client.delete_collection(settings.collection)
        except Exception:
            logging.getLogger(__name__).debug("no collection to delete")
    names = ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "bm25.npz", "bm25.json")
    for name in names:  # bm25.json: the BM25 file of homes built before bm25.npz
        (settings.home / name).unlink(missing_ok=True)
    if settings.chroma_dir.exists():
        shutil.rmtree(settings.chroma_dir)


@main.command()
@click.argument("doc")
@click.option("--json", "as_json", is_flag=True, help="Print the removed document as JSON.")
@click.pass_obj
def remove(settings: Settings, doc: str, as_json: bool) -> None:
    """Remove a document (by its id, the file name) from the index.

    \b
    Example:
      whitepaper remove report.pdf
    """
    with _user_errors():
        index = _index(settings)
        record = index.remove(doc)
    _emit(as_json, record.to_json(), f"removed {record.doc_id} ({record.n_chunks} chunks)")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def stats(settings: Settings, as_json: bool) -> None:
    """List indexed documents with their page labels and chunk counts.

    \b
    Example:
      whitepaper stats --json
    """
    with _user_errors():
        index = _index(settings)
        docs = index.documents()
    payload = {
        "home": str(settings.home),
        "embedding": index.embedding,
        "chroma": settings.chroma_url or str(settings.chroma_dir),
        "documents": [d.to_json() for d in docs],
    }
    text = (
        "\n".join(
            f"{d.doc_id}: {d.title} — {d.n_pages} pages ({d.page_labels[0]}–{d.page_labels[-1]}), "
            f"{d.n_chunks} chunks"
            for d in docs
        )
        or "the index is empty"
    )
    _emit(as_json, payload, text)


@main.command()
@click.option("--doc", default=None, help="Only this document's chunks.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def chunks(settings: Settings, doc: str | None, as_json: bool) -> None:
    """Show every stored chunk: id, pages, section path and text.

    \b
    Example:
      whitepaper chunks --doc aigc-whitepaper-2022.pdf --json
    """
    with _user_errors():
        index = _index(settings)
        if doc is not None and index.document(doc) is None:
            from ingest.errors import DocumentNotFound

            raise click.ClickException(str(DocumentNotFound(f"no document {doc!r} in the index")))
        found = index.chunks(doc)
    if as_json:
        _emit(True, [c.to_json() for c in found], "")
        return
    for c in found:
        click.echo(f"── {c.id}  p.{c.pages_display}  {c.section}")
        click.echo(c.text)
        for note in c.footnotes:
            click.echo(f"   {note}")


def _load_history(path: Path | None) -> list[Any]:
    from assistant.types import Turn

    if path is None:
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(
            f"cannot read the history file {path}: {exc}: give a JSON list of "
            '{"role": "user"|"assistant", "content": "..."} objects'
        ) from exc
    if not isinstance(raw, list) or not all(
        isinstance(t, dict)
        and t.get("role") in ("user", "assistant")
        and isinstance(t.get("content"), str)
        for t in raw
    ):
        raise click.ClickException(
            f"{path}: the history must be a JSON list of "
            '{"role": "user"|"assistant", "content": "..."} objects'
        )
    return [Turn(t["role"], t["content"]) for t in raw]


def _print_answer(answer: Any) -> None:
    """The checked answer, what was searched, flags, citations, timings."""
    click.echo(answer.text)
    if answer.standalone_question != answer.question:
        click.echo(click.style(f"(searched as: {answer.standalone_question})", dim=True))
    for s in answer.sentences:
        if not s.supported:
            click.echo(click.style(f"⚠ unsupported: {s.text}", fg="yellow"))
    for c in answer.citations:
        click.echo(f"【{c.marker}】 {c.title} p.{'/'.join(c.page_labels)} · {c.section}")
        click.echo(click.style(f"     “{c.quote}”", dim=True))
    t = answer.timings
    first = f"{t.first_token_ms:.0f} ms" if t.first_token_ms is not None else "-"
    click.echo(
        click.style(
            f"[{answer.mode}] retrieve {t.retrieve_ms:.0f} ms · first token {first} · total "
            f"{t.total_ms:.0f} ms",
            dim=True,
        )
    )


_MODE = click.Choice(["extractive", "local", "openai"])


@main.command()
@click.argument("question")
@click.option("--mode", type=_MODE, default=None, help="Generator (default: local if installed).")
@click.option(
    "--history",
    "history_file",
    type=click.Path(path_type=Path),
    default=None,
    help='JSON list of {"role", "content"} turns before this question.',
)
@click.option("--strict", is_flag=True, help="Remove sentences no passage supports.")
@click.option(
    "--verify",
    type=click.Choice(["lexical", "model"]),
    default="lexical",
    help="Citation check: lexical (default) or the local model as judge.",
)
@click.option("--doc", default=None, help="Only search this document.")
@click.option("--top-k", type=int, default=None, help="Passages to retrieve.")
@click.option("--json", "as_json", is_flag=True, help="Print the structured result as JSON.")
@click.pass_obj
def ask(
    settings: Settings,
    question: str,
    mode: str | None,
    history_file: Path | None,
    strict: bool,
    verify: str,
    doc: str | None,
    top_k: int | None,
    as_json: bool,
) -> None:
    """Answer one question with checked citations.

    \b
    Examples:
      whitepaper ask "AIGC 的发展分为哪几个阶段？"
      whitepaper ask "What about its cost?" --history turns.json --json
      whitepaper ask "AIGC 面临哪些问题？" --mode extractive --strict
    """
    from assistant.factory import build_assistant

    history = _load_history(history_file)
    with _user_errors():
        assistant = build_assistant(settings)
        if assistant.notice and not as_json:
            click.echo(click.style(f"note: {assistant.notice}", dim=True), err=True)
        streamed = False
        answer = None
        for event in assistant.stream(
            question, history, mode=mode, strict=strict, doc_id=doc, top_k=top_k, verify=verify
        ):
            if (
                event.kind == "token"
                and not as_json
                and (mode or assistant.default_mode) != "extractive"
            ):
                click.echo(event.data, nl=False)
                streamed = True
            elif event.kind == "answer":
                answer = event.data
    assert answer is not None
    if as_json:
        _emit(True, answer.to_json(), "")
        return
    if streamed:
        click.echo("\n" + click.style("── checked ──", dim=True))
    _print_answer(answer)


@main.command()
@click.option("--mode", type=_MODE, default=None, help="Generator (default: local if installed).")
@click.option("--strict", is_flag=True, help="Remove sentences no passage supports.")
@click.pass_obj
def chat(settings: Settings, mode: str | None, strict: bool) -> None:
    """A terminal conversation with history and streamed answers (Ctrl-D to quit).

    \b
    Example:
      whitepaper chat --mode extractive
    """
    from assistant.factory import build_assistant
    from assistant.types import Turn

    with _user_errors():
        assistant = build_assistant(settings)
    if assistant.notice:
        click.echo(click.style(f"note: {assistant.notice}", dim=True))
    click.echo("Ask about the white paper (Ctrl-D to quit, /new for a new conversation).")
    history: list[Turn] = []
    while True:
        try:
            question = click.prompt("你", prompt_suffix="> ")
        except (EOFError, click.Abort):
            click.echo()
            return
        if question.strip() == "/new":
            history = []
            continue
        try:
            answer = None
            for event in assistant.stream(question, history, mode=mode, strict=strict):
                if event.kind == "token":
                    click.echo(event.data, nl=False)
                elif event.kind == "answer":
                    answer = event.data
            click.echo()
        except WhitepaperError as exc:
            click.echo(click.style(f"Error: {exc}", fg="red"))
            continue
        assert answer is not None
        click.echo(click.style("── checked ──", dim=True))
        _print_answer(answer)
        history += [Turn("user", question), Turn("assistant", answer.text)]


DEFAULT_SET = Path(__file__).resolve().parent.parent / "eval" / "sets" / "aigc-dev-v1.jsonl"


@main.command("eval")
@click.option(
    "--set",
    "set_path",
    type=click.Path(path_type=Path),
    default=DEFAULT_SET,
    show_default=True,
    help="Eval set (JSONL in the eval schema).",
)
@click.option("--mode", type=_MODE, default="extractive", show_default=True)
@click.option(
    "--name",
    default=None,
    help="Run name in the baseline (default: extractive-dev, local-subset20, openai-dev).",
)
@click.option("--limit", type=int, default=None, help="Only the first N items.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Run folder (default: eval/runs/NAME).",
)
@click.option(
    "--judge",
    type=click.Choice(["lexical", "model", "both"]),
    default=None,
    help="Faithfulness judge(s) (default: both in local mode, else lexical).",
)
@click.option("--gate", is_flag=True, help="Fail when the run falls below the baseline.")
@click.option("--update-baseline", is_flag=True, help="Store this run as the new baseline.")
@click.option("--fresh", is_flag=True, help="Discard earlier results in the run folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.pass_obj
def eval_command(
    settings: Settings,
    set_path: Path,
    mode: str,
    name: str | None,
    limit: int | None,
    out_dir: Path | None,
    judge: str | None,
    gate: bool,
    update_baseline: bool,
    fresh: bool,
    as_json: bool,
) -> None:
    """Run the eval set through the assistant; write results, metrics and a report.

    \b
    Examples:
      whitepaper eval                                   # extractive, whole dev set
      whitepaper eval --mode local --gate               # the fixed 20-item local subset
      whitepaper eval --limit 10 --out /tmp/run --json
      whitepaper eval --update-baseline                 # the only way to move the baseline
    """
    from assistant.factory import build_assistant
    from eval import gate as gates
    from eval.dataset import load_eval_set
    from eval.report import write_report
    from eval.runner import filter_items, run_eval, select_subset

    name = name or {"local": "local-subset20"}.get(mode, f"{mode}-dev")
    out_dir = out_dir or Path("eval") / "runs" / name
    with _user_errors():
        try:
            items = load_eval_set(set_path)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"cannot load the eval set: {exc}") from exc
        baseline = gates.load_baseline()
        ids = gates.subset_ids(baseline, name)
        if ids is None and name == "local-subset20":
            ids = [item.id for item in select_subset(items, 20)]
        if ids:
            items = filter_items(items, ids)
        assistant = build_assistant(settings.model_copy(update={"mode": mode}))
        judges = [assistant.judge]
        judge = judge or ("both" if mode == "local" else "lexical")
        if judge in ("model", "both"):
            judges = ([assistant.judge] if judge == "both" else []) + [assistant.model_judge()]
        result = run_eval(
            assistant,
            items,
            out_dir,
            mode=mode,
            judges=judges,
            limit=limit,
            resume=not fresh,
            progress=True,
            set_path=set_path,
            name=name,
        )
        report = write_report(result.out_dir, baseline.get(name))
        verdict = None
        if gate:
            verdict = gates.check_gate(
                result.metrics, result.scores, gates.require_entry(baseline, name)
            )
        if update_baseline:
            gates.update_baseline(name, result.metrics, result.scores, subset=ids)
    overall = result.metrics.get("overall", {})
    headline = {k: overall[k]["value"] for k in result.metrics.get("headline", []) if k in overall}
    if as_json:
        _emit(
            True,
            {
                "name": name,
                "out": str(result.out_dir),
                "report": str(report),
                "headline": headline,
                "gate": None if verdict is None else verdict.passed,
            },
            "",
        )
    else:
        for key, value in headline.items():
            entry = overall[key]
            shown = "—" if value is None else f"{value:.3f}"
            click.echo(f"{key:>28}: {shown}  [{entry.get('low')}, {entry.get('high')}]")
        click.echo(f"report: {report}")
        if update_baseline:
            click.echo(f"baseline {name!r} updated in eval/baseline.json")
    if verdict is not None:
        click.echo(verdict.summary(), err=as_json)
        if not verdict.passed:
            sys.exit(1)


@main.command("validate-set")
@click.argument("path", type=click.Path(path_type=Path), default=DEFAULT_SET)
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def validate_set(path: Path, as_json: bool) -> None:
    """Check an eval set: schema, mix, and every evidence string verbatim in the source.

    \b
    Example:
      whitepaper validate-set eval/sets/aigc-dev-v1.jsonl
    """
    from eval.dataset import load_eval_set, type_mix, validate_eval_set

    source = BUNDLED_PDF.parent / "source.txt"
    try:
        items = load_eval_set(path)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    problems = validate_eval_set(items, source.read_text(encoding="utf-8"))
    mix = {k: round(v, 3) for k, v in type_mix(items).items()}
    text = "\n".join(
        [f"{len(items)} items; mix: {mix}"] + problems + (["no problems"] if not problems else [])
    )
    _emit(as_json, {"items": len(items), "mix": mix, "problems": problems}, text)
    if problems:
        sys.exit(1)


@main.command("ui")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind; 0.0.0.0 exposes the UI to your network.",
)
@click.option("--port", type=int, default=7860, show_default=True, help="Port to listen on.")
@click.pass_obj
def ui_command(settings: Settings, host: str, port: int) -> None:
    """Start the web UI: chat with checked citations, the library, feedback.

    Binds to 127.0.0.1 unless --host says otherwise; never creates a share link. Set
    WHITEPAPER_UI_USER and WHITEPAPER_UI_PASSWORD to require a login.

    \b
    Examples:
      whitepaper ui
      whitepaper ui --port 8080
      WHITEPAPER_UI_USER=me WHITEPAPER_UI_PASSWORD=... whitepaper ui --host 0.0.0.0
    """
    from ui.app import serve

    with _user_errors():
        serve(settings, host=host, port=port)


@main.group("feedback")
def feedback_group() -> None:
    """Reader feedback from the web UI (👍/👎 lines in WHITEPAPER_HOME/feedback.jsonl)."""


@feedback_group.command("export")
@click.option(
    "--to-eval",
    "to_eval",
    type=click.Path(path_type=Path),
    required=True,
    help="JSONL file to write the eval-set candidates to.",
)
@click.option("--append", is_flag=True, help="Add to an existing file (skipping ids in it).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def feedback_export(settings: Settings, to_eval: Path, append: bool, as_json: bool) -> None:
    """Turn the 👎 answers into eval-set candidates (evidence left for a person to fill in).

    \b
    Example:
      whitepaper feedback export --to-eval eval/sets/candidates.jsonl
    """
    from ui.feedback import FeedbackStore, export_eval_candidates, feedback_path

    with _user_errors():
        result = export_eval_candidates(
            FeedbackStore(feedback_path(settings.home)), to_eval, append=append
        )
    payload = {"written": result.written, "skipped": result.skipped, "path": str(result.path)}
    text = f"wrote {result.written} candidate(s) to {result.path}" + (
        f" ({result.skipped} already there)" if result.skipped else ""
    )
    _emit(as_json, payload, text + "; fill in reference_answer, evidence and key_facts")


@main.command()
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

    with _user_errors():
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
    _emit(as_json, to_json(merged), "\n".join(lines))
    if results.failed:
        sys.exit(1)
