"""Loaders: which files are taken, how each unusable one is refused, and what a page holds."""

from __future__ import annotations

import hashlib

import pdf_factory as pf
import pytest

from ingest.errors import IngestError
from ingest.loaders import expand_paths, inspect, open_pdf, read_text_pages
from ingest.settings import BUNDLED_PDF


def test_folders_expand_to_supported_files_recursively(tmp_path):
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    for name in ("b.pdf", "a.md", "sub/c.TXT", "notes.docx", "image.png"):
        (tmp_path / "docs" / name).write_text("x", encoding="utf-8")
    files, problems = expand_paths([tmp_path / "docs", tmp_path / "gone.pdf"])
    assert [p.relative_to(tmp_path / "docs").as_posix() for p in files] == [
        "a.md",
        "b.pdf",
        "sub/c.TXT",
    ]
    assert problems == [(tmp_path / "gone.pdf", "no such file or folder: check the path")]


def test_inspect_hashes_the_bytes_and_names_the_document(tmp_path):
    path = pf.make_cjk_pdf(tmp_path / "报告.pdf", [pf.aigc_lines(5)])
    source = inspect(path)
    assert source.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (source.kind, source.doc_id) == ("pdf", "报告.pdf")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.docx", b"PK\x03\x04", "unsupported file type .docx: give a .pdf, .txt or .md"),
        ("README", b"text", "unsupported file type (none)"),
        ("empty.pdf", b"", "the file is empty (0 bytes): re-export or re-download it"),
        ("page.pdf", b"<!DOCTYPE html><html>", "not a PDF (no %PDF- header)"),
        ("empty.txt", b"", "the file is empty"),
    ],
)
def test_inspect_refuses_unusable_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=rf"^{path.name}: .*") as refused:
        inspect(path)
    assert message in str(refused.value)


def test_a_truncated_pdf_is_refused_with_a_repair_hint(tmp_path):
    path = pf.make_truncated_pdf(tmp_path / "cut.pdf")
    with pytest.raises(IngestError, match=r"truncated or corrupted.*re-download it or repair"):
        list(open_pdf(inspect(path)))


def test_an_encrypted_pdf_is_refused_with_a_decrypt_hint(tmp_path):
    path = pf.make_encrypted_pdf(tmp_path / "locked.pdf")
    with pytest.raises(IngestError, match=r"password-protected.*qpdf --decrypt"):
        open_pdf(inspect(path))
    assert [p.index for p in open_pdf(inspect(path), password=pf.USER_PASSWORD)] == [0, 1]


def test_an_image_only_pdf_opens_but_has_no_text(tmp_path):
    pages = list(open_pdf(inspect(pf.make_image_only_pdf(tmp_path / "scan.pdf"))))
    assert len(pages) == 2
    assert all(not page.text.strip() for page in pages)


def test_the_bundled_pdf_opens_lazily_with_its_title():
    pdf = open_pdf(inspect(BUNDLED_PDF))
    assert (pdf.page_count, pdf.title) == (55, "人工智能生成内容（AIGC）白皮书")
    first = next(iter(pdf))
    assert first.index == 0 and first.label is None
    assert first.text.lstrip().startswith("前  言")


def test_text_and_markdown_files(tmp_path):
    text = tmp_path / "plain.txt"
    text.write_text("第一页\f第二页", encoding="utf-8")
    pages, title = read_text_pages(inspect(text))
    assert [(p.index, p.text) for p in pages] == [(0, "第一页"), (1, "第二页")]
    assert title is None

    markdown = tmp_path / "notes.md"
    markdown.write_bytes("\ufeff# 会议纪要\n\n## 议题\n讨论 AIGC。\n".encode())
    pages, title = read_text_pages(inspect(markdown))
    assert title == "会议纪要"
    assert pages[0].text.startswith("# 会议纪要")


def test_text_in_another_encoding_is_refused_with_a_conversion_hint(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("人工智能生成内容".encode("gbk"))
    with pytest.raises(IngestError, match=r"not UTF-8 text .*iconv -f GBK -t UTF-8"):
        read_text_pages(inspect(path))
