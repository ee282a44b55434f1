"""ui.library: uploads are checked with the CLI's messages, stored only under the home with a
safe name, ingested into the assistant's index; documents can be removed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pdf_factory import (
    aigc_lines,
    make_cjk_pdf,
    make_empty_file,
    make_encrypted_pdf,
    make_not_a_pdf,
)

from assistant.chain import Assistant
from assistant.factory import build_assistant
from ingest.embeddings import HashingEmbeddings
from ingest.errors import IngestError
from ingest.loaders import inspect
from ingest.pipeline import Ingestor
from ui.library import Library, safe_filename
from ui.settings import Settings


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """An assistant over its own small hash-embedded index (these tests change it)."""
    home = tmp_path_factory.mktemp("library-home")
    settings = Settings(home=home, embedding="hash:64", chroma_url=None, mode="extractive")
    first = make_cjk_pdf(tmp_path_factory.mktemp("seed") / "seed.pdf", [aigc_lines(10)])
    assert not Ingestor(settings, HashingEmbeddings()).ingest([first]).failed
    a = build_assistant(settings, embeddings=HashingEmbeddings())
    yield a
    a.index.close()


@pytest.fixture
def library(assistant: Assistant) -> Library:
    return Library(assistant, max_bytes=200_000)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\me\\年报 2022 (终版).PDF", "年报_2022_终版.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("a\x00b<script>.pdf", "a_b_script.pdf"),
        ("$(rm -rf ~).pdf", "rm_-rf.pdf"),
        ("...pdf", "document.pdf"),
        ("noext", "noext"),
        ("x" * 300 + ".pdf", "x" * 76 + ".pdf"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_checks_give_the_cli_messages(library: Library, tmp_path: Path) -> None:
    for make in (make_not_a_pdf, make_empty_file):
        path = make(tmp_path / "bad.pdf")
        with pytest.raises(IngestError) as from_ui:
            library.check_upload(path, "bad.pdf")
        with pytest.raises(IngestError) as from_cli:
            inspect(path)
        assert str(from_ui.value) == str(from_cli.value)
    with pytest.raises(IngestError, match=r"notes.txt: unsupported file type .txt: upload a .pdf"):
        library.check_upload(tmp_path / "bad.pdf", "notes.txt")


def test_an_upload_over_the_limit_is_refused_before_it_is_stored(
    library: Library, tmp_path: Path
) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 300_000)
    result = library.add(big)
    assert not result.ok and "the file is 0.3 MB, over the 0.2 MB upload limit" in result.message
    assert not (library.folder / "big.pdf").exists()


def test_a_non_pdf_is_refused_and_nothing_is_kept(library: Library, tmp_path: Path) -> None:
    fake = make_not_a_pdf(tmp_path / "upload-tmp-123.pdf")
    result = library.add(fake, "报告.pdf")
    assert not result.ok
    assert result.message.startswith("报告.pdf: not a PDF (no %PDF- header)")
    assert not list(library.folder.rglob("*.pdf"))


def test_a_pdf_is_stored_under_the_home_and_ingested(library: Library, tmp_path: Path) -> None:
    upload = make_cjk_pdf(
        tmp_path / "gradio-tmp" / "x.pdf", [aigc_lines(12, 3), aigc_lines(8)], title="上传测试"
    )
    stages: list[str] = []
    result = library.add(upload, "../新 文档.pdf", lambda stage, done, total: stages.append(stage))
    assert result.ok, result.message
    assert re.fullmatch(r"added 新_文档.pdf — 2 pages, \d+ chunks", result.message)
    assert {"pages", "embedding"} <= set(stages)
    stored = library.folder / "新_文档.pdf"
    assert stored.read_bytes() == upload.read_bytes()
    assert sorted(p.name for p in library.folder.iterdir()) == [".staging", "新_文档.pdf"]
    assert not list((library.folder / ".staging").iterdir())
    record = library.assistant.index.document("新_文档.pdf")
    assert record is not None and record.title == "上传测试" and record.n_pages == 2
    again = library.add(upload, "新 文档.pdf")
    assert again.ok and again.message.startswith("already in the library: 新_文档.pdf")


def test_a_failed_ingest_keeps_the_previous_version(library: Library, tmp_path: Path) -> None:
    good = make_cjk_pdf(tmp_path / "g.pdf", [aigc_lines(10, 1)])
    assert library.add(good, "keep.pdf").ok
    locked = make_encrypted_pdf(tmp_path / "locked.pdf")
    result = library.add(locked, "keep.pdf")
    assert not result.ok and "password-protected" in result.message
    assert (library.folder / "keep.pdf").read_bytes() == good.read_bytes()
    assert library.assistant.index.document("keep.pdf") is not None


def test_remove_deletes_the_document_and_its_stored_upload(
    library: Library, tmp_path: Path
) -> None:
    assert library.add(make_cjk_pdf(tmp_path / "r.pdf", [aigc_lines(9, 2)]), "gone.pdf").ok
    result = library.remove("gone.pdf")
    assert result.ok and result.message.startswith("removed gone.pdf (")
    assert library.assistant.index.document("gone.pdf") is None
    assert not (library.folder / "gone.pdf").exists()
    missing = library.remove("gone.pdf")
    assert not missing.ok and "no document 'gone.pdf' in the index" in missing.message


def test_remove_never_deletes_files_outside_the_library(library: Library) -> None:
    record = library.assistant.index.document("seed.pdf")
    assert record is not None
    source = Path(record.source_file)
    assert library.remove("seed.pdf").ok
    assert source.exists()
