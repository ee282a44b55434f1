"""Safe HTML for the web UI: answers, citation cards, page views, the library table.

Everything that came from a document, a model or a reader is escaped here, and nothing is
rendered as Markdown: the browser gets HTML this module built, so a document that contains
``<script>`` or ``<img onerror=...>`` shows those characters and never runs them. Functions
are pure (page texts come in through ``pages``), so tests can assert on their output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from html import escape

from assistant.types import FALLBACK_VALUES, Answer, Citation, Passage
from ingest.index import DocumentRecord

#: ``(label, text, footnotes)`` of one stored page, as ``Index.page_text`` returns it.
PageText = tuple[str, str, list[str]]
#: Looks up a page of a document version: ``(content_hash, page_index) -> PageText | None``.
PageLookup = Callable[[str, int], PageText | None]

MARKER = re.compile(r"【(\d{1,3})】")
#: Passages longer than this are shown in their card as a window around the first quote.
CARD_PASSAGE_CHARS = 600
_UNSUPPORTED_MARK = (
    '<mark class="wp-unsupported" title="Not supported by the cited passages · 未得到引文支持">'
)


def esc(text: object) -> str:
    """Escape text for an HTML element or a quoted attribute."""
    return escape(str(text), quote=True)


# -- highlighting ---------------------------------------------------------------------------


def highlight(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """Escape ``text`` and wrap each ``(start, end, css_class)`` span in a ``<mark>``.

    Spans may overlap or nest; a character inside several spans gets all their classes.
    """
    classes: list[set[str]] = [set() for _ in text]
    for start, end, css in spans:
        for i in range(max(0, start), min(len(text), end)):
            classes[i].add(css)
    out: list[str] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and classes[j] == classes[i]:
            j += 1
        piece = esc(text[i:j])
        if classes[i]:
            out.append(f'<mark class="{esc(" ".join(sorted(classes[i])))}">{piece}</mark>')
        else:
            out.append(piece)
        i = j
    return "".join(out)


def _clip(span: tuple[int, int], start: int, end: int) -> tuple[int, int] | None:
    """``span`` (document offsets) as offsets of the text ``[start, end)``, if they meet."""
    a, b = max(span[0], start), min(span[1], end)
    return (a - start, b - start) if a < b else None


def _window(text: str, spans: Sequence[tuple[int, int]], limit: int) -> tuple[int, int]:
    """A slice of ``text`` at most about ``limit`` characters long that shows the first span."""
    if len(text) <= limit:
        return 0, len(text)
    first = min(spans, default=(0, 0))
    room = max(0, limit - (first[1] - first[0])) // 2
    start = max(0, first[0] - room)
    end = min(len(text), max(first[1] + room, start + limit))
    return start, end


# -- answers --------------------------------------------------------------------------------


def card_id(exchange_id: str, marker: int) -> str:
    return f"wp-card-{exchange_id}-{marker}"


def render_answer_text(
    text: str,
    *,
    exchange_id: str | None = None,
    unsupported: Sequence[str] = (),
    cited: Iterable[int] = (),
) -> str:
    """The answer text with 【n】 markers as links to their cards and unsupported sentences
    marked. Without ``exchange_id`` (while streaming) markers are plain badges."""
    cited = set(cited)
    ranges: list[tuple[int, int]] = []
    pos = 0
    for sentence in unsupported:
        found = text.find(sentence, pos)
        if found < 0:
            found = text.find(sentence)
        if found >= 0:
            ranges.append((found, found + len(sentence)))
            pos = found + len(sentence)
    out: list[str] = []
    cursor = 0
    for match in [*MARKER.finditer(text), None]:
        end = match.start() if match else len(text)
        out.append(_plain(text, cursor, end, ranges))
        if match is None:
            break
        number = int(match.group(1))
        label = esc(match.group(0))
        if exchange_id is not None and number in cited:
            target = card_id(exchange_id, number)
            out.append(
                f'<a class="wp-marker" href="#{esc(target)}" data-card="{esc(target)}" '
                f'title="Show source {number}">{label}</a>'
            )
        else:
            out.append(f'<span class="wp-marker">{label}</span>')
        cursor = match.end()
    return "".join(out)


def _plain(text: str, start: int, end: int, unsupported: Sequence[tuple[int, int]]) -> str:
    spans = [
        (max(a, start) - start, min(b, end) - start, "wp-unsupported")
        for a, b in unsupported
        if a < end and b > start
    ]
    html = highlight(text[start:end], spans)
    return html.replace('<mark class="wp-unsupported">', _UNSUPPORTED_MARK)


def render_streaming(
    question: str, text: str, *, standalone: str | None = None, status: str = ""
) -> str:
    """The answer being written: question, what was searched, the text so far."""
    parts = [_user_turn(question), '<div class="wp-bot wp-streaming">']
    if standalone and standalone != question:
        parts.append(_standalone(standalone))
    if text:
        parts.append(f'<div class="wp-answer wp-live-text">{render_answer_text(text)}</div>')
    if status:
        parts.append(f'<div class="wp-progress" role="status">{esc(status)}</div>')
    parts.append("</div>")
    return f'<section class="wp-exchange wp-live">{"".join(parts)}</section>'


def render_error(question: str, message: str) -> str:
    """A question that could not be answered, and why (the question stays in the box)."""
    return (
        f'<section class="wp-exchange wp-live">{_user_turn(question)}'
        f'<div class="wp-bot"><div class="wp-error" role="alert">⚠ {esc(message)}</div></div>'
        "</section>"
    )


def render_answer(answer: Answer, exchange_id: str, pages: PageLookup) -> str:
    """A finished answer: text (or refusal), what was searched, sources, mode and timings."""
    parts: list[str] = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(_standalone(answer.standalone_question))
    if answer.refused:
        parts.append(render_refusal(answer))
    else:
        unsupported = [s.text for s in answer.sentences if not s.supported]
        body = render_answer_text(
            answer.text,
            exchange_id=exchange_id,
            unsupported=unsupported,
            cited={c.marker for c in answer.citations},
        )
        parts.append(f'<div class="wp-answer">{body}</div>')
        if unsupported:
            parts.append(
                f'<div class="wp-warning">⚠ {len(unsupported)} sentence(s) not supported by the '
                "cited passages are marked · 标记的句子未得到引文支持</div>"
            )
        if answer.removed_unsupported:
            removed = "".join(
                f'<li class="wp-removed">{esc(text)}</li>' for text in answer.removed_sentences
            )
            parts.append(
                f'<details class="wp-warning"><summary>{answer.removed_unsupported} sentence(s) '
                "the passages do not support were removed · 已删除未获支持的句子</summary>"
                f"<ul>{removed}</ul></details>"
            )
        if answer.fallback and answer.fallback.startswith(FALLBACK_VALUES):
            parts.append(
                '<div class="wp-notice">The model gave only values: these are the sentences it '
                "cited, translated · 模型只给出了数值，以下为其所引原文的译文</div>"
            )
        elif answer.fallback:
            parts.append(
                '<div class="wp-notice">The model\'s answer was not supported by the passages: '
                "these are the passages' own sentences · "
                "模型的回答未获引文支持，以下为原文摘录</div>"
            )
    if answer.notice:
        parts.append(f'<div class="wp-notice">{esc(answer.notice)}</div>')
    parts.append(render_cards(answer, exchange_id, pages))
    parts.append(render_meta(answer))
    return "".join(parts)


def render_refusal(answer: Answer) -> str:
    """A refusal looks like one, and lists the nearest sections the document does cover."""
    first = answer.text.split("\n", 1)[0]
    zh = answer.language == "zh"
    head = "未找到答案" if zh else "Not covered by the document"
    parts = [
        '<div class="wp-refusal" role="note">',
        f'<div class="wp-refusal-head">🚫 {esc(head)}</div>',
        f'<div class="wp-refusal-text">{esc(first)}</div>',
    ]
    if answer.nearest_sections:
        label = "最接近的章节：" if zh else "Nearest sections it does cover:"
        items = "".join(f"<li>{esc(s)}</li>" for s in answer.nearest_sections)
        parts.append(f'<div class="wp-nearest">{esc(label)}<ul>{items}</ul></div>')
    parts.append("</div>")
    return "".join(parts)


def render_meta(answer: Answer) -> str:
    t = answer.timings
    first = f"{t.first_token_ms:.0f} ms" if t.first_token_ms is not None else "–"
    return (
        f'<div class="wp-meta"><span class="wp-mode">mode: {esc(answer.mode)}</span> · '
        f"retrieve {t.retrieve_ms:.0f} ms · first token {esc(first)} · "
        f"total {t.total_ms:.0f} ms</div>"
    )


def render_cards(answer: Answer, exchange_id: str, pages: PageLookup) -> str:
    """One card per cited passage, in marker order; each opens onto its whole page(s)."""
    by_marker: dict[int, list[Citation]] = {}
    for citation in answer.citations:
        by_marker.setdefault(citation.marker, []).append(citation)
    passages = {p.number: p for p in answer.passages}
    cards = [
        render_card(passages[m], by_marker[m], exchange_id, pages)
        for m in sorted(by_marker)
        if m in passages
    ]
    if not cards:
        return ""
    return (
        '<div class="wp-sources"><div class="wp-sources-head">Sources · 来源</div>'
        f"{''.join(cards)}</div>"
    )


def render_card(
    passage: Passage, citations: Sequence[Citation], exchange_id: str, pages: PageLookup
) -> str:
    """A citation card: document, page, section, the passage with its quotes highlighted;
    opening it shows the whole page text with the passage and quotes highlighted. Quotes are
    placed by their document offsets, never searched for."""
    first = citations[0]
    quotes = sorted({(c.doc_start, c.doc_end) for c in citations if c.quote})
    quote_spans = [(passage.text_offset(a), passage.text_offset(a) + b - a) for a, b in quotes]
    start, end = _window(passage.text, quote_spans, CARD_PASSAGE_CHARS)
    shown = highlight(
        passage.text[start:end],
        [(a - start, b - start, "wp-quote") for a, b in quote_spans],
    )
    shown = ("…" if start > 0 else "") + shown + ("…" if end < len(passage.text) else "")
    page_label = first.page_label or passage.pages_display
    section = first.section or passage.section
    head = (
        f'<span class="wp-badge">【{first.marker}】</span> '
        f'<span class="wp-doc">{esc(first.title or passage.doc_id)}</span>'
        f' · <span class="wp-page">p. {esc(page_label)}</span>'
        + (f' · <span class="wp-section">{esc(section)}</span>' if section else "")
    )
    page_indices = list(passage.page_indices) or [first.page_index]
    if first.page_index in page_indices:  # the page holding the quote comes first
        page_indices.remove(first.page_index)
        page_indices.insert(0, first.page_index)
    views = "".join(
        render_page(passage, index, quotes, pages, quoted=index == first.page_index)
        for index in page_indices
    )
    return (
        f'<details class="wp-card" id="{esc(card_id(exchange_id, first.marker))}" '
        f'data-marker="{first.marker}">'
        f'<summary><span class="wp-card-head">{head}</span>'
        f'<span class="wp-passage">{shown}</span>'
        '<span class="wp-open-hint">Show the whole page · 查看整页</span></summary>'
        f'<div class="wp-page-view">{views}</div></details>'
    )


def render_page(
    passage: Passage,
    page_index: int,
    quotes: Sequence[tuple[int, int]],
    pages: PageLookup,
    *,
    quoted: bool = False,
) -> str:
    """One page's whole text, the passage and the quotes (document spans) on it highlighted."""
    found = pages(passage.content_hash, page_index)
    if found is None:
        return (
            '<div class="wp-page-missing">The page text is no longer in the index (the document '
            "was removed or re-ingested) · 该页已不在索引中</div>"
        )
    label, text, footnotes = found
    where = passage.page_indices.index(page_index) if page_index in passage.page_indices else -1
    spans: list[tuple[int, int, str]] = []
    if 0 <= where < len(passage.page_spans):
        page_start, page_end = passage.page_spans[where]
        marks = [((passage.start, passage.end), "wp-in-passage")]
        marks += [(quote, "wp-quote") for quote in quotes]
        spans = [(*hit, css) for span, css in marks if (hit := _clip(span, page_start, page_end))]
    notes = "".join(f"<li>{esc(n)}</li>" for n in footnotes)
    css = "wp-page wp-quoted" if quoted else "wp-page"
    return (
        f'<div class="{css}" data-page-index="{page_index}">'
        f'<div class="wp-page-label">{esc(passage.title)} · p. {esc(label)}</div>'
        f'<div class="wp-page-text">{highlight(text, spans)}</div>'
        + (f'<ol class="wp-footnotes">{notes}</ol>' if notes else "")
        + "</div>"
    )


