"""The Chroma side of an index: the client, the collection of chunks and vectors, paged reads,
dense search and garbage collection of chunks the catalog no longer names."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from langchain_core.embeddings import Embeddings

from ingest.catalog import Catalog
from ingest.embeddings import embedding_name
from ingest.errors import (
    EmbeddingMismatch,
    IndexDamaged,
    ModelUnavailable,
)
from ingest.model import META_CONTENT_HASH, META_DOC_ID, META_INDEX, Chunk
from ingest.settings import IndexSettings

log = logging.getLogger(__name__)

_WRITE_BATCH = 256
# Rows per Chroma read. Chroma's native side takes memory in proportion to the rows one call
# returns (about 25 KB a row with metadata, kept by the allocator afterwards; 120 MiB for one
# read of 4,653 chunks): pages this small keep an ingest's peak memory from growing with the
# index, for about 0.2 s more per full scan of 4,653 chunks.
_READ_BATCH = 256


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


class ChromaStore(Catalog):
    """Chunk and vector access of one index, filtered by the versions its catalog names."""

    embeddings: Embeddings
    _expect_embedding: bool
    _client: Any
    _collection: Any

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


def _hash_filter(hashes: Sequence[str]) -> dict[str, Any] | None:
    """A Chroma ``where`` matching chunks of these document versions (None: no versions)."""
    if not hashes:
        return None
    if len(hashes) == 1:
        return {META_CONTENT_HASH: hashes[0]}
    return {META_CONTENT_HASH: {"$in": list(hashes)}}
