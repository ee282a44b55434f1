"""Check an index for damage and repair it without losing a document.

The checks: the catalog (SQLite's integrity check, its tables, the embedding it records), the
vector store against the catalog (the store opens, was built with the catalog's embedding
model, holds every chunk of every active version, and nothing else), and the BM25 file (present
and of the active chunks). The repairs, in order: a damaged catalog is restored from
``catalog.backup.sqlite`` (taken after every committed write) or, without a usable backup,
rebuilt from the store's chunk metadata; a damaged or incomplete store is rebuilt beside the
live index from the documents' files or the catalog's pages (``ingest.rebuild``); stray chunks
are collected; the BM25 file is rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ingest import home as home_layout
from ingest.bm25 import Bm25Index
from ingest.catalog import _SCHEMA
from ingest.embeddings import embedding_name
from ingest.errors import IndexDamaged, IndexNotFound
from ingest.index import Index
from ingest.model import META_CONTENT_HASH, Chunk
from ingest.settings import IndexSettings
from ingest.store import _ChromaEmbeddingFunction, open_chroma_client

log = logging.getLogger(__name__)
_PAGE = 1000


@dataclass(frozen=True)
class Finding:
    """One problem: which part (``catalog``, ``store``, ``bm25``), the file, what is wrong."""

    part: str
    file: str
    problem: str


@dataclass
class DoctorReport:
    """What the checks found and, after ``--repair``, what was done and what is left."""

    home: str
    folder: str
    documents: int = 0
    chunks: int = 0
    findings: list[Finding] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not (self.remaining if self.repairs else self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "home": self.home,
            "folder": self.folder,
            "healthy": self.healthy,
            "documents": self.documents,
            "chunks": self.chunks,
            "findings": [f.__dict__ for f in self.findings],
            "repairs": self.repairs,
            "remaining": [f.__dict__ for f in self.remaining],
        }


def examine(settings: IndexSettings, embeddings: Embeddings) -> DoctorReport:
    """Check the live index of ``settings.home``; change nothing."""
    home = settings.home
    folder = home_layout.live_folder(home)
    report = DoctorReport(str(home), str(folder))
    catalog = folder / home_layout.CATALOG
    if not catalog.exists():
        raise IndexNotFound(f"no index under {home}: run `whitepaper ingest` first")
    problem = catalog_problem(catalog)
    if problem:
        report.findings.append(Finding("catalog", str(catalog), problem))
        store = folder / home_layout.CHROMA / "chroma.sqlite3"
        try:
            _open_store(settings, folder, settings.collection, embeddings)
        except Exception as exc:
            report.findings.append(Finding("store", str(store), _short(exc)))
        return report
    index = Index(settings, embeddings, expect_embedding=False)
    try:
        _check_store(index, embeddings, report)
    finally:
        index.close()
    return report


def catalog_problem(path: Path) -> str | None:
    """What is wrong with a catalog file (None: it reads whole and has its tables)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = db.execute("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            return "integrity check: " + "; ".join(str(r[0]) for r in rows[:3])
        db.execute("SELECT count(*) FROM documents").fetchone()
        db.execute("SELECT count(*) FROM pages").fetchone()
        if db.execute("SELECT value FROM meta WHERE key='embedding'").fetchone() is None:
            return "no embedding recorded in the catalog"
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        db.close()
    return None


def _open_store(settings: IndexSettings, folder: Path, name: str, embeddings: Embeddings) -> Any:
    client = open_chroma_client(settings, folder / home_layout.CHROMA)
    return client.get_collection(name=name, embedding_function=_ChromaEmbeddingFunction(embeddings))


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:240]


