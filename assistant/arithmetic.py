"""Intervals a question asks for and the paper never states, computed in code.

"从图灵提出图灵测试，到人工智能画作首次在拍卖行成交，中间相隔了多少年？" is answered by two
sentences of the paper (1950 年 …, 2018 年 …) and a subtraction no passage holds. A model asked
to write the difference was seen to get it wrong ("54 年"), and the support checker rightly
removes a number no passage holds. So the difference is computed here, from the two years the
answer's own cited sentences give, and shown as a computation ("2018 年 − 1950 年 = 68 年")
citing the passage of each year; ``verify`` re-checks it (the arithmetic, and each year in a
passage its markers name), as the support checker re-checks a quoted claim.

Which two years: each answer sentence (or, where a sentence gives several years, each clause
around one) is a dated piece; the pair of pieces with different years that together hold the
most of the question's content terms, each holding one the other does not (each names an event
of its own), is taken. Nothing is computed when the question states a span itself ("54 年后"),
when no such pair exists, or when two equally good pairs give different differences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from assistant.citations import CheckedAnswer, cite
from assistant.terms import Term, held
from assistant.types import AnswerSentence, Language, Passage, SupportCheck

# The question asks how many years (the language's own words), not which year or decade.
_ASKS_YEARS = re.compile(
    r"(?<![哪第])(?:多少|几)\s*(?:个)?\s*年(?![级代])|\bhow many years\b"
    r"|\bhow long (?:after|before|between|had passed|passed|elapsed)\b",
    re.IGNORECASE,
)
# A span the question states itself ("54 年后的今天", "ten years later"): the interval asked is
# then more than the difference of two years.
_STATED_SPAN = re.compile(
    r"\d+\s*(?:多)?\s*年(?:后|前|间|来|之后|之前|以后|以前)|\b\d+\s+years?\s+(?:later|after|before|ago)\b",
    re.IGNORECASE,
)
# A year in Chinese text ("2018 年", "2014年3月"; not "90 年代") or in English text ("in 2018";
# not "2010s", "2000 reports").
_YEAR_ZH = re.compile(r"(?<![\d.])(1[5-9]\d\d|20\d\d)(?![\d.%])\s*年(?!代)")
_YEAR_EN = re.compile(
    r"(?<![\d.,])\b(1[5-9]\d\d|20\d\d)\b(?![\d.,%s])(?!\s*(?:reports?|times|people|works)\b)"
)
_CLAUSE_END = re.compile(r"[，,；;：:]")
# A computation as ``interval_sentence`` writes it: "2018 年 − 1950 年 = 68 年".
_SHOWN = re.compile(r"(\d{4})\s*年?\s*[−-]\s*(\d{4})\s*年?\s*=\s*(\d+)")
_MARKERS = re.compile(r"【\d+】")


@dataclass(frozen=True)
class DatedPiece:
    """A sentence of the answer, or a clause of one, that gives exactly one year."""

    year: int
    text: str
    markers: tuple[int, ...]


@dataclass(frozen=True)
class Interval:
    """The years between two dated pieces of an answer, and the passage citing each year."""

    later: DatedPiece
    earlier: DatedPiece
    later_marker: int
    earlier_marker: int

    @property
    def years(self) -> int:
        return self.later.year - self.earlier.year


def asks_interval(question: str) -> bool:
    """Whether the question asks how many years lie between two things it names."""
    return bool(_ASKS_YEARS.search(question)) and not _STATED_SPAN.search(question)


def dated_pieces(sentences: Sequence[AnswerSentence]) -> list[DatedPiece]:
    """The answer's pieces that give one year each: a cited sentence with one year, or, in a
    sentence with several, the text from the clause start before each year to the next's."""
    pieces: list[DatedPiece] = []
    for sentence in sentences:
        if not sentence.markers or sentence.computed:
            continue
        text = _MARKERS.sub("", sentence.text)
        years = list(_year_pattern(text).finditer(text))
        if len({m.group(1) for m in years}) == 1:
            pieces.append(DatedPiece(int(years[0].group(1)), text, sentence.markers))
            continue
        starts = [_clause_start(text, m.start()) for m in years]
        for i, match in enumerate(years):
            end = starts[i + 1] if i + 1 < len(years) else len(text)
            if end > starts[i]:
                pieces.append(
                    DatedPiece(int(match.group(1)), text[starts[i] : end], sentence.markers)
                )
    return pieces


