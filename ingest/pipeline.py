"""Ingest files into the index: read, clean, chunk, embed the missing chunks, switch, tidy up."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ingest.chunker import Chunker
from ingest.clean import clean_pages
from ingest.errors import IngestError
from ingest.index import DocumentRecord, Index
from ingest.loaders import SourceFile, expand_paths, inspect, open_pdf, read_text_pages
from ingest.model import Chunk, CleanDocument, Footnote, RawPage
from ingest.settings import IndexSettings

log = logging.getLogger(__name__)

#: Bump when cleaning or chunking changes what a file becomes, or what the index keeps of it:
#: the next ingest replaces every document instead of calling it unchanged.
#: 2: the pages table keeps each page's character span in the document text.
PIPELINE_VERSION = 2

#: A progress callback: (stage, done, total). Stages: "pages", "embedding".
Progress = Callable[[str, int, int], None]


def version_hash(file_hash: str, settings: IndexSettings) -> str:
    """A document version's identity: the file's bytes and everything that shapes its chunks
    (the cleaning switch, chunk sizes, the pipeline version). Changing any of them makes the
    next ingest replace the document instead of calling it unchanged."""
    recipe = (
        f"{file_hash}|pipeline={PIPELINE_VERSION}|strip={settings.strip_headers}"
        f"|target={settings.chunk_target}|max={settings.chunk_max}"
    )
    return hashlib.sha256(recipe.encode()).hexdigest()


_PLACEHOLDER_TITLES = {"untitled", "untitled document", "(anonymous)", "anonymous", "title"}


def _usable_title(title: str | None) -> str | None:
    """A document's own title, unless it is a tool's placeholder such as "untitled"."""
    if not title or title.strip().lower() in _PLACEHOLDER_TITLES:
        return None
    return title.strip()


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file."""

    path: str
    doc_id: str | None
    status: str  # "new" | "replaced" | "unchanged" | "failed"
    pages: int = 0
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    error: str | None = None


