"""Round-trip checks of the bundled white paper PDF against its ``source.txt``.

The committed PDF (``data/aigc-whitepaper-2022/aigc-whitepaper-2022.pdf``) is
read as is; only :func:`test_rebuild_is_byte_identical` rebuilds it (into a tmp
directory) to prove the build is deterministic.  The page split of
``source.txt`` is re-done here independently of ``build_pdf.py``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

pypdf = pytest.importorskip("pypdf")

ROOT = Path(__file__).resolve().parents[2]
DOC_DIR = ROOT / "data" / "aigc-whitepaper-2022"
PDF_PATH = DOC_DIR / "aigc-whitepaper-2022.pdf"
SOURCE_PATH = DOC_DIR / "source.txt"
BUILD_SCRIPT = DOC_DIR / "build_pdf.py"

HEADER = "人工智能生成内容（AIGC）白皮书"
RULE_TEXT = "_" * 20
PAGE_COUNT = 55
HEADER_SURVIVED_ON = (16, 30, 43)
FOOTNOTE_PAGES = (4, 8, 11, 15, 17, 22, 24, 42)


def load_build_module() -> ModuleType:
    """Import ``build_pdf.py`` from its path (its folder name is not a package)."""
    name = "aigc_whitepaper_build_pdf"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BUILD_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def split_source_pages(text: str) -> list[list[str]]:
    """Independent page split of ``source.txt`` (see build_pdf.py for the rules)."""
    pages: list[list[str]] = []
    for line in text.split("\n"):
        starts = (
            re.match(r"^ \S", line) and not line.startswith(" 人工智能的学习范式是指")
        ) or line.strip() == HEADER
        if not pages or starts:
            pages.append([])
        pages[-1].append(line)
    return pages


def meaningful(lines: list[str]) -> list[str]:
    """Lines with surrounding whitespace stripped, empty ones dropped."""
    return [line.strip() for line in lines if line.strip()]


@pytest.fixture(scope="module")
def reader() -> pypdf.PdfReader:
    return pypdf.PdfReader(PDF_PATH)


@pytest.fixture(scope="module")
def extracted(reader) -> list[list[str]]:
    """Stripped non-empty lines of every page's ``extract_text()``."""
    return [meaningful(page.extract_text().split("\n")) for page in reader.pages]


@pytest.fixture(scope="module")
def source_pages() -> list[list[str]]:
    """Expected lines per page: source lines minus a surviving header + its number."""
    pages = []
    for index, raw in enumerate(split_source_pages(SOURCE_PATH.read_text(encoding="utf-8"))):
        lines = meaningful(raw)
        if lines and lines[0] == HEADER:
            assert lines[1] == str(index), f"surviving header on page {index} lacks its number"
            lines = lines[2:]
        pages.append(lines)
    return pages


def body_lines(page_lines: list[str], index: int) -> list[str]:
    """Drop the header, the footer number and the rule text from an extracted page."""
    lines = list(page_lines)
    if index > 0:
        assert lines[0] == HEADER
        assert lines[-1] == str(index)
        lines = lines[1:-1]
    return [line for line in lines if line != RULE_TEXT]


def test_source_split_facts(source_pages):
    raw = split_source_pages(SOURCE_PATH.read_text(encoding="utf-8"))
    assert len(raw) == PAGE_COUNT
    assert raw[0][0].strip() == "前  言"
    assert raw[1][0].strip() == "一、人工智能生成内容的发展历程与概念"
    header_pages = tuple(i for i, lines in enumerate(raw) if lines[0].strip() == HEADER)
    assert header_pages == HEADER_SURVIVED_ON
    rule_pages = tuple(
        i for i, lines in enumerate(raw) if any(re.fullmatch(r" {10,}", x) for x in lines)
    )
    assert rule_pages == FOOTNOTE_PAGES


def test_build_script_agrees_with_independent_split(source_pages):
    build = load_build_module()
    pages = build.load_pages(SOURCE_PATH)
    assert len(pages) == PAGE_COUNT
    assert [p.printed_number for p in pages] == [None, *range(1, PAGE_COUNT)]
    for page, expected in zip(pages, source_pages, strict=True):
        assert meaningful([*page.body, *page.footnotes]) == expected


def test_page_count(reader):
    assert len(reader.pages) == PAGE_COUNT


def test_metadata_and_no_page_labels(reader):
    assert reader.metadata.title == HEADER
    assert reader.metadata.author == "中国信息通信研究院、京东探索研究院"
    assert "/PageLabels" not in reader.trailer["/Root"]


def test_text_round_trip(extracted, source_pages):
    assert len(extracted) == len(source_pages)
    for index, (got, expected) in enumerate(zip(extracted, source_pages, strict=True)):
        assert body_lines(got, index) == expected, f"physical page {index + 1}"


def test_running_header_once_on_numbered_pages_only(extracted):
    assert HEADER not in extracted[0]
    for index, lines in enumerate(extracted[1:], start=1):
        assert lines[0] == HEADER, f"physical page {index + 1}"
        assert lines.count(HEADER) == 1, f"header printed twice on printed page {index}"


def test_footer_numbers(extracted):
    assert not extracted[0][-1].isdigit()
    assert [lines[-1] for lines in extracted[1:]] == [str(n) for n in range(1, PAGE_COUNT)]


def _positioned_lines(page) -> list[tuple[str, float]]:
    """(text, baseline y) of every text chunk drawn on ``page``."""
    chunks: list[tuple[str, float]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            chunks.append((text.strip(), tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return chunks


def test_footnotes_sit_below_the_rule(reader, extracted):
    rule_pages = tuple(i for i, lines in enumerate(extracted) if RULE_TEXT in lines)
    assert rule_pages == FOOTNOTE_PAGES
    for index in rule_pages:
        lines = extracted[index]
        assert lines.count(RULE_TEXT) == 1
        assert re.match(r"\d", lines[lines.index(RULE_TEXT) + 1]), "footnote number after the rule"
        content = reader.pages[index].get_contents().get_data()
        assert re.search(rb"[\d.]+ [\d.]+ m [\d.]+ [\d.]+ l S", content), "rule is also drawn"

    page8 = 8
    lines = extracted[page8]
    note = next(i for i, x in enumerate(lines) if x.startswith("人工智能的学习范式是指"))
    assert lines.index(RULE_TEXT) < note
    chunks = _positioned_lines(reader.pages[page8])
    rule_y = next(y for text, y in chunks if text == RULE_TEXT)
    note_y = next(y for text, y in chunks if text.startswith("人工智能的学习范式是指"))
    body_ys = [y for text, y in chunks if text not in (HEADER, RULE_TEXT, "2", "8") and y > rule_y]
    assert note_y < rule_y < min(body_ys)
    assert len(body_ys) == len(body_lines(lines, page8)) - 2  # all but "2" and the note


def test_rebuild_is_byte_identical(tmp_path):
    build = load_build_module()
    first = build.build(SOURCE_PATH, tmp_path / "first.pdf").read_bytes()
    second = build.build(SOURCE_PATH, tmp_path / "second.pdf").read_bytes()
    assert first == second, "the build is not deterministic"
    committed_by = pypdf.PdfReader(PDF_PATH).metadata.creator
    assert first == PDF_PATH.read_bytes(), (
        f"committed PDF differs from a rebuild; it was made by {committed_by!r}, this "
        f"environment has {build.CREATOR!r}: run python data/aigc-whitepaper-2022/build_pdf.py"
    )
