"""The optional cross-encoder second stage (WHITEPAPER_RERANKER), with a tiny randomly
initialised model built here: this tests the plumbing, not the quality."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.embeddings import HashingEmbeddings
from ingest.index import Index
from ui.settings import Settings

pytest_plugins = ["fixtures_index"]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    chars = sorted(set("人工智能生成内容的发展阶段历程技术应用电商传媒影视数字虚拟模型数据AIGCGAN"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=512,
        num_labels=1,
    )
    transformers.set_seed(0)
    model = transformers.BertForSequenceClassification(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_configured_cross_encoder_reorders_the_fused_candidates(
    hash_home: Settings, tiny_cross_encoder: Path
) -> None:
    from sentence_transformers import CrossEncoder

    from assistant.retrieval import HybridSearcher

    settings = hash_home.model_copy(update={"reranker": str(tiny_cross_encoder)})
    embeddings = HashingEmbeddings()
    index = Index(settings, embeddings)
    try:
        plain = HybridSearcher(index, embeddings, hash_home.retrieval).search(
            "人工智能生成内容的发展", top_k=3
        )
        searcher = HybridSearcher(index, embeddings, settings.retrieval)
        reranked = searcher.search("人工智能生成内容的发展", top_k=3)
    finally:
        index.close()
    assert reranked.passages and plain.passages
    # Each passage carries the cross-encoder's score of its best chunk, best passage first.
    judge = CrossEncoder(str(tiny_cross_encoder), device="cpu")
    index = Index(settings, embeddings)
    try:
        for passage in reranked.passages:
            chunks = index.get_chunks(passage.chunk_ids).values()
            scores = judge.predict([("人工智能生成内容的发展", c.text) for c in chunks])
            assert passage.score == pytest.approx(float(max(scores)), abs=1e-4)
    finally:
        index.close()
    ranked = [p.score for p in reranked.passages]
    assert ranked == sorted(ranked, reverse=True)
    assert ranked != [p.score for p in plain.passages]  # RRF scores were replaced
