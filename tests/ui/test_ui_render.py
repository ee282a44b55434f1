"""ui.render: everything is escaped, markers link to cards, cards open onto highlighted pages."""

from __future__ import annotations

import html
import re
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from assistant.fakes import make_passage
from assistant.types import (
    FALLBACK_UNSUPPORTED,
    FALLBACK_VALUES,
    Answer,
    AnswerSentence,
    Citation,
    Passage,
    Timings,
)
from ingest.index import DocumentRecord
from ui import render

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
STAGES = "AIGC 的发展大致可以分为三个阶段。"
PAGE_TEXT = (
    f"（一）AIGC 历史沿革\n结合人工智能的演进历程，{STAGES}早期萌芽阶段受限于科技水平。\n下一节"
)


def citation(
    passage: Passage,
    quote: str,
    marker: int | None = None,
    sentence: int = 0,
    at: int | None = None,
) -> Citation:
    """A citation of ``quote`` at offset ``at`` of the passage (default: where it first
    occurs), placed on its page as check_answer does."""
    doc_start = passage.document_offset(passage.text.index(quote) if at is None else at)
    page = passage.page_at(doc_start)
    on_page = doc_start - passage.page_spans[page][0]
    return Citation(
        marker=marker or passage.number,
        chunk_id=passage.chunk_ids[0],
        doc_id=passage.doc_id,
        title=passage.title,
        page_index=passage.page_indices[page],
        page_label=passage.page_labels[page],
        section_path=passage.section_path,
        quote=quote,
        quote_start=on_page,
        quote_end=on_page + len(quote),
        doc_start=doc_start,
        doc_end=doc_start + len(quote),
        sentence_index=sentence,
        support=0.9,
    )


def answer(
    text: str,
    *,
    passages: tuple[Passage, ...] = (),
    citations: tuple[Citation, ...] = (),
    sentences: tuple[AnswerSentence, ...] = (),
    refused: bool = False,
    standalone: str = "AIGC 的发展分为哪几个阶段？",
    nearest: tuple[str, ...] = (),
    question: str = "AIGC 的发展分为哪几个阶段？",
) -> Answer:
    return Answer(
        question=question,
        text=text,
        citations=citations,
        passages=passages,
        standalone_question=standalone,
        refused=refused,
        mode="extractive",
        timings=Timings(12.3, 45.6, 78.9),
        language="zh",
        sentences=sentences,
        nearest_sections=nearest,
    )


def no_pages(content_hash: str, page_index: int) -> render.PageText | None:
    return None


def pages_of(**texts: str) -> render.PageLookup:
    """A page lookup over ``p<index>=text`` (any content hash)."""

    def lookup(content_hash: str, page_index: int) -> render.PageText | None:
        text = texts.get(f"p{page_index}")
        return None if text is None else (str(page_index + 1), text, ["[1] 脚注"])

    return lookup


