"""The chunker: properties on generated Chinese/Latin documents, examples, and a golden file of
the bundled white paper's chunks (``pytest --update-golden`` rewrites it)."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunker import Chunker
from ingest.model import Chunk, CleanDocument, Footnote, PageSpan, Section
from ui.settings import Settings

GOLDEN_CHUNKS = Path(__file__).parents[1] / "golden" / "aigc_whitepaper_chunks.json"

HAN = "人工智能生成内容模型数据技术应用创作图像文本视频语音版权治理发展产业数字虚拟世界"
CN_NUMBERS = "一二三四五六七八九十"
TERMINATORS = ("。", "！", "？", "；", "…", "。”", "!", "?", ";")


@dataclass(frozen=True)
class Generated:
    """A generated document and the truth about it: where every sentence and heading is."""

    doc: CleanDocument
    sentences: tuple[tuple[int, int], ...]  # (start, end) without trailing whitespace
    headings: dict[int, int]  # heading start -> level


def _body(draw: st.DrawFn, max_len: int) -> str:
    pieces = draw(
        st.lists(
            st.one_of(
                st.text(alphabet=HAN, min_size=1, max_size=12),
                st.text(alphabet=string.ascii_letters, min_size=1, max_size=8),
                st.sampled_from(["，", "、", ", ", "：", " ", "2022 年", "43.25", "DALL·E 2"]),
            ),
            min_size=1,
            max_size=14,
        )
    )
    body = "".join(pieces).strip()[:max_len].strip()
    return body or "内容"


@st.composite
def documents(draw: st.DrawFn) -> Generated:
    """Paragraphs of sentences and numbered headings, joined like the cleaner's output."""
    text = ""
    sentences: list[tuple[int, int]] = []
    headings: dict[int, int] = {}
    blocks = draw(st.lists(st.sampled_from(["p", "p", "p", "h"]), min_size=1, max_size=12))
    if "p" not in blocks:
        blocks.append("p")
    long_sentences = draw(st.booleans())
    for number, kind in enumerate(blocks):
        if text:
            text += "\n"
        if kind == "h":
            level = draw(st.integers(1, 3))
            title = draw(st.text(alphabet=HAN + " AIGC", min_size=2, max_size=20)).strip() or "标题"
            cn = CN_NUMBERS[number % 10]
            line = {1: f"{cn}、{title}", 2: f"（{cn}）{title}", 3: f"{number % 9 + 1}. {title}"}
            headings[len(text)] = level
            sentences.append((len(text), len(text) + len(line[level])))
            text += line[level]
            continue
        count = draw(st.integers(1, 6))
        for k in range(count):
            body = _body(draw, 400 if long_sentences else 80)
            if body[-1] in string.ascii_letters and draw(st.booleans()):
                ending = ". "
            elif k == count - 1 and draw(st.booleans()):
                ending = ""  # the paragraph break ends it
            else:
                ending = draw(st.sampled_from(TERMINATORS))
            sentences.append((len(text), len(text) + len((body + ending).rstrip())))
            text += body + ending
        text = text.rstrip(" ")
    sentences = [(s, e) for s, e in sentences if e <= len(text)]

    breaks = sorted(set(draw(st.lists(st.integers(1, max(1, len(text) - 1)), max_size=6))))
    bounds = [0, *[b for b in breaks if 0 < b < len(text)], len(text)]
    pages = tuple(
        PageSpan(index=i, label=str(i + 1), start=a, end=b)
        for i, (a, b) in enumerate(pairwise(bounds))
    )
    notes = tuple(
        Footnote(number=i + 1, text=f"注释{i + 1}", page_index=0, offset=o)
        for i, o in enumerate(sorted(draw(st.lists(st.integers(0, len(text) - 1), max_size=3))))
    )
    return Generated(
        doc=CleanDocument(
            doc_id="generated.pdf",
            title="generated",
            source_file="generated.pdf",
            content_hash="ab" * 32,
            text=text,
            pages=pages,
            sections=_sections(text, headings),
            footnotes=notes,
        ),
        sentences=tuple(sentences),
        headings=headings,
    )


