"""Rebuild a faithful PDF of 人工智能生成内容（AIGC）白皮书 (2022) from ``source.txt``.

``source.txt`` (next to this script) is the pypdf text extraction of the original
white paper, page after page.  Its conventions, which this script relies on:

* every text line is followed by an empty line (the empty lines are separators,
  not content);
* a page begins at a line made of exactly one space followed by text, or at a
  line holding the running header ``人工智能生成内容（AIGC）白皮书`` (it survived the
  extraction on three pages, and is then followed by the printed page number);
  the only exception is the footnote line ``" 人工智能的学习范式是指…"``;
* a line holding a single space marks where a figure stood;
* a line of many spaces is the footnote rule; the lines after it, up to the end
  of the page, are the footnotes (a number, then the footnote text).

The first page is the 前言 (front matter, no printed number); the page that
begins with ``一、人工智能生成内容的发展历程与概念`` is printed page 1 and the
numbering runs on from there.  The split is checked against known facts
(55 pages, header pages printed 16/30/43, eight footnotes) and the script fails
loudly if it disagrees.

The PDF keeps the original line breaks (one source line = one PDF line; a line
that is too long is set in a smaller font instead of being wrapped), prints the
running header on top of every numbered page and the printed page number at the
bottom centre.  Footnotes sit at the bottom of their page under a drawn rule; the
rule is ALSO written as a text line of underscores so that text-based cleaning of
``extract_text()`` output can find it.  No ``/PageLabels`` are written: ingestion
has to detect printed numbers from the footers.

The output is byte-for-byte deterministic (reportlab ``invariant=1``).

Usage::

    python data/aigc-whitepaper-2022/build_pdf.py [--source S] [--output O]

The drawing helpers (:class:`PageSpec`, :class:`Layout`, :func:`render_pdf`) are
reused by ``tests/pdf_factory.py`` to build small test PDFs the same way.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reportlab import Version as REPORTLAB_VERSION
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

HERE = Path(__file__).resolve().parent
SOURCE_PATH = HERE / "source.txt"
OUTPUT_PATH = HERE / "aigc-whitepaper-2022.pdf"

TITLE = "人工智能生成内容（AIGC）白皮书"
AUTHOR = "中国信息通信研究院、京东探索研究院"
SUBJECT = "人工智能生成内容（AIGC）白皮书（2022年）"
HEADER = "人工智能生成内容（AIGC）白皮书"

#: Recorded in the PDF: the exact bytes depend on the reportlab version.
CREATOR = f"whitepaper-assistant build_pdf.py (reportlab {REPORTLAB_VERSION})"

FONT_NAME = "STSong-Light"
#: Text written on top of the drawn footnote rule, so that it survives text extraction.
RULE_TEXT = "_" * 20

# ---------------------------------------------------------------------------
# Facts about the white paper, asserted by :func:`check_split`.
# ---------------------------------------------------------------------------
EXPECTED_PAGE_COUNT = 55
EXPECTED_LAST_PRINTED = 54
FIRST_NUMBERED_PAGE_START = "一、人工智能生成内容的发展历程与概念"
FRONT_MATTER_START = "前  言"
#: Printed page numbers of the pages on which the running header survived.
EXPECTED_HEADER_PAGES = (16, 30, 43)
#: Footnote number -> printed page number it is printed on.
EXPECTED_FOOTNOTES = {1: 4, 2: 8, 3: 11, 4: 15, 5: 17, 6: 22, 7: 24, 8: 42}
#: The one line that looks like a page start but is footnote text.
NOT_A_PAGE_START = " 人工智能的学习范式是指"

#: A line holding a single space marks where a figure stood.
FIGURE_MARK = " "
#: Figure credits start with this; they are printed right under their figure.
FIGURE_CREDIT = "来源："

_PAGE_START_RE = re.compile(r"^ \S")
_RULE_RE = re.compile(r"^ {10,}$")
_FOOTNOTE_NUMBER_RE = re.compile(r"^(\d+)")


# ---------------------------------------------------------------------------
# Parsing source.txt
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SourcePage:
    """One page of the white paper as recovered from ``source.txt``.

    Attributes:
        index: 0-based physical page index.
        printed_number: printed page number, ``None`` for the front matter.
        first_line: 1-based line number in ``source.txt`` where the page begins.
        header_in_source: the running header survived the extraction on this page.
        body: body text lines in order; a whitespace-only entry marks a figure.
        footnotes: lines below the footnote rule (empty when there is no rule).
    """

    index: int
    printed_number: int | None
    first_line: int
    header_in_source: bool
    body: tuple[str, ...]
    footnotes: tuple[str, ...]

    def footnote_numbers(self) -> list[int]:
        """Footnote numbers that open a footnote on this page (``"2"``, ``"1 维基…"``)."""
        numbers = []
        for line in self.footnotes:
            match = _FOOTNOTE_NUMBER_RE.match(line)
            if match:
                numbers.append(int(match.group(1)))
        return numbers


def is_page_start(line: str) -> bool:
    """Return True if ``line`` of ``source.txt`` begins a new page."""
    if line.strip() == HEADER:
        return True
    return bool(_PAGE_START_RE.match(line)) and not line.startswith(NOT_A_PAGE_START)


def is_rule(line: str) -> bool:
    """Return True for the footnote rule (a line made of many spaces)."""
    return bool(_RULE_RE.match(line))


def split_pages(text: str) -> list[list[tuple[int, str]]]:
    """Split ``source.txt`` into pages of ``(1-based line number, raw line)``."""
    pages: list[list[tuple[int, str]]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not pages or is_page_start(line):
            pages.append([])
        pages[-1].append((number, line))
    return pages


def parse_source(text: str) -> list[SourcePage]:
    """Parse the extraction text into :class:`SourcePage` objects.

    Printed numbers are assigned as: front matter = ``None``, the page beginning
    with :data:`FIRST_NUMBERED_PAGE_START` = 1, then consecutive.  A surviving
    header, and the page number line right after it, are consumed (they are
    printed as header/footer) after checking that the number matches.
    """
    raw_pages = split_pages(text)
    first_numbered = None
    for i, raw in enumerate(raw_pages):
        if raw[0][1].strip() == FIRST_NUMBERED_PAGE_START:
            first_numbered = i
            break
    if first_numbered is None:
        raise ValueError(f"no page starts with {FIRST_NUMBERED_PAGE_START!r}")

    pages: list[SourcePage] = []
    for i, raw in enumerate(raw_pages):
        printed = i - first_numbered + 1 if i >= first_numbered else None
        lines = [line for _, line in raw]
        if lines[0].startswith(" ") and lines[0].strip():
            lines[0] = lines[0][1:]  # the single space that marks a page start
        header_in_source = lines[0].strip() == HEADER
        if header_in_source:
            lines.pop(0)
            # The printed page number follows the surviving header.
            while lines and lines[0] == "":
                lines.pop(0)
            if not lines or lines[0].strip() != str(printed):
                raise ValueError(
                    f"page starting at line {raw[0][0]}: header not followed by "
                    f"page number {printed} (got {lines[0] if lines else None!r})"
                )
            lines.pop(0)
        rule_at = next((k for k, line in enumerate(lines) if is_rule(line)), None)
        body_raw = lines if rule_at is None else lines[:rule_at]
        notes_raw = [] if rule_at is None else lines[rule_at + 1 :]
        if any(is_rule(line) for line in notes_raw):
            raise ValueError(f"page starting at line {raw[0][0]}: two footnote rules")
        body = [line for line in body_raw if line != ""]  # "" lines are separators
        if body and body[0].startswith(FIGURE_CREDIT):
            # A page opening with a figure credit began with the figure itself.
            body.insert(0, FIGURE_MARK)
        pages.append(
            SourcePage(
                index=i,
                printed_number=printed,
                first_line=raw[0][0],
                header_in_source=header_in_source,
                body=tuple(body),
                footnotes=tuple(line for line in notes_raw if line.strip()),
            )
        )
    return pages


def check_split(pages: Sequence[SourcePage]) -> None:
    """Fail loudly (``AssertionError``) if the page split disagrees with known facts."""

    def fail(message: str) -> None:
        raise AssertionError(f"source.txt page split: {message}")

    if len(pages) != EXPECTED_PAGE_COUNT:
        fail(f"{len(pages)} pages, expected {EXPECTED_PAGE_COUNT}")
    if pages[0].printed_number is not None or pages[0].body[0].strip() != FRONT_MATTER_START:
        fail("page 1 of the PDF is not the unnumbered 前言")
    if pages[1].printed_number != 1 or pages[1].body[0].strip() != FIRST_NUMBERED_PAGE_START:
        fail("page 2 of the PDF is not printed page 1")
    if pages[-1].printed_number != EXPECTED_LAST_PRINTED:
        fail(f"last printed page is {pages[-1].printed_number}, expected {EXPECTED_LAST_PRINTED}")
    header_pages = tuple(p.printed_number for p in pages if p.header_in_source)
    if header_pages != EXPECTED_HEADER_PAGES:
        fail(f"header survived on pages {header_pages}, expected {EXPECTED_HEADER_PAGES}")
    footnotes = {n: p.printed_number for p in pages for n in p.footnote_numbers()}
    if footnotes != EXPECTED_FOOTNOTES:
        fail(f"footnotes on {footnotes}, expected {EXPECTED_FOOTNOTES}")
    for page in pages:
        if page.footnotes and not page.footnote_numbers():
            fail(f"page {page.printed_number}: footnote area without a footnote number")
        if not any(line.strip() for line in page.body):
            fail(f"page {page.printed_number}: no body text")


def load_pages(source: Path = SOURCE_PATH) -> list[SourcePage]:
    """Read, parse and check ``source.txt``."""
    pages = parse_source(source.read_text(encoding="utf-8"))
    check_split(pages)
    return pages


# ---------------------------------------------------------------------------
# Drawing (shared with tests/pdf_factory.py)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """Geometry and font sizes, in PDF points (A4 portrait by default)."""

    page_size: tuple[float, float] = A4
    margin_x: float = 72.0
    header_baseline_from_top: float = 48.0
    body_top_from_top: float = 96.0
    footer_baseline: float = 40.0
    lowest_baseline: float = 72.0
    header_size: float = 9.0
    footer_size: float = 9.0
    body_size: float = 14.0
    body_leading: float = 26.0
    min_leading_factor: float = 1.15
    figure_gap_lines: int = 3
    footnote_size: float = 9.0
    footnote_leading: float = 12.0
    #: Length of the drawn footnote rule; ``None``: as wide as :data:`RULE_TEXT`.
    rule_width: float | None = None

    @property
    def text_width(self) -> float:
        """Usable line width."""
        return self.page_size[0] - 2 * self.margin_x


@dataclass(frozen=True)
class PageSpec:
    """What to draw on one page.

    Attributes:
        lines: body lines, top to bottom; a whitespace-only line leaves a figure gap.
        header: running header drawn at the top (``None``: no header).
        footer: text drawn at the bottom centre, e.g. the printed page number.
        footnotes: lines drawn under a footnote rule at the page bottom.
    """

    lines: Sequence[str]
    header: str | None = None
    footer: str | None = None
    footnotes: Sequence[str] = field(default_factory=tuple)


def register_font() -> str:
    """Register the built-in CID font (idempotent) and return its name."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT_NAME))
    return FONT_NAME


