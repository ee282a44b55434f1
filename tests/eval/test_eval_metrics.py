"""Tests for eval/metrics.py: exact figures on tiny hand-made cases."""

from __future__ import annotations

import math
import random
import time
from dataclasses import replace

import pytest
from eval_fakes import answer, citation, refusal, sentence
from hypothesis import given
from hypothesis import strategies as st

from assistant.fakes import FakeJudge, make_passage
from assistant.types import REFUSAL, Answer, AnswerSentence
from eval.dataset import EvalItem
from eval.metrics import (
    ItemScores,
    aggregate,
    aggregate_splits,
    bootstrap_mean,
    bootstrap_ratio,
    check_invariants,
    citation_scores,
    evidence_found,
    evidence_matrix,
    headline_keys,
    hit_at_k,
    ideal_relevant,
    is_refusal,
    item_values,
    judge_of,
    judged,
    key_fact_recall,
    language_matches,
    longest_common_run,
    ndcg_at_k,
    reciprocal_rank,
    score_item,
    score_retrieval,
)

# 20 non-whitespace characters: 60% is a run of 12.
EVIDENCE = "生成对抗网络由一个生成器和一个判别器组成"


def _item(**overrides: object) -> EvalItem:
    data: dict[str, object] = {
        "id": "t-1",
        "type": "factual",
        "question": "生成对抗网络由什么组成？",
        "answerable": True,
        "reference_answer": "生成器和判别器。",
        "evidence": [EVIDENCE],
        "key_facts": ["生成器", "判别器"],
    }
    data.update(overrides)
    return EvalItem.model_validate(data)


# --------------------------------------------------------------------------- evidence


def test_evidence_found_ignores_whitespace_differences() -> None:
    spaced = "前文。生成对抗 网络由一个\n生成器和一个判别 器组成，判别器负责鉴别真假。"
    assert evidence_found(EVIDENCE, spaced)
    assert evidence_found(
        "生成对抗网络 由一个生成器和一个判别器组成", "生成对抗网络由一个生成器和一个判别器组成"
    )


def test_cut_evidence_needs_a_run_of_60_percent() -> None:
    assert len(EVIDENCE) == 20
    tail_12 = EVIDENCE[8:]  # 12 characters = 60%
    tail_11 = EVIDENCE[9:]  # 11 characters = 55%
    assert evidence_found(EVIDENCE, f"上一块的结尾。{tail_12}，判别器负责鉴别真假。")
    assert not evidence_found(EVIDENCE, f"上一块的结尾。{tail_11}，判别器负责鉴别真假。")
    # A cut that falls inside the whitespace of the evidence still counts characters only.
    assert evidence_found(
        "生成对抗网络 由一个 生成器和一个判别器组成", f"x {tail_12[:6]}\n{tail_12[6:]} y"
    )


def test_evidence_run_must_be_contiguous() -> None:
    # Both halves (10 characters each) are present, but no single run reaches 12.
    split = f"{EVIDENCE[:10]}，另外，{EVIDENCE[10:]}"
    assert longest_common_run(EVIDENCE, split) == 10
    assert not evidence_found(EVIDENCE, split)


def test_blank_evidence_is_never_found() -> None:
    assert not evidence_found("  \n", "anything")
    assert evidence_matrix(["   "], ["anything"]) == [[False]]


def test_longest_common_run_exact() -> None:
    assert longest_common_run("abcdef", "xxcdeyy") == 3
    assert longest_common_run("abc", "xyz") == 0
    assert longest_common_run("", "xyz") == 0
    assert longest_common_run("abc", "abc") == 3


def _naive_lcs(a: str, b: str) -> int:
    best = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a) + 1):
            if a[i:j] in b:
                best = max(best, j - i)
    return best


@given(st.text(alphabet="abc ", max_size=12), st.text(alphabet="abc ", max_size=30))
def test_longest_common_run_matches_naive(needle: str, haystack: str) -> None:
    assert longest_common_run(needle, haystack) == _naive_lcs(needle, haystack)


def test_evidence_matching_is_fast_enough_for_a_full_set() -> None:
    rng = random.Random(0)
    alphabet = [chr(0x4E00 + i) for i in range(300)]  # 300 common-range ideographs
    passages = ["".join(rng.choice(alphabet) for _ in range(1500)) for _ in range(10)]
    evidence = ["".join(rng.choice(alphabet) for _ in range(80)) for _ in range(3)]
    start = time.perf_counter()
    for _ in range(162):
        evidence_matrix(evidence, passages)
    assert time.perf_counter() - start < 5.0


# --------------------------------------------------------------------------- retrieval