def _check_store(index: Index, embeddings: Embeddings, report: DoctorReport) -> None:
    store = index.settings.chroma_url or str(index.chroma_dir / "chroma.sqlite3")
    documents = index.documents()
    report.documents = len(documents)
    built_with = index.meta("embedding")
    if built_with != embedding_name(embeddings):
        report.findings.append(
            Finding(
                "catalog",
                str(index.catalog_path),
                f"built with embedding {built_with!r}, {embedding_name(embeddings)!r} is "
                "configured (`whitepaper ingest --rebuild` re-embeds every document)",
            )
        )
    try:
        collection = _open_store(index.settings, index.folder, index.collection_name, embeddings)
        counts: dict[str, int] = defaultdict(int)
        offset = 0
        while ids := (got := collection.get(include=["metadatas"], limit=_PAGE, offset=offset))[
            "ids"
        ]:
            for meta in got["metadatas"]:
                counts[str(meta.get(META_CONTENT_HASH))] += 1
            offset += len(ids)
        store_embedding = (collection.metadata or {}).get("embedding")
    except Exception as exc:
        report.findings.append(Finding("store", store, _short(exc)))
        return
    if store_embedding and store_embedding != built_with:
        report.findings.append(
            Finding(
                "store",
                store,
                f"vectors of embedding {store_embedding!r}, the catalog says {built_with!r}",
            )
        )
    active = {d.content_hash for d in documents}
    for doc in documents:
        have = counts.get(doc.content_hash, 0)
        report.chunks += have
        if have != doc.n_chunks:
            report.findings.append(
                Finding("store", store, f"{doc.doc_id}: {have} of its {doc.n_chunks} chunks stored")
            )
    orphans = sum(n for h, n in counts.items() if h not in active)
    if orphans:
        report.findings.append(
            Finding("store", store, f"{orphans} chunks of no catalogued document version")
        )
    loaded = Bm25Index.load(index.bm25_path)
    if loaded is None:
        report.findings.append(Finding("bm25", str(index.bm25_path), "missing or unreadable"))
    elif loaded[1] != index.fingerprint() or len(loaded[0]) != report.chunks:
        report.findings.append(
            Finding("bm25", str(index.bm25_path), "not of the active chunks (stale)")
        )


def repair(settings: IndexSettings, embeddings: Embeddings, *, wait: bool = True) -> DoctorReport:
    """Check, fix what was found (holding the write lock), and check again."""
    from ingest.rebuild import rebuild

    report = examine(settings, embeddings)
    if not report.findings:
        return report
    lock = home_layout.WriteLock(settings.home)
    lock.acquire(wait)
    try:
        folder = home_layout.live_folder(settings.home)
        if catalog_problem(folder / home_layout.CATALOG):
            report.repairs.append(_restore_catalog(settings, embeddings, folder))
        after = examine(settings, embeddings)
        store_problems = [f for f in after.findings if f.part != "bm25"]
        if any("chunks of no catalogued" not in f.problem for f in store_problems):
            done = rebuild(settings, embeddings, lock=lock, same_versions=True)
            sources = ", ".join(f"{d.doc_id} from its {d.source}" for d in done.documents)
            report.repairs.append(
                f"rebuilt the store beside the index and switched to it ({sources or 'empty'})"
            )
        elif after.findings:
            index = Index(settings, embeddings, lock=lock, expect_embedding=False)
            try:
                with index.writing():
                    gone = index.collect_garbage()
                    index.refresh_bm25()
                    index.backup_catalog()
            finally:
                index.close()
            report.repairs.append(f"deleted {gone} stray chunks; rebuilt the BM25 file")
    finally:
        lock.release()
    final = examine(settings, embeddings)
    report.remaining, report.documents, report.chunks = (
        final.findings,
        final.documents,
        final.chunks,
    )
    report.folder = final.folder
    return report


