from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from pydantic import Field

from assistant.fakes import ScriptedChatModel
from assistant.generators import (
    EVIDENCE_MARGIN,
    EVIDENCE_MEANING_MARGIN,
    ChatGenerator,
    until_repeated,
)
from assistant.markers import MAX_MARKS, citation_grammar, translation_grammar
from assistant.prompts import translate_messages, western_amounts
from assistant.types import REFUSAL, GenerationRequest, Passage


def _passage(number: int) -> Passage:
    return Passage(
        number=number,
        chunk_ids=(f"c{number}",),
        doc_id="d",
        title="t",
        content_hash="h",
        text="生成对抗网络由生成器和判别器组成。",
        start=0,
        end=17,
        page_labels=("1",),
        page_indices=(1,),
        section_path=("一",),
        score=1.0,
    )


def test_the_grammar_allows_only_the_given_numbers_and_the_refusals() -> None:
    grammar = citation_grammar([3, 1, 3])
    mark = next(line for line in grammar.splitlines() if line.startswith("mark ::="))
    assert re.findall(r'"(\d+)"', mark) == ["1", "3"]
    assert all(f'"{text}"' in grammar for text in REFUSAL.values())
    # A sentence cannot hold a bracket of its own nor end without its marker.
    assert "【】" in grammar.split("char ::=")[1].splitlines()[0]
    with pytest.raises(ValueError, match="at least one passage"):
        citation_grammar([])


def test_a_sentence_cannot_hold_square_brackets() -> None:
    # The paper's reference numbers ("AlexNet[1]") copied into an answer read as citations.
    for language in ("zh", "en"):
        char = next(
            line
            for line in citation_grammar([1], language=language).splitlines()
            if line.startswith("char ::=")
        )
        assert char.count("\\[\\]") == 1
        assert char.endswith('"." [0-9A-Za-z]')  # 43.25, e.g.: a full stop before a letter or digit


def test_llama_cpp_parses_the_grammar() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    llama_cpp.LlamaGrammar.from_string(citation_grammar([1, 2, 5]), verbose=False)
    llama_cpp.LlamaGrammar.from_string(citation_grammar([1], language="en"), verbose=False)
    llama_cpp.LlamaGrammar.from_string(translation_grammar(3), verbose=False)


def test_a_translation_is_one_english_sentence_per_quote_in_order() -> None:
    grammar = translation_grammar(2).splitlines()
    assert grammar[0] == "root ::= t1 gap t2"
    assert grammar[1] == 't1 ::= body (stop "【1】" | "【1】" stop?)'
    assert grammar[2] == 't2 ::= body (stop "【2】" | "【2】" stop?)'
    char = next(line for line in grammar if line.startswith("char ::="))
    assert "\\u4e00-\\u9fff" in char and "\\[\\]" in char
    assert not any(text in "\n".join(grammar) for text in REFUSAL.values())
    with pytest.raises(ValueError):
        translation_grammar(0)


def test_the_translator_reads_amounts_in_myriads_written_the_western_way() -> None:
    assert western_amounts("以 43.25 万美元成交") == "以 432,500 美元成交"
    assert western_amounts("浏览量超过 7.38 亿。") == "浏览量超过 738 million 。"
    assert western_amounts("1.2 万亿元、0.5 万次、一万个") == "1.2 trillion 元、5,000 次、一万个"
    (_, human) = translate_messages(["以 43.25 万美元成交。"])
    assert "432,500 美元" in str(human.content) and "万" not in str(human.content)


def test_a_sentence_carries_at_most_three_markers() -> None:
    marks = next(line for line in citation_grammar([1, 2]).splitlines() if line.startswith("marks"))
    assert marks == "marks ::= mark" + " mark?" * (MAX_MARKS - 1) and MAX_MARKS == 3


def test_an_english_answer_cannot_hold_chinese_characters() -> None:
    def body(grammar: str) -> str:
        return next(line for line in grammar.splitlines() if line.startswith("char ::="))

    english, chinese = body(citation_grammar([1], language="en")), body(citation_grammar([1]))
    for excluded in ("\\u4e00-\\u9fff", "\\u3000-\\u303f", "\\uff00-\\uffef", "\\u2018-\\u201f"):
        assert excluded in english and excluded not in chinese
    # The refusals stay allowed in both languages.
    assert all(f'"{text}"' in citation_grammar([1], language="en") for text in REFUSAL.values())


class _GrammarModel(ScriptedChatModel):
    accepts_grammar: bool = True
    seen: list[dict[str, Any]] = Field(default_factory=list)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: Any = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        self.seen.append(kwargs)
        yield from super()._stream(messages, stop, run_manager, **kwargs)


def _request(numbers: list[int]) -> GenerationRequest:
    return GenerationRequest("问题？", "问题？", "zh", tuple(_passage(n) for n in numbers))


def test_a_model_that_takes_a_grammar_gets_the_one_for_its_passages() -> None:
    model = _GrammarModel(replies=["生成对抗网络由生成器和判别器组成。【2】"], seen=[])
    text = "".join(ChatGenerator(model, mode="local").stream(_request([1, 2])))
    assert text.endswith("【2】")
    (kwargs,) = model.seen
    assert kwargs["grammar"] == citation_grammar([1, 2])