def test_rank_metrics_exact() -> None:
    relevant = [False, True, False, True, False]
    assert hit_at_k(relevant, 1) == 0.0
    assert hit_at_k(relevant, 3) == 1.0
    assert hit_at_k(relevant, 5) == 1.0
    assert reciprocal_rank(relevant) == 0.5
    assert reciprocal_rank([False] * 12 + [True], k=10) == 0.0
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(relevant, n_ideal=2) == pytest.approx(expected)
    # Ideal ranking of 3 evidence strings, only the second one retrieved.
    assert ndcg_at_k([False, True], n_ideal=3) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    )


def test_ndcg_never_exceeds_one_when_more_passages_than_evidence_match() -> None:
    assert ndcg_at_k([True, True], n_ideal=1) == 1.0
    assert ndcg_at_k([False, False], n_ideal=0) == 0.0


def test_ideal_relevant_counts_evidence_found_together_once() -> None:
    assert ideal_relevant([[True, False], [True, False]]) == 1
    assert ideal_relevant([[True, True], [False, True]]) == 1
    assert ideal_relevant([[True, False], [False, True]]) == 2
    assert ideal_relevant([[False, False], [True, False], [False, False]]) == 3
    assert ideal_relevant([[False] * 12 + [True]], k=10) == 1  # found only below the cut-off
    assert ideal_relevant([]) == 0


def test_ndcg_is_one_when_the_first_passage_holds_all_evidence() -> None:
    sale = "人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交"
    both = f"{EVIDENCE}。2018 年，{sale}。"
    scores = score_retrieval([EVIDENCE, sale], [both, "无关。", "无关。"])
    assert scores.ndcg_at_10 == 1.0
    second = score_retrieval([EVIDENCE, sale], ["无关。", both])
    assert second.ndcg_at_10 == pytest.approx(1 / math.log2(3))


def test_score_retrieval_exact() -> None:
    other = "英伟达发布的 StyleGAN 模型可以自动生成图片。"
    passages = [
        other,
        f"…{EVIDENCE[8:]}。",  # cut evidence, 60%
        "2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交。",
        other,
        other,
        EVIDENCE,
    ]
    scores = score_retrieval(
        [EVIDENCE, "人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交"], passages
    )
    assert scores.relevant_ranks == (2, 3, 6)
    assert scores.hit_at_1 == 0.0
    assert scores.hit_at_3 == 1.0
    assert scores.mrr_at_10 == 0.5
    assert scores.evidence_recall_at_5 == 1.0
    dcg = 1 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(7)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # three relevant retrieved > two strings
    assert scores.ndcg_at_10 == pytest.approx(dcg / idcg)
    # Only the first string is in the top 5 when the third passage goes.
    half = score_retrieval(
        [EVIDENCE, "人工智能生成的画作在佳士得拍卖行"],
        [other, other, other, other, other, EVIDENCE],
    )
    assert half.evidence_recall_at_5 == 0.0
    assert half.hit_at_5 == 0.0
    assert half.mrr_at_10 == pytest.approx(1 / 6)


# --------------------------------------------------------------------------- answer text


def test_key_fact_recall_ignores_whitespace_and_case() -> None:
    facts = ["StyleGAN", "43.25 万美元"]
    assert key_fact_recall(facts, "英伟达的 stylegan 以43.25万 美元……") == 1.0
    assert key_fact_recall(facts, "英伟达的 Style GAN 模型") == 0.5
    assert key_fact_recall(facts, "只提到 StyleGAN。") == 0.5
    assert key_fact_recall([], "anything") is None


def test_key_fact_recall_accepts_any_alternative() -> None:
    facts: list[str | list[str]] = [["Generative Adversarial Network", "GAN"], "68 年"]
    assert key_fact_recall(facts, "A generative adversarial  network, 68年 later") == 1.0
    assert key_fact_recall(facts, "a GAN, proposed in 2014") == 0.5
    assert key_fact_recall(facts, "毕加索在 1968 年评价计算机") == 0.0  # not inside 1968


def test_is_refusal_needs_flag_and_fixed_sentence() -> None:
    assert is_refusal(refusal("zh"))
    assert is_refusal(refusal("en"))
    assert is_refusal(answer(REFUSAL["zh"] + "最接近的章节：……", refused=True))
    assert not is_refusal(answer(REFUSAL["zh"], refused=False))
    assert not is_refusal(answer("抱歉，没有找到。", refused=True))


