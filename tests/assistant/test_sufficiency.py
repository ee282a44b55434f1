"""The refusal signal decided before generation, and the question terms it rests on."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.fakes import FakeGenerator, make_passage
from assistant.sufficiency import (
    Calibration,
    SufficiencyChecker,
    SufficiencyFeatures,
    best_coverage,
    evidence_sentences,
    unknown_named_terms,
)
from assistant.terms import CorpusTerms, idf, is_frame, question_terms
from assistant.types import Passage

TITLE = "人工智能生成内容（AIGC）白皮书"
GAN = "生成对抗网络由一个生成器和一个判别器组成。"
PAINTING = "2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交。"
LIBRARY = [
    GAN,
    PAINTING,
    "AIGC 的发展大致可以分为三个阶段。",
    "AIGC 改变了内容生产的方式。",
    "AIGC 的治理需要多方参与。",
    "ChatGPT 之前，Transformer 已经广泛应用。",
]


@pytest.fixture
def stats() -> CorpusTerms:
    return CorpusTerms(LIBRARY, [TITLE])


class FixedScorer:
    """A ``SentenceScorer`` returning given similarities, recording its calls."""

    def __init__(self, sims: Sequence[float]) -> None:
        self.sims = list(sims)
        self.calls: list[str] = []

    def sentence_similarities(self, question: str, passages: Sequence[Passage]) -> list[float]:
        self.calls.append(question)
        return self.sims

    def sentences(self, passages: Sequence[Passage]) -> list[str]:
        return evidence_sentences(passages)


class FixedJudge:
    """An ``AnswerJudge`` with a fixed P(yes), recording what it was shown."""

    def __init__(self, p: float) -> None:
        self.p = p
        self.calls: list[tuple[str, str]] = []

    def answer_score(self, question: str, evidence: str) -> float:
        self.calls.append((question, evidence))
        return self.p


def test_frame_and_title_words_carry_no_weight(stats: CorpusTerms) -> None:
    terms = {
        t.text: t.weight
        for t in question_terms("根据白皮书，AIGC 中提到的佳士得画作是哪一年成交的？", stats)
    }
    assert "白皮书" not in terms and "提到" not in terms and "哪一年" not in terms
    assert "aigc" not in terms  # a word of the document's title
    assert {"佳士得", "画作", "成交"} <= set(terms)
    english = {
        t.text for t in question_terms("According to the paper, what does ChatGPT use?", stats)
    }
    assert english == {"chatgpt"}  # only the words the Chinese library holds


def test_rare_terms_weigh_more_than_common_ones(stats: CorpusTerms) -> None:
    three = CorpusTerms(["第一阶段。", "第二阶段。", "佳士得拍卖。"], [TITLE])
    assert idf(three, "佳士得") > idf(three, "阶段") > idf(three, "白皮书")
    assert idf(stats, "生成") == idf(stats, "白皮书")  # title words count as held everywhere
    assert is_frame("第一个") and is_frame("两家") and is_frame("这个") and is_frame("多少")
    assert not is_frame("生成器") and not is_frame("2018")


def test_coverage_needs_the_asked_terms_together(stats: CorpusTerms) -> None:
    terms = question_terms("佳士得拍卖的画作成交价格与生成对抗网络的组成", stats)
    one, _ = best_coverage(terms, [GAN, PAINTING], 1)
    two, covered = best_coverage(terms, [GAN, PAINTING], 2)
    assert 0 < one < two and {"佳士得", "对抗"} <= covered


def test_an_unknown_named_term_refuses(stats: CorpusTerms) -> None:
    assert unknown_named_terms("Stable Diffusion 和 ChatGPT、GPT-4 的区别？", stats) == ["GPT-4"]
    checker = SufficiencyChecker(lambda: stats)
    verdict = checker.assess("GPT-4 是什么？", [make_passage(1, GAN)], "zh")
    assert not verdict.sufficient and verdict.unknown == ("GPT-4",)
    assert "GPT-4" in verdict.reason


def test_no_passages_refuse(stats: CorpusTerms) -> None:
    verdict = SufficiencyChecker(lambda: stats).assess("生成对抗网络由什么组成？", [], "zh")
    assert not verdict.sufficient and verdict.score == 0.0


def test_the_calibrated_sentence_similarity_decides(stats: CorpusTerms) -> None:
    calibration = {"zh": Calibration(threshold=0.8, top=2), "en": Calibration(threshold=0.7)}
    passages = [make_passage(1, GAN + PAINTING)]
    close = SufficiencyChecker(lambda: stats, FixedScorer([0.9, 0.85, 0.1]), calibration)
    verdict = close.assess("生成对抗网络由什么组成？", passages)
    assert verdict.sufficient and verdict.score == pytest.approx(0.875)
    far = SufficiencyChecker(lambda: stats, FixedScorer([0.82, 0.7]), calibration)
    refused = far.assess("生成对抗网络由什么组成？", passages)
    assert not refused.sufficient and refused.score == pytest.approx(0.76)
    assert "below 0.800" in refused.reason
    english = far.assess("What came before ChatGPT?", passages)  # its own threshold
    assert english.sufficient


def test_coverage_and_unknown_weights_move_the_score(stats: CorpusTerms) -> None:
    calibration = {"zh": Calibration(threshold=0.8, top=1, coverage_weight=0.2, unknown_weight=0.5)}
    checker = SufficiencyChecker(lambda: stats, FixedScorer([0.8]), calibration)
    held = checker.assess("生成对抗网络由什么组成？", [make_passage(1, GAN)])
    lacking = checker.assess("生成对抗网络用什么编程语言实现？", [make_passage(1, GAN)])
    assert held.sufficient and held.coverage == pytest.approx(1.0)
    assert not lacking.sufficient and "编程语言" in lacking.missing


def test_without_a_scorer_the_chunk_similarity_falls_back(stats: CorpusTerms) -> None:
    checker = SufficiencyChecker(lambda: stats, fallback=lambda language: 0.85)
    low = [make_passage(1, GAN, dense_similarity=0.8)]
    high = [make_passage(1, GAN, dense_similarity=0.9)]
    assert not checker.assess("生成对抗网络由什么组成？", low).sufficient
    assert checker.assess("生成对抗网络由什么组成？", high).sufficient
    assert checker.assess("生成对抗网络由什么组成？", low, similarity=0.86).sufficient


def test_the_chain_refuses_before_generation(stats: CorpusTerms) -> None:
    """An insufficient verdict means the generator is never asked, and the refusal still names
    the nearest sections."""
    from assistant.chain import Assistant
    from assistant.fakes import FakeJudge
    from assistant.retrieval import RetrievalResult

    passages = (make_passage(1, GAN, section_path=("二、技术体系",)),)

    class Searcher:
        def search(self, query: str, **kwargs: object) -> RetrievalResult:
            return RetrievalResult(passages, 0.9, 1)

    generator = FakeGenerator("生成对抗网络由一个生成器和一个判别器组成。【1】")
    calibration = {"zh": Calibration(threshold=0.8), "en": Calibration(threshold=0.8)}
    scorer = FixedScorer([0.5])
    from ui.settings import Settings

    class NoPages:
        def page_text(self, content_hash: str, page_index: int) -> None:
            return None

    assistant = Assistant(
        Settings(),
        index=NoPages(),  # type: ignore[arg-type]
        searcher=Searcher(),  # type: ignore[arg-type]
        judge=FakeJudge(),
        generator_factories={"fake": lambda: generator},
        default_mode="fake",
        sufficiency=SufficiencyChecker(lambda: stats, scorer, calibration),
    )
    answer = assistant.ask("生成对抗网络由什么组成？")
    assert answer.refused and generator.requests == []
    assert "二、技术体系" in answer.text and scorer.calls == ["生成对抗网络由什么组成？"]
    scorer.sims = [0.95]
    answered = assistant.ask("生成对抗网络由什么组成？")
    assert not answered.refused and len(generator.requests) == 1


def test_a_quantity_asked_needs_a_new_number_in_the_evidence(stats: CorpusTerms) -> None:
    """ "多少" / "when" ask a number; a number the question itself states does not answer it."""
    checker = SufficiencyChecker(lambda: stats, FixedScorer([0.9, 0.8]))
    painting = [make_passage(1, PAINTING)]
    asked, _ = checker.features("佳士得拍卖的画作以多少美元成交？", painting)
    assert asked.asks_quantity and asked.quantity_held and not asked.quantity_missing
    repeated, _ = checker.features("2018 年佳士得拍卖的画作由谁创作？", painting)
    assert not repeated.asks_quantity
    gan = [make_passage(1, GAN)]
    lacking, chosen = checker.features("生成对抗网络是哪一年提出的？", gan)
    assert lacking.asks_quantity and lacking.quantity_missing == 1.0 and chosen == (GAN,)
    english, _ = checker.features(
        "When was the GAN proposed? In 2014?", [make_passage(1, PAINTING)]
    )
    assert english.asks_quantity and english.quantity_held  # 2018 is not the question's 2014
    same, _ = checker.features("How many dollars in 2018?", [make_passage(1, "2018 年。")])
    assert same.asks_quantity and not same.quantity_held


def test_the_asked_value_must_stand_in_a_sentence_about_what_the_question_names(
    stats: CorpusTerms,
) -> None:
    """A year in a similar sentence about something else does not date the GAN; an English
    question, which names little the library holds by its own words, takes its most similar
    sentences as the place to look."""
    checker = SufficiencyChecker(lambda: stats, FixedScorer([0.9, 0.8]))
    passages = [make_passage(1, GAN), make_passage(2, PAINTING)]
    dated, chosen = checker.features("生成对抗网络是哪一年提出的？", passages)
    assert PAINTING in chosen and dated.quantity_missing == 1.0
    asked_twice, _ = checker.features("生成对抗网络由什么组成？那幅画是哪一年成交的？", passages)
    assert asked_twice.asks_quantity and asked_twice.quantity_held  # the second part's year
    english, _ = checker.features("In which year was the GAN proposed?", passages)
    assert english.quantity_held
    count = [make_passage(1, GAN + "它由两个网络组成。")]
    poems, _ = checker.features("生成对抗网络由多少首诗组成？", count)
    assert poems.asks_quantity and not poems.quantity_held  # a number, but not of 首
    parts, _ = checker.features("生成对抗网络由多少个网络组成？", count)
    assert parts.quantity_held  # the sentence after the one naming it gives the count
    followup, _ = checker.features(
        "判别器起什么作用？（上文：生成对抗网络由几部分组成；两部分）", count
    )
    assert not followup.asks_quantity  # the carried context asks nothing


def test_the_features_score_is_the_calibrated_sum() -> None:
    feats = SufficiencyFeatures(0.8, 0.5, 0.2, True, False, p_yes=0.25)
    cal = Calibration(
        0.0, coverage_weight=0.1, unknown_weight=0.5, quantity_weight=0.02, model_weight=0.4
    )
    assert feats.score(cal) == pytest.approx(0.8 + 0.05 - 0.1 - 0.02 + 0.1)
    assert feats.score(Calibration(0.0)) == pytest.approx(0.8)


def test_the_model_is_asked_only_where_it_weighs(stats: CorpusTerms) -> None:
    passages = [make_passage(1, GAN + PAINTING)]
    judge = FixedJudge(0.1)
    plain = {"zh": Calibration(threshold=0.8)}
    cheap = SufficiencyChecker(lambda: stats, FixedScorer([0.9, 0.9]), plain, judge=lambda: judge)
    assert cheap.assess("生成对抗网络由什么组成？", passages).sufficient and judge.calls == []

    weighed = {"zh": Calibration(threshold=1.0, model_weight=0.2)}
    checker = SufficiencyChecker(
        lambda: stats, FixedScorer([0.9, 0.9]), weighed, judge=lambda: judge
    )
    refused = checker.assess("生成对抗网络由什么组成？", passages)
    assert not refused.sufficient and "the model's yes 0.10" in refused.reason
    question, evidence = judge.calls[0]
    assert question == "生成对抗网络由什么组成？" and GAN in evidence
    judge.p = 0.9
    assert checker.assess("生成对抗网络由什么组成？", passages).sufficient


def test_the_llm_modes_use_their_own_sufficiency(stats: CorpusTerms) -> None:
    from assistant.chain import Assistant
    from assistant.fakes import FakeJudge
    from assistant.retrieval import RetrievalResult
    from ui.settings import Settings

    passages = (make_passage(1, GAN, section_path=("二、技术体系",)),)

    class Searcher:
        def search(self, query: str, **kwargs: object) -> RetrievalResult:
            return RetrievalResult(passages, 0.9, 1)

    extractive = FakeGenerator("生成对抗网络由一个生成器和一个判别器组成。【1】")
    local = FakeGenerator("生成对抗网络由一个生成器和一个判别器组成。【1】")
    judge = FixedJudge(0.05)
    cheap = {"zh": Calibration(threshold=0.8)}
    with_model = {"zh": Calibration(threshold=0.9, model_weight=0.1)}
    assistant = Assistant(
        Settings(),
        index=None,  # type: ignore[arg-type]
        searcher=Searcher(),  # type: ignore[arg-type]
        judge=FakeJudge(),
        generator_factories={"extractive": lambda: extractive, "local": lambda: local},
        default_mode="extractive",
        sufficiency=SufficiencyChecker(lambda: stats, FixedScorer([0.85]), cheap),
        model_sufficiency=SufficiencyChecker(
            lambda: stats, FixedScorer([0.85]), with_model, judge=lambda: judge
        ),
    )
    assert not assistant.ask("生成对抗网络由什么组成？", mode="extractive").refused
    refused = assistant.ask("生成对抗网络由什么组成？", mode="local")
    assert refused.refused and local.requests == [] and "二、技术体系" in refused.text
    judge.p = 0.95
    assert not assistant.ask("生成对抗网络由什么组成？", mode="local").refused