def _sections(text: str, headings: dict[int, int]) -> tuple[Section, ...]:
    """Sections as the cleaner builds them: a heading governs up to the next of its level."""
    marks = sorted(headings.items())
    out: list[Section] = []
    stack: list[tuple[int, str]] = []
    for i, (start, level) in enumerate(marks):
        title = text[start:].split("\n", 1)[0]
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = next((s for s, lv in marks[i + 1 :] if lv <= level), len(text))
        out.append(Section(tuple(t for _, t in stack), level, start, end))
    return tuple(out)


@st.composite
def chunkers(draw: st.DrawFn) -> Chunker:
    target = draw(st.integers(40, 200))
    return Chunker(target=target, limit=draw(st.integers(max(60, target), 2 * target + 60)))


PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _is_heading_only(gen: Generated, start: int, end: int) -> bool:
    return all(s in gen.headings for s, e in gen.sentences if start <= s < end)


@PROPERTY_SETTINGS
@given(gen=documents(), chunker=chunkers())
def test_chunks_are_exact_ordered_slices_within_the_limit(gen, chunker):
    chunks = chunker.chunk(gen.doc)
    assert chunks, "a document with text has chunks"
    for index, chunk in enumerate(chunks):
        assert chunk.index == index
        assert chunk.id == f"{'ab' * 8}-{index:05d}"
        assert chunk.text == gen.doc.text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip()
        assert 0 < chunk.end - chunk.start <= chunker.limit
    for before, after in pairwise(chunks):
        assert before.start < after.start and before.end < after.end


@PROPERTY_SETTINGS
@given(gen=documents(), chunker=chunkers())
def test_no_text_is_lost(gen, chunker):
    covered = bytearray(len(gen.doc.text))
    for chunk in chunker.chunk(gen.doc):
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    lost = [i for i, c in enumerate(gen.doc.text) if not c.isspace() and not covered[i]]
    assert lost == [], repr(gen.doc.text[lost[0] : lost[0] + 20])


@PROPERTY_SETTINGS
@given(gen=documents(), chunker=chunkers())
def test_only_one_short_sentence_is_repeated_between_neighbours(gen, chunker):
    chunks = chunker.chunk(gen.doc)
    sentence_at = dict(gen.sentences)
    for before, after in pairwise(chunks):
        if after.start >= before.end:
            continue
        # The overlap is exactly the last sentence of the earlier chunk, a short one.
        assert sentence_at.get(after.start) == before.end
        assert before.end - after.start <= chunker.target // 2
        assert not any(after.start < h < before.end for h in gen.headings)
    for first, _, third in zip(chunks, chunks[1:], chunks[2:], strict=False):
        assert third.start >= first.end, "text repeated in more than two chunks"


@PROPERTY_SETTINGS
@given(gen=documents(), chunker=chunkers())
def test_sentences_are_cut_only_when_longer_than_the_limit(gen, chunker):
    starts = {s for s, _ in gen.sentences}
    ends = {e for _, e in gen.sentences}
    long = [(s, e) for s, e in gen.sentences if e - s > chunker.limit]
    for chunk in chunker.chunk(gen.doc):
        inside_long = any(s < chunk.start < e for s, e in long)
        assert chunk.start in starts or inside_long, f"cut at {chunk.start}: {chunk.text[:20]!r}"
        inside_long = any(s < chunk.end < e for s, e in long)
        assert chunk.end in ends or inside_long, f"cut at {chunk.end}: {chunk.text[-20:]!r}"


@PROPERTY_SETTINGS
@given(gen=documents(), chunker=chunkers())
def test_chunks_never_cross_a_heading(gen, chunker):
    """A heading may only open a chunk (with the headings stacked right above it): the body
    of a chunk lies in one section, and every heading in it is an ancestor of that section."""
    for chunk in chunker.chunk(gen.doc):
        inner = sorted(h for h in gen.headings if chunk.start <= h < chunk.end)
        body = [s for s, _ in gen.sentences if chunk.start <= s < chunk.end and s not in inner]
        if inner:
            assert inner[0] == chunk.start, "a heading in the middle of a chunk"
            if body:
                assert all(h < body[0] for h in inner), "a heading after body text"
            levels = [gen.headings[h] for h in inner]
            assert levels == sorted(set(levels)), f"an empty section inside {chunk.text!r}"
        section = chunk.section_path
        if body and section:
            assert any(
                s.path == section and s.start <= body[0] and body[-1] < s.end
                for s in gen.doc.sections
            )