def visible_text(markup: str) -> str:
    """What a browser shows as text (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_answer_text_is_escaped_and_markers_link_to_their_cards() -> None:
    markup = render.render_answer_text(
        f"代码 {SCRIPT} 与 {IMG}。【1】【7】", exchange_id="ab12", cited={1}
    )
    assert "<script" not in markup and "<img" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert '<a class="wp-marker" href="#wp-card-ab12-1" data-card="wp-card-ab12-1"' in markup
    assert '<span class="wp-marker">【7】</span>' in markup  # no card, no link
    assert visible_text(markup) == f"代码 {SCRIPT} 与 {IMG}。【1】【7】"


def test_unsupported_sentences_are_marked_and_counted() -> None:
    p = make_passage(1, STAGES)
    good = AnswerSentence(STAGES, (1,), True, 1.0)
    bad = AnswerSentence("AIGC 于 2030 年取代人类作者。", (), False, 0.0)
    a = answer(
        f"{STAGES}【1】{bad.text}",
        passages=(p,),
        citations=(citation(p, STAGES),),
        sentences=(good, bad),
    )
    markup = render.render_answer(a, "ex1", no_pages)
    assert '<mark class="wp-unsupported" title="Not supported' in markup
    assert re.search(r'wp-unsupported"[^>]*>AIGC 于 2030 年取代人类作者。</mark>', markup)
    assert "1 sentence(s) not supported" in markup


def test_a_fallback_says_why_the_reader_gets_the_passages_sentences() -> None:
    p = make_passage(1, STAGES)
    base = answer(f"{STAGES}【1】", passages=(p,), citations=(citation(p, STAGES),))
    notes = {
        reason: visible_text(render.render_answer(replace(base, fallback=reason), "ex1", no_pages))
        for reason in (FALLBACK_UNSUPPORTED + ", translated", FALLBACK_VALUES, None)
    }
    assert "not supported by the passages" in notes[FALLBACK_UNSUPPORTED + ", translated"]
    assert "gave only values" in notes[FALLBACK_VALUES]
    assert "not supported" not in notes[FALLBACK_VALUES]
    assert "gave only values" not in notes[None] and "not supported" not in notes[None]


def test_card_shows_document_page_section_and_the_quote_highlighted() -> None:
    text = f"前文。{STAGES}示例：{IMG}。"
    p = make_passage(
        2,
        text,
        page_labels=["5"],
        page_indices=[4],
        page_spans=[(0, 4 + len(text))],  # the page begins with "上一页。"
        start=4,
        section_path=("一、发展历程", "（一）AIGC 历史沿革"),
    )
    a = answer(
        f"{STAGES}【2】",
        passages=(p,),
        citations=(citation(p, STAGES),),
        sentences=(AnswerSentence(STAGES, (2,), True, 1.0),),
    )
    markup = render.render_answer(a, "ex1", pages_of(p4=f"上一页。{p.text}"))
    card = re.search(r'<details class="wp-card" id="wp-card-ex1-2".*?</details>', markup, re.S)
    assert card, markup
    head = visible_text(card.group(0))
    assert (
        "【2】 人工智能生成内容（AIGC）白皮书 · p. 5 · 一、发展历程 › （一）AIGC 历史沿革" in head
    )
    assert f'<mark class="wp-quote">{html.escape(STAGES)}</mark>' in card.group(0)
    assert '<mark class="wp-in-passage">前文。</mark>' in card.group(0)  # the page view
    assert "<img" not in markup and html.escape(IMG) in markup
    assert "mode: extractive" in markup and "retrieve 12 ms" in markup and "total 79 ms" in markup


def test_page_view_highlights_the_passage_and_the_quote_in_the_whole_page() -> None:
    passage_text = f"结合人工智能的演进历程，{STAGES}"
    start = PAGE_TEXT.index(passage_text)
    p = make_passage(
        1, passage_text, start=start, page_indices=[0], page_spans=[(0, len(PAGE_TEXT))]
    )
    quote = start + passage_text.index(STAGES)
    markup = render.render_page(
        p, 0, [(quote, quote + len(STAGES))], pages_of(p0=PAGE_TEXT), quoted=True
    )
    assert visible_text(markup).endswith(PAGE_TEXT + "[1] 脚注")
    assert '<mark class="wp-in-passage">结合人工智能的演进历程，</mark>' in markup
    assert f'<mark class="wp-in-passage wp-quote">{STAGES}</mark>' in markup
    assert "早期萌芽阶段受限于科技水平。" in markup.split("</mark>")[-1]  # outside the passage


def test_missing_page_says_so_instead_of_failing() -> None:
    p = make_passage(1, STAGES)
    assert "no longer in the index" in render.render_page(p, 0, [], no_pages)


def test_a_passage_and_a_quote_over_a_page_break_are_marked_on_both_pages() -> None:
    document = "一二三四五六七八九十" * 8  # repeats: only offsets can tell the places apart
    page1, page2 = document[:40], document[40:]
    p = make_passage(
        1, document[20:70], start=20, page_labels=["1", "2"], page_spans=[(0, 40), (40, 80)]
    )
    quote = citation(p, document[35:45], at=15)  # it runs over the page break
    assert (quote.page_index, quote.page_label, quote.quote_start) == (0, "1", 35)
    assert (quote.quote_end, quote.doc_start, quote.doc_end) == (45, 35, 45)
    lookup = pages_of(p0=page1, p1=page2)
    quotes = [(quote.doc_start, quote.doc_end)]
    first = render.render_page(p, 0, quotes, lookup)
    second = render.render_page(p, 1, quotes, lookup)
    assert f'<mark class="wp-in-passage">{document[20:35]}</mark>' in first
    assert f'<mark class="wp-in-passage wp-quote">{document[35:40]}</mark>' in first
    assert f'<mark class="wp-in-passage wp-quote">{document[40:45]}</mark>' in second
    assert f'<mark class="wp-in-passage">{document[45:70]}</mark>' in second
    assert visible_text(second).startswith("人工智能生成内容（AIGC）白皮书 · p. 2" + page2)


def test_long_passages_show_a_window_around_the_quote() -> None:
    filler = "这是一段很长的铺垫文字。" * 80
    p = make_passage(1, filler + STAGES + filler)
    markup = render.render_card(p, [citation(p, STAGES)], "ex", no_pages)
    passage_html = re.search(r'<span class="wp-passage">(.*?)</span>', markup, re.S)
    assert passage_html and STAGES in passage_html.group(1)
    shown = visible_text(passage_html.group(1))
    assert shown.startswith("…") and shown.endswith("…")
    assert len(shown) <= render.CARD_PASSAGE_CHARS + 2


def test_refusal_looks_like_one_and_lists_the_nearest_sections() -> None:
    a = answer(
        "白皮书中没有找到与该问题相关的内容。\n最接近的章节：三、治理；二、技术",
        refused=True,
        nearest=("三、治理", "二、<b>技术</b>"),
    )
    markup = render.render_answer(a, "ex", no_pages)
    assert 'class="wp-refusal"' in markup and "🚫 未找到答案" in markup
    assert "<li>三、治理</li><li>二、&lt;b&gt;技术&lt;/b&gt;</li>" in markup
    assert "wp-card" not in markup


def test_standalone_question_is_shown_when_it_differs() -> None:
    a = answer("……", standalone="AIGC 面临哪些问题？", question="它面临哪些问题？", refused=True)
    assert 'Searched as · 检索问题：<span class="wp-standalone-text">AIGC 面临哪些问题？' in (
        render.render_answer(a, "ex", no_pages)
    )
    same = answer("……", standalone="它", question="它", refused=True)
    assert "wp-standalone" not in render.render_answer(same, "ex", no_pages)
    live = render.render_streaming("它面临哪些问题？", "AIGC【1", standalone="AIGC 面临哪些问题？")
    assert "AIGC 面临哪些问题？" in live and "wp-live-text" in live


def test_answer_as_text_lists_each_source_once() -> None:
    p1, p2 = make_passage(1, STAGES), make_passage(2, "生成对抗网络由生成器和判别器组成。")
    a = answer(
        f"{STAGES}【1】又一句。【1】【2】",
        passages=(p1, p2),
        citations=(
            citation(p1, STAGES),
            citation(p1, STAGES, sentence=1),
            citation(p2, "生成对抗网络由生成器和判别器组成。", sentence=1),
        ),
    )
    text = render.answer_as_text(a)
    assert text.startswith(f"{STAGES}【1】又一句。【1】【2】\n\nSources / 来源:\n")
    assert text.count("【1】 人工智能生成内容（AIGC）白皮书, p. 1") == 1
    assert f"    “{STAGES}”" in text and "【2】 人工智能生成内容（AIGC）白皮书, p. 2" in text


def test_exchange_carries_copy_text_escaped_and_the_chosen_verdict() -> None:
    markup = render.render_exchange("ex9", f"问 {SCRIPT}", "<p>答</p>", f"复制 {SCRIPT}", "down")
    assert "<script" not in markup
    assert f'<textarea class="wp-copy-src" hidden readonly>复制 {html.escape(SCRIPT)}' in markup
    assert 'data-verdict="down" title="Bad answer" aria-pressed="true"' in markup
    assert 'data-verdict="up" title="Good answer">' in markup


def test_library_table_escapes_titles() -> None:
    record = DocumentRecord(
        "x.pdf", f"标题{SCRIPT}", "/h/library/x.pdf", "abc", 3, 7, ("i", "ii", "1"), 0.0
    )
    markup = render.render_library([record])
    assert "<script" not in markup and "<td>3</td><td>i–1</td><td>7</td>" in markup
    assert "library is empty" in render.render_library([])


@given(
    text=st.text(alphabet=st.sampled_from(list("ab<>&\"'中 \n")), max_size=30),
    spans=st.lists(
        st.tuples(st.integers(-3, 33), st.integers(-3, 33), st.sampled_from(["x", "y"])), max_size=4
    ),
)
def test_highlight_never_lets_markup_through(text: str, spans: list[tuple[int, int, str]]) -> None:
    markup = render.highlight(text, spans)
    assert visible_text(markup) == text
    assert re.sub(r'<mark class="[xy ]+">|</mark>', "", markup).count("<") == 0
