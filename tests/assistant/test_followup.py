"""Follow-ups become standalone questions: the extractive rule and the LLM condense step."""

from __future__ import annotations

import pytest

from assistant.fakes import ScriptedChatModel
from assistant.followup import (
    DEFAULT_RULES,
    FollowupRules,
    RuleRewriter,
    asked_part,
    list_items,
    needs_context,
    referent,
    subject_of,
)
from assistant.generators import ChatGenerator
from assistant.prompts import CONDENSE_PROMPT
from assistant.types import Turn


def history(question: str, answer: str = "……") -> list[Turn]:
    return [Turn("user", question), Turn("assistant", answer)]


GAN = history("生成对抗网络由哪几部分组成？", "由一个生成器和一个判别器组成。")
STAGES = history("AIGC 的发展历程分为哪几个阶段？", "分为三个阶段。")
TWIN = history("智能数字内容孪生分为哪两个分支？", "分为智能增强技术和智能转译技术。")
ENGLISH = history("What is a generative adversarial network?", "A GAN is ...")


@pytest.mark.parametrize(
    "question",
    [
        "它有什么作用？",
        "其训练代价呢？",
        "这个技术成熟吗？",
        "那训练代价呢？",
        "该技术有哪些应用？",
        "此类模型的缺点是什么？",
        "上述问题如何治理？",
        "后者目前比较成熟的应用有哪些？",
        "第二个阶段受什么限制？",
        "第3个呢？",
        "为什么？",
        "具体有哪些？",
    ],
)
def test_chinese_pointers_and_ellipsis_need_context(question: str) -> None:
    assert needs_context(question)


@pytest.mark.parametrize(
    "question",
    [
        "What about its cost?",
        "How about the discriminator?",
        "What are they used for?",
        "Why is that?",
        "And the second one?",
        "Which ones?",
    ],
)
def test_english_pointers_and_short_questions_need_context(question: str) -> None:
    assert needs_context(question)


@pytest.mark.parametrize(
    "question",
    [
        "白皮书在治理层面指出 AIGC 暴露出了哪些问题？",
        "深度学习算法是在哪一年取得重大突破的？",
        "什么是图灵测试？",
        "What does the white paper say about copyright disputes in AIGC?",
        "Which self-supervised learning techniques does the paper name?",
    ],
)
def test_a_question_that_stands_alone_needs_no_context(question: str) -> None:
    assert not needs_context(question)


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("生成对抗网络由哪几部分组成？", "生成对抗网络由部分组成"),
        ("AIGC 的发展历程分为哪几个阶段？", "AIGC 的发展历程分为阶段"),
        ("请问什么是图灵测试？", "图灵测试"),
        ("根据白皮书，AIGC 面临哪些问题？", "AIGC 面临问题"),
        ("What is a generative adversarial network?", "a generative adversarial network"),
        ("Which model was ranked first on GLUE?", "model was ranked first on GLUE"),
        ("According to the white paper, what is AIGC?", "AIGC"),
    ],
)
def test_the_subject_is_the_question_without_question_words(question: str, subject: str) -> None:
    assert subject_of(question) == subject


@pytest.mark.parametrize(
    ("question", "turns", "standalone"),
    [
        (
            "它有什么作用？",
            GAN,
            "它有什么作用？（上文：生成对抗网络由部分组成；由一个生成器和一个判别器组成。）",
        ),
        (
            "第一个阶段受什么限制？",
            STAGES,
            "第一个阶段受什么限制？（上文：AIGC 的发展历程分为阶段；分为三个阶段。）",
        ),
        (
            "后者有哪些应用？",
            TWIN,
            "后者有哪些应用？（所指：智能转译技术）（上文：智能数字内容孪生分为分支；"
            "分为智能增强技术和智能转译技术。）",
        ),
        (
            "What about its cost?",
            ENGLISH,
            "What about its cost? (context: a generative adversarial network; A GAN is ...)",
        ),
    ],
)
def test_the_rule_carries_the_previous_subject(
    question: str, turns: list[Turn], standalone: str
) -> None:
    assert RuleRewriter().condense(question, turns) == standalone


def test_the_rule_uses_the_last_user_question() -> None:
    turns = [*STAGES, *GAN]
    assert (
        RuleRewriter()
        .condense("它有什么作用？", turns)
        .endswith("（上文：生成对抗网络由部分组成；由一个生成器和一个判别器组成。）")
    )