def _user_turn(question: str) -> str:
    return f'<div class="wp-user"><span class="wp-role">You · 提问</span>{esc(question)}</div>'


def _standalone(standalone: str) -> str:
    return (
        '<div class="wp-standalone">🔎 Searched as · 检索问题：'
        f'<span class="wp-standalone-text">{esc(standalone)}</span></div>'
    )


# -- the conversation -----------------------------------------------------------------------


def render_exchange(
    exchange_id: str, question: str, answer_html: str, copy_text: str, verdict: str | None
) -> str:
    """A finished question and answer, with copy and 👍/👎 buttons."""
    pressed = {v: ' aria-pressed="true"' if verdict == v else "" for v in ("up", "down")}
    recorded = (
        f'<span class="wp-feedback-done">feedback recorded {"👍" if verdict == "up" else "👎"}'
        "</span>"
        if verdict
        else ""
    )
    return (
        f'<section class="wp-exchange" id="wp-ex-{esc(exchange_id)}" '
        f'data-exchange="{esc(exchange_id)}">{_user_turn(question)}'
        f'<div class="wp-bot">{answer_html}'
        '<div class="wp-actions">'
        '<button type="button" class="wp-copy" data-action="copy">Copy with sources · 复制</button>'
        f'<button type="button" class="wp-fb" data-action="feedback" data-verdict="up" '
        f'title="Good answer"{pressed["up"]}>👍 Helpful</button>'
        f'<button type="button" class="wp-fb" data-action="feedback" data-verdict="down" '
        f'title="Bad answer"{pressed["down"]}>👎 Not helpful</button>{recorded}'
        f'<textarea class="wp-copy-src" hidden readonly>{esc(copy_text)}</textarea>'
        "</div></div></section>"
    )


