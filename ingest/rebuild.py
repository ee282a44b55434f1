"""Rebuild an index beside the live one, every catalogued document included, and switch to it.

Each document comes back from its source file (the library copy for uploads) or, where that
file is gone or unreadable, from the page text the catalog keeps. The new index is filled in a
folder of its own while the old one keeps answering, and the home switches to it in one rename
(``ingest.home.switch``): a rebuild killed at any moment leaves the old index live, and the
next write deletes the unfinished folder. A changed embedding model or pipeline version
rebuilds the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ingest import home as home_layout
from ingest.errors import IngestError
from ingest.index import DocumentRecord, Index, open_chroma_client
from ingest.pipeline import PIPELINE_VERSION, FileOutcome, Ingestor, Progress
from ingest.settings import IndexSettings

log = logging.getLogger(__name__)


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class RebuiltDocument:
    """Where one catalogued document came back from: its ``file`` or the catalog's ``pages``."""

    doc_id: str
    source: str
    path: str
    chunks: int


@dataclass
class RebuildReport:
    """A rebuild's documents, the outcome of the files given beside them, and the new folder."""

    documents: list[RebuiltDocument] = field(default_factory=list)
    outcomes: list[FileOutcome] = field(default_factory=list)
    folder: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        ok = [o for o in self.outcomes if o.status != "failed"]
        return {
            "rebuilt": [d.__dict__ for d in self.documents],
            "from_file": sum(1 for d in self.documents if d.source == "file"),
            "from_pages": sum(1 for d in self.documents if d.source == "pages"),
            "documents": len(ok),
            "pages": sum(o.pages for o in ok),
            "chunks": sum(o.chunks for o in ok),
            "embedded": sum(o.embedded for o in ok),
            "new": sum(1 for o in ok if o.status == "new"),
            "replaced": sum(1 for o in ok if o.status == "replaced"),
            "unchanged": sum(1 for o in ok if o.status == "unchanged"),
            "failed": len(self.failed),
            "folder": self.folder,
            "seconds": round(self.seconds, 3),
            "files": [o.__dict__ for o in self.outcomes],
        }


def needs_rebuild(settings: IndexSettings, embeddings: Embeddings) -> str | None:
    """Why the live index must be rebuilt before the next ingest (None: it need not be): it
    was built by another version of the cleaning and chunking pipeline. (Another embedding
    model is an error that asks for ``--rebuild``: re-embedding a library is the user's call.)
    """
    if not home_layout.index_exists(settings.home):
        return None
    index = Index(settings, embeddings, expect_embedding=False)
    try:
        pipeline = index.meta("pipeline")
    finally:
        index.close()
    if pipeline is not None and pipeline != str(PIPELINE_VERSION):
        return f"the index was built by pipeline version {pipeline}, this is {PIPELINE_VERSION}"
    return None


def rebuild(
    settings: IndexSettings,
    embeddings: Embeddings,
    paths: Sequence[Path] = (),
    *,
    wait: bool = True,
    progress: Progress = _no_progress,
    same_versions: bool = False,
    lock: home_layout.WriteLock | None = None,
) -> RebuildReport:
    """Re-ingest every catalogued document (and ``paths``) into a new index, then switch.

    ``same_versions`` (the doctor's repair): use a source file only while it still holds the
    catalogued version, else the catalog's pages. Raises ``IngestError`` (and switches nothing)
    when a catalogued document can be read neither from its file nor from its pages."""
    started = time.perf_counter()
    home = settings.home
    lock = lock or home_layout.WriteLock(home)
    lock.acquire(wait)
    try:
        for folder in home_layout.leftovers(home):
            log.info("deleting %s, left by a rebuild that did not finish", folder.name)
            home_layout.discard(home, folder)
        old: Index | None = None
        if home_layout.index_exists(home):
            old = Index(settings, embeddings, lock=lock, expect_embedding=False)
        records = old.documents() if old else []
        old_collection = old.collection_name if old else None
        folder = home_layout.new_folder(home)
        new = Index(settings, embeddings, create=True, folder=folder, lock=lock)
        report = RebuildReport(folder=folder.name)
        ingestor = Ingestor(settings, embeddings, new, progress=progress)
        try:
            with new.writing():
                new.set_meta("pipeline", str(PIPELINE_VERSION))
                for record in records:
                    done, outcome = _rebuild_one(ingestor, record, old, same_versions)
                    report.documents.append(done)
                    report.outcomes.append(outcome)
                if paths:
                    report.outcomes += ingestor.ingest(list(paths)).outcomes
                new.collect_garbage()
                new.refresh_bm25()
        except BaseException:
            new.close()
            home_layout.discard(home, folder)
            raise
        new_collection = new.collection_name
        new.close()
        if old is not None:
            old.close()
        previous = home_layout.switch(home, folder)
        if previous != folder:
            home_layout.discard(home, previous)
        if settings.chroma_url and old_collection and old_collection != new_collection:
            _drop_collection(settings, old_collection)
    finally:
        lock.release()
    report.seconds = time.perf_counter() - started
    for doc in report.documents:
        log.info("rebuilt %s from its %s (%d chunks)", doc.doc_id, doc.source, doc.chunks)
    return report


def _rebuild_one(
    ingestor: Ingestor, record: DocumentRecord, old: Index | None, same_versions: bool
) -> tuple[RebuiltDocument, FileOutcome]:
    path = Path(record.source_file)
    if path.is_file():
        try:
            source = ingestor.source(path)
            fits = not same_versions or source.content_hash == record.content_hash
            if fits and source.doc_id == record.doc_id:
                outcome = ingestor.ingest_file(path)
                if outcome.status != "failed":
                    done = RebuiltDocument(record.doc_id, "file", str(path), outcome.chunks)
                    return done, outcome
                log.warning("%s; re-ingesting it from the catalog's pages", outcome.error)
        except IngestError as exc:
            log.warning("%s; re-ingesting it from the catalog's pages", exc)
    pages = old.pages(record.content_hash) if old else []
    if not pages:
        raise IngestError(
            f"{record.doc_id}: its file {path} is gone and the catalog keeps no page text of "
            "it: restore the file and run `whitepaper ingest --rebuild` again (nothing changed)"
        )
    outcome = ingestor.ingest_pages(record, pages)
    return RebuiltDocument(record.doc_id, "pages", str(path), outcome.chunks), outcome


def _drop_collection(settings: IndexSettings, name: str) -> None:
    try:
        open_chroma_client(settings, settings.home).delete_collection(name)
    except Exception as exc:  # already gone: nothing to tidy
        log.debug("collection %s not deleted: %s", name, exc)
