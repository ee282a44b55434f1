"""The web UI in a real browser (Debian Chromium, headless) against the real app and index.

Each test opens its own tab (its own chat session) on one ``whitepaper ui`` server in
extractive mode, and saves a screenshot of every step under test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pdf_factory import HTML_PAYLOADS, make_html_payload_pdf, make_not_a_pdf

pytest_plugins = ["fixtures_index"]
pytestmark = pytest.mark.browser

STAGES_QUESTION = "AIGC 的发展分为哪几个阶段？"
#: Ingesting an upload with e5 on a busy 2-core machine.
INGEST_TIMEOUT_MS = 120_000
#: Records what the live answer area showed before the answer moved to the transcript.
WATCH_LIVE = """() => {
  window.__live = {status: false, text: false};
  const live = document.querySelector('#wp-live');
  new MutationObserver(() => {
    if (live.querySelector('.wp-streaming .wp-progress')) window.__live.status = true;
    const text = live.querySelector('.wp-live-text');
    if (text && text.textContent.trim()) window.__live.text = true;
  }).observe(live, {subtree: true, childList: true, characterData: true});
}"""


def test_startup_serves_a_usable_page_within_seconds(visit: Any) -> None:
    assert visit.server.startup_seconds < 30, visit.server.startup_seconds
    # The button renders a moment after the question box the fixture waits for.
    ask = visit.page.locator("button.wp-ask:visible")
    ask.first.wait_for(timeout=30_000)
    assert ask.count() == 1
    visit.shot("01-start")


def test_a_chinese_question_streams_an_answer_with_citation_cards(visit: Any) -> None:
    page = visit.page
    page.evaluate(WATCH_LIVE)
    exchange = visit.ask(STAGES_QUESTION)
    seen = page.evaluate("window.__live")
    assert seen["status"], "the answer never showed progress while it was being written"
    answer = exchange.locator(".wp-answer").inner_text()
    assert "阶段" in answer and re.search(r"【\d+】", answer)
    cards = exchange.locator("details.wp-card")
    assert cards.count() >= 1
    head = cards.first.locator(".wp-card-head").inner_text()
    assert "人工智能生成内容（AIGC）白皮书" in head and "p. " in head
    assert cards.first.locator(".wp-passage mark.wp-quote").count() >= 1
    assert "mode: extractive" in exchange.locator(".wp-meta").inner_text()
    assert page.locator("#wp-question textarea").input_value() == ""
    visit.shot("02-answer-with-cards")


def test_a_card_opens_the_whole_page_with_the_quote_highlighted(visit: Any) -> None:
    exchange = visit.ask(STAGES_QUESTION)
    card = exchange.locator("details.wp-card").first
    quote = card.locator(".wp-passage mark.wp-quote").first.inner_text()
    card.locator("summary").click()
    page_view = card.locator(".wp-page.wp-quoted")
    page_view.wait_for(state="visible")
    highlighted = page_view.locator(".wp-page-text mark.wp-quote")
    assert highlighted.count() >= 1 and highlighted.first.is_visible()
    assert "".join(highlighted.all_inner_texts()).replace("\n", "") in quote.replace("\n", "")
    assert page_view.locator(".wp-page-text mark.wp-in-passage").count() >= 1
    assert len(page_view.locator(".wp-page-text").inner_text()) > len(quote)
    visit.shot("03-card-opened-page")
    card.locator("summary").click()  # close it, then open it from its marker
    assert not card.evaluate("el => el.open")
    exchange.locator("a.wp-marker").first.click()
    visit.page.wait_for_function("(el) => el.open", arg=card.element_handle())
    visit.shot("04-marker-opened-card")


def test_a_follow_up_shows_the_question_that_was_searched(visit: Any) -> None:
    visit.ask(STAGES_QUESTION)
    second = visit.ask("第一个阶段是什么？", exchanges_before=1)
    searched = second.locator(".wp-standalone-text").inner_text()
    assert "第一个阶段是什么？" in searched and "AIGC" in searched
    assert searched != "第一个阶段是什么？"
    visit.shot("05-follow-up-standalone")
    visit.page.locator("#wp-new-chat").click()
    visit.page.locator("#wp-transcript .wp-welcome").wait_for()
    fresh = visit.ask("第一个阶段是什么？")  # no history now: nothing to rewrite it with
    assert fresh.locator(".wp-standalone").count() == 0


def test_copy_puts_the_answer_and_its_sources_on_the_clipboard(visit: Any) -> None:
    visit.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    exchange = visit.ask(STAGES_QUESTION)
    exchange.locator("button.wp-copy").click()
    exchange.locator("button.wp-copy[data-copied]").wait_for()
    copied = visit.page.evaluate("navigator.clipboard.readText()")
    answer = exchange.locator(".wp-answer").inner_text()
    assert copied.startswith(answer.strip()[:20])
    assert "Sources / 来源:" in copied and "人工智能生成内容（AIGC）白皮书, p. " in copied


def test_a_question_the_paper_does_not_cover_is_refused_with_nearest_sections(
    visit: Any,
) -> None:
    exchange = visit.ask("量子计算机的量子比特如何纠错？")
    refusal = exchange.locator(".wp-refusal")
    assert "白皮书中没有找到与该问题相关的内容。" in refusal.inner_text()
    assert refusal.locator(".wp-nearest li").count() >= 1
    assert exchange.locator("details.wp-card").count() == 0
    visit.shot("05b-refusal")


def test_uploading_a_non_pdf_shows_the_error(visit: Any, tmp_path: Path) -> None:
    page = visit.page
    page.get_by_role("tab", name="Library · 文档库").click()
    table = page.locator("#wp-library")
    assert "aigc-whitepaper-2022.pdf" in table.inner_text()
    visit.shot("06-library")
    fake = make_not_a_pdf(tmp_path / "annual-report.pdf")
    page.locator("#wp-upload input[type=file]").set_input_files(str(fake))
    error = page.locator("#wp-upload-status .wp-error")
    error.wait_for(timeout=60_000)
    assert "annual-report.pdf: not a PDF (no %PDF- header)" in error.inner_text()
    assert not list((visit.server.home / "library").glob("*.pdf"))
    visit.shot("07-upload-not-a-pdf")


def test_thumbs_down_writes_a_feedback_line(visit: Any) -> None:
    page = visit.page
    exchange = visit.ask(STAGES_QUESTION)
    exchange_id = exchange.get_attribute("data-exchange")
    exchange.locator('button[data-verdict="down"]').click()
    comment = page.locator("#wp-comment textarea")
    comment.wait_for(state="visible")
    visit.shot("08-thumbs-down")
    comment.fill("没有说明每个阶段的年代")
    page.locator("#wp-comment button").click()
    # The rating's own thanks is already a .wp-ok note: wait for the comment's.
    page.locator("#wp-comment-note .wp-ok").filter(has_text="Comment saved").wait_for()
    lines = [
        json.loads(line)
        for line in (visit.server.home / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    mine = [line for line in lines if line["id"] == exchange_id]
    assert mine and all(line["verdict"] == "down" for line in mine)
    assert mine[-1]["comment"] == "没有说明每个阶段的年代"
    assert mine[-1]["question"] == STAGES_QUESTION and mine[-1]["mode"] == "extractive"
    assert mine[-1]["citations"] and mine[-1]["history"] == []
    assert exchange.locator('button[data-verdict="down"][aria-pressed="true"]').count() == 1
    visit.shot("09-feedback-saved")


def test_a_script_in_a_document_shows_as_text_and_never_runs(visit: Any, tmp_path: Path) -> None:
    page = visit.page
    payload = make_html_payload_pdf(tmp_path / "payload.pdf")
    page.get_by_role("tab", name="Library · 文档库").click()
    page.locator("#wp-upload input[type=file]").set_input_files(str(payload))
    page.locator("#wp-upload-status .wp-ok").wait_for(timeout=INGEST_TIMEOUT_MS)
    assert "payload.pdf" in page.locator("#wp-library").inner_text()
    home = visit.server.home
    assert (home / "library" / "payload.pdf").read_bytes() == payload.read_bytes()
    assert (home / "ui-uploads").is_dir()  # Gradio's upload cache stays under the home too
    assert not [p for p in (home / "ui-uploads").rglob("*.pdf")]  # temporary copy removed
    visit.shot("10-payload-uploaded")
    try:
        page.get_by_role("tab", name="Chat · 问答").click()
        page.locator("#wp-doc input").click()
        page.get_by_role("option", name=re.compile(r"\(payload\.pdf\)")).click()
        exchange = visit.ask(STAGES_QUESTION)
        card = exchange.locator("details.wp-card").first
        card.locator("summary").click()
        card.locator(".wp-page-view").wait_for(state="visible")
        shown = exchange.inner_text()
        for literal in HTML_PAYLOADS:
            assert literal in shown  # the characters are there, as text
        assert page.locator("#wp-transcript img, #wp-transcript script").count() == 0
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        visit.shot("11-payload-shown-as-text")
        assert visit.dialogs == []
    finally:
        page.get_by_role("tab", name="Library · 文档库").click()
        page.locator("#wp-remove-choice input").click()
        page.get_by_role("option", name="payload.pdf").click()
        page.locator("#wp-remove").click()
        page.locator("#wp-upload-status .wp-ok").filter(has_text="removed payload.pdf").wait_for()
    assert "payload.pdf" not in page.locator("#wp-library").inner_text()
    assert not (visit.server.home / "library" / "payload.pdf").exists()
    visit.shot("12-payload-removed")