def render_welcome(notice: str | None = None) -> str:
    """What the empty conversation shows."""
    extra = f'<p class="wp-notice">{esc(notice)}</p>' if notice else ""
    return (
        '<div class="wp-welcome"><p>Ask about the AIGC white paper in Chinese or English. '
        "Every claim carries 【n】 markers: open a source to read the whole page.</p>"
        "<p>用中文或英文提问。每个论断都带有【n】引用标记，点开来源即可查看整页原文。</p>"
        f"{extra}</div>"
    )


def answer_as_text(answer: Answer) -> str:
    """The answer with its citations as plain text (what the copy button copies)."""
    lines = [answer.text]
    if answer.standalone_question and answer.standalone_question != answer.question:
        lines.insert(0, f"({answer.standalone_question})")
    seen: set[int] = set()
    sources: list[str] = []
    for c in sorted(answer.citations, key=lambda c: c.marker):
        if c.marker in seen:
            continue
        seen.add(c.marker)
        where = f"{c.title}, p. {c.page_label}"
        if c.section:
            where += f", {c.section}"
        sources.append(f"【{c.marker}】 {where}\n    “{c.quote}”")
    if sources:
        lines += ["", "Sources / 来源:", *sources]
    return "\n".join(lines)


# -- library and status ---------------------------------------------------------------------


