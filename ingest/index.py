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
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from langchain_core.embeddings import Embeddings

from ingest import home as home_layout
from ingest.bm25 import Bm25Index
from ingest.embeddings import embedding_name
from ingest.errors import (
    DocumentNotFound,
    EmbeddingMismatch,
    IndexDamaged,
    IndexNotFound,
    IndexOutdated,
    ModelUnavailable,
)
from ingest.home import WriteLock
from ingest.model import META_CONTENT_HASH, META_DOC_ID, META_INDEX, Chunk, CleanDocument
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


_WRITE_BATCH = 256
# Rows per Chroma read. Chroma's native side takes memory in proportion to the rows one call
# returns (about 25 KB a row with metadata, kept by the allocator afterwards; 120 MiB for one
# read of 4,653 chunks): pages this small keep an ingest's peak memory from growing with the
# index, for about 0.2 s more per full scan of 4,653 chunks.
_READ_BATCH = 256


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


@dataclass(frozen=True)
class DenseHit:
    chunk: Chunk
    similarity: float


class _ChromaEmbeddingFunction:
    """Adapts a LangChain ``Embeddings`` to Chroma, so Chroma never falls back to its default
    (which would download a model)."""

    def __init__(self, embeddings: Embeddings) -> None:
        self._embeddings = embeddings

    def __call__(self, input: Sequence[str]) -> list[Any]:  # Chroma's parameter name
        import numpy as np

        vectors = self._embeddings.embed_documents(list(input))
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    def embed_query(self, input: Sequence[str]) -> list[Any]:
        import numpy as np

        return [np.asarray(self._embeddings.embed_query(t), dtype=np.float32) for t in input]

    @staticmethod
    def name() -> str:
        return "whitepaper-assistant"

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {"embedding": embedding_name(self._embeddings)}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> _ChromaEmbeddingFunction:
        from ingest.embeddings import make_embeddings

        return _ChromaEmbeddingFunction(make_embeddings(str(config["embedding"])))


def open_chroma_client(settings: IndexSettings, folder: Path) -> Any:
    """An embedded ``PersistentClient`` in ``folder``, or an ``HttpClient`` when configured."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise ModelUnavailable(
                f"WHITEPAPER_CHROMA_URL={settings.chroma_url!r} is not a URL like http://127.0.0.1:8000"
            )
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:
            raise ModelUnavailable(
                f"cannot reach the Chroma server at {settings.chroma_url}: {exc}. "
                "Start it (chroma run --path DIR --port PORT) or unset WHITEPAPER_CHROMA_URL."
            ) from exc
    folder.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(folder), settings=chroma_settings)


def _close_chroma(client: Any) -> None:
    """Release a client, so that the next ``PersistentClient`` of its path reads the files
    afresh. Chroma keeps one system per path and process, with the vector index in memory;
    another process's writes reach the files but not that memory."""
    try:
        client.close()
    except Exception as exc:  # already closed, or a client without close(): nothing held
        log.debug("chroma client not closed: %s", exc)


