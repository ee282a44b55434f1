"""From raw page texts to one clean document text with pages, sections and footnotes.

Works on any document's pages, not only the bundled white paper: running headers and footers
are found as lines repeated at page edges, page numbers as bare numbers at page edges whose
offset to the physical page index is consistent, footnotes as the text below a rule line.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.model import CleanDocument, Footnote, PageSpan, RawPage, Section
from ingest.text import (
    CJK_PUNCTUATION,
    IDEOGRAPH_SPAN,
    ends_line_sentence,
    is_wide,
    visual_width,
)

_EDGE_DEPTH = 3  # how many non-empty lines at each page edge may be furniture
_CN_NUM = "一二三四五六七八九十"
_HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^[{_CN_NUM}]+、\s*\S")),
    (2, re.compile(rf"^[（(][{_CN_NUM}]+[）)]\s*\S")),
    (3, re.compile(r"^\d{1,2}\s*[.．、](?!\d)\s*\S")),
    (4, re.compile(r"^[（(]\d{1,2}[）)]\s*\S")),
)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")
_FRONT_MATTER = {
    "前言", "序言", "序", "摘要", "引言", "目录", "后记", "致谢",
    "preface", "foreword", "abstract", "introduction", "contents", "acknowledgements",
}  # fmt: skip
_CAPTION = re.compile(r"^(图|表)\s*\d+|^(Figure|Fig\.|Table)\s*\d+|^(资料)?来源[：:]", re.I)
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:第\s*)?(\d{1,4})(?:\s*页)?(?:\s*[-–—])?(?:\s*/\s*\d{1,4})?$"
    r"|^(?:page|p\.)\s*(\d{1,4})(?:\s*(?:of|/)\s*\d{1,4})?$",
    re.I,
)
_RULE = re.compile(r"^(?:[ \t\u3000]{10,}|[ \t]*[_＿—–-]{5,}[ \t]*)$")
# A footnote opens with its number, alone or glued to its text ("8中华人民共和国…").
_FOOTNOTE_START = re.compile(r"^\s*(\d{1,3})(?!\d)(?:\s*(\S.*))?$")
_FOOTNOTE_INLINE = re.compile(r"^\s*(\d{1,3})(?!\d)\s*(\S.*)$")
_LATIN_END = re.compile(r"[A-Za-z0-9,.;:!?%)\]'\"-]$")
_LATIN_START = re.compile(r"^[A-Za-z0-9(\['\"]")


def _norm_edge(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


@dataclass
class _Line:
    page: int
    text: str
    kind: str  # "body" | "heading" | "caption"
    level: int = 0


@dataclass
class _PageParts:
    body: list[str]
    footnotes: list[tuple[int, str]]
    number: int | None


def detect_furniture(pages: Sequence[list[str]]) -> tuple[list[set[int]], list[int | None]]:
    """Find running headers/footers and page numbers.

    Returns, per page, the indices of lines to drop, and the printed page number if found.
    A header/footer is a line (digits ignored) that stands among the first or last few non-empty
    lines of many pages; a page number is a bare number at a page edge whose difference to the
    physical page index agrees with most other pages.
    """
    n = len(pages)
    edges: list[list[int]] = []
    # A line is counted with its slot (0 = first line, -1 = last...): running headers keep
    # their place on every page, while body sentences that happen to repeat wander.
    counts: Counter[tuple[int, str]] = Counter()
    for lines in pages:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        top, bottom = filled[:_EDGE_DEPTH], filled[-_EDGE_DEPTH:]
        edges.append(sorted(set(top + bottom)))
        slots = [*enumerate(top), *((-1 - k, i) for k, i in enumerate(reversed(bottom)))]
        counts.update(
            {
                (slot, _norm_edge(lines[i]))
                for slot, i in slots
                if not _PAGE_NUMBER.match(lines[i].strip())
            }
        )
    threshold = max(3, int(0.3 * n + 0.5))
    repeated = {key for (_, key), c in counts.items() if c >= threshold and key}

    candidates: list[tuple[int, int, int, int]] = []  # (page, line, number, lines to the edge)
    for p, (lines, edge) in enumerate(zip(pages, edges, strict=True)):
        for i in edge:
            m = _PAGE_NUMBER.match(lines[i].strip())
            if m:
                depth = min(sum(j < i for j in edge), sum(j > i for j in edge))
                candidates.append((p, i, int(m.group(1) or m.group(2)), depth))
    offsets = Counter(number - p for p, _, number, _ in candidates)
    accepted: dict[int, tuple[int, int]] = {}
    if offsets:
        offset, support = offsets.most_common(1)[0]
        if support >= 2 or n == 1:
            # Nearest the edge first: a footnote numbered like the page sits above its number.
            for p, i, printed, _ in sorted(candidates, key=lambda c: c[3]):
                if printed - p == offset and p not in accepted:
                    accepted[p] = (i, printed)

    drop: list[set[int]] = []
    numbers: list[int | None] = []
    for p, (lines, edge) in enumerate(zip(pages, edges, strict=True)):
        gone = {i for i in edge if _norm_edge(lines[i]) in repeated}
        number: int | None = None
        if p in accepted:
            gone.add(accepted[p][0])
            number = accepted[p][1]
        drop.append(gone)
        numbers.append(number)
    return drop, numbers


def split_footnotes(lines: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """Split the footnote block (below a rule line near the page bottom) off a page's lines."""
    for i in range(len(lines) - 1, -1, -1):
        if not _RULE.match(lines[i]):
            continue
        below = [line for line in lines[i + 1 :] if line.strip()]
        above = [line for line in lines[:i] if line.strip()]
        if not below or len(below) > 15 or len(below) > len(above):
            continue
        if not _FOOTNOTE_START.match(below[0]):
            continue
        notes: list[tuple[int, list[str]]] = []
        for line in below:
            inline = _FOOTNOTE_INLINE.match(line)
            bare = _FOOTNOTE_START.match(line)
            if bare and bare.group(2) is None:
                notes.append((int(bare.group(1)), []))
            elif inline and (not notes or int(inline.group(1)) == notes[-1][0] + 1):
                notes.append((int(inline.group(1)), [inline.group(2)]))
            else:
                notes[-1][1].append(line.strip())
        footnotes = [(num, _join_lines([t for t in parts if t])) for num, parts in notes]
        return lines[:i], [(num, text) for num, text in footnotes if text]
    return lines, []