def test_language_matches() -> None:
    assert language_matches("什么是GAN？", answer("GAN 是生成对抗网络【1】。"))
    assert not language_matches("什么是GAN？", answer("GAN is a generative adversarial network."))
    assert language_matches("What is AIGC?", answer("AIGC means 人工智能生成内容 in Chinese."))
    assert language_matches("What is AIGC?", refusal("en"))
    assert not language_matches("What is AIGC?", refusal("zh"))
    assert not language_matches("什么是AIGC？", answer(""))


# --------------------------------------------------------------------------- faithfulness


def _cited_answer() -> tuple[Answer, FakeJudge]:
    passages = [make_passage(1, "甲乙丙丁。戊己"), make_passage(2, "庚辛。壬癸")]
    sentences = [
        sentence("甲乙丙丁。【1】", 1),  # supported by passage 1 alone
        sentence("戊己庚辛【1】【2】。", 1, 2),  # only by both together
        sentence("壬癸子丑。"),  # no citation
        sentence("庚辛【7】。", 7),  # marker without a passage
    ]
    return answer("…", passages, sentences=sentences), FakeJudge(name="contain")


def test_citation_recall_and_precision_exact() -> None:
    ans, judge = _cited_answer()
    scores = citation_scores(ans, judge)
    assert scores.judge == "contain"
    assert scores.sentences == 4
    assert scores.citations == 4
    assert scores.recall == 2 / 4
    assert scores.precision == 1 / 4
    assert scores.unsupported_sentences == (2, 3)
    # The judge sees sentences without markers; each pair is scored once.
    assert all("【" not in s for s, _ in judge.calls)
    assert len(judge.calls) == len(set(judge.calls))


def test_citation_scores_skip_refusals_and_penalise_uncited_answers() -> None:
    judge = FakeJudge(name="contain")
    assert citation_scores(refusal("zh"), judge).recall is None
    uncited = citation_scores(answer("x", [make_passage(1, "x")], sentences=[sentence("x")]), judge)
    assert (uncited.recall, uncited.precision) == (0.0, 0.0)


def test_citation_scores_without_sentences_use_the_whole_text() -> None:
    ans = answer("甲乙丙丁【1】", [make_passage(1, "甲乙丙丁。")])
    scores = citation_scores(ans, FakeJudge(name="contain"))
    assert (scores.sentences, scores.citations, scores.recall, scores.precision) == (1, 1, 1.0, 1.0)


# --------------------------------------------------------------------------- invariants


def test_clean_answers_break_no_invariant() -> None:
    ps = [make_passage(1, "甲"), make_passage(2, "乙")]
    ok = answer(
        "甲【1】乙【2】", ps, sentences=[sentence("甲【1】", 1)], citations=[citation(1, 0)]
    )
    assert check_invariants(ok) == []
    assert check_invariants(refusal("en")) == []


def test_invariant_violations_are_listed() -> None:
    ps = [make_passage(1, "甲"), make_passage(2, "乙")]
    bad = answer(
        "甲【3】",
        ps,
        sentences=[sentence("甲【3】", 3)],
        citations=[citation(3, 0, chunk_id="c3"), citation(1, 0, chunk_id="zzz")],
    )
    assert check_invariants(bad) == [
        "answer text shows marker 【3】 outside 1..2",
        "sentence 0 cites 【3】 outside 1..2",
        "citation 【3】 outside 1..2",
        "citation 【3】 names chunk 'c3', which was not retrieved",
        "citation 【1】 names chunk 'zzz', which was not retrieved",
    ]
    wrong_refusal = answer(" " + REFUSAL["zh"], refused=True)
    assert check_invariants(wrong_refusal) == [
        f"refusal does not start with the fixed sentence {REFUSAL['zh']!r}"
    ]
    wrong_language = answer(REFUSAL["zh"], refused=True, language="en")
    assert len(check_invariants(wrong_language)) == 1


# --------------------------------------------------------------------------- per item


def test_score_item_answerable() -> None:
    ps = [
        make_passage(1, "无关的内容，和问题没有关系。"),
        make_passage(2, EVIDENCE + "，判别器负责鉴别真假。"),
    ]
    ans = answer(
        "它由生成器和判别器组成【2】。",
        ps,
        sentences=[sentence("它由生成器和判别器组成【2】。", 2)],
        citations=[citation(2, 0)],
    )
    scores = score_item(_item(), ans, [FakeJudge(name="contain")])
    assert scores.metrics == {
        "hit@1": 0.0,
        "hit@3": 1.0,
        "hit@5": 1.0,
        "mrr@10": 0.5,
        "ndcg@10": pytest.approx(1 / math.log2(3)),
        "evidence_recall@5": 1.0,
        "key_fact_recall": 1.0,
        "refusal_correct": 1.0,
        "language_match": 1.0,
        "answered_with_citation": 1.0,
        "citation_recall[contain]": 0.0,  # "它由…" is not verbatim in the passage
        "citation_precision[contain]": 0.0,
    }
    assert scores.should_refuse is False
    assert scores.refused is False
    assert scores.violations == ()
    assert scores.split is None
    assert scores.details["relevant_ranks"] == [2]
    assert scores.details["missing_key_facts"] == []
    assert ItemScores.from_json(scores.id, scores.type, scores.to_json()) == scores
    assert item_values(scores)["false_refusal_rate"] == 0.0
    assert "refusal_recall" not in item_values(scores)