def find_interval(
    question: str,
    terms: Sequence[Term],
    sentences: Sequence[AnswerSentence],
    passages: Sequence[Passage],
) -> Interval | None:
    """The interval the question asks for, from two dated pieces of the answer (see the module
    docstring), or None."""
    if not asks_interval(question):
        return None
    weight = {t.text: t.weight for t in terms}
    pieces = [p for p in dated_pieces(sentences) if _citing(p, passages) is not None]
    best: list[tuple[float, DatedPiece, DatedPiece]] = []
    for a, b in combinations(pieces, 2):
        if a.year == b.year:
            continue
        own_a, own_b = held(terms, a.text), held(terms, b.text)
        if not (own_a - own_b) or not (own_b - own_a):
            continue
        score = sum(weight[t] for t in own_a | own_b)
        if not best or score > best[0][0] + 1e-9:
            best = [(score, a, b)]
        elif abs(score - best[0][0]) <= 1e-9:
            best.append((score, a, b))
    if not best or len({abs(a.year - b.year) for _, a, b in best}) > 1:
        return None
    _, a, b = best[0]
    later, earlier = (a, b) if a.year > b.year else (b, a)
    later_marker, earlier_marker = _citing(later, passages), _citing(earlier, passages)
    assert later_marker is not None and earlier_marker is not None
    return Interval(later, earlier, later_marker, earlier_marker)


def interval_sentence(interval: Interval, language: Language) -> str:
    """The computation as shown to the reader (its markers are added with its citations)."""
    later, earlier = interval.later.year, interval.earlier.year
    if language == "en":
        return f"From the years the passages give: {later} − {earlier} = {interval.years} years."
    return f"按原文给出的年份推算：{later} 年 − {earlier} 年 = {interval.years} 年。"


def computed_answer(
    interval: Interval, language: Language, passages: Sequence[Passage], checker: SupportCheck
) -> CheckedAnswer:
    """The computation as one answer sentence, citing the passage sentence of each year."""
    by_number = {p.number: p for p in passages}
    markers = tuple(dict.fromkeys((interval.later_marker, interval.earlier_marker)))
    text = interval_sentence(interval, language)
    citations = [
        cite(interval.later.text, by_number[interval.later_marker], checker, 0),
        cite(interval.earlier.text, by_number[interval.earlier_marker], checker, 0),
    ]
    unique = tuple({(c.marker, c.quote): c for c in citations}.values())
    sentence = AnswerSentence(text, markers, True, 1.0, computed=True)
    return CheckedAnswer(text + "".join(f"【{m}】" for m in markers), (sentence,), unique, 0)


def verify(sentence: AnswerSentence, passages: Sequence[Passage]) -> bool:
    """Whether a computed sentence holds: its subtraction is right and each year stands in a
    passage its markers name."""
    shown = _SHOWN.search(_MARKERS.sub("", sentence.text))
    if shown is None:
        return False
    later, earlier, result = (int(g) for g in shown.groups())
    if later - earlier != result:
        return False
    cited = [p.text for p in passages if p.number in sentence.markers]
    return all(any(_holds_year(text, year) for text in cited) for year in (later, earlier))


def marker_holds_operand(sentence: AnswerSentence, passage: Passage) -> bool:
    """Whether ``passage`` gives one of the years a computed sentence subtracts."""
    shown = _SHOWN.search(_MARKERS.sub("", sentence.text))
    return shown is not None and any(
        _holds_year(passage.text, int(year)) for year in shown.groups()[:2]
    )


def _year_pattern(text: str) -> re.Pattern[str]:
    return _YEAR_ZH if re.search(r"[\u4e00-\u9fff]", text) else _YEAR_EN


def _holds_year(text: str, year: int) -> bool:
    return any(int(m.group(1)) == year for m in _year_pattern(text).finditer(text))


def _clause_start(text: str, position: int) -> int:
    ends = [m.end() for m in _CLAUSE_END.finditer(text, 0, position)]
    return ends[-1] if ends else 0


def _citing(piece: DatedPiece, passages: Sequence[Passage]) -> int | None:
    """The first of the piece's markers whose passage gives its year."""
    by_number = {p.number: p for p in passages}
    for marker in piece.markers:
        passage = by_number.get(marker)
        if passage is not None and _holds_year(passage.text, piece.year):
            return marker
    return None