def render_library(documents: Sequence[DocumentRecord]) -> str:
    """The ingested documents as a table."""
    if not documents:
        return '<p class="wp-empty">The library is empty: upload a PDF · 文档库为空</p>'
    rows = "".join(
        f"<tr><td>{esc(d.doc_id)}</td><td>{esc(d.title)}</td><td>{d.n_pages}</td>"
        f"<td>{esc(_label_range(d.page_labels))}</td><td>{d.n_chunks}</td></tr>"
        for d in documents
    )
    return (
        '<table class="wp-library"><thead><tr><th>Document</th><th>Title</th><th>Pages</th>'
        f"<th>Page labels</th><th>Chunks</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _label_range(labels: Sequence[str]) -> str:
    if not labels:
        return ""
    return labels[0] if len(labels) == 1 else f"{labels[0]}–{labels[-1]}"


def render_message(text: str, *, ok: bool) -> str:
    """A one-line result (library operations)."""
    css, icon, role = ("wp-ok", "✓", "status") if ok else ("wp-error", "⚠", "alert")
    return f'<div class="{css}" role="{role}">{icon} {esc(text)}</div>'


def render_status(lines: Sequence[str], *, busy: bool) -> str:
    """The banner about models (loading, ready, unavailable)."""
    if not lines:
        return ""
    css = "wp-status wp-busy" if busy else "wp-status"
    return f'<div class="{css}" role="status">{"<br>".join(esc(s) for s in lines)}</div>'
