"""The support checker, layer by layer, on real sentences of the white paper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.support import CheckerConfig, PairsError, SupportChecker, clauses, read_pairs
from ingest.embeddings import HashingEmbeddings

HISTORY = (
    "早期萌芽阶段（1950s-1990s），受限于当时的科技水平，AIGC仅限于小范围实验。1957 年，莱杰伦·希勒"
    "（Lejaren Hiller）和伦纳德·艾萨克森（Leonard Isaacson）通过将计算机程序中的控制变量换成音符完成了"
    "历史上第一支由计算机创作的音乐作品——弦乐四重奏《依利亚克组曲（Illiac Suite）》。1966 年，约瑟夫·"
    "魏岑鲍姆（Joseph Weizenbaum）和肯尼斯·科尔比（Kenneth Colby）共同开发了世界第一款可人机对话的"
    "机器人“伊莉莎（Eliza）”，其通过关键字扫描和重组完成交互任务。80 年代中期，IBM 基于隐形马尔科夫链"
    "模型（Hidden Markov Model, HMM）创造了语音控制打字机“坦戈拉（Tangora）”，能够处理约 20000 个单词。"
)
PREFACE = (
    "本白皮书重点从 AIGC 技术、应用和治理等维度进行了阐述。在技术层面，梳理提出了 AIGC 技术体系，既涵盖了"
    "对现实世界各种内容的数字化呈现和增强，也包括了基于人工智能的自主内容创作。"
)
POLICY = (
    "2022 年 5 月，中共中央办公厅、国务院办公厅印发了《关于推进实施国家文化数字化战略的意见》，提出到"
    "“十四五”时期末，基本建成文化数字化基础设施和服务平台。"
)


@pytest.fixture(scope="module")
def checker() -> SupportChecker:
    return SupportChecker(embeddings=HashingEmbeddings(64))


def test_a_faithful_paraphrase_is_supported(checker: SupportChecker) -> None:
    verdict = checker.check("白皮书从 AIGC 技术、应用和治理三个方面进行了阐述。", PREFACE)
    assert verdict.supported, verdict


def test_a_correct_sentence_with_year_title_and_names_is_supported(checker: SupportChecker) -> None:
    sentence = "1957 年，希勒和艾萨克森完成了历史上第一支由计算机创作的音乐作品《依利亚克组曲》。"
    assert checker.check(sentence, HISTORY).supported


def test_a_wrong_month_is_caught_by_the_number_layer(checker: SupportChecker) -> None:
    verdict = checker.check("2022 年 3 月印发了《关于推进实施国家文化数字化战略的意见》。", POLICY)
    assert not verdict.supported
    assert verdict.layer == "terms"
    assert any("3 月" in r for r in verdict.reasons), verdict.reasons


def test_a_wrong_year_is_caught(checker: SupportChecker) -> None:
    verdict = checker.check("1958 年，计算机创作了弦乐四重奏《依利亚克组曲》。", HISTORY)
    assert not verdict.supported and "1958" in verdict.reasons[0]


def test_a_latin_name_missing_from_the_passage_is_caught(checker: SupportChecker) -> None:
    verdict = checker.check("1966 年，Alan Turing 开发了机器人“伊莉莎”。", HISTORY)
    assert not verdict.supported and verdict.layer == "terms"


def test_a_title_not_in_the_passage_is_caught(checker: SupportChecker) -> None:
    verdict = checker.check("2022 年 5 月印发了《关于推进实施国家数字经济战略的意见》。", POLICY)
    assert not verdict.supported
    assert any("quoted" in r for r in verdict.reasons)


def test_merged_examples_fail_alignment(checker: SupportChecker) -> None:
    # 伊莉莎 was built by Weizenbaum and Colby; IBM built 坦戈拉, in the next sentence.
    verdict = checker.check("世界第一款可人机对话的机器人“伊莉莎”是由 IBM 开发的。", HISTORY)
    assert not verdict.supported
    assert verdict.layer == "alignment"


def test_an_inserted_negation_is_caught(checker: SupportChecker) -> None:
    verdict = checker.check("白皮书没有从 AIGC 技术、应用和治理等维度进行阐述。", PREFACE)
    assert not verdict.supported and verdict.layer == "polarity"
    assert "没有" in verdict.reasons[0]


def test_a_removed_negation_is_caught(checker: SupportChecker) -> None:
    passage = (
        "80 年代末至 90 年代中，各国政府纷纷减少了在人工智能领域的投入，AIGC 没有取得重大突破。"
    )
    verdict = checker.check("80 年代末至 90 年代中，AIGC 取得重大突破。", passage)
    assert not verdict.supported


def test_saying_the_white_paper_says_it_names_nothing_the_passage_must_hold(
    checker: SupportChecker,
) -> None:
    # jieba tags 白皮书 as a name; a passage of the paper rarely says "白皮书" itself.
    sentence = "白皮书指出，1957 年希勒和艾萨克森完成了历史上第一支由计算机创作的音乐作品。"
    assert "白皮书" not in HISTORY
    assert checker.check(sentence, HISTORY).supported
    assert not checker.check(sentence.replace("1957", "1958"), HISTORY).supported


def test_can_only_is_an_overclaim(checker: SupportChecker) -> None:
    passage = "结合人工智能的演进历程，AIGC 的发展大致可以分为三个阶段。"
    verdict = checker.check("AIGC 的发展只能分为三个阶段。", passage)
    assert not verdict.supported and verdict.layer == "polarity"


def test_an_overclaim_is_caught(checker: SupportChecker) -> None:
    verdict = checker.check("白皮书仅从 AIGC 技术维度进行了阐述。", PREFACE)
    assert not verdict.supported and verdict.layer == "polarity"


def test_english_negation_and_quantifier_words_map_to_chinese(checker: SupportChecker) -> None:
    assert not checker.check(
        "In 1957 the Illiac Suite was not composed by a computer.", HISTORY
    ).supported
    verdict = checker.check("The white paper covers only the technology of AIGC.", PREFACE)
    assert not verdict.supported and "only" in verdict.reasons[0]


def test_english_numbers_are_checked_against_chinese_dates(checker: SupportChecker) -> None:
    verdict = checker.check("The opinion was issued in March 2022.", POLICY)
    assert not verdict.supported and verdict.layer == "terms"


def test_an_amount_in_myriads_is_found_written_the_western_way(checker: SupportChecker) -> None:
    passage = "2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交，成为首个出售的人工智能艺术品。"
    right = checker.check("In 2018, an AI painting sold at Christie's for $432,500.", passage)
    # The amount and the name are anchored in the one sentence that holds them (whether the
    # hashing embedder then aligns the English clause is another layer's question).
    assert not any("different passage sentences" in r for r in right.reasons)
    # The same digits are not a licence for another amount: 43.25 million is not 43.25 万.
    wrong = checker.check("In 2018, an AI painting sold at Christie's for $4,325,000.", passage)
    assert not wrong.supported


def test_hours_are_hours_in_either_language() -> None:
    """ "9 个小时" is nine hours (the unit is 个小时, not the counter 个): seen rejecting a
    correct English answer about virtual hosts streaming for nine hours."""
    from assistant.support.exact import _number_problems

    hosts = "品牌的虚拟主播一般会在凌晨 0 点上线，并进行近 9 个小时的直播。"
    assert _number_problems("The hosts stream for 9 hours.", hosts) == []
    assert _number_problems("虚拟主播直播约 9 小时。", hosts) == []
    assert _number_problems("The hosts stream for 10 hours.", hosts)
    assert _number_problems("The hosts stream for 9 minutes.", hosts)


def test_a_translated_name_is_left_to_the_model_a_library_name_is_checked() -> None:
    """An English answer may translate a Chinese name (字节跳动 -> ByteDance): only a name the
    library writes in Latin letters must stand in the passage as written."""
    from assistant.support.exact import _term_problems

    giants = "以及 Meta、微软、字节跳动等平台型巨头的数字化场景向元宇宙转型。"
    vocabulary = frozenset({"meta", "openai", "google"})
    translated = "Meta, Microsoft and ByteDance are shifting towards the metaverse."
    assert _term_problems(translated, giants, "en", vocabulary, 2) == []
    swapped = "Meta, OpenAI and ByteDance are shifting towards the metaverse."
    assert _term_problems(swapped, giants, "en", vocabulary, 2) == [
        "name OpenAI not in the passage"
    ]
    # Without the library's vocabulary every name is checked; within one language too.
    assert _term_problems(translated, giants, "en", None, 2)
    assert _term_problems("以及 ByteDance 等平台型巨头。", giants, "zh", vocabulary, 2)


def test_ai_and_its_possessive_are_translations_not_names() -> None:
    """ "AI's" renders 人工智能的 as "AI" renders 人工智能: seen removing a correct English
    answer ("The paper divides AI's content creation capability into two categories…")."""
    from assistant.support.exact import _term_problems

    creation = (
        "数字内容的创作能力可划分为基于模仿的创作和基于概念的创作两类。人工智能算法具备创作能力。"
    )
    for sentence in (
        "The paper divides AI's content creation capability into two categories.",
        "The paper divides AI’s content creation capability into two categories.",
        "AI-generated content creation is divided into two categories.",
    ):
        assert _term_problems(sentence, creation, "en", None, 2) == [], sentence
    assert _term_problems(
        "AIGC's creation is divided into two categories.", creation, "en", None, 2
    )


def test_clauses_cut_at_commas_and_join_tiny_pieces() -> None:
    assert clauses("1957 年，希勒和艾萨克森完成了作品，其名为《依利亚克组曲》。") == [
        "1957 年 希勒和艾萨克森完成了作品",
        "其名为《依利亚克组曲》。",
    ]


class _Model:
    name = "fake-model"
    threshold = 0.5

    def __init__(self, value: float) -> None:
        self.value = value
        self.calls: list[tuple[str, str]] = []

    def score(self, sentence: str, passage: str) -> float:
        self.calls.append((sentence, passage))
        return self.value


def test_the_model_decides_what_the_cheap_layers_pass_on_the_aligned_sentence() -> None:
    model = _Model(0.9)
    checker = SupportChecker(config=CheckerConfig(), model=model)
    verdict = checker.check("白皮书梳理提出了 AIGC 技术体系。", PREFACE)
    assert verdict.layer == "model" and verdict.supported
    assert model.calls and model.calls[0][1].startswith("在技术层面")  # the aligned sentence only
    model.calls.clear()
    assert not checker.check("白皮书没有梳理 AIGC 技术体系。", PREFACE).supported
    assert not model.calls  # decided by the polarity layer, no model call


def test_read_pairs_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"passage": "甲", "sentence": "乙"}\n{"passage": "甲"}\n', encoding="utf-8")
    with pytest.raises(PairsError, match=r"pairs.jsonl:2: .*sentence"):
        read_pairs(path)
    path.write_text('{"passage": "甲", "sentence": "乙"}\nnot json\n', encoding="utf-8")
    with pytest.raises(PairsError, match=r":2: not valid JSON"):
        read_pairs(path)
    with pytest.raises(PairsError, match="no such file"):
        read_pairs(tmp_path / "missing.jsonl")


def test_verify_cli_prints_verdicts_in_input_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui.cli import main

    monkeypatch.setenv("WHITEPAPER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WHITEPAPER_EMBEDDING", "hash:64")
    path = tmp_path / "pairs.jsonl"
    rows = [
        {
            "passage": POLICY,
            "sentence": "2022 年 3 月印发了《关于推进实施国家文化数字化战略的意见》。",
        },
        {"passage": PREFACE, "sentence": "白皮书从 AIGC 技术、应用和治理三个方面进行了阐述。"},
    ]
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["verify", str(path), "--json", "--explain", "--no-model"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [o["supported"] for o in out] == [False, True]
    assert out[0]["layer"] == "terms" and "3 月" in out[0]["reasons"][0]
    lines = CliRunner().invoke(main, ["verify", str(path), "--no-model"]).output.splitlines()
    assert [json.loads(line)["supported"] for line in lines] == [False, True]
    bad = CliRunner().invoke(main, ["verify", str(tmp_path / "nope.jsonl"), "--no-model"])
    assert bad.exit_code == 1 and "no such file" in bad.output
