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
@click.option(
    "--rebuild",
    is_flag=True,
    help="Re-ingest every document into a new index beside the live one, then switch to it.",
)
@click.option("--keep-headers", is_flag=True, help="Do not strip running headers/page numbers.")
@click.option("--no-wait", is_flag=True, help="Fail at once if another ingest is writing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
@click.pass_obj
def ingest(
    settings: Settings,
    paths: tuple[Path, ...],
    rebuild: bool,
    keep_headers: bool,
    no_wait: bool,
    as_json: bool,
    no_progress: bool,
) -> None:
    """Index PDFs, .txt or .md files (default: the bundled white paper).

    One writer at a time: a second ingest waits for the first (with --no-wait it fails).
    --rebuild re-ingests every catalogued document (from its file, or from the page text the
    catalog keeps when the file is gone) into a new index, and switches to it when done.

    \b
    Examples:
      whitepaper ingest
      whitepaper ingest report.pdf notes/ --json
      whitepaper ingest --rebuild          # after changing WHITEPAPER_EMBEDDING
    """
    from ingest.embeddings import embeddings_from
    from ingest.home import index_exists
    from ingest.index import Index
    from ingest.pipeline import Ingestor
    from ingest.rebuild import needs_rebuild
    from ingest.rebuild import rebuild as rebuild_index

    if keep_headers:
        settings = settings.model_copy(update={"strip_headers": False})
    bars = _Bars(enabled=not no_progress)
    with _user_errors():
        embeddings = embeddings_from(settings)
        reason = None if rebuild else needs_rebuild(settings, embeddings)
        if reason:
            logging.getLogger(__name__).warning("%s: rebuilding every document", reason)
        try:
            if rebuild or reason:
                fresh = not paths and not index_exists(settings.home)
                result = rebuild_index(
                    settings,
                    embeddings,
                    [BUNDLED_PDF] if fresh else list(paths),
                    wait=not no_wait,
                    progress=bars,
                )
                failed, summary = result.failed, result.to_json()
            else:
                index = Index(settings, embeddings, create=True)
                try:
                    ingestor = Ingestor(settings, embeddings, index, bars, wait=not no_wait)
                    report = ingestor.ingest(list(paths) or [BUNDLED_PDF])
                finally:
                    index.close()
                failed, summary = report.failed, report.to_json()
        finally:
            bars.close()
    _emit(
        as_json, summary, "\n".join(_ingest_lines(summary) + [f"failed: {o.error}" for o in failed])
    )
    if failed:
        for outcome in failed if as_json else []:
            click.echo(f"Error: {outcome.error}", err=True)
        sys.exit(1)


def _ingest_lines(summary: dict[str, Any]) -> list[str]:
    """The summary of an ingest or a rebuild, as the lines a person reads."""
    totals = (
        f"{summary['documents']} document(s), {summary['pages']} pages, {summary['chunks']} chunks"
    )
    if "rebuilt" not in summary:
        return [
            f"{totals} ({summary['new']} new, {summary['replaced']} replaced, "
            f"{summary['unchanged']} unchanged; {summary['embedded']} chunks embedded) "
            f"in {summary['seconds']:.1f} s"
        ]
    lines = [
        f"rebuilt {len(summary['rebuilt'])} catalogued document(s) beside the live index and "
        f"switched to it: {summary['from_file']} from their files, {summary['from_pages']} "
        "from the page text the catalog keeps"
    ]
    lines += [
        f"  {d['doc_id']}: from "
        + ("its file" if d["source"] == "file" else f"the catalog's pages ({d['path']} is gone)")
        for d in summary["rebuilt"]
    ]
    lines.append(f"{totals} ({summary['embedded']} chunks embedded) in {summary['seconds']:.1f} s")
    return lines


@main.command()
@click.argument("doc")
@click.option("--no-wait", is_flag=True, help="Fail at once if another ingest is writing.")
@click.option("--json", "as_json", is_flag=True, help="Print the removed document as JSON.")
@click.pass_obj
def remove(settings: Settings, doc: str, no_wait: bool, as_json: bool) -> None:
    """Remove a document (by its id, the file name) from the index.

    \b
    Example:
      whitepaper remove report.pdf
    """
    with _user_errors():
        index = _index(settings)
        record = index.remove(doc, wait=not no_wait)
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
        stored = index.check_store()
    payload = {
        "home": str(settings.home),
        "index": str(index.folder),
        "embedding": index.embedding,
        "chroma": settings.chroma_url or str(index.chroma_dir),
        "stored_chunks": stored,
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
@click.option("--repair", is_flag=True, help="Fix what is found, losing no document.")
@click.option("--no-wait", is_flag=True, help="Fail at once if another ingest is writing.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_obj
def doctor(settings: Settings, repair: bool, no_wait: bool, as_json: bool) -> None:
    """Check the index (catalog, vector store, BM25 file) and, with --repair, fix it.

    \b
    Examples:
      whitepaper doctor
      whitepaper doctor --repair --json
    """
    from ingest import doctor as checks
    from ingest.embeddings import embeddings_from

    with _user_errors():
        embeddings = embeddings_from(settings)
        if repair:
            report = checks.repair(settings, embeddings, wait=not no_wait)
        else:
            report = checks.examine(settings, embeddings)
    lines = [f"{f.part}: {f.file}: {f.problem}" for f in report.findings]
    lines += [f"repaired: {r}" for r in report.repairs]
    lines += [f"still wrong: {f.part}: {f.file}: {f.problem}" for f in report.remaining]
    if report.healthy:
        lines.append(
            f"healthy: {report.documents} document(s), {report.chunks} chunks in {report.folder}"
        )
    elif not repair:
        lines.append("run `whitepaper doctor --repair` to fix this")
    _emit(as_json, report.to_json(), "\n".join(lines))
    if not report.healthy:
        sys.exit(1)


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
        click.echo(f"【{c.marker}】 {c.title} p.{c.page_label} · {c.section}")
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
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Remove sentences no passage supports (default: on in the LLM modes).",
)
@click.option(
    "--verify",
    type=click.Choice(["checker", "model"]),
    default="checker",
    help="Citation check: the support checker (default) or the local model alone as judge.",
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
    strict: bool | None,
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
    from assistant.chain import Final, Token
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
                isinstance(event, Token)
                and not as_json
                and (mode or assistant.default_mode) != "extractive"
            ):
                click.echo(event.text, nl=False)
                streamed = True
            elif isinstance(event, Final):
                answer = event.answer
    assert answer is not None
    if as_json:
        _emit(True, answer.to_json(), "")
        return
    if streamed:
        click.echo("\n" + click.style("── checked ──", dim=True))
    _print_answer(answer)


@main.command()
@click.option("--mode", type=_MODE, default=None, help="Generator (default: local if installed).")
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Remove sentences no passage supports (default: on in the LLM modes).",
)
@click.pass_obj
def chat(settings: Settings, mode: str | None, strict: bool | None) -> None:
    """A terminal conversation with history and streamed answers (Ctrl-D to quit).

    \b
    Example:
      whitepaper chat --mode extractive
    """
    from assistant.chain import Final, Token
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
                if isinstance(event, Token):
                    click.echo(event.text, nl=False)
                elif isinstance(event, Final):
                    answer = event.answer
            click.echo()
        except WhitepaperError as exc:
            click.echo(click.style(f"Error: {exc}", fg="red"))
            continue
        assert answer is not None
        click.echo(click.style("── checked ──", dim=True))
        _print_answer(answer)
        history += [Turn("user", question), Turn("assistant", answer.text)]


DEFAULT_SET = Path(__file__).resolve().parent.parent / "eval" / "sets" / "aigc-dev-v2.jsonl"


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
    type=click.Choice(["checker", "model", "both"]),
    default=None,
    help="Faithfulness judge(s): the mode's support checker, the local model alone, or both "
    "(default: both in local mode, else the checker).",
)
@click.option(
    "--conversation",
    type=click.Choice(["reference", "live", "both"]),
    default="both",
    show_default=True,
    help="Follow-ups: with the set's history, with the assistant's own answers, or both.",
)
@click.option("--gate", is_flag=True, help="Fail when the run falls below the baseline.")
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Store this run as the new baseline (only if it passes the gate).",
)
@click.option(
    "--accept-regression",
    metavar="WHY",
    default=None,
    help="With --update-baseline: store the run even though the gate fails; WHY is kept.",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Baseline file to read and write (default: eval/baseline.json).",
)
@click.option("--fresh", is_flag=True, help="Discard earlier results in the run folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures and verdict as JSON.")
@click.pass_obj
def eval_command(
    settings: Settings,
    set_path: Path,
    mode: str,
    name: str | None,
    limit: int | None,
    out_dir: Path | None,
    judge: str | None,
    conversation: str,
    gate: bool,
    update_baseline: bool,
    accept_regression: str | None,
    baseline_path: Path | None,
    fresh: bool,
    as_json: bool,
) -> None:
    """Run the eval set through the assistant; write results, metrics and a report.

    \b
    Examples:
      whitepaper eval                                   # extractive, whole dev set
      whitepaper eval --mode local --gate               # the fixed 20-item local subset
      whitepaper eval --limit 10 --out /tmp/run --json
      whitepaper eval --update-baseline                 # only moves a baseline it passes
      whitepaper eval --update-baseline --accept-regression "new set v2"
    """
    from assistant.factory import build_assistant
    from eval.gate import DEFAULT_BASELINE_PATH
    from eval.orchestrate import EvalRequest, evaluate

    if accept_regression is not None and not update_baseline:
        raise click.UsageError("--accept-regression only applies with --update-baseline")
    if accept_regression is not None and not accept_regression.strip():
        raise click.UsageError('--accept-regression needs a reason, e.g. "new eval set v2"')
    request = EvalRequest(
        set_path=set_path,
        mode=mode,
        name=name,
        limit=limit,
        out_dir=out_dir,
        judge=judge,  # type: ignore[arg-type]  # click.Choice above
        gate=gate,
        update_baseline=update_baseline,
        accept_regression=accept_regression,
        baseline_path=baseline_path or DEFAULT_BASELINE_PATH,
        fresh=fresh,
        conversation=conversation,  # type: ignore[arg-type]  # click.Choice above
    )
    with _user_errors():
        outcome = evaluate(
            request, lambda m: build_assistant(settings.model_copy(update={"mode": m}))
        )
    _emit(as_json, outcome.to_json(), outcome.table())
    if outcome.verdict is not None:
        click.echo(outcome.verdict.summary(), err=as_json)
    if outcome.baseline_written:
        click.echo(f"baseline {outcome.name!r} updated in {outcome.baseline_path}", err=as_json)
    elif update_baseline:
        click.echo(
            f"baseline {outcome.name!r} in {outcome.baseline_path} NOT updated: the gate failed; "
            'to record this run anyway add --accept-regression "WHY"',
            err=as_json,
        )
    if not outcome.ok:
        sys.exit(1)