def _marker_pattern(number: int) -> re.Pattern[str]:
    # A superscript number glued into Chinese text: "学习范式2和网络结构".
    return re.compile(
        rf"(?<=[{IDEOGRAPH_SPAN}{CJK_PUNCTUATION}”’])(?<!\d){number}(?!\d)"
        rf"(?=[{IDEOGRAPH_SPAN}{CJK_PUNCTUATION}“‘\s]|$)"
    )


def classify(line: str, markdown: bool = False) -> tuple[str, int]:
    """Return ("heading", level), ("caption", 0) or ("body", 0) for a stripped line."""
    if markdown:
        m = _MD_HEADING.match(line)
        if m:
            return "heading", len(m.group(1))
    compact = re.sub(r"\s+", "", line).lower()
    if compact in _FRONT_MATTER:
        return "heading", 1
    if _CAPTION.match(line) and visual_width(line) <= 40:
        return "caption", 0
    if visual_width(line) <= 32 and not re.search(r"[。，,；;]$", line):
        for level, pattern in _HEADING_PATTERNS:
            if pattern.match(line):
                return "heading", level
    return "body", 0


def _join_lines(parts: list[str]) -> str:
    text, last_raw = "", ""
    for part in parts:
        text = text + _glue(last_raw, part) + part.strip() if text else part.strip()
        last_raw = part
    return text


def _glue(left_raw: str, right: str) -> str:
    """What joins two wrapped lines: nothing inside Chinese, one space between Latin words."""
    had_space = left_raw != left_raw.rstrip()
    left, right = left_raw.rstrip(), right.strip()
    if not left or not right:
        return ""
    if left.endswith("-") and _LATIN_START.match(right):
        return ""  # a word or URL broken at its hyphen: "2019-" + "08/21"
    if _LATIN_END.search(left) and _LATIN_START.match(right):
        return " "
    if had_space and not is_wide(left[-1]):
        return " "
    return ""


def clean_pages(
    pages: Sequence[RawPage],
    *,
    doc_id: str,
    title: str,
    source_file: str,
    content_hash: str,
    strip_furniture: bool = True,
    markdown: bool = False,
) -> CleanDocument:
    """Clean a document's pages into one text with page spans, sections and footnotes."""
    raw_lines = [page.text.replace("\r\n", "\n").replace("\r", "\n").split("\n") for page in pages]
    if strip_furniture:
        drop, numbers = detect_furniture(raw_lines)
    else:
        drop, numbers = [set() for _ in pages], [None for _ in pages]

    parts: list[_PageParts] = []
    for lines, gone, number in zip(raw_lines, drop, numbers, strict=True):
        kept = [line for i, line in enumerate(lines) if i not in gone]
        body, notes = split_footnotes(kept) if strip_furniture else (kept, [])
        parts.append(_PageParts(body=body, footnotes=notes, number=number))

    labels = _page_labels(pages, [p.number for p in parts])

    # Remove glued footnote markers, remembering where they stood (line, column).
    marker_at: dict[tuple[int, int], tuple[int, int]] = {}  # (page, number) -> (line, col)
    for p, part in enumerate(parts):
        for number, _ in part.footnotes:
            pattern = _marker_pattern(number)
            for li, line in enumerate(part.body):
                m = pattern.search(line)
                if m:
                    part.body[li] = line[: m.start()] + line[m.end() :]
                    indent = len(line) - len(line.lstrip())
                    marker_at[(p, number)] = (li, max(0, m.start() - indent))
                    break

    typical = _typical_width(parts)
    text, page_spans, sections, line_offsets = _assemble(parts, labels, typical, markdown)

    footnotes: list[Footnote] = []
    for p, part in enumerate(parts):
        for number, note in part.footnotes:
            where = marker_at.get((p, number))
            offset = line_offsets.get((p, where[0]), None) if where else None
            if offset is not None and where is not None:
                offset += where[1]
            elif page_spans:
                offset = max(page_spans[p].end - 1, page_spans[p].start)
            footnotes.append(Footnote(number=number, text=note, page_index=p, offset=offset))

    page_texts = tuple(text[span.start : span.end] for span in page_spans)
    return CleanDocument(
        doc_id=doc_id,
        title=title,
        source_file=source_file,
        content_hash=content_hash,
        text=text,
        pages=tuple(page_spans),
        sections=tuple(sections),
        footnotes=tuple(footnotes),
        page_texts=page_texts,
    )