def test_answered_with_citation_and_the_split_of_an_item() -> None:
    uncited = answer("它由生成器和判别器组成。", [make_passage(1, EVIDENCE)])
    scores = score_item(_item(split="test"), uncited)
    assert scores.metrics["answered_with_citation"] == 0.0
    assert scores.split == "test"
    again = ItemScores.from_json(scores.id, scores.type, scores.to_json(), "test")
    assert again == scores
    # A refused answerable item is a false refusal and has no answered_with_citation.
    refused = score_item(_item(), refusal("zh"))
    assert "answered_with_citation" not in refused.metrics
    assert item_values(refused)["false_refusal_rate"] == 1.0


def test_score_item_unanswerable() -> None:
    item = _item(
        id="u-1",
        type="unanswerable",
        question="白皮书谈到了量子计算吗？",
        answerable=False,
        reference_answer=REFUSAL["zh"],
        evidence=[],
        key_facts=[],
    )
    scores = score_item(item, refusal("zh", [make_passage(1, "甲")]), [FakeJudge(name="contain")])
    assert scores.metrics == {"refusal_correct": 1.0, "language_match": 1.0}
    assert scores.should_refuse and scores.refused
    assert item_values(scores) == {
        "refusal_correct": 1.0,
        "language_match": 1.0,
        "refusal_recall": 1.0,
    }


# --------------------------------------------------------------------------- aggregation


def _scores(item_id: str, item_type: str, should: bool, did: bool, **metrics: float) -> ItemScores:
    return ItemScores(item_id, item_type, dict(metrics), should_refuse=should, refused=did)


def test_refusal_precision_recall_f1_exact() -> None:
    scores = [
        _scores("u1", "unanswerable", True, True),  # TP
        _scores("u2", "unanswerable", True, False),  # FN
        _scores("a1", "factual", False, True),  # FP
        _scores("a2", "factual", False, False),
        _scores("a3", "multihop", False, False),
    ]
    table = aggregate(scores, resamples=200)
    overall = table["overall"]
    assert overall["refusal_precision"].value == 0.5
    assert overall["refusal_recall"].value == 0.5
    assert overall["refusal_f1"].value == 0.5
    assert overall["refusal_f1"].n == 5
    assert overall["false_refusal_rate"].value == pytest.approx(1 / 3)  # a1 of a1, a2, a3
    assert (overall["false_refusal_rate"].n, overall["refusal_recall"].n) == (3, 2)
    # No refusal expected nor correct among multihop items: undefined, not zero.
    assert table["multihop"]["refusal_precision"].value is None
    assert table["unanswerable"]["refusal_recall"].value == 0.5


def test_aggregate_overall_and_by_type() -> None:
    scores = [
        _scores("a", "factual", False, False, **{"hit@5": 1.0, "key_fact_recall": 0.5}),
        _scores("b", "factual", False, False, **{"hit@5": 0.0, "key_fact_recall": 1.0}),
        _scores("c", "multihop", False, False, **{"hit@5": 1.0}),
        _scores("u", "unanswerable", True, True),
    ]
    table = aggregate(scores, resamples=100)
    assert list(table) == ["overall", "factual", "multihop", "unanswerable"]
    assert table["overall"]["hit@5"].value == pytest.approx(2 / 3)
    assert table["overall"]["hit@5"].n == 3
    assert table["overall"]["key_fact_recall"].value == 0.75
    assert table["factual"]["hit@5"].value == 0.5
    assert table["unanswerable"]["hit@5"].n == 0
    assert table["unanswerable"]["hit@5"].value is None
    assert table["overall"]["refusal_f1"].value == 1.0


