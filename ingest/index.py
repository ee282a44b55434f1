"""The index: chunks and vectors in Chroma, the document catalog in SQLite, BM25 beside them.

Crash safety comes from versioned chunk ids and one writer at a time. Every write holds the
home's write lock (``Index.writing``), so a second writer waits and garbage collection never
meets chunks another writer is still storing. A document version's chunks are written to
Chroma under ids derived from its content hash while the catalog still points at the old
version; one SQLite transaction then switches the catalog (and bumps the generation readers
watch), and only after that are the old chunks deleted. Every read filters on the content
hashes the catalog names, so a reader sees the old version or the new one, never a mix; a
killed run is finished by the next one, which finds the chunks already written and embeds only
the missing ones. A rebuild fills a new folder beside the live index and switches the home's
``current`` pointer in one rename (``ingest.home``). After each committed write the catalog is
copied to ``catalog.backup.sqlite``, which ``whitepaper doctor --repair`` restores from.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ingest import home as home_layout
from ingest.bm25 import Bm25Index
from ingest.catalog import _SCHEMA, DocumentRecord, _add_page_columns, _not_found
from ingest.embeddings import embedding_name
from ingest.errors import (
    DocumentNotFound,
    EmbeddingMismatch,
)
from ingest.home import WriteLock
from ingest.settings import IndexSettings
from ingest.store import ChromaStore, DenseHit, _close_chroma, open_chroma_client

log = logging.getLogger(__name__)

__all__ = ["DenseHit", "DocumentRecord", "Index", "open_chroma_client"]


class Index(ChromaStore):
    """Read and write access to one index (catalog + Chroma collection + BM25 file).

    Reads need no lock and follow the home: before each read the index checks which folder
    is live and the catalog's write generation, and reopens what another process changed.
    Every write runs inside ``writing()``, which holds the home's write lock."""

    def __init__(
        self,
        settings: IndexSettings,
        embeddings: Embeddings,
        *,
        create: bool = False,
        folder: Path | None = None,
        lock: WriteLock | None = None,
        expect_embedding: bool = True,
    ) -> None:
        """Open the live index of ``settings.home`` (or the index in ``folder``, which it then
        never leaves). With ``create``, a missing index is made by the first write."""
        self.settings = settings
        self.embeddings = embeddings
        self.embedding = embedding_name(embeddings)
        self.home = settings.home
        self.write_lock = lock or WriteLock(self.home)
        self._pinned = folder is not None
        self._expect_embedding = expect_embedding
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._generation = ""
        self._committed = False
        self._write_depth = 0
        self._page_spans: dict[str, dict[int, tuple[int, int]]] = {}
        self._chunk_ids: tuple[str, dict[str, frozenset[str]]] = ("", {})
        self._client: Any = None
        self._collection: Any = None
        self._bm25: Bm25Index | None = None
        self._bm25_fingerprint = ""
        self.folder = folder or home_layout.live_folder(self.home)
        if (self.folder / home_layout.CATALOG).exists():
            self._open(self.folder)
        elif not create:
            raise _not_found(self.home)

    # -- opening, following other writers ---------------------------------------------------

    def _open(self, folder: Path) -> None:
        """Connect to the catalog in ``folder``, check it can be read and fits the embedding."""
        path = folder / home_layout.CATALOG
        db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        try:
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
            db.execute("PRAGMA journal_mode=WAL")
            _add_page_columns(db)
            built_with = db.execute("SELECT value FROM meta WHERE key='embedding'").fetchone()
            generation = db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            db.execute("SELECT count(*) FROM documents").fetchone()
            db.execute("SELECT count(*) FROM pages WHERE 0").fetchone()
        except sqlite3.DatabaseError as exc:
            db.close()
            self.folder = folder
            raise self._damaged(exc) from exc
        if built_with is None:
            db.close()
            self.folder = folder
            raise self._damaged(sqlite3.DatabaseError("no embedding recorded"))
        if self._expect_embedding and built_with[0] != self.embedding:
            db.close()
            raise EmbeddingMismatch(
                f"the index under {self.home} was built with embedding {built_with[0]!r}, "
                f"but {self.embedding!r} is configured: run `whitepaper ingest --rebuild` to "
                "re-embed every document with it (nothing is lost), or set WHITEPAPER_EMBEDDING "
                "back"
            )
        with self._lock:
            old, self._db, self.folder = self._db, db, folder
            self._generation = generation[0] if generation else "0"
            self._reset_store()
        if old is not None:
            old.close()

    def _create(self) -> None:
        """Make a new, empty index in a folder of its own and switch the home to it."""
        folder = self.folder if self._pinned else home_layout.new_folder(self.home)
        db = sqlite3.connect(folder / home_layout.CATALOG, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)
        collection = self.settings.collection
        if self.settings.chroma_url and self._pinned:
            # A rebuild beside the live index on a Chroma server needs a collection of its own.
            collection = f"{collection}-{folder.name}"
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES(?, ?)",
                [("embedding", self.embedding), ("collection", collection), ("generation", "0")],
            )
        db.close()
        self._open(folder)
        _ = self.collection  # created now, under the lock: first writers never race for it
        if not self._pinned:
            home_layout.switch(self.home, folder)

    def _sync(self) -> None:
        """Follow a rebuild's switch, and reload the store after another process's write."""
        if not self._pinned:
            live = home_layout.live_folder(self.home)
            if live != self.folder and (live / home_layout.CATALOG).exists():
                log.info("the index was rebuilt; reading %s", live)
                self._open(live)
                return
        if self._db is None:
            return
        generation = self._meta("generation") or "0"
        if generation != self._generation:
            with self._lock:
                self._generation = generation
                self._reset_store()

    def _reset_store(self) -> None:
        """Drop the open Chroma collection (its in-memory vector index may be older than the
        files another process wrote) and the BM25 in memory; both reopen on their next use."""
        if self._client is not None and not self.settings.chroma_url:
            _close_chroma(self._client)
        self._client = self._collection = None
        self._bm25, self._bm25_fingerprint = None, ""

    @contextmanager
    def writing(self, wait: bool = True) -> Iterator[Index]:
        """Hold the home's write lock for a whole write (waiting for another writer, or with
        ``wait=False`` raising ``IndexBusy``), on the index as it is once the lock is held.

        A first write creates the index. After a write that committed, the catalog is backed
        up (``catalog.backup.sqlite``, what ``whitepaper doctor --repair`` restores)."""
        self.write_lock.acquire(wait)
        outer = self._write_depth == 0
        self._write_depth += 1
        try:
            if outer:
                self._committed = False
                self._sync()
                if self._db is None:
                    self._create()
                # A damaged store fails the write here, before the catalog changes.
                _ = self.collection
                for folder in home_layout.leftovers(self.home) if not self._pinned else ():
                    log.info("deleting %s, left by a rebuild that did not finish", folder.name)
                    home_layout.discard(self.home, folder)
            yield self
            if outer and self._committed:
                self.backup_catalog()
        finally:
            self._write_depth -= 1
            self.write_lock.release()

    # -- writes ----------------------------------------------------------------------------

    def remove(self, doc_id: str, wait: bool = True) -> DocumentRecord:
        """Take a document out of the catalog, then delete its chunks (under the write lock)."""
        with self.writing(wait):
            record = self.document(doc_id)
            if record is None:
                known = ", ".join(d.doc_id for d in self.documents()) or "none"
                raise DocumentNotFound(f"no document {doc_id!r} in the index (documents: {known})")
            with self._transaction() as db:
                db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            self.collect_garbage()
            self.refresh_bm25()
        return record

    # -- bm25 --------------------------------------------------------------------------------

    def fingerprint(self) -> str:
        """The identity of the active versions (what a saved BM25 file must match)."""
        hashes = sorted(self.active_hashes())
        return hashlib.sha1("|".join(hashes).encode()).hexdigest()

    def refresh_bm25(self) -> Bm25Index:
        """Rebuild the BM25 file from the active chunks and keep it in memory.

        The chunks' texts are read and tokenised a page at a time, never all at once."""
        ids = self._ordered_ids()
        index = Bm25Index.build(ids, self._texts(ids))
        fingerprint = self.fingerprint()
        index.save(self.bm25_path, fingerprint)
        (self.folder / home_layout.LEGACY_BM25).unlink(missing_ok=True)
        with self._lock:
            self._bm25, self._bm25_fingerprint = index, fingerprint
        return index

    def bm25(self) -> Bm25Index:
        """The BM25 index of the active chunks: from memory, the file, or rebuilt if stale."""
        self._sync()
        fingerprint = self.fingerprint()
        with self._lock:
            if self._bm25 is not None and self._bm25_fingerprint == fingerprint:
                return self._bm25
            loaded = Bm25Index.load(self.bm25_path)
            if loaded is not None and loaded[1] == fingerprint:
                self._bm25, self._bm25_fingerprint = loaded
                return loaded[0]
        log.info("BM25 index is stale or missing; rebuilding it from the stored chunks")
        return self.refresh_bm25()

    def close(self) -> None:
        with self._lock:
            self._reset_store()
        if self._db is not None:
            self._db.close()
            self._db = None
