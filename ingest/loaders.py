"""Readers that turn a file into raw pages: PDFs through pypdf, plain text and Markdown.

Every way a file can be unusable ends in an ``IngestError`` whose message says what is
wrong and what to do; nothing here touches the index.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.model import RawPage

SUPPORTED_SUFFIXES = (".pdf", ".txt", ".md", ".markdown")
_PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest: its path, bytes hash and what kind of reader it needs."""

    path: Path
    content_hash: str
    kind: str  # "pdf" | "text" | "markdown"

    @property
    def doc_id(self) -> str:
        return self.path.name


def expand_paths(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand folders to the supported files inside them; report paths that cannot be used."""
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    for path in paths:
        if not path.exists():
            problems.append((path, "no such file or folder: check the path"))
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_SUFFIXES)
            if not found:
                problems.append(
                    (path, "folder holds no PDF, .txt or .md file: give a folder with documents")
                )
            files.extend(found)
        else:
            files.append(path)
    return files, problems


def inspect(path: Path) -> SourceFile:
    """Check a file can be read and hash its bytes (the version identity of a document)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(
            f"{path.name}: unsupported file type {suffix or '(none)'}: "
            "give a .pdf, .txt or .md file"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(
            f"{path}: cannot read the file ({exc.strerror}): check permissions"
        ) from exc
    if not data:
        raise IngestError(f"{path.name}: the file is empty (0 bytes): re-export or re-download it")
    if suffix == ".pdf" and _PDF_MAGIC not in data[:1024]:
        raise IngestError(
            f"{path.name}: not a PDF (no %PDF- header): it may be HTML or another format "
            "renamed to .pdf; download or export the real PDF"
        )
    kind = "pdf" if suffix == ".pdf" else "markdown" if suffix in (".md", ".markdown") else "text"
    return SourceFile(path=path, content_hash=hashlib.sha256(data).hexdigest(), kind=kind)


@dataclass
class PdfPages:
    """Opened PDF: page count, title, and a page iterator that extracts text lazily."""

    source: SourceFile
    page_count: int
    title: str | None
    _reader: object

    def __iter__(self) -> Iterator[RawPage]:
        from pypdf.errors import PdfReadError

        reader = self._reader
        labels: list[str] | None = None
        try:
            root = reader.trailer["/Root"]  # type: ignore[attr-defined]
            if "/PageLabels" in root:
                labels = list(reader.page_labels)  # type: ignore[attr-defined]
        except Exception:
            labels = None
        for i in range(self.page_count):
            try:
                page = reader.pages[i]  # type: ignore[attr-defined]
                text = page.extract_text() or ""
            except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
                raise IngestError(
                    f"{self.source.path.name}: page {i + 1} cannot be read ({exc}): the PDF is "
                    "truncated or corrupted; re-download it or repair it (e.g. qpdf --qdf)"
                ) from exc
            yield RawPage(index=i, text=text, label=labels[i] if labels else None)


def open_pdf(source: SourceFile, password: str = "") -> PdfPages:
    """Open a PDF with pypdf, turning every failure into a clear ``IngestError``."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    name = source.path.name
    try:
        reader = PdfReader(source.path, strict=False)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(
            f"{name}: the PDF is truncated or corrupted ({exc}): re-download it or repair it "
            "(e.g. qpdf --qdf in.pdf out.pdf)"
        ) from exc
    if reader.is_encrypted:
        try:
            ok = reader.decrypt(password)
        except (FileNotDecryptedError, NotImplementedError, Exception) as exc:
            raise IngestError(
                f"{name}: the PDF is encrypted and cannot be opened ({exc}): save an unencrypted "
                "copy (e.g. qpdf --decrypt --password=... in.pdf out.pdf) and ingest that"
            ) from exc
        if not ok:
            raise IngestError(
                f"{name}: the PDF is password-protected: save an unencrypted copy "
                "(e.g. qpdf --decrypt --password=... in.pdf out.pdf) and ingest that"
            )
    try:
        count = len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(
            f"{name}: the PDF is truncated or corrupted ({exc}): re-download it or repair it"
        ) from exc
    if count == 0:
        raise IngestError(f"{name}: the PDF has no pages (truncated?): re-download it")
    title = None
    try:
        meta = reader.metadata
        title = (meta.title or "").strip() if meta else None
    except Exception:
        title = None
    return PdfPages(source=source, page_count=count, title=title or None, _reader=reader)


def read_text_pages(source: SourceFile) -> tuple[list[RawPage], str | None]:
    """Pages of a text or Markdown file: form feeds split pages; a leading '# ' is the title."""
    try:
        text = source.path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{source.path.name}: not UTF-8 text ({exc.reason} at byte {exc.start}): "
            "convert it to UTF-8 (e.g. iconv -f GBK -t UTF-8)"
        ) from exc
    if not text.strip():
        raise IngestError(f"{source.path.name}: the file holds no text")
    title = None
    if source.kind == "markdown":
        m = re.search(r"^#\s+(.+)$", text, re.M)
        title = m.group(1).strip() if m else None
    pages = [RawPage(index=i, text=t) for i, t in enumerate(text.split("\f"))]
    return pages, title