@main.command("validate-set")
@click.argument("path", type=click.Path(path_type=Path), default=DEFAULT_SET)
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def validate_set(path: Path, as_json: bool) -> None:
    """Check an eval set: schema, mix, split, key facts, and evidence verbatim in the source.

    Prints the items per type and calib/test split.

    \b
    Example:
      whitepaper validate-set eval/sets/aigc-dev-v2.jsonl
    """
    from eval.dataset import load_eval_set, split_counts, type_mix, validate_eval_set

    source = BUNDLED_PDF.parent / "source.txt"
    try:
        items = load_eval_set(path)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    problems = validate_eval_set(items, source.read_text(encoding="utf-8"))
    mix = {k: round(v, 3) for k, v in type_mix(items).items()}
    splits = split_counts(items)
    columns = ("calib", "test", "none", "total")
    table = [f"{'type':<14}" + "".join(f"{c:>7}" for c in columns)] + [
        f"{item_type:<14}" + "".join(f"{row[c]:>7}" for c in columns)
        for item_type, row in splits.items()
    ]
    text = "\n".join(
        [f"{len(items)} items; mix: {mix}", *table]
        + problems
        + (["no problems"] if not problems else [])
    )
    _emit(
        as_json,
        {"items": len(items), "mix": mix, "splits": splits, "problems": problems},
        text,
    )
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


