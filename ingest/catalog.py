"""The SQLite side of an index: the document catalog, its pages and metadata, and where the
index's files lie. :class:`~ingest.index.Index` builds on it (it opens and follows the files)."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest import home as home_layout
from ingest.errors import (
    IndexDamaged,
    IndexNotFound,
    IndexOutdated,
)
from ingest.home import WriteLock
from ingest.model import Chunk, CleanDocument
from ingest.settings import IndexSettings

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
  doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source_file TEXT NOT NULL,
  content_hash TEXT NOT NULL, n_pages INTEGER NOT NULL, n_chunks INTEGER NOT NULL,
  page_labels TEXT NOT NULL, ingested_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pages(
  content_hash TEXT NOT NULL, page_index INTEGER NOT NULL, label TEXT NOT NULL,
  text TEXT NOT NULL, footnotes TEXT NOT NULL, char_start INTEGER, char_end INTEGER,
  PRIMARY KEY(content_hash, page_index));
"""
#: Columns added to the pages table since it was first written (an older catalog gets them
#: empty; its documents re-ingest because the pipeline version changed with them).
_PAGE_COLUMNS_ADDED = ("char_start INTEGER", "char_end INTEGER")


def _add_page_columns(db: sqlite3.Connection) -> None:
    """Catalogs written before pages kept their spans get the columns (empty until re-ingest)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(pages)")}
    with db:
        for column in _PAGE_COLUMNS_ADDED:
            if column.split()[0] not in have:
                db.execute(f"ALTER TABLE pages ADD COLUMN {column}")


@dataclass(frozen=True)
class DocumentRecord:
    """A document as the catalog knows it."""

    doc_id: str
    title: str
    source_file: str
    content_hash: str
    n_pages: int
    n_chunks: int
    page_labels: tuple[str, ...]
    ingested_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "source_file": self.source_file,
            "content_hash": self.content_hash,
            "pages": self.n_pages,
            "chunks": self.n_chunks,
            "page_labels": list(self.page_labels),
        }


class Catalog:
    """Catalog reads and writes of one index; :class:`~ingest.index.Index` sets the attributes
    and follows other writers (``_sync``) before each read."""

    settings: IndexSettings
    home: Path
    folder: Path
    embedding: str
    write_lock: WriteLock
    _lock: Any
    _db: sqlite3.Connection | None
    _generation: str
    _committed: bool
    _page_spans: dict[str, dict[int, tuple[int, int]]]
    _chunk_ids: tuple[str, dict[str, frozenset[str]]]

    def _sync(self) -> None:
        """Follow other processes' writes before a read (the index does)."""

    # -- where the files are -----------------------------------------------------------------

    @property
    def catalog_path(self) -> Path:
        return self.folder / home_layout.CATALOG

    @property
    def chroma_dir(self) -> Path:
        return self.folder / home_layout.CHROMA

    @property
    def bm25_path(self) -> Path:
        return self.folder / home_layout.BM25

    @property
    def backup_path(self) -> Path:
        return self.folder / home_layout.CATALOG_BACKUP

    @property
    def exists(self) -> bool:
        return self._db is not None

    # -- errors and the write lock -------------------------------------------------------------

    def _damaged(self, exc: Exception) -> IndexDamaged:
        return IndexDamaged(
            f"the index catalog {self.catalog_path} is damaged ({exc}): "
            "run `whitepaper doctor --repair`"
        )

    def _require_lock(self, what: str) -> None:
        if not self.write_lock.held:
            raise RuntimeError(f"{what} needs the write lock: run it inside Index.writing()")

    def backup_catalog(self) -> None:
        """Copy the catalog, consistent, to ``catalog.backup.sqlite`` (temp file + rename)."""
        db = self._conn()
        tmp = self.backup_path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(tmp)
        try:
            db.backup(target)
        finally:
            target.close()
        os.replace(tmp, self.backup_path)

    # -- catalog -----------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise _not_found(self.home)
        return self._db

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of a catalog query; a damaged catalog is an ``IndexDamaged`` error."""
        if self._db is None:
            return []
        try:
            return self._db.execute(query, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            raise self._damaged(exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One catalog transaction that also bumps the write generation readers watch."""
        self._require_lock("a catalog change")
        db = self._conn()
        try:
            with db:
                yield db
                db.execute(
                    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'"
                )
                if db.execute("SELECT changes()").fetchone()[0] == 0:
                    db.execute("INSERT INTO meta VALUES('generation', '1')")
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            raise self._damaged(exc) from exc
        self._generation = self._meta("generation") or "0"
        self._committed = True

    def _meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def meta(self, key: str) -> str | None:
        """A value the catalog keeps about the index (``embedding``, ``pipeline``…)."""
        self._sync()
        return self._meta(key)

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))

    @property
    def collection_name(self) -> str:
        return self._meta("collection") or self.settings.collection

    def documents(self) -> list[DocumentRecord]:
        self._sync()
        rows = self._rows(
            "SELECT doc_id, title, source_file, content_hash, n_pages, n_chunks, page_labels, "
            "ingested_at FROM documents ORDER BY doc_id"
        )
        return [
            DocumentRecord(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), r[7])
            for r in rows
        ]

    def document(self, doc_id: str) -> DocumentRecord | None:
        return next((d for d in self.documents() if d.doc_id == doc_id), None)

    def active_hashes(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT content_hash FROM documents")]

    def page_text(self, content_hash: str, page_index: int) -> tuple[str, str, list[str]] | None:
        """(label, cleaned text, footnotes) of one page of a stored document version."""
        rows = self._rows(
            "SELECT label, text, footnotes FROM pages WHERE content_hash=? AND page_index=?",
            (content_hash, page_index),
        )
        return (rows[0][0], rows[0][1], json.loads(rows[0][2])) if rows else None

    def pages(self, content_hash: str) -> list[tuple[int, str, str, list[str]]]:
        """(index, label, cleaned text, footnotes) of every page of a stored document version."""
        rows = self._rows(
            "SELECT page_index, label, text, footnotes FROM pages WHERE content_hash=? "
            "ORDER BY page_index",
            (content_hash,),
        )
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def page_spans(self, content_hash: str) -> dict[int, tuple[int, int]]:
        """Where each page of a stored document version lies in its text: index -> (start, end).

        A version never changes, so its spans are read once."""
        with self._lock:
            cached = self._page_spans.get(content_hash)
        if cached is not None:
            return cached
        self._sync()
        rows = self._rows(
            "SELECT page_index, char_start, char_end FROM pages WHERE content_hash=?",
            (content_hash,),
        )
        if any(start is None or end is None for _, start, end in rows):
            raise IndexOutdated(
                f"the index under {self.settings.home} was built before pages kept their "
                "character spans: run `whitepaper ingest` to update it"
            )
        spans = {index: (start, end) for index, start, end in rows}
        with self._lock:
            self._page_spans[content_hash] = spans
        return spans

    def activate(self, doc: CleanDocument, chunks: Sequence[Chunk]) -> str | None:
        """Switch the catalog to this document version in one transaction.

        Returns the content hash of the version it replaced (whose chunks are now garbage).
        """
        previous = self.document(doc.doc_id)
        labels = [p.label for p in doc.pages]
        notes_by_page: dict[int, list[str]] = {}
        for note in doc.footnotes:
            notes_by_page.setdefault(note.page_index, []).append(f"[{note.number}] {note.text}")
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO pages(content_hash, page_index, label, text, footnotes, "
                "char_start, char_end) VALUES(?,?,?,?,?,?,?)",
                [
                    (
                        doc.content_hash,
                        p.index,
                        p.label,
                        doc.text[p.start : p.end],
                        json.dumps(notes_by_page.get(p.index, []), ensure_ascii=False),
                        p.start,
                        p.end,
                    )
                    for p in doc.pages
                ],
            )
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES(?,?,?,?,?,?,?,?)",
                (
                    doc.doc_id,
                    doc.title,
                    doc.source_file,
                    doc.content_hash,
                    len(doc.pages),
                    len(chunks),
                    json.dumps(labels, ensure_ascii=False),
                    time.time(),
                ),
            )
        if previous and previous.content_hash != doc.content_hash:
            return previous.content_hash
        return None


def _not_found(home: Path) -> IndexNotFound:
    return IndexNotFound(
        f"no index under {home}: run `whitepaper ingest` first (or set WHITEPAPER_HOME)"
    )