def _restore_catalog(settings: IndexSettings, embeddings: Embeddings, folder: Path) -> str:
    """Replace a damaged catalog: from its backup, else from the store's chunk metadata."""
    catalog = folder / home_layout.CATALOG
    backup = folder / home_layout.CATALOG_BACKUP
    tmp = folder / f"{home_layout.CATALOG}.repair"
    tmp.unlink(missing_ok=True)
    if backup.exists() and catalog_problem(backup) is None:
        source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        how = f"restored the catalog from {backup.name}"
    else:
        try:
            collection = _open_store(settings, folder, settings.collection, embeddings)
            chunks = _stored_chunks(collection)
            store_embedding = (collection.metadata or {}).get("embedding")
        except Exception as exc:
            raise IndexDamaged(
                f"cannot repair {catalog}: no usable backup and the store cannot be read "
                f"({_short(exc)}); re-ingest your documents with `whitepaper ingest --rebuild "
                "FILES`"
            ) from exc
        _catalog_from_chunks(tmp, chunks, store_embedding or embedding_name(embeddings))
        how = f"rebuilt the catalog from the {len(chunks)} chunks in the store"
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{catalog}{suffix}").unlink(missing_ok=True)
    damaged = catalog.with_name(f"{home_layout.CATALOG}.damaged")
    if catalog.exists():
        os.replace(catalog, damaged)
    os.replace(tmp, catalog)
    log.info("%s (the damaged file is kept as %s)", how, damaged.name)
    return f"{how}; the damaged file is kept as {damaged}"


def _stored_chunks(collection: Any) -> list[Chunk]:
    out: list[Chunk] = []
    offset = 0
    while True:
        got = collection.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
        if not got["ids"]:
            return out
        out += [
            Chunk.from_metadata(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        offset += len(got["ids"])


def _catalog_from_chunks(path: Path, chunks: list[Chunk], embedding: str) -> None:
    """A catalog of the documents the store holds: for each, its most complete version; the
    page text is the chunks' text on their first page (the best the store knows)."""
    versions: dict[str, dict[str, list[Chunk]]] = defaultdict(lambda: defaultdict(list))
    for c in chunks:
        versions[c.doc_id][c.content_hash].append(c)
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA)
    with db:
        db.executemany(
            "INSERT OR REPLACE INTO meta VALUES(?, ?)",
            [("embedding", embedding), ("generation", "1")],
        )
        for doc_id, by_hash in versions.items():
            content_hash, mine = max(by_hash.items(), key=lambda kv: len(kv[1]))
            mine.sort(key=lambda c: c.index)
            pages: dict[int, tuple[str, list[str], list[str]]] = {}
            spans: dict[int, tuple[int, int]] = {}
            for c in mine:
                first = c.page_indices[0] if c.page_indices else 0
                for i, label in zip(c.page_indices, c.page_labels, strict=False):
                    pages.setdefault(i, (label, [], []))
                label, texts, notes = pages.setdefault(first, (c.page_labels[0], [], []))
                texts.append(c.text)
                notes.extend(n for n in c.footnotes if n not in notes)
                # A page's span is where its chunks lie in the document (approximate: the
                # text between chunks, such as stripped headers, is gone).
                start, end = spans.get(first, (c.start, c.end))
                spans[first] = (min(start, c.start), max(end, c.end))
            previous_end = 0
            rows = []
            for i, (label, texts, notes) in sorted(pages.items()):
                start, end = spans.get(i, (previous_end, previous_end))
                previous_end = end
                rows.append(
                    (
                        content_hash,
                        i,
                        label,
                        "\n".join(texts),
                        json.dumps(notes, ensure_ascii=False),
                        start,
                        end,
                    )
                )
            db.executemany(
                "INSERT OR REPLACE INTO pages(content_hash, page_index, label, text, footnotes, "
                "char_start, char_end) VALUES(?,?,?,?,?,?,?)",
                rows,
            )
            labels = [pages[i][0] for i in sorted(pages)]
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES(?,?,?,?,?,?,?,?)",
                (
                    doc_id,
                    mine[0].title,
                    mine[0].source_file,
                    content_hash,
                    len(pages),
                    len(mine),
                    json.dumps(labels, ensure_ascii=False),
                    0.0,
                ),
            )
    db.close()
