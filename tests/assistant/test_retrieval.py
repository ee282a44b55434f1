"""Hybrid retrieval: RRF fusion, neighbour merging, passages, and search over a real index."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.retrieval import (
    HybridRetriever,
    HybridSearcher,
    merge_neighbours,
    passage_from_chunks,
    rrf_fuse,
)
from ingest.embeddings import HashingEmbeddings
from ingest.index import Index
from ingest.model import Chunk
from ui.settings import Settings

pytest_plugins = ["fixtures_index"]

#: A section of a cleaned document; chunks below are slices of it.
DOC = (
    "AIGC 的发展大致可以分为三个阶段。早期萌芽阶段受限于科技水平。"
    "沉淀积累阶段开始从实验性向实用性转变。快速发展阶段始于 2014 年。"
)
S1 = "AIGC 的发展大致可以分为三个阶段。"
S2 = "早期萌芽阶段受限于科技水平。"
S3 = "沉淀积累阶段开始从实验性向实用性转变。"
S4 = "快速发展阶段始于 2014 年。"


def chunk(
    index: int,
    start: int,
    end: int,
    *,
    pages: tuple[tuple[int, str], ...] = ((0, "1"),),
    section: tuple[str, ...] = ("一、发展历程",),
    doc_id: str = "doc.pdf",
    text: str = DOC,
) -> Chunk:
    piece = text[start:end]
    return Chunk(
        id=f"{doc_id}-{index:05d}",
        doc_id=doc_id,
        title="AIGC 白皮书",
        source_file=doc_id,
        content_hash="hash",
        index=index,
        text=piece,
        start=start,
        end=end,
        page_indices=tuple(i for i, _ in pages),
        page_labels=tuple(label for _, label in pages),
        section_path=section,
        text_hash=hashlib.sha1(piece.encode()).hexdigest()[:16],
    )


def at(sentence: str) -> tuple[int, int]:
    start = DOC.index(sentence)
    return start, start + len(sentence)


# Consecutive chunks overlapping by one sentence, as the chunker makes them.
C0 = chunk(0, at(S1)[0], at(S2)[1])  # S1 S2
C1 = chunk(1, at(S2)[0], at(S3)[1], pages=((0, "1"), (1, "2")))  # S2 S3
C2 = chunk(2, at(S3)[0], at(S4)[1], pages=((1, "2"),))  # S3 S4


# -- RRF -------------------------------------------------------------------------------------


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    fused = rrf_fuse([["a", "b", "c"], ["c", "a"]], [1.0, 1.0], k=60)
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["b"] == pytest.approx(1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [item for item, _ in fused] == ["a", "c", "b"]


def test_rrf_weights_and_k_change_the_order() -> None:
    assert [i for i, _ in rrf_fuse([["a"], ["b"]], [1.0, 2.0])] == ["b", "a"]
    assert [i for i, _ in rrf_fuse([["a", "b"], ["b"]], [1.0, 1.0], k=1)] == ["b", "a"]
    assert rrf_fuse([["x"]], [0.5], k=10) == [("x", pytest.approx(0.5 / 11))]


def test_rrf_breaks_ties_by_id_and_handles_empty_rankings() -> None:
    assert [i for i, _ in rrf_fuse([["b", "a"], ["a", "b"]], [1.0, 1.0])] == ["a", "b"]
    assert rrf_fuse([[], []], [1.0, 1.0]) == []
    with pytest.raises(ValueError):
        rrf_fuse([["a"]], [1.0, 1.0])


# -- neighbour merging -----------------------------------------------------------------------


def test_neighbours_of_one_section_merge_in_document_order() -> None:
    groups = merge_neighbours([C1, C0])
    assert [[c.index for c in g] for g in groups] == [[0, 1]]


def test_groups_keep_the_rank_of_their_best_member() -> None:
    other = chunk(7, 0, 10, section=("二、技术体系",))
    groups = merge_neighbours([other, C2, C1])
    assert [[c.index for c in g] for g in groups] == [[7], [1, 2]]


def test_a_chunk_between_two_groups_joins_them() -> None:
    groups = merge_neighbours([C0, C2, C1])
    assert [[c.index for c in g] for g in groups] == [[0, 1, 2]]


@pytest.mark.parametrize(
    "neighbour",
    [
        chunk(1, at(S2)[0], at(S3)[1], section=("二、技术体系",)),  # another section
        chunk(1, at(S2)[0], at(S3)[1], doc_id="other.pdf"),  # another document
    ],
)
def test_chunks_of_another_section_or_document_never_merge(neighbour: Chunk) -> None:
    assert len(merge_neighbours([C0, neighbour])) == 2


def test_chunks_that_are_not_adjacent_stay_apart() -> None:
    assert [[c.index for c in g] for g in merge_neighbours([C0, C2])] == [[0], [2]]


# -- passages from chunks --------------------------------------------------------------------


def test_the_overlap_sentence_is_not_repeated_and_offsets_point_at_each_chunk() -> None:
    passage = passage_from_chunks(3, [C0, C1, C2], score=0.5, similarity=0.9)
    assert passage.text == DOC
    assert passage.text.count(S2) == 1 and passage.text.count(S3) == 1
    assert passage.chunk_ids == (C0.id, C1.id, C2.id)
    assert passage.chunk_offsets == (0, len(S1), len(S1) + len(S2))
    for c, offset in zip([C0, C1, C2], passage.chunk_offsets, strict=True):
        assert passage.text[offset : offset + len(c.text)] == c.text
        assert passage.chunk_at(offset) == c.id
    assert (passage.start, passage.end) == (C0.start, C2.end)
    assert passage.page_labels == ("1", "2") and passage.page_indices == (0, 1)
    assert passage.pages_display == "1–2"
    assert (passage.number, passage.score, passage.dense_similarity) == (3, 0.5, 0.9)
    assert passage.section_path == ("一、发展历程",)


def test_chunk_at_names_the_chunk_holding_a_character() -> None:
    passage = passage_from_chunks(1, [C0, C1, C2], score=0.1, similarity=None)
    assert passage.chunk_at(passage.text.index(S1)) == C0.id
    assert passage.chunk_at(passage.text.index(S2)) == C1.id  # in C0 and C1: the later start
    assert passage.chunk_at(passage.text.index(S3)) == C2.id
    assert passage.chunk_at(passage.text.index(S4)) == C2.id


def test_adjacent_chunks_without_overlap_are_joined_by_a_newline() -> None:
    first = chunk(0, *at(S1))
    second = chunk(1, *at(S2), pages=((1, "2"),))
    passage = passage_from_chunks(1, [first, second], score=0.1, similarity=None)
    assert passage.text == S1 + "\n" + S2
    assert passage.chunk_offsets == (0, len(S1) + 1)
    assert passage.chunk_at(len(S1) + 1) == second.id


def test_offsets_map_between_the_passage_and_the_document() -> None:
    # S1 and S3 in chunks that leave S2 out: the passage joins them with a newline.
    first, third = chunk(0, *at(S1)), chunk(1, *at(S3), pages=((1, "2"),))
    spans = {0: (0, at(S2)[1]), 1: (at(S2)[1], len(DOC))}
    passage = passage_from_chunks(1, [first, third], score=0.1, similarity=None, page_spans=spans)
    assert passage.text == S1 + "\n" + S3
    assert passage.chunk_starts == (first.start, third.start)
    assert passage.page_spans == (spans[0], spans[1])
    for sentence in (S1, S3):
        offset = passage.text.index(sentence)
        assert passage.document_offset(offset) == DOC.index(sentence)
        assert passage.text_offset(DOC.index(sentence)) == offset
    assert passage.page_at(DOC.index(S1)) == 0 and passage.page_at(DOC.index(S3)) == 1
    overlapping = passage_from_chunks(3, [C0, C1, C2], score=0.5, similarity=0.9)
    assert overlapping.page_spans == ()  # no spans given
    for sentence in (S1, S2, S3, S4):
        assert overlapping.document_offset(overlapping.text.index(sentence)) == DOC.index(sentence)


def test_a_single_chunk_passage() -> None:
    passage = passage_from_chunks(1, [C1], score=0.2, similarity=0.8)
    assert passage.text == C1.text
    assert passage.chunk_offsets == (0,)
    assert passage.to_json()["chunk_ids"] == [C1.id]
    assert "Passage(1," in repr(passage) and len(repr(passage)) < 120


# -- search over a real (hash-embedded) index ------------------------------------------------


@pytest.fixture(scope="module")
def index(hash_home: Settings) -> Iterator[Index]:
    idx = Index(hash_home, HashingEmbeddings())
    yield idx
    idx.close()


def searcher(index: Index, **changes: object) -> HybridSearcher:
    return HybridSearcher(
        index, index.embeddings, index.settings.model_copy(update=changes).retrieval
    )


def test_search_returns_numbered_passages_in_rank_order(index: Index) -> None:
    result = searcher(index).search("生成对抗网络由一个生成器和一个判别器组成")
    assert [p.number for p in result.passages] == list(range(1, len(result.passages) + 1))
    assert result.passages[0].section_path[-1] == "二、技术体系"
    assert "生成对抗网络由一个生成器和一个判别器组成。" in result.passages[0].text
    scores = [p.score for p in result.passages]
    assert scores == sorted(scores, reverse=True)
    assert 0.0 < result.best_similarity <= 1.0 + 1e-6
    assert result.candidates >= len(result.passages)


def test_merged_passages_never_repeat_an_overlap_sentence(index: Index) -> None:
    result = searcher(index).search("生成对抗网络由一个生成器和一个判别器组成")
    top = result.passages[0]
    assert len(top.chunk_ids) > 1, "the small chunks of one section were merged"
    assert top.text.count("生成对抗网络由一个生成器和一个判别器组成。") == 1
    chunks = index.get_chunks(top.chunk_ids)
    for chunk_id, offset in zip(top.chunk_ids, top.chunk_offsets, strict=True):
        text = chunks[chunk_id].text
        assert top.text[offset : offset + len(text)] == text


def test_without_merging_each_passage_is_one_chunk(index: Index) -> None:
    result = searcher(index, merge_neighbours=False).search("生成对抗网络", top_k=3)
    assert len(result.passages) == 3
    assert all(len(p.chunk_ids) == 1 for p in result.passages)


def test_top_k_and_doc_filter(index: Index) -> None:
    assert len(searcher(index).search("AIGC", top_k=1).passages) == 1
    assert searcher(index).search("AIGC", doc_id="no-such.pdf").passages == ()
    only = searcher(index).search("AIGC", doc_id="aigc-test.md").passages
    assert only and {p.doc_id for p in only} == {"aigc-test.md"}


def test_a_document_filter_reads_its_chunk_ids_once_not_per_query(
    hash_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = Index(hash_home, HashingEmbeddings())
    try:
        expected = {c.id for c in fresh.chunks("aigc-test.md")}
        reads: list[Any] = []
        pages = fresh._pages

        def counted(where: Any, include: list[str]) -> Any:
            reads.append(where)
            return pages(where, include)

        def no_chunks(doc_id: str | None = None) -> list[Any]:
            raise AssertionError("a filtered query must not read the document's chunks")

        monkeypatch.setattr(fresh, "_pages", counted)
        monkeypatch.setattr(fresh, "chunks", no_chunks)
        s = searcher(fresh)
        for question in ("AIGC", "生成对抗网络", "AIGC 的发展阶段"):
            passages = s.search(question, doc_id="aigc-test.md").passages
            assert passages and {p.doc_id for p in passages} == {"aigc-test.md"}
        assert len(reads) == 1, "the ids are read once, then kept for the catalog generation"
        assert fresh.chunk_ids("aigc-test.md") == expected
        assert fresh.chunk_ids("no-such.pdf") == frozenset()
    finally:
        fresh.close()


def test_a_separate_bm25_query_is_used_for_the_keyword_side(index: Index) -> None:
    """An English question finds Chinese text when a Chinese BM25 query is given."""
    s = searcher(index, dense_weight=0.0)
    result = s.search("Who decides what is real?", bm25_query="判别器 真实数据")
    assert "判别器致力于不断寻找生成数据和真实数据的不同。" in result.passages[0].text


def test_a_reference_to_the_document_itself_is_not_searched_for(index: Index) -> None:
    """ "根据白皮书" and "according to the white paper" name where to look: both the dense and
    the keyword side search what the question asks."""
    s = searcher(index)
    plain = s.search("生成对抗网络由什么组成？")
    named = s.search("根据白皮书，生成对抗网络由什么组成？")
    assert [p.chunk_ids for p in named.passages] == [p.chunk_ids for p in plain.passages]
    assert named.best_similarity == pytest.approx(plain.best_similarity)
    english = s.search(
        "What is a GAN made of, according to the white paper?", bm25_query="白皮书 判别器"
    )
    keyword_only = s.search("What is a GAN made of?", bm25_query="判别器")
    assert [p.chunk_ids for p in english.passages] == [p.chunk_ids for p in keyword_only.passages]


def test_the_langchain_retriever_returns_documents_with_provenance(index: Index) -> None:
    retriever = HybridRetriever(searcher=searcher(index), top_k=2)
    docs = retriever.invoke("佳士得拍卖行 43.25 万美元")
    assert 1 <= len(docs) <= 2
    assert "43.25 万美元" in docs[0].page_content
    meta = docs[0].metadata
    assert meta["id"] == meta["chunk_ids"][0]
    assert "2" in meta["page_labels"]  # the painting sentence is on page 2
    assert meta["section_path"][-1] == "一、发展历程"
    assert "text" not in meta
