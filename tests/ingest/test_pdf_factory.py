"""Each factory in ``tests/pdf_factory.py`` gives what it promises, read with pypdf."""

from __future__ import annotations

import time

import pytest

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("reportlab")

import pdf_factory as pf  # noqa: E402
from pypdf.errors import EmptyFileError, FileNotDecryptedError, PdfReadError  # noqa: E402


def page_lines(page) -> list[str]:
    return [line.strip() for line in page.extract_text().split("\n") if line.strip()]


def test_cjk_pdf_lines_header_numbers_footnotes(tmp_path):
    pages = [["第一页 AIGC 概述", "含有英文 Latin text 123"], ["第二页", "脚注引用1"]]
    path = pf.make_cjk_pdf(
        tmp_path / "cjk.pdf",
        pages,
        header="测试页眉",
        footer_numbers=5,
        footnotes={1: [(1, "脚注正文。")]},
        title="测试标题",
    )
    reader = pypdf.PdfReader(path)
    assert reader.metadata.title == "测试标题"
    assert "/PageLabels" not in reader.trailer["/Root"]
    first, second = (page_lines(p) for p in reader.pages)
    assert first == ["测试页眉", "第一页 AIGC 概述", "含有英文 Latin text 123", "5"]
    assert second == ["测试页眉", "第二页", "脚注引用1", "_" * 20, "1", "脚注正文。", "6"]


def test_cjk_pdf_without_header_or_numbers(tmp_path):
    path = pf.make_cjk_pdf(tmp_path / "plain.pdf", [["只有正文"]], footer_numbers=False)
    assert page_lines(pypdf.PdfReader(path).pages[0]) == ["只有正文"]
    path = pf.make_cjk_pdf(tmp_path / "numbered.pdf", [["甲"], ["乙"]], footer_numbers=True)
    assert [page_lines(p)[-1] for p in pypdf.PdfReader(path).pages] == ["1", "2"]


def test_factories_are_deterministic(tmp_path):
    names = (
        "make_encrypted_pdf",
        "make_image_only_pdf",
        "make_injection_pdf",
        "make_truncated_pdf",
    )
    for name in names:
        factory = getattr(pf, name)
        a = factory(tmp_path / f"{name}-a.pdf").read_bytes()
        b = factory(tmp_path / f"{name}-b.pdf").read_bytes()
        assert a == b, name


def test_encrypted_pdf(tmp_path):
    reader = pypdf.PdfReader(pf.make_encrypted_pdf(tmp_path / "enc.pdf"))
    assert reader.is_encrypted
    with pytest.raises(FileNotDecryptedError):
        reader.pages[0].extract_text()
    assert reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED
    assert reader.decrypt(pf.USER_PASSWORD) != pypdf.PasswordType.NOT_DECRYPTED
    assert "AIGC" in reader.pages[0].extract_text()


def test_image_only_pdf_has_no_text(tmp_path):
    reader = pypdf.PdfReader(pf.make_image_only_pdf(tmp_path / "scan.pdf", n_pages=3))
    assert len(reader.pages) == 3
    for page in reader.pages:
        assert page.extract_text().strip() == ""
        assert len(page.images) == 1


@pytest.mark.parametrize(
    ("factory", "error"),
    [
        (pf.make_truncated_pdf, PdfReadError),
        (pf.make_not_a_pdf, PdfReadError),
        (pf.make_empty_file, EmptyFileError),
    ],
)
def test_unreadable_files(tmp_path, factory, error):
    path = factory(tmp_path / "broken.pdf")
    with pytest.raises(error):
        reader = pypdf.PdfReader(path)
        [page.extract_text() for page in reader.pages]


def test_not_a_pdf_and_empty_file_contents(tmp_path):
    assert pf.make_not_a_pdf(tmp_path / "x.pdf").read_bytes().startswith(b"<!DOCTYPE html>")
    assert pf.make_empty_file(tmp_path / "e.pdf").stat().st_size == 0


def test_large_pdf(tmp_path):
    start = time.perf_counter()
    path = pf.make_large_pdf(tmp_path / "large.pdf")
    assert time.perf_counter() - start < 20
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == 1000
    for index in (0, 499, 999):
        lines = page_lines(reader.pages[index])
        assert lines[0] == pf.DEFAULT_HEADER
        assert lines[1].startswith(f"第 {index + 1} 页")
        assert lines[-1] == str(index + 1)


def test_injection_pdf(tmp_path):
    reader = pypdf.PdfReader(pf.make_injection_pdf(tmp_path / "inj.pdf"))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert pf.INJECTION_TEXT in page_lines(reader.pages[1])
    assert "AIGC" in text


def test_html_payload_pdf(tmp_path):
    text = pypdf.PdfReader(pf.make_html_payload_pdf(tmp_path / "html.pdf")).pages[0].extract_text()
    for payload in pf.HTML_PAYLOADS:
        assert payload in text
