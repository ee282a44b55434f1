"""The index in-process (embedded Chroma, SQLite catalog, BM25) with the hashing embedder:
idempotent re-ingest, replacement, removal, embedding mismatch and the active-version filter."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pdf_factory as pf
import pytest

from ingest.bm25 import Bm25Index
from ingest.chunker import Chunker
from ingest.embeddings import HashingEmbeddings, make_embeddings
from ingest.errors import DocumentNotFound, EmbeddingMismatch, IndexNotFound, IndexOutdated
from ingest.index import Index
from ingest.loaders import inspect
from ingest.pipeline import Ingestor, version_hash
from ingest.settings import BUNDLED_PDF
from ui.settings import Settings


def open_index(settings: Settings) -> Index:
    return Index(settings, make_embeddings(settings.embedding), create=True)


def ingest(settings: Settings, *paths: Path):
    index = open_index(settings)
    try:
        return Ingestor(settings, index.embeddings, index).ingest(list(paths))
    finally:
        index.close()


def chunk_ids(settings: Settings, doc_id: str | None = None) -> list[str]:
    index = open_index(settings)
    try:
        return [c.id for c in index.chunks(doc_id)]
    finally:
        index.close()


def expected_ids(settings: Settings, path: Path) -> list[str]:
    """The chunk ids a version of a file must get (read, clean and chunk; no index)."""
    scratch = settings.model_copy(update={"home": settings.home.parent / "scratch"})
    ingestor = Ingestor(scratch, HashingEmbeddings())
    doc = ingestor.read(ingestor.source(path))
    return [c.id for c in Chunker(settings.chunk_target, settings.chunk_max).chunk(doc)]


def version(settings: Settings, path: Path) -> str:
    """The content hash a version of a file gets in the index."""
    return version_hash(inspect(path).content_hash, settings)


def two_versions(folder: Path) -> tuple[Path, Path]:
    """Two different versions of one document: ``v1/report.pdf`` and ``v2/report.pdf``."""
    v1 = pf.make_cjk_pdf(
        folder / "v1" / "report.pdf",
        [pf.aigc_lines(12, k) for k in range(4)],
        header="季度报告",
        footer_numbers=True,
    )
    v2 = pf.make_cjk_pdf(
        folder / "v2" / "report.pdf",
        [[f"第 {k + 1} 章修订：新增内容。", *pf.aigc_lines(12, k + 3)] for k in range(5)],
        header="季度报告",
        footer_numbers=True,
    )
    return v1, v2


@pytest.fixture
def doc_path(tmp_path: Path) -> Path:
    """The file the user ingests; tests copy versions over it."""
    (tmp_path / "docs").mkdir()
    return tmp_path / "docs" / "report.pdf"


def test_the_bundled_pdf_ingests_and_a_second_run_embeds_nothing(hash_settings):
    first = ingest(hash_settings, BUNDLED_PDF).to_json()
    assert (first["new"], first["pages"], first["chunks"]) == (1, 55, 126)
    assert first["embedded"] == 126

    again = ingest(hash_settings, BUNDLED_PDF).to_json()
    assert (again["unchanged"], again["new"], again["embedded"]) == (1, 0, 0)
    ids = chunk_ids(hash_settings)
    assert ids == expected_ids(hash_settings, BUNDLED_PDF)
    assert len(ids) == len(set(ids)) == 126


def test_a_changed_file_replaces_its_chunks(hash_settings, tmp_path, doc_path):
    v1, v2 = two_versions(tmp_path)
    shutil.copy(v1, doc_path)
    ingest(hash_settings, doc_path)
    old = chunk_ids(hash_settings)
    assert old == expected_ids(hash_settings, v1)

    shutil.copy(v2, doc_path)
    report = ingest(hash_settings, doc_path).to_json()
    assert report["replaced"] == 1
    new = chunk_ids(hash_settings)
    assert new == expected_ids(hash_settings, v2)
    assert not set(old) & set(new)

    index = open_index(hash_settings)
    assert index.chunk_ids("report.pdf") == set(new)
    assert index.collection.count() == len(new), "the old version's chunks are deleted"
    assert [d.content_hash for d in index.documents()] == [version(hash_settings, v2)]
    assert index.page_text(version(hash_settings, v1), 0) is None
    assert set(index.bm25().ids) == set(new)


def test_unchanged_files_are_skipped_before_reading(hash_settings, tmp_path, monkeypatch):
    path = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(10)], footer_numbers=True)
    ingest(hash_settings, path)

    def no_reading(*args, **kwargs):
        raise AssertionError("an unchanged file was read again")

    monkeypatch.setattr(Ingestor, "read", no_reading)
    assert ingest(hash_settings, path).to_json()["unchanged"] == 1


def test_remove_deletes_a_document_and_only_it(hash_settings, tmp_path):
    a = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(10)], footer_numbers=True)
    b = pf.make_cjk_pdf(tmp_path / "b.pdf", [pf.aigc_lines(10, 4)], footer_numbers=True)
    ingest(hash_settings, a, b)
    kept = chunk_ids(hash_settings, "b.pdf")

    index = open_index(hash_settings)
    record = index.remove("a.pdf")
    assert record.doc_id == "a.pdf"
    assert [d.doc_id for d in index.documents()] == ["b.pdf"]
    assert [c.id for c in index.chunks()] == kept
    assert index.collection.count() == len(kept)
    assert set(index.bm25().ids) == set(kept)
    with pytest.raises(DocumentNotFound, match=r"no document 'a\.pdf'.*documents: b\.pdf"):
        index.remove("a.pdf")


def test_chunk_ids_of_a_document_follow_its_replacement(hash_settings, tmp_path, doc_path):
    v1, v2 = two_versions(tmp_path)
    shutil.copy(v1, doc_path)
    index = open_index(hash_settings)
    try:
        Ingestor(hash_settings, index.embeddings, index).ingest([doc_path])
        assert index.chunk_ids("report.pdf") == set(expected_ids(hash_settings, v1))
        shutil.copy(v2, doc_path)
        Ingestor(hash_settings, index.embeddings, index).ingest([doc_path])
        assert index.chunk_ids("report.pdf") == set(expected_ids(hash_settings, v2))
        index.remove("report.pdf")
        assert index.chunk_ids("report.pdf") == frozenset()
    finally:
        index.close()


def test_reads_see_only_the_active_version(hash_settings, tmp_path, doc_path):
    """Chunks of a version written but not switched to (a killed run) are invisible."""
    v1, v2 = two_versions(tmp_path)
    shutil.copy(v1, doc_path)
    ingest(hash_settings, doc_path)
    old = chunk_ids(hash_settings)

    shutil.copy(v2, doc_path)
    index = open_index(hash_settings)
    ingestor = Ingestor(hash_settings, index.embeddings, index)
    half = ingestor.chunker.chunk(ingestor.read(ingestor.source(doc_path)))[:3]
    with index.writing():
        ingestor._store(half)  # written, catalog not switched

    assert [c.id for c in index.chunks()] == old
    assert set(index.get_chunks([c.id for c in half])) == set()
    vector = index.embeddings.embed_query(half[0].text)
    assert {hit.chunk.id for hit in index.dense_search(vector, k=50)} <= set(old)
    assert set(index.bm25().ids) == set(old)

    # The next run finds the three chunks already stored and embeds only the rest.
    report = Ingestor(hash_settings, index.embeddings, index).ingest([doc_path]).to_json()
    assert report["files"][0]["embedded"] == report["chunks"] - 3
    assert [c.id for c in index.chunks()] == expected_ids(hash_settings, v2)


def test_the_next_run_collects_garbage_a_killed_switch_left(hash_settings, tmp_path, doc_path):
    """Killed after the catalog switch, before the old chunks were deleted: the next run
    finds the file unchanged and still deletes them."""
    v1, v2 = two_versions(tmp_path)
    shutil.copy(v1, doc_path)
    ingest(hash_settings, doc_path)
    old_count = len(chunk_ids(hash_settings))

    shutil.copy(v2, doc_path)
    index = open_index(hash_settings)
    ingestor = Ingestor(hash_settings, index.embeddings, index)
    doc = ingestor.read(ingestor.source(doc_path))
    chunks = ingestor.chunker.chunk(doc)
    with index.writing():
        ingestor._store(chunks)
        index.activate(doc, chunks)  # ... and the process dies here
    assert index.collection.count() == old_count + len(chunks)
    assert [c.id for c in index.chunks()] == [c.id for c in chunks]

    report = Ingestor(hash_settings, index.embeddings, index).ingest([doc_path]).to_json()
    assert report["unchanged"] == 1
    assert index.collection.count() == len(chunks)
    assert set(index.bm25().ids) == {c.id for c in chunks}


def test_an_index_built_with_another_embedding_says_to_re_ingest(hash_settings, tmp_path):
    path = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(10)], footer_numbers=True)
    ingest(hash_settings, path)
    other = hash_settings.model_copy(update={"embedding": "hash:32"})
    for create in (False, True):
        with pytest.raises(EmbeddingMismatch, match=r"'hash:64'.*'hash:32'.*ingest --rebuild"):
            Index(other, make_embeddings(other.embedding), create=create)


def test_pages_keep_their_character_spans_in_the_document(hash_settings, tmp_path):
    path = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(10), pf.aigc_lines(8, 3)])
    ingest(hash_settings, path)
    index = open_index(hash_settings)
    (record,) = index.documents()
    spans = index.page_spans(record.content_hash)
    assert sorted(spans) == [0, 1] and spans[0][1] <= spans[1][0]
    chunks = index.chunks()
    for page_index, (start, end) in spans.items():
        page = index.page_text(record.content_hash, page_index)
        assert page is not None and len(page[1]) == end - start
        for chunk in chunks:  # a chunk's text and the page's text agree where they overlap
            a, b = max(start, chunk.start), min(end, chunk.end)
            if a < b:
                assert (
                    page[1][a - start : b - start] == chunk.text[a - chunk.start : b - chunk.start]
                )


def test_a_catalog_without_page_spans_gets_the_columns_and_says_to_re_ingest(
    hash_settings, tmp_path
):
    import sqlite3

    path = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(10)])
    ingest(hash_settings, path)
    index = open_index(hash_settings)
    (record,) = index.documents()
    catalog = index.catalog_path
    index.close()
    with sqlite3.connect(catalog) as db:  # the pages table of version 1
        db.execute("ALTER TABLE pages DROP COLUMN char_start")
        db.execute("ALTER TABLE pages DROP COLUMN char_end")
    with pytest.raises(IndexOutdated, match="run `whitepaper ingest` to update it"):
        open_index(hash_settings).page_spans(record.content_hash)


def test_reading_a_missing_index_says_to_ingest_first(hash_settings):
    with pytest.raises(IndexNotFound, match="run `whitepaper ingest` first"):
        Index(hash_settings, HashingEmbeddings())
    assert not hash_settings.home.exists()


def test_bm25_file_is_rebuilt_when_stale_or_missing(hash_settings, tmp_path):
    path = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(10)], footer_numbers=True)
    ingest(hash_settings, path)
    index = open_index(hash_settings)
    ids = set(index.bm25().ids)
    index.bm25_path.unlink()
    fresh = open_index(hash_settings)
    assert set(fresh.bm25().ids) == ids
    assert fresh.bm25_path.exists()
    hits = fresh.bm25().search("虚拟数字人 写作机器人", k=3)
    assert hits and hits[0][0] in ids


class _RowCountingCollection:
    """The real Chroma collection, recording how many rows each ``get`` returned."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.rows: list[int] = []

    def get(self, *args: Any, **kwargs: Any) -> Any:
        got = self._collection.get(*args, **kwargs)
        self.rows.append(len(got["ids"]))
        return got

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


