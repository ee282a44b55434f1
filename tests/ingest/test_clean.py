"""Cleaning with the real pypdf: the bundled white paper against golden facts, then generated
PDFs with other headers, footers, page labels and footnotes (nothing white-paper specific)."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path

import pdf_factory as pf
import pytest
from pypdf import PdfReader, PdfWriter

from ingest.chunker import section_at
from ingest.clean import clean_pages
from ingest.loaders import inspect, open_pdf
from ingest.model import CleanDocument, RawPage
from ingest.settings import BUNDLED_PDF

GOLDEN = json.loads(
    (Path(__file__).parents[1] / "golden" / "aigc_whitepaper.json").read_text(encoding="utf-8")
)
SOURCE_TXT = BUNDLED_PDF.parent / "source.txt"


def read_pdf(path: Path, *, strip_furniture: bool = True) -> CleanDocument:
    source = inspect(path)
    return clean_pages(
        list(open_pdf(source)),
        doc_id=path.name,
        title=path.stem,
        source_file=str(path),
        content_hash=source.content_hash,
        strip_furniture=strip_furniture,
    )


def lines_of(doc: CleanDocument) -> list[str]:
    return doc.text.split("\n")


# -- the bundled white paper -----------------------------------------------------------------


def test_page_labels_are_front_matter_then_printed_numbers(bundled_document):
    labels = [page.label for page in bundled_document.pages]
    assert len(labels) == GOLDEN["page_count"]
    assert labels == ["i", *(str(n) for n in range(1, GOLDEN["page_count"]))]


def test_page_spans_tile_the_text_in_order(bundled_document):
    spans = bundled_document.pages
    assert spans[0].start == 0
    assert spans[-1].end == len(bundled_document.text)
    for before, after in pairwise(spans):
        assert before.end <= after.start
        assert bundled_document.text[before.end : after.start].strip() == ""
    assert bundled_document.page_texts == tuple(
        bundled_document.text[p.start : p.end] for p in spans
    )


def test_running_header_and_page_numbers_are_gone(bundled_document):
    assert GOLDEN["header"] not in bundled_document.text
    bare_numbers = [line for line in lines_of(bundled_document) if re.fullmatch(r"\d+", line)]
    assert bare_numbers == []
    for page in bundled_document.pages[1:]:
        assert not bundled_document.page_texts[page.index].rstrip().endswith("\n" + page.label)


def _pages_where_header_survived() -> dict[str, str]:
    """Printed number -> first text line, for pages whose header survived in source.txt."""
    lines = [line.strip() for line in SOURCE_TXT.read_text(encoding="utf-8").split("\n")]
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        if line == GOLDEN["header"]:
            number, text = [x for x in lines[i + 1 : i + 8] if x][:2]
            found[number] = text
    return found


def test_pages_where_the_header_survived_extraction(bundled_document):
    starts = _pages_where_header_survived()
    assert sorted(starts, key=int) == GOLDEN["header_survived_on"]
    by_label = {
        page.label: text
        for page, text in zip(bundled_document.pages, bundled_document.page_texts, strict=True)
    }
    for label, first_line in starts.items():
        assert by_label[label].startswith(first_line[:12]), label


@pytest.mark.parametrize("phrase", GOLDEN["joined"])
def test_wrapped_lines_are_joined(bundled_document, phrase):
    assert phrase in bundled_document.text


def test_latin_words_keep_exactly_one_space_across_a_line_break(bundled_document):
    assert "Tensor Processing Unit, TPU" in bundled_document.text
    assert "Unit,TPU" not in bundled_document.text
    assert "Unit,  TPU" not in bundled_document.text
    assert "图灵测\n试" not in bundled_document.text


def test_footnotes_are_split_off_with_their_numbers_and_pages(bundled_document):
    notes = bundled_document.footnotes
    labels = [bundled_document.pages[note.page_index].label for note in notes]
    assert [note.number for note in notes] == [g["number"] for g in GOLDEN["footnotes"]]
    assert labels == [g["page"] for g in GOLDEN["footnotes"]]
    for note, golden in zip(notes, GOLDEN["footnotes"], strict=True):
        assert note.text.startswith(golden["starts"]), note.number
    footnote_2 = notes[1].text
    assert footnote_2 == "人工智能的学习范式是指人工智能模型从数据中进行学习的方法。"
    assert footnote_2 not in bundled_document.text, "footnote text left in the body"
    assert "____" not in bundled_document.text


def test_footnote_offsets_point_where_the_marker_stood(bundled_document):
    text = bundled_document.text
    for note, golden in zip(bundled_document.footnotes, GOLDEN["footnotes"], strict=True):
        assert note.offset is not None
        assert text[: note.offset].endswith(golden["before_marker"]), note.number


@pytest.mark.parametrize(("kept", "gone"), GOLDEN["markers_removed"])
def test_glued_footnote_markers_are_removed(bundled_document, kept, gone):
    assert kept in bundled_document.text
    assert gone not in bundled_document.text


@pytest.mark.parametrize("case", GOLDEN["sections"], ids=lambda c: c["path"][-1])
def test_section_paths(bundled_document, case):
    offset = bundled_document.text.index(case["probe"])
    assert section_at(bundled_document.sections, offset) == tuple(case["path"])
    assert tuple(case["path"]) in {s.path for s in bundled_document.sections}


def test_sections_nest_and_close_at_the_next_heading_of_their_level(bundled_document):
    for section in bundled_document.sections:
        assert len(section.path) == section.level or section.path == ("前  言",)
        assert bundled_document.text[section.start :].startswith(section.path[-1])
        assert section.start < section.end <= len(bundled_document.text)


def test_captions_stand_on_their_own_lines(bundled_document):
    lines = set(lines_of(bundled_document))
    for caption in GOLDEN["caption_lines"]:
        assert caption in lines


@pytest.fixture(scope="module")
def bundled_raw_pages() -> list[RawPage]:
    return list(open_pdf(inspect(BUNDLED_PDF)))


def test_keep_headers_leaves_headers_numbers_and_footnotes_in_place(bundled_raw_pages):
    doc = clean_pages(
        bundled_raw_pages,
        doc_id="x",
        title="x",
        source_file="x",
        content_hash="0" * 64,
        strip_furniture=False,
    )
    lines = lines_of(doc)
    assert lines.count(GOLDEN["header"]) == GOLDEN["page_count"] - 1
    assert doc.page_texts[-1].endswith("54"), "the printed number stays (glued to the text)"
    assert doc.footnotes == ()
    assert [p.label for p in doc.pages] == [str(n) for n in range(1, GOLDEN["page_count"] + 1)]


# -- generated PDFs: nothing about the white paper is hard-coded ------------------------------


def test_another_running_header_and_offset_page_numbers(tmp_path):
    header = "星河科技 2023 年度报告"
    pages = [pf.aigc_lines(10, k) for k in range(6)]
    pages[2] = [*pages[2][:5], header, *pages[2][5:]]  # the header's words inside a page body
    doc = read_pdf(pf.make_cjk_pdf(tmp_path / "report.pdf", pages, header=header, footer_numbers=5))

    assert [p.label for p in doc.pages] == ["5", "6", "7", "8", "9", "10"]
    assert lines_of(doc).count(header) == 1, "only the body mention survives"
    assert not any(re.fullmatch(r"\d+", line) for line in lines_of(doc))
    for page, lines in zip(doc.page_texts, pages, strict=True):
        for line in lines:
            assert line in page


def test_running_footer_text_with_numbers_and_no_header(tmp_path):
    build = pf.load_build_module()
    specs = [
        build.PageSpec(lines=tuple(pf.aigc_lines(8, k)), footer=f"第 {k + 3} 页") for k in range(5)
    ]
    doc = read_pdf(build.render_pdf(tmp_path / "footer.pdf", specs))
    assert [p.label for p in doc.pages] == ["3", "4", "5", "6", "7"]
    assert "页" not in doc.text.replace("页面", "")


def test_bare_numbers_that_are_not_page_numbers_stay(tmp_path):
    pages = [pf.aigc_lines(9, k) for k in range(5)]
    pages[1] = [*pages[1][:4], "256", *pages[1][4:]]  # mid-page: never an edge
    pages[3] = [*pages[3], "2023"]  # at the bottom edge, but 2023 is not this page's number
    doc = read_pdf(pf.make_cjk_pdf(tmp_path / "numbers.pdf", pages, footer_numbers=True))
    assert [p.label for p in doc.pages] == ["1", "2", "3", "4", "5"]
    assert "256" in doc.page_texts[1]
    assert "2023" in doc.page_texts[3]
    for number in ("1", "2", "3", "4", "5"):
        assert number not in lines_of(doc)


def test_pdf_page_labels_win_over_detected_numbers(tmp_path):
    plain = pf.make_cjk_pdf(
        tmp_path / "plain.pdf", [pf.aigc_lines(8, k) for k in range(5)], footer_numbers=True
    )
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.set_page_label(0, 1, style="/r")
    writer.set_page_label(2, 4, style="/D", start=1)
    labelled = tmp_path / "labelled.pdf"
    with labelled.open("wb") as fh:
        writer.write(fh)

    assert [page.label for page in open_pdf(inspect(labelled))] == ["i", "ii", "1", "2", "3"]
    doc = read_pdf(labelled)
    assert [p.label for p in doc.pages] == ["i", "ii", "1", "2", "3"]


def test_footnotes_of_a_generated_pdf(tmp_path):
    pages = [pf.aigc_lines(8), ["第二页讨论生成式模型的版权问题1。", *pf.aigc_lines(6, 2)]]
    pages[1].insert(3, "合成数据的质量评估方法2，需要更多研究。")
    notes = {1: [(1, "参见《著作权法》第三条。"), (2, "见附录 B 的实验设置。")]}
    path = pf.make_cjk_pdf(tmp_path / "notes.pdf", pages, footer_numbers=True, footnotes=notes)
    doc = read_pdf(path)

    got = [(n.number, n.text, n.page_index) for n in doc.footnotes]
    assert got == [(1, "参见《著作权法》第三条。", 1), (2, "见附录 B 的实验设置。", 1)]
    assert "版权问题。" in doc.text and "版权问题1" not in doc.text
    assert "评估方法，需要" in doc.text
    assert "著作权法" not in doc.text and "附录" not in doc.text
    offsets = [n.offset for n in doc.footnotes]
    assert all(o is not None for o in offsets)
    assert doc.text[: offsets[0]].endswith("版权问题")
    assert doc.text[: offsets[1]].endswith("质量评估方法")
