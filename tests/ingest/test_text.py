"""The shared text rules: character classes, sentences with offsets, language, tokens."""

from __future__ import annotations

import re
from itertools import pairwise

from ingest.text import (
    CONTENT,
    IDEOGRAPH_SPAN,
    answer_sentence_ends,
    detect_language,
    ends_line_sentence,
    ends_sentence,
    has_cjk,
    has_ideograph,
    is_named_term,
    is_wide,
    split_sentences,
    tokenize,
    visual_width,
)


def test_detect_language() -> None:
    assert detect_language("什么是GAN？") == "zh"
    assert detect_language("白皮书如何评价 ChatGPT？") == "zh"
    assert detect_language("What does the paper call 智能数字内容孪生?") == "en"
    assert detect_language("How many words could it handle?") == "en"
    assert detect_language("") == "en"


def test_compatibility_ideographs_count_for_language_but_not_for_the_judge() -> None:
    compat = "\uf900"  # a CJK compatibility ideograph
    assert has_cjk(compat) and detect_language(compat) == "zh"
    assert not has_ideograph(compat)
    assert has_ideograph("图") and has_ideograph("\u3400")


def test_content_characters_are_ideographs_letters_and_digits() -> None:
    assert "".join(CONTENT.findall("AIGC，即 2022 年的“生成”！")) == "AIGC即2022年的生成"
    assert re.fullmatch(rf"[{IDEOGRAPH_SPAN}]+", "人工智能\u4dc0")  # the span includes U+4DC0


def test_width_and_named_terms() -> None:
    assert is_wide("中") and is_wide("，") and not is_wide("a")
    assert visual_width("中a") == 1.5
    assert all(is_named_term(w) for w in ("GAN", "ChatGPT", "GPT-3", "V100"))
    assert not any(is_named_term(w) for w in ("Diffusion", "model", "A"))


def test_sentences_cover_the_text_with_offsets() -> None:
    text = "第一句。第二句！“第三句？”\n标题\nGPT-3 has 175B parameters. 末尾"
    spans = split_sentences(text)
    assert [text[s.start : s.end] for s in spans] == [
        "第一句。",
        "第二句！",
        "“第三句？”\n",
        "标题\n",
        "GPT-3 has 175B parameters. ",
        "末尾",
    ]
    assert spans[0].start == 0 and spans[-1].end == len(text)
    assert all(a.end == b.start for a, b in pairwise(spans))
    inner = split_sentences(text, 4, 8)
    assert [(s.start, s.end) for s in inner] == [(4, 8)]


def test_latin_full_stops_split_only_before_whitespace() -> None:
    text = "GPT-3 has 175B parameters. DALL·E 2 draws images. 价格为 43.25 元。"
    spans = [text[s.start : s.end].strip() for s in split_sentences(text)]
    assert spans == ["GPT-3 has 175B parameters.", "DALL·E 2 draws images.", "价格为 43.25 元。"]


def test_answer_sentences_also_end_after_digits_and_at_a_piece_start() -> None:
    ends = [m.group(0) for m in answer_sentence_ends(". It cost 43.25 in 2012. Done《书》")]
    assert ends == [".", "."]
    # A document sentence does not end after a digit; an answer sentence does.
    assert len(split_sentences("In 2012. Then")) == 1


def test_complete_sentences_and_paragraph_closing_lines() -> None:
    assert ends_sentence("这是一句话。") and ends_sentence("It ends.")
    assert not ends_sentence("一、发展历程") and not ends_sentence("引用“如下”")
    # A quotation that ends the sentence ends it: "…评价计算机技术：“它们是没用的。”"
    assert ends_sentence("毕加索曾这样评价计算机技术：“它们是没用的。”")
    assert ends_sentence("(It ends.)")
    assert ends_line_sentence("三个阶段：") and ends_line_sentence("他说：“好。” ")
    assert not ends_line_sentence("跨行的句子，")


def test_tokens_drop_stop_words_and_punctuation() -> None:
    tokens = tokenize("什么是AIGC的发展历程？")
    assert "aigc" in tokens and "发展" in tokens
    assert not {"什么", "的", "？"} & set(tokens)