def test_an_english_question_gets_the_english_grammar() -> None:
    model = _GrammarModel(replies=["A GAN has a generator and a discriminator.【1】"], seen=[])
    request = GenerationRequest(
        "What is a GAN made of?", "What is a GAN made of?", "en", (_passage(1),)
    )
    "".join(ChatGenerator(model, mode="local").stream(request))
    (kwargs,) = model.seen
    assert kwargs["grammar"] == citation_grammar([1], language="en")


def test_a_model_repeating_a_sentence_is_stopped_after_the_repeat() -> None:
    loop = "AIGC 的应用场景。【1】" * 40
    model = _GrammarModel(replies=["生成对抗网络由生成器和判别器组成。【2】" + loop], seen=[])
    text = "".join(ChatGenerator(model, mode="local").stream(_request([1, 2])))
    assert text.startswith("生成对抗网络由生成器和判别器组成。【2】")
    assert 2 <= text.count("AIGC 的应用场景") <= 3  # stopped at the first repeat it could see


def test_until_repeated_waits_for_a_sentence_to_end() -> None:
    # "…【1】" may go on with another marker or a full stop: not a sentence yet.
    pieces = ["甲是乙【1】", "【2】。", "丙是丁。【1】", "甲是乙【1】", "【2】。", "戊"]
    assert list(until_repeated(pieces)) == pieces[:5]
    distinct = ["一是一。【1】", "二是二。【1】", "三是三。【1】"]
    assert list(until_repeated(distinct)) == distinct


def test_a_model_looping_inside_a_sentence_is_stopped() -> None:
    heading = "二、人工智能生成内容的技术体系及其演进方向"
    model = _GrammarModel(replies=[heading * 30 + "【3】"], seen=[])
    text = "".join(ChatGenerator(model, mode="local").stream(_request([3])))
    assert 3 <= text.count(heading) <= 4
    # Words said twice are no loop ("……，……" lists and echoes happen).
    twice = "生成对抗网络由生成器和判别器组成，生成器和判别器相互博弈。【3】"
    assert "".join(until_repeated([twice[:10], twice[10:]])) == twice


def test_another_model_is_asked_by_the_prompt_alone() -> None:
    model = ScriptedChatModel(replies=["生成对抗网络由生成器和判别器组成。【1】"])
    assert "".join(ChatGenerator(model, mode="openai").stream(_request([1]))).endswith("【1】")


class _Selector:
    """Picks the sentences that hold a given word, like the extractive generator's ``select``."""

    def __init__(self, word: str) -> None:
        self.word = word

    def excerpt(self, question: str, passage: Passage, budget: int, keywords_from: Any) -> str:
        raise AssertionError("the selected evidence replaces per-passage excerpts")

    def select(self, question: str, passages: Any, keywords_from: Any = None, **_: Any) -> list:
        from assistant.extractive import ScoredSentence

        return [ScoredSentence(p, p.text, p.start, 1.0) for p in passages if self.word in p.text]


def test_the_model_sees_only_the_selected_evidence_and_may_cite_only_its_passages() -> None:
    other = Passage(**{**_passage(2).__dict__, "text": "扩散模型的训练代价很高。"})
    request = GenerationRequest("问题？", "问题？", "zh", (_passage(1), other, _passage(3)))
    model = _GrammarModel(replies=["生成对抗网络由生成器和判别器组成。【1】"], seen=[])
    generator = ChatGenerator(model, mode="local", excerpter=_Selector("扩散"), evidence_chars=600)
    prompt = generator.messages(request)[-1].content
    assert "【2】" in prompt and "扩散模型" in prompt
    assert "【1】" not in prompt and "【3】" not in prompt and "生成对抗网络" not in prompt
    "".join(generator.stream(request))
    (kwargs,) = model.seen
    assert kwargs["grammar"] == citation_grammar([2])


def test_the_evidence_is_selected_with_the_meaning_margin() -> None:
    seen: list[dict[str, Any]] = []

    class Spy(_Selector):
        def select(
            self, question: str, passages: Any, keywords_from: Any = None, **kw: Any
        ) -> list:
            seen.append(kw)
            return super().select(question, passages, keywords_from)

    request = GenerationRequest("What is it?", "What is it?", "en", (_passage(1),))
    model = _GrammarModel(replies=[], seen=[])
    ChatGenerator(model, mode="local", excerpter=Spy("扩散"), evidence_chars=600).messages(request)
    assert seen[-1]["meaning_margin"] == EVIDENCE_MEANING_MARGIN
    assert seen[-1]["margin"] == EVIDENCE_MARGIN
    ChatGenerator(
        model, mode="local", excerpter=Spy("扩散"), evidence_chars=600, meaning_margin=None
    ).messages(request)
    assert seen[-1]["meaning_margin"] is None


def test_translate_returns_one_translation_per_quote_in_order() -> None:
    reply = "GANs have a generator and a discriminator.【1】 The judge seeks differences【2】."
    model = _GrammarModel(replies=[reply], seen=[])
    quotes = ["生成对抗网络由生成器和判别器组成。", "判别器寻找不同。", "第三句。"]
    got = ChatGenerator(model, mode="local").translate(quotes)
    assert got == [
        "GANs have a generator and a discriminator.",
        "The judge seeks differences",
        "",
    ]
    (kwargs,) = model.seen
    assert kwargs["grammar"] == translation_grammar(3)
    (prompt,) = model.prompt_texts()
    assert "【1】生成对抗网络由生成器和判别器组成。\n【2】判别器寻找不同。\n【3】第三句。" in prompt