@main.command()
@click.argument("pairs", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list instead of JSON lines.")
@click.option("--explain", is_flag=True, help="Also name the layer that decided each pair.")
@click.option(
    "--model/--no-model",
    "use_model",
    default=None,
    help="Ask the local model about what the cheap layers leave open "
    "(default: as answers do in the default mode).",
)
@click.pass_obj
def verify(
    settings: Settings, pairs: Path, as_json: bool, explain: bool, use_model: bool | None
) -> None:
    """Check (passage, sentence) pairs with the support checker that answers use.

    PAIRS is a JSONL file of {"passage": ..., "sentence": ...} objects. Each line gets
    {"supported", "score", "reasons"} in input order.

    \b
    Examples:
      whitepaper verify pairs.jsonl
      whitepaper verify pairs.jsonl --json --explain
    """
    from assistant.factory import build_checker
    from assistant.support import read_pairs

    with _user_errors():
        items = read_pairs(pairs)
        checker = build_checker(settings, use_model=use_model)
        results = [checker.check(sentence, passage).to_json(explain) for passage, sentence in items]
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for result in results:
            click.echo(json.dumps(result, ensure_ascii=False))


@main.command("eval-checker")
@click.option(
    "--pairs",
    "pairs_path",
    type=click.Path(path_type=Path),
    default=Path(__file__).resolve().parent.parent / "eval" / "sets" / "support-pairs-v1.jsonl",
    show_default=True,
    help="Labelled pairs (JSONL with supported, kind, lang, origin, split).",
)
@click.option(
    "--split",
    type=click.Choice(["calib", "test", "all"]),
    default="test",
    show_default=True,
    help="Tune on calib only; report test.",
)
@click.option(
    "--model/--no-model",
    "use_model",
    default=None,
    help="Let the local model decide the undecided band (default: as answers in the default mode).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the tables as JSON.")
@click.pass_obj
def eval_checker(
    settings: Settings, pairs_path: Path, split: str, use_model: bool | None, as_json: bool
) -> None:
    """Agreement of the support checker with labelled pairs, by kind, language and origin.

    \b
    Examples:
      whitepaper eval-checker                  # the test split
      whitepaper eval-checker --split calib --no-model --json
    """
    from assistant.factory import build_checker
    from eval.checker import check_pairs, render_report, summarise
    from eval.pairs import PairsError, load_pairs

    with _user_errors():
        try:
            pairs = load_pairs(pairs_path)
        except PairsError as exc:
            raise click.ClickException(str(exc)) from exc
        chosen = [p for p in pairs if split == "all" or p.split == split]
        checker = build_checker(settings, use_model=use_model)
        report = summarise(check_pairs(checker, chosen))
    title = f"{pairs_path.name}, split {split} ({len(chosen)} pairs)"
    _emit(as_json, report.to_json(), render_report(report, title))


@main.command("eval-sufficiency")
@click.option("--set", "set_path", type=click.Path(path_type=Path), default=DEFAULT_SET)
@click.option(
    "--split",
    type=click.Choice(["calib", "test"]),
    default="calib",
    show_default=True,
    help="Split to report; the fit always uses calib only.",
)
@click.option(
    "--model/--no-model",
    "use_model",
    default=False,
    show_default=True,
    help="Ask the local model whether the evidence answers (the LLM modes' signal).",
)
@click.option(
    "--max-false",
    type=click.FloatRange(0.0, 1.0),
    default=0.05,
    show_default=True,
    help="False-refusal budget on calib when fitting.",
)
@click.option(
    "--cache",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Per-item features (and the model's P(yes)) (default: eval/runs/sufficiency*.jsonl).",
)
@click.option(
    "--refresh", is_flag=True, help="Recompute the cheap features (keeps the model's answers)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_obj
def eval_sufficiency(
    settings: Settings,
    set_path: Path,
    split: str,
    use_model: bool,
    max_false: float,
    cache: Path | None,
    refresh: bool,
    as_json: bool,
) -> None:
    """Calibrate the refusal decided before generation on calib; report a split.

    \b
    Examples:
      whitepaper eval-sufficiency --split calib
      whitepaper eval-sufficiency --split test --model --json
    """
    from eval.sufficiency import render, run

    with _user_errors():
        result = run(settings, set_path, split, use_model, max_false, cache, refresh)
    _emit(as_json, result, render(result))
