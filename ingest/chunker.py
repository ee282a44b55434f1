"""Chinese-aware chunking: whole sentences, one sentence of overlap, never across sections."""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from ingest.model import Chunk, CleanDocument, Section
from ingest.text import split_sentences

_SOFT_BREAK = re.compile(r"[，,、：:]")


@dataclass(frozen=True)
class _Unit:
    """A sentence (or a piece of a long one) as the chunker packs it."""

    start: int
    end: int
    heading: bool = False

    @property
    def length(self) -> int:
        return self.end - self.start


def _visible_length(text: str, sentence: _Unit) -> int:
    """A sentence's length without the whitespace that follows it."""
    return len(text[sentence.start : sentence.end].rstrip())


def _cut_long(text: str, sentence: _Unit, limit: int) -> list[_Unit]:
    """Cut a sentence longer than ``limit`` at soft breaks (commas), else hard."""
    pieces: list[_Unit] = []
    pos = sentence.start
    while sentence.end - pos > limit:
        window = text[pos : pos + limit]
        breaks = [m.end() for m in _SOFT_BREAK.finditer(window) if m.end() >= limit // 2]
        cut = pos + (breaks[-1] if breaks else limit)
        # Only the first piece starts where the heading does (chunks open at heading starts).
        pieces.append(_Unit(pos, cut, sentence.heading and pos == sentence.start))
        pos = cut
    pieces.append(_Unit(pos, sentence.end, sentence.heading and pos == sentence.start))
    return pieces


class Chunker:
    """Packs sentences into chunks of about ``target`` characters (never more than ``limit``).

    Consecutive chunks of one section share exactly one sentence (the overlap). A heading
    always starts a new chunk, so a chunk never crosses a section boundary of any level.
    Headings stack above the body they introduce; the headings of empty sections (a heading
    followed by one of the same or a higher level, or by the end) form a chunk of their own.
    """

    def __init__(self, target: int = 300, limit: int = 400) -> None:
        if not 0 < target <= limit:
            raise ValueError("chunk target must be positive and at most the limit")
        self.target = target
        self.limit = limit

    def spans(self, doc: CleanDocument) -> list[tuple[int, int]]:
        """Character spans (start, end) of the chunks, surrounding whitespace excluded."""
        levels = {s.start: s.level for s in doc.sections}
        sentences: list[_Unit] = []
        for found in split_sentences(doc.text):
            s = _Unit(found.start, found.end, found.start in levels)
            sentences.extend(
                _cut_long(doc.text, s, self.limit)
                if _visible_length(doc.text, s) > self.limit
                else [s]
            )

        spans: list[tuple[int, int]] = []
        current: list[_Unit] = []
        carried = 0  # sentences at the front of ``current`` that the last chunk already holds

        def size(items: list[_Unit]) -> int:
            return items[-1].end - items[0].start if items else 0

        def has_new_body() -> bool:
            return any(not s.heading for s in current[carried:])

        def emit(items: list[_Unit]) -> None:
            start, end = items[0].start, items[-1].end
            while start < end and doc.text[start].isspace():
                start += 1
            while end > start and doc.text[end - 1].isspace():
                end -= 1
            if end > start:  # a piece of a cut sentence may be only whitespace
                spans.append((start, end))

        def flush(overlap: bool) -> None:
            nonlocal current, carried
            if has_new_body():
                emit(current)
                last = current[-1]
                keep = overlap and not last.heading and last.length <= self.target // 2
                current, carried = ([last], 1) if keep else ([], 0)
            elif not overlap:
                # Only headings or the carried sentence: drop the carry, keep the headings.
                current, carried = current[carried:], 0

        for sentence in sentences:
            if sentence.heading and has_new_body():
                flush(overlap=False)
            elif sentence.heading:
                current, carried = current[carried:], 0
                if current and levels.get(current[-1].start, 0) >= levels[sentence.start]:
                    emit(current)  # the stacked headings' sections are empty
                    current = []
            if current and sentence.end - current[0].start > self.limit:
                flush(overlap=True)
                if current and sentence.end - current[0].start > self.limit:
                    if current[carried:]:
                        emit(current[carried:])  # headings with no room for their body
                    current, carried = [], 0
            current.append(sentence)
            if size(current) >= self.target:
                flush(overlap=True)
        flush(overlap=False)
        if current:
            emit(current)  # headings at the very end, with no body under them
        return spans

    def chunk(self, doc: CleanDocument) -> list[Chunk]:
        """The document's chunks, with ids, pages, section paths and attached footnotes."""
        page_starts = [p.start for p in doc.pages]
        chunks: list[Chunk] = []
        for index, (start, end) in enumerate(self.spans(doc)):
            text = doc.text[start:end]
            pages = [p for p in doc.pages if p.start < end and p.end > start] or [
                doc.pages[max(0, bisect.bisect_right(page_starts, start) - 1)]
            ]
            notes = tuple(
                f"[{f.number}] {f.text}"
                for f in doc.footnotes
                if f.offset is not None and start <= f.offset < end
            )
            chunks.append(
                Chunk(
                    id=f"{doc.content_hash[:16]}-{index:05d}",
                    doc_id=doc.doc_id,
                    title=doc.title,
                    source_file=doc.source_file,
                    content_hash=doc.content_hash,
                    index=index,
                    text=text,
                    start=start,
                    end=end,
                    page_indices=tuple(p.index for p in pages),
                    page_labels=tuple(p.label for p in pages),
                    section_path=section_at(doc.sections, _first_body_offset(doc, start, end)),
                    text_hash=hashlib.sha1(text.encode("utf-8")).hexdigest()[:16],
                    footnotes=notes,
                )
            )
        return chunks


def _first_body_offset(doc: CleanDocument, start: int, end: int) -> int:
    """Offset of the chunk's first line that is not a heading (its section is the chunk's)."""
    heading_starts = {s.start for s in doc.sections}
    pos = start
    while pos in heading_starts:
        newline = doc.text.find("\n", pos, end)
        if newline < 0:
            break
        pos = newline + 1
    return pos


def section_at(sections: tuple[Section, ...], offset: int) -> tuple[str, ...]:
    """The deepest section path containing ``offset``."""
    best: Section | None = None
    for section in sections:
        if section.start <= offset < section.end and (
            best is None or (section.level >= best.level and section.start >= best.start)
        ):
            best = section
    return best.path if best else ()