def _page_labels(pages: Sequence[RawPage], numbers: list[int | None]) -> list[str]:
    """Printed labels: the file's own labels, else detected numbers, else physical numbers.

    Pages before the first numbered page (front matter) get lower-case roman numerals, as in
    print; a gap inside numbered pages is filled from the consistent offset.
    """
    if any(page.label for page in pages):
        return [page.label or str(page.index + 1) for page in pages]
    found = [(i, n) for i, n in enumerate(numbers) if n is not None]
    if not found:
        return [str(page.index + 1) for page in pages]
    first_numbered, first_number = found[0]
    offset = first_number - first_numbered
    labels = []
    for i, number in enumerate(numbers):
        if number is not None:
            labels.append(str(number))
        elif i < first_numbered and i + offset < 1:
            labels.append(_roman(i + 1))
        else:
            labels.append(str(i + offset))
    return labels


def _roman(n: int) -> str:
    out = ""
    for value, numeral in ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            out += numeral
            n -= value
    return out


def _typical_width(parts: Sequence[_PageParts]) -> float:
    widths = [visual_width(line.strip()) for part in parts for line in part.body if line.strip()]
    if not widths:
        return 0.0
    half_median = statistics.median(widths) * 0.5
    long = [w for w in widths if w >= half_median]
    return statistics.quantiles(long, n=10)[7] if len(long) >= 10 else max(long)


def _assemble(
    parts: Sequence[_PageParts], labels: list[str], typical: float, markdown: bool
) -> tuple[str, list[PageSpan], list[Section], dict[tuple[int, int], int]]:
    """Join lines into paragraphs across pages; locate pages, sections and line starts."""
    out: list[str] = []  # pieces of the final text
    length = 0
    page_start: dict[int, int] = {}
    line_offsets: dict[tuple[int, int], int] = {}
    heading_marks: list[tuple[int, str, int]] = []  # (level, title, offset)
    open_paragraph = False  # whether the last piece is an unfinished body paragraph
    last_raw = ""

    def emit(piece: str) -> None:
        nonlocal length
        out.append(piece)
        length += len(piece)

    for p, part in enumerate(parts):
        page_start.setdefault(p, length)
        for li, raw in enumerate(part.body):
            line = raw.strip()
            if not line:
                continue
            kind, level = classify(line, markdown)
            if kind != "body":
                if out:
                    emit("\n")
                if kind == "heading" and markdown:
                    line = _MD_HEADING.sub(r"\2", line)
                line_offsets[(p, li)] = length
                if kind == "heading":
                    heading_marks.append((level, line, length))
                emit(line)
                open_paragraph = False
                continue
            if open_paragraph:
                emit(_glue(last_raw, line))
            elif out:
                emit("\n")
            line_offsets[(p, li)] = length
            emit(line)
            last_raw = raw
            ends = ends_line_sentence(line)
            short = typical > 0 and visual_width(line) < 0.9 * typical
            very_short = typical > 0 and visual_width(line) < 0.6 * typical
            open_paragraph = not ((ends and short) or very_short)
        page_start.setdefault(p, length)

    text = "".join(out)
    spans: list[PageSpan] = []
    for p in range(len(parts)):
        start = page_start[p]
        end = page_start[p + 1] if p + 1 < len(parts) else len(text)
        # A page starts after the paragraph break that precedes its first line.
        while start < end and text[start] == "\n":
            start += 1
        spans.append(PageSpan(index=p, label=labels[p], start=start, end=max(start, end)))

    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    for i, (level, title, offset) in enumerate(heading_marks):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = len(text)
        for later_level, _, later_offset in heading_marks[i + 1 :]:
            if later_level <= level:
                end = later_offset
                break
        sections.append(
            Section(path=tuple(t for _, t in stack), level=level, start=offset, end=end)
        )
    return text, spans, sections, line_offsets
