"""Differences (years between two events, time between two durations) computed in code from
the quantities the answer's cited sentences give."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.arithmetic import (
    asked_difference,
    computed_answer,
    difference_sentence,
    find_difference,
    pieces,
    verify,
)
from assistant.citations import LexicalJudge
from assistant.fakes import make_passage as passage
from assistant.terms import CorpusTerms, question_terms
from assistant.types import AnswerSentence

TURING = "1950 年，艾伦·图灵在论文《计算机器与智能》中提出了著名的图灵测试。"
MUSIC = "1957 年，第一支由计算机创作的音乐作品《依利亚克组曲》完成。"
PAINTING = "2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交。"
POEMS = "2017 年，微软人工智能少女小冰推出了世界首部由人工智能创作的诗集。"
STYLEGAN = "2018 年，英伟达发布的 StyleGAN 模型可以自动生成图片。"
LIBRARY = CorpusTerms(
    [TURING, MUSIC, PAINTING, POEMS, STYLEGAN, "生成对抗网络由生成器和判别器组成。"]
)
TURING_TO_SALE = "从图灵提出图灵测试，到人工智能画作在拍卖行成交，中间相隔了多少年？"


def cited(text: str, *markers: int) -> AnswerSentence:
    return AnswerSentence(text, markers, True, 1.0)


@pytest.mark.parametrize(
    "question",
    [
        TURING_TO_SALE,
        "以生成对抗网络为代表的算法被提出之后，又过了几年英伟达才发布 StyleGAN？",
        "两件事哪件更早，早了几年？",
        "How many years passed between the Turing test and the Christie's sale?",
    ],
)
def test_a_question_asking_how_many_years_between_asks_an_interval(question: str) -> None:
    assert asked_difference(question) == "year"


@pytest.mark.parametrize(
    "question",
    [
        "英伟达的 StyleGAN 模型是哪一年发布的？",  # which year, not how many
        "沉淀积累阶段是从 90 年代的哪几年开始的？",
        "按“54 年后的今天”推算，写作白皮书时距离图灵测试被提出有多少年？",  # a stated span
        "In which year was the Turing test proposed?",
    ],
)
def test_which_year_or_a_stated_span_is_no_interval(question: str) -> None:
    assert asked_difference(question) is None


def test_the_two_years_are_those_of_the_events_the_question_names() -> None:
    sentences = [cited(TURING, 1), cited(MUSIC, 2), cited(PAINTING, 2)]
    passages = [passage(1, TURING), passage(2, MUSIC + PAINTING)]
    terms = question_terms(TURING_TO_SALE, LIBRARY)
    interval = find_difference(TURING_TO_SALE, terms, sentences, passages)
    assert interval is not None
    assert (interval.larger.quantity.value, interval.smaller.quantity.value) == (2018, 1950)
    assert (interval.larger_marker, interval.smaller_marker) == (2, 1)
    assert (
        difference_sentence(interval, "zh") == "按原文给出的年份推算：2018 年 − 1950 年 = 68 年。"
    )
    assert "2018 − 1950 = 68 years" in difference_sentence(interval, "en")


def test_a_sentence_with_two_years_is_read_clause_by_clause() -> None:
    sentence = cited("微软小冰于2017年推出诗集，英伟达于2018年发布StyleGAN模型。", 1)
    assert [(p.quantity.value, p.text) for p in pieces([sentence], "year")] == [
        (2017, "微软小冰于2017年推出诗集，"),
        (2018, "英伟达于2018年发布StyleGAN模型。"),
    ]
    question = "微软小冰推出诗集和英伟达发布 StyleGAN 模型，哪件事更早，早了几年？"
    interval = find_difference(
        question,
        question_terms(question, LIBRARY),
        [sentence],
        [passage(1, POEMS + STYLEGAN)],
    )
    assert interval is not None
    assert difference_sentence(interval, "zh").endswith("2018 年 − 2017 年 = 1 年。")


def test_nothing_is_computed_without_two_named_events_each_dated_by_its_passage() -> None:
    terms = question_terms(TURING_TO_SALE, LIBRARY)
    both = [passage(1, TURING), passage(2, PAINTING)]
    # One event only.
    assert find_difference(TURING_TO_SALE, terms, [cited(TURING, 1)], both) is None
    # The year is not in the passage the sentence cites.
    wrong = [cited(TURING, 1), cited(PAINTING.replace("2018", "2019"), 2)]
    assert find_difference(TURING_TO_SALE, terms, wrong, both) is None
    # An uncited sentence dates nothing.
    assert find_difference(TURING_TO_SALE, terms, [cited(TURING, 1), cited(PAINTING)], both) is None
    # A question that asks no interval.
    asked = "图灵测试是哪一年提出的？"
    sentences = [cited(TURING, 1), cited(PAINTING, 2)]
    assert find_difference(asked, question_terms(asked, LIBRARY), sentences, both) is None


def test_two_equally_good_pairs_that_disagree_compute_nothing() -> None:
    question = "从图灵测试到画作成交相隔多少年？"
    sentences = [cited(TURING, 1), cited(PAINTING, 2), cited(PAINTING.replace("2018", "2019"), 3)]
    passages = [
        passage(1, TURING),
        passage(2, PAINTING),
        passage(3, PAINTING.replace("2018", "2019")),
    ]
    assert find_difference(question, question_terms(question, LIBRARY), sentences, passages) is None


def test_a_computed_sentence_is_verified_by_redoing_it_on_its_passages() -> None:
    passages = [passage(1, TURING), passage(2, PAINTING)]
    interval = find_difference(
        TURING_TO_SALE,
        question_terms(TURING_TO_SALE, LIBRARY),
        [cited(TURING, 1), cited(PAINTING, 2)],
        passages,
    )
    assert interval is not None
    answer = computed_answer(interval, "zh", passages, LexicalJudge(0.5))
    (sentence,) = answer.sentences
    assert sentence.computed and sentence.markers == (2, 1)
    assert answer.text.endswith("= 68 年。【2】【1】")
    assert {c.quote for c in answer.citations} == {TURING, PAINTING}
    assert verify(sentence, passages)
    assert not verify(replace(sentence, text=sentence.text.replace("68", "67")), passages)
    assert not verify(replace(sentence, markers=(2,)), passages)  # 1950 is in passage 1 only
    assert not verify(replace(sentence, text="两件事相隔很久。"), passages)


QUAKES = (
    "2014 年 3 月，美国洛杉矶时报网站的机器人记者 Quakebot，在洛杉矶地震发生后仅 3 分钟，就写出"
    "相关消息并进行发布；中国地震台网的写稿机器人在九寨沟地震发生后 7 秒内就完成了相关消息的编发。"
)
FASTER = "洛杉矶时报的机器人记者和中国地震台网的写稿机器人，谁在地震后更快发出消息？快了多少？"
LIBRARY_QUAKES = CorpusTerms([QUAKES, TURING, PAINTING, "美联社的写稿平台每秒可以写 2000 篇报道。"])


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        (FASTER, "duration"),
        ("两个机器人发稿的时间相差多久？", "duration"),
        ("How much faster was the Chinese earthquake robot than Quakebot?", "duration"),
        ("美联社的写稿平台每秒能写多少篇报道？", None),  # a quantity, no difference
        ("Quakebot 用了多长时间写出消息？", None),
    ],
)
def test_a_question_asking_how_much_sooner_asks_a_difference_of_durations(
    question: str, kind: str | None
) -> None:
    assert asked_difference(question) == kind


def test_the_time_between_two_durations_is_computed_in_the_smaller_unit() -> None:
    answer = [
        cited(
            "洛杉矶时报的机器人记者在地震后3分钟发出消息，中国地震台网的写稿机器人在九寨沟地震"
            "发生后7秒内发出消息。",
            1,
        )
    ]
    passages = [passage(1, QUAKES)]
    difference = find_difference(FASTER, question_terms(FASTER, LIBRARY_QUAKES), answer, passages)
    assert difference is not None
    assert difference_sentence(difference, "zh") == "按原文给出的时长推算：3 分钟 − 7 秒 = 173 秒。"
    english = difference_sentence(difference, "en")
    assert english == "From the durations the passages give: 3 minutes − 7 seconds = 173 seconds."
    computed = computed_answer(difference, "zh", passages, LexicalJudge(0.5)).sentences[0]
    assert verify(computed, passages)
    assert verify(replace(computed, text=english), passages)
    assert not verify(replace(computed, text=computed.text.replace("173", "170")), passages)
    # A year and a duration do not subtract.
    assert not verify(replace(computed, text="2014 年 − 7 秒 = 2007 秒。"), passages)
    # Without the second duration in the answer, nothing.
    alone = [cited("洛杉矶时报的机器人记者在地震后3分钟发出消息。", 1)]
    assert find_difference(FASTER, question_terms(FASTER, LIBRARY_QUAKES), alone, passages) is None