def fitted_size(text: str, size: float, max_width: float) -> float:
    """Font size at which ``text`` fits ``max_width`` (never larger than ``size``)."""
    width = pdfmetrics.stringWidth(text, FONT_NAME, size)
    if width <= max_width:
        return size
    return math.floor(size * max_width / width * 100) / 100


def _draw_line(
    c: canvas.Canvas, x: float, y: float, text: str, size: float, max_width: float
) -> None:
    c.setFont(FONT_NAME, fitted_size(text, size, max_width))
    c.drawString(x, y, text)


def draw_page(c: canvas.Canvas, spec: PageSpec, layout: Layout = Layout()) -> None:
    """Draw one page (header, body, footnotes, footer) on ``c`` and end the page.

    Content-stream order is header, body, rule text, footnotes, footer, so that
    ``extract_text()`` returns them in reading order.  Raises ``ValueError`` if
    the body does not fit even with the tightest allowed leading.
    """
    width, height = layout.page_size
    x = layout.margin_x
    max_w = layout.text_width

    if spec.header:
        y = height - layout.header_baseline_from_top
        c.setFont(FONT_NAME, layout.header_size)
        c.drawCentredString(width / 2, y, spec.header)
        c.setLineWidth(0.5)
        c.line(x, y - 5, width - x, y - 5)

    # Footnote block, bottom-up: last footnote line sits on lowest_baseline.
    notes = list(spec.footnotes)
    if notes:
        first_note_y = layout.lowest_baseline + (len(notes) - 1) * layout.footnote_leading
        rule_y = first_note_y + layout.footnote_leading
        body_floor = rule_y + layout.footnote_size + 4
    else:
        first_note_y = rule_y = 0.0
        body_floor = layout.lowest_baseline

    # Body: shrink the leading if needed so that every line fits on the page.
    lines = list(spec.lines)
    top = height - layout.body_top_from_top
    units = sum(layout.figure_gap_lines if not line.strip() else 1 for line in lines)
    leading = layout.body_leading
    if units > 1 and top - (units - 1) * leading < body_floor:
        leading = (top - body_floor) / (units - 1)
        if leading < layout.body_size * layout.min_leading_factor:
            raise ValueError(f"{len(lines)} lines do not fit on one page")
    y = top
    for line in lines:
        if not line.strip():
            y -= layout.figure_gap_lines * leading  # figure: blank gap, nothing printed
            continue
        _draw_line(c, x, y, line, layout.body_size, max_w)
        y -= leading

    if notes:
        rule_width = layout.rule_width
        if rule_width is None:
            rule_width = pdfmetrics.stringWidth(RULE_TEXT, FONT_NAME, layout.footnote_size)
        c.setLineWidth(0.5)
        c.line(x, rule_y, x + rule_width, rule_y)
        # The underscores glyphs sit just below their baseline: overlap the drawn rule.
        c.setFont(FONT_NAME, layout.footnote_size)
        c.drawString(x, rule_y + 1, RULE_TEXT)
        y = first_note_y
        for line in notes:
            _draw_line(c, x, y, line, layout.footnote_size, max_w)
            y -= layout.footnote_leading

    if spec.footer:
        c.setFont(FONT_NAME, layout.footer_size)
        c.drawCentredString(width / 2, layout.footer_baseline, spec.footer)
    c.showPage()