def test_reads_are_paged_and_bm25_keeps_the_chunk_order(hash_settings, tmp_path, monkeypatch):
    """Chroma's memory grows with the rows one call returns: no read asks for more than a page,
    and BM25, rebuilt page by page, still numbers the chunks in document and chunk order."""
    monkeypatch.setattr("ingest.store._READ_BATCH", 3)
    a = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(12, k) for k in range(3)])
    b = pf.make_cjk_pdf(tmp_path / "b.pdf", [pf.aigc_lines(12, k + 2) for k in range(3)])
    ingest(hash_settings, b, a)
    index = open_index(hash_settings)
    counting = _RowCountingCollection(index.collection)
    index._collection = counting

    ordered = [c.id for c in index.chunks()]
    assert len(ordered) > 2 * 3  # more than two pages
    assert ordered == expected_ids(hash_settings, a) + expected_ids(hash_settings, b)
    assert index.refresh_bm25().ids == ordered
    saved = Bm25Index.load(index.bm25_path)
    assert saved is not None and saved[0].ids == ordered
    with index.writing():
        assert index.collect_garbage() == 0
    assert counting.rows and max(counting.rows) <= 3


def test_garbage_is_collected_a_page_at_a_time(hash_settings, tmp_path, doc_path, monkeypatch):
    monkeypatch.setattr("ingest.store._READ_BATCH", 3)
    v1, v2 = two_versions(tmp_path)
    shutil.copy(v1, doc_path)
    ingest(hash_settings, doc_path)
    old = chunk_ids(hash_settings)
    assert len(old) > 3

    shutil.copy(v2, doc_path)
    ingest(hash_settings, doc_path)
    index = open_index(hash_settings)
    assert index.collection.count() == len(expected_ids(hash_settings, v2))
    assert not set(index.collection.get(ids=old, include=[])["ids"])

    index.remove("report.pdf")
    assert index.collection.count() == 0
    assert index.bm25().ids == []


def test_a_bm25_json_of_an_older_version_is_replaced(hash_settings, tmp_path):
    first = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(10)], footer_numbers=True)
    ingest(hash_settings, first)
    legacy = open_index(hash_settings).folder / "bm25.json"
    legacy.write_text('{"format": 1, "fingerprint": "x", "ids": [], "postings": {}}')
    path = pf.make_cjk_pdf(tmp_path / "b.pdf", [pf.aigc_lines(10, 5)], footer_numbers=True)
    ingest(hash_settings, path)
    assert not legacy.exists()
    assert open_index(hash_settings).bm25().ids == chunk_ids(hash_settings)
