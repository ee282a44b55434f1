"""What value a question asks for, and whether a sentence gives one (assistant.asked)."""

from __future__ import annotations

import pytest

from assistant.asked import Asked, asked_value, gives_value


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("生成对抗网络是哪一年提出的？", "year"),
        ("When was the GAN proposed?", "year"),
        ("In which year did it appear?", "year"),
        ("该规定从哪一天起施行？", "day"),
        ("On what date did it take effect?", "day"),
        ("这部电影最终获得了第几名？", "rank"),
        ("这部诗集收录了多少首诗？", "count"),
        ("这场直播卖出了多少销售额？", "number"),
        ("AIGC 的发展经历了几个阶段？", "number"),
        ("How many parameters does the model have?", "number"),
        ("What resolution can it generate?", "number"),
        ("生成对抗网络由哪几部分组成？", None),
        ("为什么说 AIGC 是新的内容生产方式？", None),
        ("What does the paper say about deepfakes?", None),
    ],
)
def test_the_asked_value_is_read_from_the_question_words(question: str, kind: str | None) -> None:
    asked = asked_value(question)
    assert (asked.kind if asked else None) == kind


def test_a_count_keeps_its_measure_word_and_time_or_money_take_any_of_their_units() -> None:
    assert asked_value("一共收录了多少首诗？") == Asked("count", ("首",))
    seconds = asked_value("最长能生成多少秒的视频？")
    assert seconds is not None and "分钟" in seconds.units
    money = asked_value("市场规模达到了多少亿元？")
    assert money is not None and "美元" in money.units


def test_a_year_must_be_one_the_question_does_not_state() -> None:
    asked = Asked("year")
    question = "2018 年以后，StyleGAN-XL 是哪一年发布的？"
    assert gives_value(asked, "2019 年，DeepMind 发布了 DVD-GAN 模型。", question)
    assert not gives_value(asked, "2018 年，StyleGAN 问世。", question)
    assert not gives_value(asked, "第四代模型 StyleGAN-XL 生成的图片难辨真假。", question)
    assert not gives_value(asked, "90 年代以来，2010s 的模型……", question)


def test_a_count_needs_a_number_with_its_unit() -> None:
    poems = asked_value("这部诗集一共收录了多少首诗？")
    assert poems is not None
    assert gives_value(poems, "诗集共收录 139 首现代诗。")
    assert gives_value(poems, "诗集收录了一百多首诗。")
    assert gives_value(poems, "诗集收录了 100 多首诗。")  # the PDF's space before a CJK word
    assert not gives_value(poems, "首部 100% 由人工智能创作的诗集。")  # a number, not of poems
    money = asked_value("2022 年市场规模达到了多少亿元？")
    assert money is not None
    assert gives_value(money, "市场规模达到 300 万美元。")
    assert not gives_value(money, "2022 年市场规模迅速扩大。", "2022 年市场规模达到了多少亿元？")


def test_any_number_answers_how_many_but_not_the_indefinite_one_or_the_question_s_own() -> None:
    asked = Asked("number")
    assert gives_value(asked, "模型的参数量达到 1750 亿。")
    assert not gives_value(asked, "这是一个模型。")
    assert not gives_value(asked, "2018 年。", "How many dollars in 2018?")


def test_a_day_and_a_rank() -> None:
    assert gives_value(Asked("day"), "该规定自 2023 年 1 月 10 日起施行。")
    assert not gives_value(Asked("day"), "该规定于 2022 年 11 月发布。")
    assert gives_value(Asked("rank"), "该片获得第二名。", "获得了第几名？")
    assert not gives_value(Asked("rank"), "该片入围了比赛。", "获得了第几名？")