class Index:
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

    # -- opening, following other writers ---------------------------------------------------

    def _damaged(self, exc: Exception) -> IndexDamaged:
        return IndexDamaged(
            f"the index catalog {self.catalog_path} is damaged ({exc}): "
            "run `whitepaper doctor --repair`"
        )

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

    # -- chroma ------------------------------------------------------------------------------

    def check_store(self) -> int:
        """Open the vector store now (``IndexDamaged`` if it cannot be); its chunk count."""
        self._sync()
        return int(self.collection.count())

    @property
    def collection(self) -> Any:
        """The Chroma collection: opened on first use; created only by a writer."""
        with self._lock:
            if self._collection is None:
                self._collection = self._open_collection(create=self.write_lock.held)
        return self._collection

    def _open_collection(self, create: bool) -> Any:
        name = self.collection_name
        where = self.settings.chroma_url or str(self.chroma_dir / "chroma.sqlite3")
        try:
            self._client = open_chroma_client(self.settings, self.chroma_dir)
            function = _ChromaEmbeddingFunction(self.embeddings)
            if create:
                collection = self._client.get_or_create_collection(
                    name=name,
                    embedding_function=function,
                    metadata={"hnsw:space": "cosine", "embedding": self.embedding},
                )
            else:
                collection = self._client.get_collection(name=name, embedding_function=function)
        except ModelUnavailable:
            raise
        except Exception as exc:
            if self.settings.chroma_url and "does not exist" not in str(exc):
                raise ModelUnavailable(
                    f"the Chroma server at {self.settings.chroma_url} failed: {exc}"
                ) from exc
            raise IndexDamaged(
                f"the vector store {where} is damaged or missing the collection {name!r} "
                f"({type(exc).__name__}: {exc}): run `whitepaper doctor --repair`"
            ) from exc
        built_with = (collection.metadata or {}).get("embedding")
        if self._expect_embedding and built_with and built_with != self.embedding:
            raise EmbeddingMismatch(
                f"the Chroma collection {name!r} was built with {built_with!r}, but "
                f"{self.embedding!r} is configured: run `whitepaper ingest --rebuild`"
            )
        return collection

    def _active_filter(self, doc_id: str | None = None) -> dict[str, Any] | None:
        if doc_id is None:
            return _hash_filter(self.active_hashes())
        record = self.document(doc_id)
        return _hash_filter([record.content_hash] if record else [])

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), _WRITE_BATCH):
            got = self.collection.get(ids=list(ids[i : i + _WRITE_BATCH]), include=[])
            found.update(got["ids"])
        return found

    def write_chunks(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        self._require_lock("writing chunks")
        for i in range(0, len(chunks), _WRITE_BATCH):
            batch = chunks[i : i + _WRITE_BATCH]
            self.collection.upsert(
                ids=[c.id for c in batch],
                documents=[c.text for c in batch],
                metadatas=[c.to_metadata() for c in batch],
                embeddings=[list(v) for v in vectors[i : i + _WRITE_BATCH]],
            )

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

    def collect_garbage(self) -> int:
        """Delete chunks and pages of versions the catalog no longer names. Returns chunks gone.

        Runs only under the write lock, so no other writer is storing chunks of a version it
        has not switched to yet: what the catalog does not name is a version a committed
        switch (or removal) replaced, or one a killed writer left unfinished."""
        self._require_lock("garbage collection")
        active = self.active_hashes()
        # Only the stale chunks' ids are read (Chroma applies the filter), a page at a time;
        # each page is deleted before the next is asked for, so no offset is needed.
        stale = {META_CONTENT_HASH: {"$nin": active}} if active else None
        removed = 0
        while ids := self.collection.get(where=stale, include=[], limit=_READ_BATCH)["ids"]:
            self.collection.delete(ids=ids)
            removed += len(ids)
        marks = ",".join("?" * len(active))
        orphan_pages = self._rows(
            f"SELECT count(*) FROM pages WHERE content_hash NOT IN ({marks})", tuple(active)
        )[0][0]
        if orphan_pages:
            with self._transaction() as db:
                db.execute(f"DELETE FROM pages WHERE content_hash NOT IN ({marks})", tuple(active))
        return removed

    def chunks(self, doc_id: str | None = None) -> list[Chunk]:
        """Every stored chunk of the active versions, in document and chunk order."""
        self._sync()
        where = self._active_filter(doc_id)
        if where is None:
            return []
        out = [
            Chunk.from_metadata(i, d, m)
            for got in self._pages(where, ["documents", "metadatas"])
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        out.sort(key=lambda c: (c.doc_id, c.index))
        return out

    def _pages(self, where: dict[str, Any] | None, include: list[str]) -> Iterator[Any]:
        """Chroma ``get`` results for ``where``, ``_READ_BATCH`` rows at a time."""
        offset = 0
        while True:
            got = self.collection.get(
                where=where, include=include, limit=_READ_BATCH, offset=offset
            )
            if not got["ids"]:
                return
            yield got
            offset += len(got["ids"])

    def chunk_ids(self, doc_id: str) -> frozenset[str]:
        """The ids of a document's active chunks (empty if the index has no such document).

        Read from Chroma (ids only, through a ``where`` on the version's metadata) once per
        document version and catalog generation, then kept: a query restricted to one
        document does not read its chunks again."""
        self._sync()
        record = self.document(doc_id)
        if record is None:
            return frozenset()
        key = f"{self.folder}|{self._generation}"
        with self._lock:
            if self._chunk_ids[0] != key:
                self._chunk_ids = (key, {})
            cached = self._chunk_ids[1].get(record.content_hash)
        if cached is None:
            where = _hash_filter([record.content_hash])
            cached = frozenset(i for got in self._pages(where, []) for i in got["ids"])
            with self._lock:
                if self._chunk_ids[0] == key:
                    self._chunk_ids[1][record.content_hash] = cached
        return cached

    def _ordered_ids(self) -> list[str]:
        """The active chunks' ids in ``chunks()`` order (document, then chunk index)."""
        where = self._active_filter()
        if where is None:
            return []
        keyed = [
            (str(m[META_DOC_ID]), int(m[META_INDEX]), i)
            for got in self._pages(where, ["metadatas"])
            for i, m in zip(got["ids"], got["metadatas"], strict=True)
        ]
        keyed.sort(key=lambda k: k[:2])
        return [i for _, _, i in keyed]

    def _texts(self, ids: Sequence[str]) -> Iterator[str]:
        """The text of each chunk of ``ids``, in that order, read ``_READ_BATCH`` at a time."""
        for start in range(0, len(ids), _READ_BATCH):
            part = list(ids[start : start + _READ_BATCH])
            got = self.collection.get(ids=part, include=["documents"])
            texts = dict(zip(got["ids"], got["documents"], strict=True))
            # A chunk deleted since its id was read (a concurrent removal) indexes as empty.
            yield from (texts.get(i, "") for i in part)

    def get_chunks(self, ids: Iterable[str]) -> dict[str, Chunk]:
        self._sync()
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        got = self.collection.get(ids=wanted, include=["documents", "metadatas"])
        active = set(self.active_hashes())
        return {
            i: Chunk.from_metadata(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            if m[META_CONTENT_HASH] in active
        }

    def dense_search(
        self, vector: Sequence[float], k: int, doc_id: str | None = None
    ) -> list[DenseHit]:
        self._sync()
        include = ["documents", "metadatas", "distances"]
        if doc_id is None:
            # Usually every stored chunk is active, and the unfiltered query is the filtered
            # one without Chroma testing the filter on every chunk (at 37 documents, 2 ms
            # instead of 29). A hit of an inactive version (mid-ingest, before garbage
            # collection) falls back to the filtered query.
            active = self.active_hashes()
            where = _hash_filter(active)
            if where is None:
                return []
            got = self.collection.query(
                query_embeddings=[list(vector)], n_results=k, include=include
            )
            known = set(active)
            if all(m[META_CONTENT_HASH] in known for m in got["metadatas"][0]):
                where = None
        else:
            where = self._active_filter(doc_id)
            if where is None:
                return []
        if where is not None:
            got = self.collection.query(
                query_embeddings=[list(vector)], n_results=k, where=where, include=include
            )
        return [
            DenseHit(Chunk.from_metadata(i, d, m), 1.0 - float(dist))
            for i, d, m, dist in zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
        ]

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


def _not_found(home: Path) -> IndexNotFound:
    return IndexNotFound(
        f"no index under {home}: run `whitepaper ingest` first (or set WHITEPAPER_HOME)"
    )


def _hash_filter(hashes: Sequence[str]) -> dict[str, Any] | None:
    """A Chroma ``where`` matching chunks of these document versions (None: no versions)."""
    if not hashes:
        return None
    if len(hashes) == 1:
        return {META_CONTENT_HASH: hashes[0]}
    return {META_CONTENT_HASH: {"$in": list(hashes)}}