def test_the_previous_answer_gist_drops_markers_lead_ins_and_refusals() -> None:
    rule = RuleRewriter(answer_chars=12)
    cited = history(
        "数字内容的创作能力分为哪两类？",
        "根据白皮书：\n分为基于模仿的创作和基于概念的创作两类。【3】",
    )
    assert rule.condense("它能创作出什么？", cited) == (
        "它能创作出什么？（上文：数字内容的创作能力分为；分为基于模仿的创作和基于…）"
    )
    # An ordinal follow-up also gets the item it points at.
    assert rule.condense("第二类能创作出什么？", cited) == (
        "第二类能创作出什么？（所指：基于概念的创作两类）（上文：数字内容的创作能力分为；"
        "分为基于模仿的创作和基于…）"
    )
    refused = history("ChatGPT 的参数量是多少？", "白皮书中没有找到与该问题相关的内容。")
    assert (
        rule.condense("它的训练代价呢？", refused) == "它的训练代价呢？（上文：ChatGPT 的参数量）"
    )
    unanswered = [Turn("user", "生成对抗网络由哪几部分组成？")]
    assert (
        rule.condense("它有什么作用？", unanswered)
        == "它有什么作用？（上文：生成对抗网络由部分组成）"
    )


@pytest.mark.parametrize(
    ("question", "turns"),
    [
        ("白皮书在治理层面指出 AIGC 暴露出了哪些问题？", GAN),  # stands alone
        ("它有什么作用？", []),  # no history
        ("它有什么作用？", [Turn("assistant", "你好，请提问。")]),  # no user turn
        ("What does the white paper say about copyright disputes in AIGC?", ENGLISH),
    ],
)
def test_no_rewrite_when_the_question_stands_alone_or_there_is_no_history(
    question: str, turns: list[Turn]
) -> None:
    assert RuleRewriter().condense(question, turns) == question


# -- the LLM condense step -------------------------------------------------------------------


def test_the_condense_prompt_holds_the_history_and_the_question() -> None:
    model = ScriptedChatModel(replies=["生成对抗网络中的判别器有什么作用？"])
    generator = ChatGenerator(model, mode="local")
    standalone = generator.condense("它有什么作用？", GAN)
    assert standalone == "生成对抗网络中的判别器有什么作用？"
    (prompt,) = model.prompts
    assert len(prompt) == 1 and prompt[0].type == "human"
    text = str(prompt[0].content)
    assert text == CONDENSE_PROMPT.format(
        history="用户：生成对抗网络由哪几部分组成？\n助手：由一个生成器和一个判别器组成。",
        question="它有什么作用？",
    )
    assert "改写成一个不依赖上下文" in text


def test_condense_keeps_only_the_first_line_of_the_reply() -> None:
    model = ScriptedChatModel(replies=["生成对抗网络有什么作用？\n解释：……"])
    assert ChatGenerator(model, mode="local").condense("它有什么作用？", GAN) == (
        "生成对抗网络有什么作用？"
    )


def test_condense_is_not_asked_for_a_standalone_question_or_without_history() -> None:
    model = ScriptedChatModel()
    generator = ChatGenerator(model, mode="local")
    assert generator.condense("什么是图灵测试？", GAN) == "什么是图灵测试？"
    assert generator.condense("它有什么作用？", []) == "它有什么作用？"
    assert model.prompts == []


def test_an_ordinal_follow_up_is_condensed_by_the_rule_not_the_model() -> None:
    """A small model's rewrite was seen to drop the ordinal ("第三个方面" -> "…有哪些特点？")."""
    model = ScriptedChatModel(replies=["生成对抗网络由哪几部分组成？"])
    standalone = ChatGenerator(model, mode="local").condense("后一个部分起什么作用？", GAN)
    assert standalone == RuleRewriter().condense("后一个部分起什么作用？", GAN)
    assert "（所指：一个判别器组成）" in standalone and model.prompts == []


@pytest.mark.parametrize(
    "model",
    [
        ScriptedChatModel(replies=["What does it do?"]),  # wrong language
        ScriptedChatModel(replies=[""]),  # nothing
        ScriptedChatModel(fail_with="model crashed"),  # an error must not lose the question
    ],
)
def test_condense_falls_back_to_the_rule(model: ScriptedChatModel) -> None:
    generator = ChatGenerator(model, mode="local")
    assert generator.condense("它有什么作用？", GAN) == RuleRewriter().condense(
        "它有什么作用？", GAN
    )


