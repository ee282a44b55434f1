"""Commands that build and look after the index: ingest, remove, stats, doctor, chunks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ui.commands.common import emit, user_errors
from ui.settings import Settings


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


@click.command()
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
    from ingest.run import ingest_or_rebuild

    if keep_headers:
        settings = settings.model_copy(update={"strip_headers": False})
    bars = _Bars(enabled=not no_progress)
    with user_errors():
        try:
            report = ingest_or_rebuild(
                settings, paths, rebuild=rebuild, wait=not no_wait, progress=bars
            )
        finally:
            bars.close()
    failed, summary = report.failed, report.to_json()
    emit(
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


@click.command()
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
    from ingest.run import open_index

    with user_errors():
        index = open_index(settings)
        record = index.remove(doc, wait=not no_wait)
    emit(as_json, record.to_json(), f"removed {record.doc_id} ({record.n_chunks} chunks)")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def stats(settings: Settings, as_json: bool) -> None:
    """List indexed documents with their page labels and chunk counts.

    \b
    Example:
      whitepaper stats --json
    """
    from ingest.run import open_index

    with user_errors():
        index = open_index(settings)
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
    emit(as_json, payload, text)


@click.command()
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

    with user_errors():
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
    emit(as_json, report.to_json(), "\n".join(lines))
    if not report.healthy:
        sys.exit(1)


@click.command()
@click.option("--doc", default=None, help="Only this document's chunks.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def chunks(settings: Settings, doc: str | None, as_json: bool) -> None:
    """Show every stored chunk: id, pages, section path and text.

    \b
    Example:
      whitepaper chunks --doc aigc-whitepaper-2022.pdf --json
    """
    from ingest.run import open_index

    with user_errors():
        index = open_index(settings)
        if doc is not None and index.document(doc) is None:
            from ingest.errors import DocumentNotFound

            raise click.ClickException(str(DocumentNotFound(f"no document {doc!r} in the index")))
        found = index.chunks(doc)
    if as_json:
        emit(True, [c.to_json() for c in found], "")
        return
    for c in found:
        click.echo(f"── {c.id}  p.{c.pages_display}  {c.section}")
        click.echo(c.text)
        for note in c.footnotes:
            click.echo(f"   {note}")