def render_pdf(
    path: Path | str,
    pages: Sequence[PageSpec],
    *,
    title: str | None = None,
    author: str | None = None,
    subject: str | None = None,
    layout: Layout = Layout(),
) -> Path:
    """Write ``pages`` to ``path`` deterministically and return the path."""
    register_font()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=layout.page_size, invariant=1, pageCompression=1)
    if title:
        c.setTitle(title)
    if author:
        c.setAuthor(author)
    if subject:
        c.setSubject(subject)
    c.setCreator(CREATOR)
    for spec in pages:
        draw_page(c, spec, layout)
    c.save()
    return path


def page_specs(pages: Sequence[SourcePage]) -> list[PageSpec]:
    """Turn parsed white-paper pages into drawable :class:`PageSpec` objects."""
    specs = []
    for page in pages:
        numbered = page.printed_number is not None
        specs.append(
            PageSpec(
                lines=page.body,
                header=HEADER if numbered else None,
                footer=str(page.printed_number) if numbered else None,
                footnotes=page.footnotes,
            )
        )
    return specs


def build(source: Path = SOURCE_PATH, output: Path = OUTPUT_PATH) -> Path:
    """Build the white paper PDF from ``source`` into ``output``."""
    pages = load_pages(source)
    return render_pdf(output, page_specs(pages), title=TITLE, author=AUTHOR, subject=SUBJECT)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE_PATH)
    parser.add_argument("--output", type=Path, default=OUTPUT_PATH)
    args = parser.parse_args(argv)
    out = build(args.source, args.output)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