def test_the_rules_set_the_length_and_opener_thresholds() -> None:
    short_zh, opener, short_en = "训练代价？", "那么训练代价高不高呢？", "Its training cost?"
    assert needs_context(short_zh)
    assert not needs_context(short_zh, FollowupRules(zh_max_chars=3))
    assert needs_context("还有哪些生成对抗网络的变体被提出来了？")
    assert not needs_context(
        "还有哪些生成对抗网络的变体被提出来了？", FollowupRules(zh_openers=False)
    )
    assert needs_context(opener, FollowupRules(zh_openers=False))  # 那 points back anyway
    assert needs_context(short_en)  # "its"
    assert needs_context("Training cost overall?")
    assert not needs_context("Training cost overall?", FollowupRules(en_max_words=2))


def test_without_answer_chars_only_the_subject_is_carried() -> None:
    rule = RuleRewriter(rules=FollowupRules(answer_chars=0))
    assert rule.condense("它有什么作用？", GAN) == "它有什么作用？（上文：生成对抗网络由部分组成）"
    assert RuleRewriter().answer_chars == DEFAULT_RULES.answer_chars


@pytest.mark.parametrize(
    ("answer", "items"),
    [
        (
            "分为三个阶段：早期萌芽阶段（1950s-1990s）、沉淀积累阶段和快速发展阶段。【1】",
            ["早期萌芽阶段", "沉淀积累阶段", "快速发展阶段"],
        ),
        (
            "归纳了三方面：一是应用范围不断拓展，二是应用场景不断升级，三是应用形态日趋完善。",
            ["应用范围不断拓展", "应用场景不断升级", "应用形态日趋完善"],
        ),
        (
            "四条：深化正向引导、稳步推进监管治理；呼吁自律自治、共建产业发展生态。",
            ["深化正向引导、稳步推进监管治理", "呼吁自律自治、共建产业发展生态"],
        ),
        ("由一个生成器和一个判别器组成。", ["由一个生成器", "一个判别器组成"]),
        (
            "Twinning, editing and creation.",
            ["Twinning", "editing", "creation"],
        ),
        ("生成对抗网络是一种深度学习模型。", []),
        ("It is a deep learning model.", []),
    ],
)
def test_list_items_reads_the_list_an_answer_gives(answer: str, items: list[str]) -> None:
    assert list_items(answer) == items


@pytest.mark.parametrize(
    ("question", "item"),
    [
        ("第三个方面具体指什么？", "应用形态日趋完善"),
        ("第一个呢？", "应用范围不断拓展"),
        ("后者呢？", "应用形态日趋完善"),
        ("前者呢？", "应用范围不断拓展"),
        ("第五个方面呢？", None),  # the list has three
        ("它具体指什么？", None),  # no ordinal
    ],
)
def test_an_ordinal_follow_up_points_at_one_item(question: str, item: str | None) -> None:
    turns = [
        Turn("user", "AI 合成主播的应用有什么特点？"),
        Turn("assistant", "一是应用范围不断拓展，二是应用场景不断升级，三是应用形态日趋完善。"),
    ]
    assert referent(question, turns) == item


def test_an_english_ordinal_follow_up_points_at_one_item() -> None:
    turns = [
        Turn("user", "What are the three levels of AIGC's capability?"),
        Turn("assistant", "Digital twinning, digital editing and digital creation."),
    ]
    assert referent("And the second one?", turns) == "digital editing"
    assert referent("What about the latter?", turns) == "digital creation"
    standalone = RuleRewriter().condense("What is the goal of the first one?", turns)
    assert standalone == (
        "What is the goal of the first one? (meaning: Digital twinning) "
        "(context: the three levels of AIGC's capability; "
        "Digital twinning, digital editing and digital creation.)"
    )
    assert (
        asked_part(standalone) == "What is the goal of the first one? (meaning: Digital twinning)"
    )


def test_the_asked_part_of_a_question_that_stands_alone_is_the_question() -> None:
    assert asked_part("生成对抗网络由哪几部分组成？") == "生成对抗网络由哪几部分组成？"
    assert asked_part("它有什么作用？（上文：生成对抗网络；由两部分组成。）") == "它有什么作用？"
