"""BM25: scores against the textbook formula, streamed builds, and the saved file."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest import bm25
from ingest.bm25 import Bm25Index
from ingest.text import tokenize

TEXTS = [
    "生成对抗网络（GAN）由生成器和判别器组成，判别器判断数据是否真实。",
    "扩散模型逐步去噪，生成高质量图像；扩散模型已用于 AIGC 绘画。",
    "虚拟数字人与写作机器人是 AIGC 在传媒行业的典型应用。",
    "AIGC 的发展分为早期萌芽、沉淀积累和快速发展三个阶段。",
    "判别器 判别器 判别器：重复的词提高词频。",
]
IDS = [f"doc-{i:05d}" for i in range(len(TEXTS))]
QUERIES = ["判别器", "扩散模型 AIGC", "虚拟数字人 写作机器人", "GAN 生成", "AIGC", "无关的问题", ""]


def reference_scores(query: str, k1: float = 1.5, b: float = 0.75) -> dict[str, float]:
    """Okapi BM25 written out term by term (idf with +1 inside the log, as Lucene)."""
    docs = [Counter(tokenize(t)) for t in TEXTS]
    lengths = [sum(d.values()) for d in docs]
    avg = sum(lengths) / len(lengths)
    scores: dict[str, float] = {}
    for term, qtf in Counter(tokenize(query)).items():
        df = sum(1 for d in docs if term in d)
        if not df:
            continue
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for doc_id, tfs, length in zip(IDS, docs, lengths, strict=True):
            if tfs[term]:
                tf = tfs[term]
                norm = k1 * (1 - b + b * length / avg)
                scores[doc_id] = scores.get(doc_id, 0.0) + qtf * idf * tf * (k1 + 1) / (tf + norm)
    return scores


@pytest.mark.parametrize("query", QUERIES)
def test_scores_are_okapi_bm25_best_first(query: str) -> None:
    hits = Bm25Index.build(IDS, TEXTS).search(query, k=len(IDS))
    expected = reference_scores(query)
    assert dict(hits) == pytest.approx(expected, rel=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_equal_scores_keep_chunk_order_and_k_cuts_the_list() -> None:
    index = Bm25Index.build(["c", "a", "b"], ["写作机器人", "虚拟数字人", "虚拟数字人"])
    assert len(index.search("虚拟数字人 写作", k=3)) == 3
    hits = index.search("虚拟数字人 写作", k=2)
    assert [i for i, _ in hits] == ["a", "b"]
    assert hits[0][1] == hits[1][1]


def test_a_build_tokenises_one_text_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Texts can come from a generator; each is tokenised before the next is read."""
    events: list[str] = []
    real = bm25.tokenize

    def recording(text: str) -> list[str]:
        events.append(f"tokenize {text[:4]}")
        return real(text)

    def texts() -> Iterator[str]:
        for t in TEXTS:
            events.append(f"read {t[:4]}")
            yield t

    monkeypatch.setattr(bm25, "tokenize", recording)
    index = Bm25Index.build(IDS, texts())
    assert events == [e for t in TEXTS for e in (f"read {t[:4]}", f"tokenize {t[:4]}")]
    assert len(index) == len(IDS)


def test_from_tokens_and_vocabulary() -> None:
    index = Bm25Index.from_tokens(["x", "y"], [["数字人", "aigc", "aigc"], ["gan"]])
    assert index.vocabulary == frozenset({"数字人", "aigc", "gan"})
    assert index.lengths.tolist() == [3.0, 1.0]


def test_ids_and_texts_must_pair_up() -> None:
    with pytest.raises(ValueError, match="inconsistent BM25 index: 2 ids, 3 lengths"):
        Bm25Index.build(["a", "b"], ["一", "二", "三"])


def test_an_empty_index_finds_nothing() -> None:
    index = Bm25Index.build([], [])
    assert len(index) == 0
    assert index.search("AIGC") == []
    assert index.vocabulary == frozenset()


def test_save_and_load_give_the_same_index(tmp_path: Path) -> None:
    index = Bm25Index.build(IDS, TEXTS)
    path = tmp_path / "bm25.npz"
    index.save(path, "fingerprint-1")
    loaded = Bm25Index.load(path)
    assert loaded is not None
    again, fingerprint = loaded
    assert fingerprint == "fingerprint-1"
    assert again.ids == IDS
    assert again.vocabulary == index.vocabulary
    for query in QUERIES:
        assert again.search(query, k=10) == index.search(query, k=10)
    assert not path.with_suffix(".npz.tmp").exists()


def test_an_empty_index_saves_and_loads(tmp_path: Path) -> None:
    Bm25Index.build([], []).save(tmp_path / "bm25.npz", "empty")
    loaded = Bm25Index.load(tmp_path / "bm25.npz")
    assert loaded is not None
    assert (len(loaded[0]), loaded[1]) == (0, "empty")


def test_a_missing_damaged_or_old_file_loads_as_none(tmp_path: Path) -> None:
    assert Bm25Index.load(tmp_path / "missing.npz") is None

    good = tmp_path / "good.npz"
    Bm25Index.build(IDS, TEXTS).save(good, "f")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    assert Bm25Index.load(truncated) is None

    old = tmp_path / "old.npz"  # format 1 was JSON
    old.write_text(json.dumps({"format": 1, "fingerprint": "f", "ids": [], "postings": {}}))
    assert Bm25Index.load(old) is None

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"\x00\x01not an index")
    assert Bm25Index.load(garbage) is None