def test_aggregate_splits_and_items_without_a_split() -> None:
    def item(item_id: str, split: str | None, hit: float) -> ItemScores:
        return ItemScores(item_id, "factual", {"hit@5": hit}, False, False, split=split)

    scores = [item("a", "calib", 1.0), item("b", "calib", 1.0), item("c", "test", 0.0)]
    splits = aggregate_splits([*scores, item("d", None, 0.0)], resamples=50)
    assert list(splits) == ["calib", "test"]
    assert (splits["calib"]["hit@5"].value, splits["calib"]["hit@5"].n) == (1.0, 2)
    assert (splits["test"]["hit@5"].value, splits["test"]["hit@5"].n) == (0.0, 1)
    assert splits["test"]["false_refusal_rate"].value == 0.0
    assert aggregate_splits([item("d", None, 1.0)]) == {}


def test_bootstrap_is_deterministic_and_brackets_the_value() -> None:
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0]
    first = bootstrap_mean(values, seed=7)
    assert first == bootstrap_mean(values, seed=7)
    assert first.value == 0.7
    assert first.n == 10
    assert first.low is not None and first.high is not None
    assert 0.0 <= first.low < 0.7 < first.high <= 1.0
    other = bootstrap_mean(values, seed=8)
    assert other.value == first.value  # only the interval depends on the seed


def test_bootstrap_edge_cases() -> None:
    assert bootstrap_mean([]) == bootstrap_mean([], seed=3)
    assert bootstrap_mean([]).value is None
    constant = bootstrap_mean([0.5, 0.5, 0.5])
    assert (constant.value, constant.low, constant.high) == (0.5, 0.5, 0.5)
    assert bootstrap_ratio([0, 0], [0, 0]).value is None
    # A ratio whose denominator is 0 in some resamples still gets an interval.
    ratio = bootstrap_ratio([1, 0, 0, 0], [1, 0, 0, 0], resamples=500)
    assert (ratio.value, ratio.low, ratio.high) == (1.0, 1.0, 1.0)


def test_metric_keys() -> None:
    assert judged("citation_recall", "lexical") == "citation_recall[lexical]"
    assert judge_of("citation_recall[lexical]") == "lexical"
    assert judge_of("hit@5") is None
    assert headline_keys(["lexical", "llm"]) == [
        "hit@5",
        "mrr@10",
        "key_fact_recall",
        "refusal_f1",
        "refusal_recall",
        "false_refusal_rate",
        "language_match",
        "answered_with_citation",
        "citation_recall[lexical]",
        "citation_recall[llm]",
        "citation_precision[lexical]",
        "citation_precision[llm]",
    ]


def test_a_bare_value_is_judged_as_the_answer_to_its_question() -> None:
    """ "54 年" is in a passage that says "54 年后的今天"; whether the years between the
    Turing test and the painting's sale were 54 is another claim, and the one judged."""
    passages = [make_passage(1, "但在 54 年后的今天，百度已经可以通过人工智能模型进行绘画创作。")]
    question = "从图灵测试提出到画作成交相隔了多少年？"
    bare = answer("54 年【1】", passages, question=question, sentences=[sentence("54 年【1】", 1)])
    judge = FakeJudge(name="contain")
    scores = citation_scores(bare, judge)
    assert (scores.recall, scores.precision) == (0.0, 0.0)
    assert judge.calls[0][0] == "从图灵测试提出到画作成交相隔了54 年"
    # A sentence of its own is judged as written.
    whole = "54 年后的今天，百度已经可以通过人工智能模型进行绘画创作。"
    full = answer(whole, passages, question=question, sentences=[sentence(whole + "【1】", 1)])
    assert citation_scores(full, FakeJudge(name="contain")).recall == 1.0


def test_a_computed_sentence_is_scored_by_redoing_its_arithmetic_whatever_the_judge() -> None:
    passages = [
        make_passage(1, "1950 年，图灵提出图灵测试。"),
        make_passage(2, "2018 年，画作成交。"),
    ]
    computed = AnswerSentence(
        "按原文给出的年份推算：2018 年 − 1950 年 = 68 年。", (2, 1), True, 1.0, True
    )
    judge = FakeJudge(name="contain")  # no passage contains the computation
    scores = citation_scores(answer("…", passages, sentences=[computed]), judge)
    assert (scores.recall, scores.precision) == (1.0, 1.0)
    wrong = replace(computed, text=computed.text.replace("68", "58"))
    assert citation_scores(answer("…", passages, sentences=[wrong]), judge).recall == 0.0
    # A marker whose passage gives neither year is an imprecise citation.
    extra = replace(computed, markers=(2, 1, 3))
    three = [*passages, make_passage(3, "生成对抗网络由生成器和判别器组成。")]
    scores = citation_scores(answer("…", three, sentences=[extra]), judge)
    assert (scores.recall, scores.precision) == (1.0, 2 / 3)
    assert not judge.calls
