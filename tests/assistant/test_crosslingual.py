from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.crosslingual import FeedbackTranslator
from assistant.terms import CorpusTerms

CHUNKS = [
    "佳士得拍卖行以 43.25 万美元成交了一幅人工智能生成的画作。",
    "生成对抗网络由生成器和判别器组成。",
    "人工智能生成内容的应用包括传媒和电商。",
]


@dataclass
class _Chunk:
    text: str


@dataclass
class _Hit:
    chunk: _Chunk


class _Index:
    def __init__(self) -> None:
        self.asked: list[int] = []

    def dense_search(self, vector: Sequence[float], k: int) -> list[_Hit]:
        self.asked.append(k)
        return [_Hit(_Chunk(t)) for t in CHUNKS[:k]]


class _Embeddings:
    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]


def _translator(chunks: int = 1, words: int = 3) -> tuple[FeedbackTranslator, _Index]:
    index = _Index()
    stats = CorpusTerms(CHUNKS)
    return FeedbackTranslator(index, _Embeddings(), lambda: stats, chunks, words), index  # type: ignore[arg-type]


def test_an_english_question_gets_the_rarest_words_of_its_best_dense_chunks() -> None:
    translator, index = _translator(chunks=1, words=3)
    query = translator.translate("How much did the AI painting sell for?")
    assert query is not None and query.startswith("How much did the AI painting sell for? ")
    added = query.split("? ", 1)[1].split()
    assert len(added) == 3
    # Words of the best chunk only, and the rarest first: none of them is in another chunk.
    assert all(w in CHUNKS[0] for w in added)
    assert not any(w in CHUNKS[1] or w in CHUNKS[2] for w in added)
    assert index.asked == [1]


def test_a_chinese_question_keeps_its_own_words() -> None:
    translator, index = _translator()
    assert translator.translate("佳士得拍卖的画作卖了多少钱？") is None
    assert index.asked == []  # no search spent on it
