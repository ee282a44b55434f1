"""The index: chunks and vectors in Chroma, the document catalog in SQLite, BM25 beside them.

Crash safety comes from versioned chunk ids. A document version's chunks are written to
Chroma under ids derived from its content hash while the catalog still points at the old
version; one SQLite transaction then switches the catalog, and only after that are the old
chunks deleted. Every read filters on the content hashes the catalog names, so a reader sees
the old version or the new one, never a mix; a killed run is finished by the next one,
which finds the chunks already written and embeds only the missing ones.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from langchain_core.embeddings import Embeddings

from ingest.bm25 import Bm25Index
from ingest.embeddings import embedding_name
from ingest.errors import (
    DocumentNotFound,
    EmbeddingMismatch,
    IndexNotFound,
    IndexOutdated,
    ModelUnavailable,
)
from ingest.model import META_CONTENT_HASH, META_DOC_ID, META_INDEX, Chunk, CleanDocument
from ingest.settings import Settings

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
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
_WRITE_BATCH = 256
#: The BM25 file of indexes built before the ``.npz`` format (rebuilt, then deleted).
_LEGACY_BM25 = "bm25.json"
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


def open_chroma_client(settings: Settings) -> Any:
    """An embedded ``PersistentClient`` under the home, or an ``HttpClient`` when configured."""
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
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


class Index:
    """Read and write access to one index (catalog + Chroma collection + BM25 file)."""

    def __init__(self, settings: Settings, embeddings: Embeddings, *, create: bool = False) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.embedding = embedding_name(embeddings)
        home = settings.home
        if not create and not settings.catalog_path.exists():
            raise IndexNotFound(
                f"no index under {home}: run `whitepaper ingest` first (or set WHITEPAPER_HOME)"
            )
        home.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(settings.catalog_path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._add_page_columns()
        self._lock = threading.RLock()
        self._page_spans: dict[str, dict[int, tuple[int, int]]] = {}
        self._check_embedding(create)
        self._client: Any = None
        self._collection: Any = None
        self._bm25: Bm25Index | None = None
        self._bm25_fingerprint = ""

    # -- catalog -----------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _add_page_columns(self) -> None:
        have = {row[1] for row in self._db.execute("PRAGMA table_info(pages)")}
        with self._db:
            for column in _PAGE_COLUMNS_ADDED:
                if column.split()[0] not in have:
                    self._db.execute(f"ALTER TABLE pages ADD COLUMN {column}")

    def _check_embedding(self, create: bool) -> None:
        built_with = self._meta("embedding")
        if built_with is None:
            if create:
                with self._db:
                    self._db.execute(
                        "INSERT OR REPLACE INTO meta VALUES('embedding', ?)", (self.embedding,)
                    )
            return
        if built_with != self.embedding:
            raise EmbeddingMismatch(
                f"the index under {self.settings.home} was built with embedding {built_with!r}, "
                f"but {self.embedding!r} is configured: run `whitepaper ingest --rebuild` to "
                "re-ingest with it, or set WHITEPAPER_EMBEDDING back"
            )

    def documents(self) -> list[DocumentRecord]:
        rows = self._db.execute(
            "SELECT doc_id, title, source_file, content_hash, n_pages, n_chunks, page_labels, "
            "ingested_at FROM documents ORDER BY doc_id"
        ).fetchall()
        return [
            DocumentRecord(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), r[7])
            for r in rows
        ]

    def document(self, doc_id: str) -> DocumentRecord | None:
        return next((d for d in self.documents() if d.doc_id == doc_id), None)

    def active_hashes(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT content_hash FROM documents").fetchall()]

    def page_text(self, content_hash: str, page_index: int) -> tuple[str, str, list[str]] | None:
        """(label, cleaned text, footnotes) of one page of a stored document version."""
        row = self._db.execute(
            "SELECT label, text, footnotes FROM pages WHERE content_hash=? AND page_index=?",
            (content_hash, page_index),
        ).fetchone()
        return (row[0], row[1], json.loads(row[2])) if row else None

    def page_spans(self, content_hash: str) -> dict[int, tuple[int, int]]:
        """Where each page of a stored document version lies in its text: index -> (start, end).

        A version never changes, so its spans are read once."""
        with self._lock:
            cached = self._page_spans.get(content_hash)
        if cached is not None:
            return cached
        rows = self._db.execute(
            "SELECT page_index, char_start, char_end FROM pages WHERE content_hash=?",
            (content_hash,),
        ).fetchall()
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

    @property
    def collection(self) -> Any:
        with self._lock:
            if self._collection is None:
                self._client = open_chroma_client(self.settings)
                self._collection = self._client.get_or_create_collection(
                    name=self.settings.collection,
                    embedding_function=_ChromaEmbeddingFunction(self.embeddings),
                    metadata={"hnsw:space": "cosine", "embedding": self.embedding},
                )
                built_with = (self._collection.metadata or {}).get("embedding")
                if built_with and built_with != self.embedding:
                    raise EmbeddingMismatch(
                        f"the Chroma collection {self.settings.collection!r} was built with "
                        f"{built_with!r}, but {self.embedding!r} is configured: run "
                        "`whitepaper ingest --rebuild`"
                    )
        return self._collection

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
        with self._db:
            self._db.executemany(
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
            self._db.execute(
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

    def remove(self, doc_id: str) -> DocumentRecord:
        record = self.document(doc_id)
        if record is None:
            known = ", ".join(d.doc_id for d in self.documents()) or "none"
            raise DocumentNotFound(f"no document {doc_id!r} in the index (documents: {known})")
        with self._db:
            self._db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
        self.collect_garbage()
        self.refresh_bm25()
        return record

    def collect_garbage(self) -> int:
        """Delete chunks and pages of versions the catalog no longer names. Returns chunks gone."""
        active = self.active_hashes()
        # Only the stale chunks' ids are read (Chroma applies the filter), a page at a time;
        # each page is deleted before the next is asked for, so no offset is needed.
        stale = {META_CONTENT_HASH: {"$nin": active}} if active else None
        removed = 0
        while ids := self.collection.get(where=stale, include=[], limit=_READ_BATCH)["ids"]:
            self.collection.delete(ids=ids)
            removed += len(ids)
        with self._db:
            if active:
                marks = ",".join("?" * len(active))
                self._db.execute(
                    f"DELETE FROM pages WHERE content_hash NOT IN ({marks})", tuple(active)
                )
            else:
                self._db.execute("DELETE FROM pages")
        return removed

    def chunks(self, doc_id: str | None = None) -> list[Chunk]:
        """Every stored chunk of the active versions, in document and chunk order."""
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

    @property
    def bm25_path(self) -> Path:
        return self.settings.home / "bm25.npz"

    def _fingerprint(self) -> str:
        hashes = sorted(self.active_hashes())
        return hashlib.sha1("|".join(hashes).encode()).hexdigest()

    def refresh_bm25(self) -> Bm25Index:
        """Rebuild the BM25 file from the active chunks and keep it in memory.

        The chunks' texts are read and tokenised a page at a time, never all at once."""
        ids = self._ordered_ids()
        index = Bm25Index.build(ids, self._texts(ids))
        fingerprint = self._fingerprint()
        index.save(self.bm25_path, fingerprint)
        (self.settings.home / _LEGACY_BM25).unlink(missing_ok=True)
        with self._lock:
            self._bm25, self._bm25_fingerprint = index, fingerprint
        return index

    def bm25(self) -> Bm25Index:
        """The BM25 index of the active chunks: from memory, the file, or rebuilt if stale."""
        fingerprint = self._fingerprint()
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
        self._db.close()


def _hash_filter(hashes: Sequence[str]) -> dict[str, Any] | None:
    """A Chroma ``where`` matching chunks of these document versions (None: no versions)."""
    if not hashes:
        return None
    if len(hashes) == 1:
        return {META_CONTENT_HASH: hashes[0]}
    return {META_CONTENT_HASH: {"$in": list(hashes)}}
