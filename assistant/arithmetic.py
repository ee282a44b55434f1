"""Differences a question asks for and the paper never states, computed in code.

"从图灵提出图灵测试，到人工智能画作首次在拍卖行成交，中间相隔了多少年？" is answered by two
sentences of the paper (1950 年 …, 2018 年 …) and a subtraction no passage holds; "洛杉矶时报的
机器人记者和中国地震台网的写稿机器人，谁更快？快了多少？" by "3 分钟" and "7 秒". A model asked
to write the difference was seen to get it wrong ("54 年" for 68), and the support checker
rightly removes a number no passage holds. So the difference is computed here, from the two
quantities the answer's own cited sentences give, and shown as a computation ("2018 年 − 1950
年 = 68 年", "3 分钟 − 7 秒 = 173 秒") citing the passage of each; ``verify`` re-checks it (the
arithmetic, and each quantity in a passage its markers name), as the support checker re-checks
a quoted claim.

Two kinds of difference are asked for, by the language's own words: the years between two
events ("相隔多少年", "早了几年", "how many years") and the time between two durations ("快了多
少", "相差多久", "how much faster"). Which two quantities: each answer sentence (or, where a
sentence gives several, each clause around one) that gives one year (or one duration) is a
piece; the pair of pieces with different values that together hold the most of the question's
content terms, each holding one the other does not (each names a thing of its own), is taken.
Nothing is computed when the question states a span itself ("54 年后"), when no such pair
exists, or when two equally good pairs give different differences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

from assistant.citations import CheckedAnswer, cite
from assistant.terms import Term, held
from assistant.types import AnswerSentence, Language, Passage, SupportCheck
from ingest.text import has_cjk

Kind = Literal["year", "duration"]

# The question asks how many years (the language's own words), not which year or decade.
_ASKS_YEARS = re.compile(
    r"(?<![哪第])(?:多少|几)\s*(?:个)?\s*年(?![级代])|\bhow many years\b"
    r"|\bhow long (?:after|before|between|had passed|passed|elapsed)\b",
    re.IGNORECASE,
)
# The question asks how much sooner, later or longer one thing took than another.
_ASKS_TIME_GAP = re.compile(
    r"(?:快|慢|早|晚|相差|差|相隔|间隔)了?\s*(?:多少|几)\s*(?:秒钟?|分钟|个?小时|天)?"
    r"|(?:相差|相隔|间隔)\s*(?:多久|多长时间)"
    r"|\bhow much (?:faster|sooner|quicker|slower|earlier|later|longer)\b"
    r"|\bhow many (?:more |fewer )?(?:seconds|minutes|hours|days) (?:faster|sooner|earlier|later"
    r"|quicker|longer|more|less)\b",
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
# A duration: a number and a unit of time, in seconds each.
_SECONDS = {
    "秒": 1,
    "秒钟": 1,
    "分钟": 60,
    "小时": 3600,
    "个小时": 3600,
    "天": 86400,
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
}
_DURATION = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(秒钟|秒|分钟|个小时|小时|天"
    r"|(?:second|minute|hour|day)(?=s?\b))s?",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[，,；;：:]")
# A computation as ``difference_sentence`` writes it: "2018 年 − 1950 年 = 68 年", "3 分钟 − 7 秒
# = 173 秒", "3 minutes − 7 seconds = 173 seconds".
_OPERAND = r"(\d+(?:\.\d+)?)\s*([^\d\s=−-]*)"
_SHOWN = re.compile(rf"{_OPERAND}\s*[−-]\s*{_OPERAND}\s*=\s*{_OPERAND}")
_MARKERS = re.compile(r"【\d+】")


@dataclass(frozen=True)
class Quantity:
    """A year, or a duration as written ("3 分钟") with its length in seconds."""

    kind: Kind
    value: float  # the year, or the seconds
    number: str  # as written: "2018", "3"
    unit: str  # as written: "年", "分钟", "minutes"


@dataclass(frozen=True)
class Piece:
    """A sentence of the answer, or a clause of one, that gives exactly one quantity."""

    quantity: Quantity
    text: str
    markers: tuple[int, ...]


@dataclass(frozen=True)
class Difference:
    """The difference of two pieces of an answer, and the passage citing each quantity."""

    larger: Piece
    smaller: Piece
    larger_marker: int
    smaller_marker: int

    @property
    def kind(self) -> Kind:
        return self.larger.quantity.kind


def asked_difference(question: str) -> Kind | None:
    """The kind of difference the question asks for (years between two events, or the time
    between two durations), or None."""
    if _STATED_SPAN.search(question):
        return None
    if _ASKS_YEARS.search(question):
        return "year"
    if _ASKS_TIME_GAP.search(question):
        return "duration"
    return None


def quantities(text: str, kind: Kind) -> list[tuple[int, Quantity]]:
    """The years (or durations) of ``text`` with where each starts."""
    if kind == "year":
        pattern = _YEAR_ZH if has_cjk(text) else _YEAR_EN
        return [
            (m.start(), Quantity("year", float(m.group(1)), m.group(1), "年"))
            for m in pattern.finditer(text)
        ]
    found = []
    for m in _DURATION.finditer(text):
        unit = m.group(2).lower()
        seconds = float(m.group(1)) * _SECONDS[unit]
        found.append((m.start(), Quantity("duration", seconds, m.group(1), m.group(2))))
    return found


def pieces(sentences: Sequence[AnswerSentence], kind: Kind) -> list[Piece]:
    """The answer's pieces that give one quantity each: a cited sentence with one, or, in a
    sentence with several, the text from the clause start before each to the next one's."""
    out: list[Piece] = []
    for sentence in sentences:
        if not sentence.markers or sentence.computed:
            continue
        text = _MARKERS.sub("", sentence.text)
        found = quantities(text, kind)
        if not found:
            continue
        if len({q.value for _, q in found}) == 1:
            out.append(Piece(found[0][1], text, sentence.markers))
            continue
        starts = [_clause_start(text, position) for position, _ in found]
        for i, (_, quantity) in enumerate(found):
            end = starts[i + 1] if i + 1 < len(found) else len(text)
            if end > starts[i]:
                out.append(Piece(quantity, text[starts[i] : end], sentence.markers))
    return out