@dataclass
class IngestReport:
    """A batch's outcomes and totals (what ``whitepaper ingest`` prints)."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def to_json(self) -> dict[str, Any]:
        ok = [o for o in self.outcomes if o.status != "failed"]
        return {
            "documents": len(ok),
            "pages": sum(o.pages for o in ok),
            "chunks": sum(o.chunks for o in ok),
            "embedded": sum(o.embedded for o in ok),
            "new": self.count("new"),
            "unchanged": self.count("unchanged"),
            "replaced": self.count("replaced"),
            "failed": self.count("failed"),
            "seconds": round(self.seconds, 3),
            "embed_seconds": round(sum(o.embed_seconds for o in ok), 3),
            "files": [o.__dict__ for o in self.outcomes],
        }


class Ingestor:
    """Ingests files into one index; one instance per batch (it holds the opened index)."""

    def __init__(
        self,
        settings: IndexSettings,
        embeddings: Embeddings,
        index: Index | None = None,
        progress: Progress = _no_progress,
        wait: bool = True,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.index = index or Index(settings, embeddings, create=True)
        self.chunker = Chunker(settings.chunk_target, settings.chunk_max)
        self.progress = progress
        self.wait = wait

    def ingest(self, paths: Sequence[Path]) -> IngestReport:
        """Ingest every file (folders expanded); a bad file is reported and skipped.

        The whole batch holds the index's write lock (``wait=False``: ``IndexBusy`` when
        another writer has it)."""
        started = time.perf_counter()
        report = IngestReport()
        files, problems = expand_paths(list(paths))
        for path, problem in problems:
            report.outcomes.append(
                FileOutcome(str(path), None, "failed", error=f"{path}: {problem}")
            )
        with self.index.writing(self.wait):
            if self.index.meta("pipeline") is None:
                self.index.set_meta("pipeline", str(PIPELINE_VERSION))
            changed = False
            for path in files:
                outcome = self.ingest_file(path)
                report.outcomes.append(outcome)
                changed = changed or outcome.status in ("new", "replaced")
                if outcome.error:
                    log.warning("skipped %s", outcome.error)
            # Tidy up on every run, not only after a change: a run killed after switching the
            # catalog left the replaced version's chunks behind, and this run finds "unchanged".
            gone = self.index.collect_garbage()
            if gone:
                log.info("removed %d chunks of replaced or unfinished document versions", gone)
            if changed or gone or not self.index.bm25_path.exists():
                self.index.refresh_bm25()
        report.seconds = time.perf_counter() - started
        return report

    def ingest_pages(
        self, record: DocumentRecord, pages: Sequence[tuple[int, str, str, list[str]]]
    ) -> FileOutcome:
        """Ingest a catalogued document again from the page text the catalog keeps (for a
        document whose source file is gone). Needs the write lock (``Index.writing``)."""
        started = time.perf_counter()
        raw = [RawPage(index=i, text=text, label=label) for i, label, text, _ in pages]
        doc = clean_pages(
            raw,
            doc_id=record.doc_id,
            title=record.title,
            source_file=record.source_file,
            content_hash=version_hash(f"pages:{record.content_hash}", self.settings),
            strip_furniture=False,
            markdown=record.source_file.lower().endswith((".md", ".markdown")),
        )
        notes = []
        for i, _, _, page_notes in pages:
            for note in page_notes:
                number, _, text = note.partition("] ")
                if number.startswith("[") and number[1:].isdigit():
                    notes.append(Footnote(int(number[1:]), text, i))
        doc = replace(doc, footnotes=tuple(notes))
        chunks = self.chunker.chunk(doc)
        if not chunks:
            raise IngestError(f"{record.doc_id}: the catalog keeps no text of it to re-ingest")
        current = self.index.document(record.doc_id)
        embedded, embed_seconds = self._store(chunks)
        self.index.activate(doc, chunks)
        return FileOutcome(
            record.source_file,
            record.doc_id,
            "replaced" if current else "new",
            len(doc.pages),
            len(chunks),
            embedded,
            seconds=time.perf_counter() - started,
            embed_seconds=embed_seconds,
        )

    def source(self, path: Path) -> SourceFile:
        """Check a file and identify its version (see ``version_of``)."""
        source = inspect(path)
        return replace(source, content_hash=version_hash(source.content_hash, self.settings))

    def ingest_file(self, path: Path) -> FileOutcome:
        """Ingest one file (a bad file is a ``failed`` outcome). Needs the write lock."""
        started = time.perf_counter()
        try:
            source = self.source(path)
            current = self.index.document(source.doc_id)
            if current and current.content_hash == source.content_hash:
                return FileOutcome(
                    str(path),
                    source.doc_id,
                    "unchanged",
                    current.n_pages,
                    current.n_chunks,
                    seconds=time.perf_counter() - started,
                )
            doc = self.read(source)
            chunks = self.chunker.chunk(doc)
            if not chunks:
                raise IngestError(f"{path.name}: no text to index after cleaning")
            embedded, embed_seconds = self._store(chunks)
            replaced = self.index.activate(doc, chunks)
        except IngestError as exc:
            return FileOutcome(
                str(path),
                path.name,
                "failed",
                error=str(exc),
                seconds=time.perf_counter() - started,
            )
        status = "replaced" if current else "new"
        log.info(
            "%s %s: %d pages, %d chunks (%d embedded)",
            status,
            path.name,
            len(doc.pages),
            len(chunks),
            embedded,
        )
        if replaced:
            log.info("%s: previous version %s is now garbage", path.name, replaced[:12])
        return FileOutcome(
            str(path),
            doc.doc_id,
            status,
            len(doc.pages),
            len(chunks),
            embedded,
            seconds=time.perf_counter() - started,
            embed_seconds=embed_seconds,
        )

    def read(self, source: SourceFile) -> CleanDocument:
        """Read and clean a file into a ``CleanDocument``."""
        title: str | None
        if source.kind == "pdf":
            pdf = open_pdf(source)
            title = pdf.title
            pages: list[RawPage] = []
            for page in pdf:
                pages.append(page)
                self.progress("pages", len(pages), pdf.page_count)
            if not any(p.text.strip() for p in pages):
                raise IngestError(
                    f"{source.path.name}: no text layer (a scanned or image-only PDF): run OCR "
                    "first (e.g. ocrmypdf in.pdf out.pdf) and ingest the result"
                )
        else:
            pages, title = read_text_pages(source)
            self.progress("pages", len(pages), len(pages))
        doc = clean_pages(
            pages,
            doc_id=source.doc_id,
            title=_usable_title(title) or source.path.stem,
            source_file=str(source.path),
            content_hash=source.content_hash,
            strip_furniture=self.settings.strip_headers,
            markdown=source.kind == "markdown",
        )
        if not doc.text.strip():
            raise IngestError(f"{source.path.name}: no text left after cleaning")
        return doc

    def _store(self, chunks: list[Chunk]) -> tuple[int, float]:
        """Embed and write the chunks not already stored (a killed run left some)."""
        have = self.index.existing_ids([c.id for c in chunks])
        todo = [c for c in chunks if c.id not in have]
        batch = max(1, self.settings.embed_batch)
        embed_seconds = 0.0
        self.progress("embedding", 0, len(todo))
        for i in range(0, len(todo), batch):
            part = todo[i : i + batch]
            t0 = time.perf_counter()
            vectors = self.embeddings.embed_documents([c.text for c in part])
            embed_seconds += time.perf_counter() - t0
            self.index.write_chunks(part, vectors)
            self.progress("embedding", i + len(part), len(todo))
        return len(todo), embed_seconds
