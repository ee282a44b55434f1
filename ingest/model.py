"""Data passed between ingestion stages, and the chunk metadata keys (defined here only)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SECTION_SEP = " › "


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass(frozen=True)
class RawPage:
    """One page as the loader read it: physical index (0-based), label if the file has one."""

    index: int
    text: str
    label: str | None = None

    def __repr__(self) -> str:
        return f"RawPage(index={self.index}, label={self.label!r}, text={_short(self.text)!r})"


@dataclass(frozen=True)
class Footnote:
    """A footnote split off a page body; ``offset`` is where its marker stood in the clean text."""

    number: int
    text: str
    page_index: int
    offset: int | None = None


@dataclass(frozen=True)
class PageSpan:
    """Where a page's body lies in the cleaned document text."""

    index: int
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Section:
    """A heading and the span of text it governs (to the next heading of same or higher level)."""

    path: tuple[str, ...]
    level: int
    start: int
    end: int


@dataclass(frozen=True)
class CleanDocument:
    """A document after cleaning: one text, with pages, sections and footnotes located in it."""

    doc_id: str
    title: str
    source_file: str
    content_hash: str
    text: str
    pages: tuple[PageSpan, ...]
    sections: tuple[Section, ...]
    footnotes: tuple[Footnote, ...] = ()
    page_texts: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"CleanDocument(doc_id={self.doc_id!r}, pages={len(self.pages)}, "
            f"chars={len(self.text)}, sections={len(self.sections)})"
        )


@dataclass(frozen=True)
class Chunk:
    """A citable piece of a document. ``text == document.text[start:end]``."""

    id: str
    doc_id: str
    title: str
    source_file: str
    content_hash: str
    index: int
    text: str
    start: int
    end: int
    page_indices: tuple[int, ...]
    page_labels: tuple[str, ...]
    section_path: tuple[str, ...]
    text_hash: str
    footnotes: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        return f"Chunk(id={self.id!r}, pages={self.page_labels}, text={_short(self.text)!r})"

    @property
    def section(self) -> str:
        return SECTION_SEP.join(self.section_path)

    @property
    def pages_display(self) -> str:
        if not self.page_labels:
            return "?"
        if len(self.page_labels) == 1:
            return self.page_labels[0]
        return f"{self.page_labels[0]}–{self.page_labels[-1]}"

    def to_metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (values must be str/int/float/bool)."""
        return {
            META_DOC_ID: self.doc_id,
            META_TITLE: self.title,
            META_SOURCE: self.source_file,
            META_CONTENT_HASH: self.content_hash,
            META_INDEX: self.index,
            META_START: self.start,
            META_END: self.end,
            META_PAGE_INDICES: json.dumps(list(self.page_indices)),
            META_PAGE_LABELS: json.dumps(list(self.page_labels), ensure_ascii=False),
            META_SECTION: json.dumps(list(self.section_path), ensure_ascii=False),
            META_TEXT_HASH: self.text_hash,
            META_FOOTNOTES: json.dumps(list(self.footnotes), ensure_ascii=False),
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            id=chunk_id,
            doc_id=str(meta[META_DOC_ID]),
            title=str(meta[META_TITLE]),
            source_file=str(meta[META_SOURCE]),
            content_hash=str(meta[META_CONTENT_HASH]),
            index=int(meta[META_INDEX]),
            text=text,
            start=int(meta[META_START]),
            end=int(meta[META_END]),
            page_indices=tuple(json.loads(str(meta[META_PAGE_INDICES]))),
            page_labels=tuple(json.loads(str(meta[META_PAGE_LABELS]))),
            section_path=tuple(json.loads(str(meta[META_SECTION]))),
            text_hash=str(meta[META_TEXT_HASH]),
            footnotes=tuple(json.loads(str(meta.get(META_FOOTNOTES, "[]")))),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "index": self.index,
            "pages": list(self.page_labels),
            "page_indices": list(self.page_indices),
            "section": list(self.section_path),
            "start": self.start,
            "end": self.end,
            "footnotes": list(self.footnotes),
            "text": self.text,
        }


META_DOC_ID = "doc_id"
META_TITLE = "title"
META_SOURCE = "source_file"
META_CONTENT_HASH = "content_hash"
META_INDEX = "chunk_index"
META_START = "start"
META_END = "end"
META_PAGE_INDICES = "page_indices"
META_PAGE_LABELS = "page_labels"
META_SECTION = "section_path"
META_TEXT_HASH = "text_hash"
META_FOOTNOTES = "footnotes"