def find_difference(
    question: str,
    terms: Sequence[Term],
    sentences: Sequence[AnswerSentence],
    passages: Sequence[Passage],
) -> Difference | None:
    """The difference the question asks for, from two pieces of the answer (see the module
    docstring), or None."""
    kind = asked_difference(question)
    if kind is None:
        return None
    weight = {t.text: t.weight for t in terms}
    candidates = [p for p in pieces(sentences, kind) if _citing(p, passages) is not None]
    best: list[tuple[float, Piece, Piece]] = []
    for a, b in combinations(candidates, 2):
        if a.quantity.value == b.quantity.value:
            continue
        own_a, own_b = held(terms, a.text), held(terms, b.text)
        if not (own_a - own_b) or not (own_b - own_a):
            continue
        score = sum(weight[t] for t in own_a | own_b)
        if not best or score > best[0][0] + 1e-9:
            best = [(score, a, b)]
        elif abs(score - best[0][0]) <= 1e-9:
            best.append((score, a, b))
    gaps = {abs(a.quantity.value - b.quantity.value) for _, a, b in best}
    if len(gaps) != 1:
        return None
    _, a, b = best[0]
    larger, smaller = (a, b) if a.quantity.value > b.quantity.value else (b, a)
    larger_marker, smaller_marker = _citing(larger, passages), _citing(smaller, passages)
    assert larger_marker is not None and smaller_marker is not None
    return Difference(larger, smaller, larger_marker, smaller_marker)


def difference_sentence(difference: Difference, language: Language) -> str:
    """The computation as shown to the reader (its markers are added with its citations)."""
    larger, smaller = difference.larger.quantity, difference.smaller.quantity
    if difference.kind == "year":
        years = int(larger.value - smaller.value)
        if language == "en":
            shown = f"{larger.number} − {smaller.number} = {years} years"
            return f"From the years the passages give: {shown}."
        return f"按原文给出的年份推算：{larger.number} 年 − {smaller.number} 年 = {years} 年。"
    # Durations: the result in the smaller quantity's unit ("3 分钟 − 7 秒 = 173 秒").
    unit = smaller.unit
    result = _plain((larger.value - smaller.value) / _SECONDS[unit.lower().rstrip("s") or unit])
    if language == "en":
        return (
            f"From the durations the passages give: {larger.number} {_en_unit(larger)} − "
            f"{smaller.number} {_en_unit(smaller)} = {result} {_en_unit(smaller, plural=True)}."
        )
    return (
        f"按原文给出的时长推算：{larger.number} {larger.unit} − {smaller.number} {smaller.unit} = "
        f"{result} {smaller.unit}。"
    )