@PROPERTY_SETTINGS
@given(gen=documents(), chunker=chunkers())
def test_pages_and_footnotes_are_those_the_chunk_touches(gen, chunker):
    for chunk in chunker.chunk(gen.doc):
        touched = tuple(
            p.index for p in gen.doc.pages if p.start < chunk.end and p.end > chunk.start
        )
        assert chunk.page_indices == touched
        assert chunk.page_labels == tuple(str(i + 1) for i in touched)
        inside = [f for f in gen.doc.footnotes if chunk.start <= f.offset < chunk.end]
        assert chunk.footnotes == tuple(f"[{f.number}] {f.text}" for f in inside)


# -- examples ---------------------------------------------------------------------------------


def _doc(
    text: str, pages: list[tuple[int, int]], sections: tuple[Section, ...] = ()
) -> CleanDocument:
    spans = tuple(PageSpan(i, str(i + 1), a, b) for i, (a, b) in enumerate(pages))
    return CleanDocument("d.pdf", "d", "d.pdf", "cd" * 32, text, spans, sections)


def test_a_chunk_across_a_page_break_records_both_pages():
    first, second = "生成式模型正在改变内容生产的方式。", "多模态大模型让创作更加丰富。"
    text = first + second
    doc = _doc(text, [(0, len(first) + 4), (len(first) + 4, len(text))])
    [chunk] = Chunker(target=200, limit=300).chunk(doc)
    assert chunk.text == text
    assert chunk.page_indices == (0, 1)
    assert chunk.page_labels == ("1", "2")
    assert chunk.pages_display == "1–2"


def test_one_sentence_of_overlap_between_consecutive_chunks():
    sentences = [f"第{i}句话讲的是人工智能生成内容的发展。" for i in range(1, 9)]
    doc = _doc("".join(sentences), [(0, len("".join(sentences)))])
    chunks = Chunker(target=60, limit=80).chunk(doc)
    assert len(chunks) > 2
    for before, after in pairwise(chunks):
        repeated = doc.text[after.start : before.end]
        assert repeated in sentences, repr(repeated)


def test_target_above_limit_is_refused():
    with pytest.raises(ValueError, match="at most the limit"):
        Chunker(target=600, limit=500)


# -- the bundled white paper -----------------------------------------------------------------


def _golden_row(chunk: Chunk) -> dict[str, object]:
    return {
        "id": chunk.id,
        "pages": list(chunk.page_labels),
        "section": list(chunk.section_path),
        "start": chunk.start,
        "end": chunk.end,
        "text_hash": chunk.text_hash,
        "head": chunk.text[:24],
        "footnotes": [note.split(" ", 1)[0] for note in chunk.footnotes],
    }


def test_bundled_white_paper_chunks_match_the_golden_file(bundled_document, update_golden):
    chunks = Chunker().chunk(bundled_document)  # the defaults, as the settings use them
    rows = [_golden_row(c) for c in chunks]
    if update_golden:
        lines = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
        GOLDEN_CHUNKS.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    golden = json.loads(GOLDEN_CHUNKS.read_text(encoding="utf-8"))
    assert len(rows) == len(golden)
    for got, want in zip(rows, golden, strict=True):
        assert got == want


def test_chunker_defaults_are_the_settings_defaults():
    settings = Settings()
    assert (Chunker().target, Chunker().limit) == (settings.chunk_target, settings.chunk_max)


def test_bundled_white_paper_chunks_keep_their_provenance(bundled_document):
    chunks = Chunker().chunk(bundled_document)
    assert max(c.end - c.start for c in chunks) <= Chunker().limit
    labels = {label for c in chunks for label in c.page_labels}
    assert labels == {p.label for p in bundled_document.pages}
    assert sorted({n for c in chunks for n in c.footnotes}) == sorted(
        f"[{f.number}] {f.text}" for f in bundled_document.footnotes
    )
    assert all(c.section_path for c in chunks)