def computed_answer(
    difference: Difference, language: Language, passages: Sequence[Passage], checker: SupportCheck
) -> CheckedAnswer:
    """The computation as one answer sentence, citing the passage sentence of each quantity."""
    by_number = {p.number: p for p in passages}
    markers = tuple(dict.fromkeys((difference.larger_marker, difference.smaller_marker)))
    text = difference_sentence(difference, language)
    citations = [
        cite(difference.larger.text, by_number[difference.larger_marker], checker, 0),
        cite(difference.smaller.text, by_number[difference.smaller_marker], checker, 0),
    ]
    unique = tuple({(c.marker, c.quote): c for c in citations}.values())
    sentence = AnswerSentence(text, markers, True, 1.0, computed=True)
    return CheckedAnswer(text + "".join(f"【{m}】" for m in markers), (sentence,), unique, 0)


def verify(sentence: AnswerSentence, passages: Sequence[Passage]) -> bool:
    """Whether a computed sentence holds: its subtraction is right and each quantity stands in
    a passage its markers name."""
    shown = _shown(sentence)
    if shown is None:
        return False
    larger, smaller, result = shown
    if abs(larger.value - smaller.value - result.value) > 1e-6:
        return False
    cited = [p.text for p in passages if p.number in sentence.markers]
    return all(any(_holds(text, q) for text in cited) for q in (larger, smaller))


def marker_holds_operand(sentence: AnswerSentence, passage: Passage) -> bool:
    """Whether ``passage`` gives one of the quantities a computed sentence subtracts."""
    shown = _shown(sentence)
    return shown is not None and any(_holds(passage.text, q) for q in shown[:2])


def _shown(sentence: AnswerSentence) -> tuple[Quantity, Quantity, Quantity] | None:
    """The three quantities of a computation as ``difference_sentence`` writes it."""
    match = _SHOWN.search(_MARKERS.sub("", sentence.text))
    if match is None:
        return None
    values = match.groups()
    operands = []
    for number, unit in zip(values[::2], values[1::2], strict=True):
        unit = unit.strip().rstrip("。.")
        key = unit.lower().rstrip("s")
        if unit in ("", "年", "year", "years"):
            operands.append(Quantity("year", float(number), number, "年"))
        elif unit in _SECONDS or key in _SECONDS:
            seconds = float(number) * _SECONDS.get(unit, _SECONDS.get(key, 0))
            operands.append(Quantity("duration", seconds, number, unit))
        else:
            return None
    larger, smaller, result = operands
    if len({larger.kind, smaller.kind, result.kind}) > 1:
        return None  # a year minus a duration is no computation of ours
    return larger, smaller, result


def _holds(text: str, quantity: Quantity) -> bool:
    return any(q.value == quantity.value for _, q in quantities(text, quantity.kind))


def _clause_start(text: str, position: int) -> int:
    ends = [m.end() for m in _CLAUSE_END.finditer(text, 0, position)]
    return ends[-1] if ends else 0


def _citing(piece: Piece, passages: Sequence[Passage]) -> int | None:
    """The first of the piece's markers whose passage gives its quantity."""
    by_number = {p.number: p for p in passages}
    for marker in piece.markers:
        passage = by_number.get(marker)
        if passage is not None and _holds(passage.text, piece.quantity):
            return marker
    return None


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _en_unit(quantity: Quantity, plural: bool | None = None) -> str:
    """A duration's unit in English ("分钟" -> "minutes")."""
    names = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
    unit = quantity.unit.lower()
    name = names[_SECONDS.get(unit, _SECONDS.get(unit.rstrip("s"), 1))]
    many = plural if plural is not None else float(quantity.number) != 1
    return name + "s" if many else name
