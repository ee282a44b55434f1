"""The exact layer of the support checker: numbers with their units and dates, Latin names,
quoted titles and terms, and Chinese proper names must stand in the passage as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from assistant.support.text import _CJK_RUN, _CONTENT, _names, _normal

_UNIT = (
    r"个百分点|百分点|percentage points?|%|percent|per cent|年代|个月|个小时|个星期|"
    r"年|月|日|号|万亿|亿|万|千|百|"
    r"秒钟|秒|分钟|小时|天|周|星期|个|倍|次|项|家|种|名|部|篇|首|幅|元|美元|亿元|万元|"
    r"million|billion|thousand|trillion|seconds?|minutes?|hours?|days?|weeks?|months?|years?"
)
_NUMBER = re.compile(rf"(?<![A-Za-z0-9.\-])(\d+(?:,\d{{3}})*(?:\.\d+)?)\s*({_UNIT})?", re.I)
_MULTIPLIER = {
    "万": 1e4,
    "万元": 1e4,
    "亿": 1e8,
    "亿元": 1e8,
    "万亿": 1e12,
    "千": 1e3,
    "百": 1e2,
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
}
_MYRIADS = {"万": 10**4, "亿": 10**8, "万亿": 10**12}
#: Units whose number must match with the same unit (a date part, a share).
_STRICT_UNIT = {
    "年": "year",
    "月": "month",
    "日": "day",
    "号": "day",
    "%": "percent",
    "percent": "percent",
    "per cent": "percent",
    "个百分点": "points",
    "百分点": "points",
    "percentage point": "points",
    "percentage points": "points",
    "秒": "second",
    "秒钟": "second",
    "second": "second",
    "seconds": "second",
    "分钟": "minute",
    "minute": "minute",
    "minutes": "minute",
    "小时": "hour",
    "个小时": "hour",
    "hour": "hour",
    "hours": "hour",
    "天": "day",
    "days": "day",
    "周": "week",
    "星期": "week",
    "个星期": "week",
    "week": "week",
    "weeks": "week",
    "个月": "months",
    "month": "months",
    "months": "months",
    "year": "year",
    "years": "year",
}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
_EN_MONTH = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December)"
    r"\b(?:\s+(\d{1,2})(?:st|nd|rd|th)?)?,?\s+(\d{4})\b"
)
_LATIN_TERM = re.compile(r"[A-Za-z][A-Za-z0-9\-·.'’]*[A-Za-z0-9]|[A-Za-z]")
_QUOTED = re.compile(r"“([^”]{1,40})”|《([^》]{1,60})》|「([^」]{1,40})」|\"([^\"]{1,40})\"")
#: English words the Chinese text writes otherwise (AI, AI's, AI-generated -> 人工智能…): never
#: checkable strings.
TRANSLATED_NAME = re.compile(r"^AI(?:-\w+|['’]s)?$")


@dataclass(frozen=True)
class _Number:
    text: str
    value: float
    kind: str | None  # "year", "month", "day", "percent", "points" or None


_EN_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}
_EN_NUMBER_WORDS.update({"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100})
_ZH_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_WORD_NUMBER = re.compile(
    rf"\b({'|'.join(_EN_NUMBER_WORDS)})\s+({_UNIT})\b|([零一二两三四五六七八九十]{{1,3}})\s*"
    r"(个百分点|百分点|个月|个小时|个星期|秒钟|秒|分钟|小时|天|周|星期|年)",
    re.I,
)


def _zh_number(text: str) -> int | None:
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_ZH_DIGITS.get(tens, 1) if tens else 1) * 10 + (
            _ZH_DIGITS.get(ones, 0) if ones else 0
        )
    if len(text) == 1:
        return _ZH_DIGITS.get(text)
    return None


def _numbers(text: str) -> list[_Number]:
    found: list[_Number] = []
    for m in _WORD_NUMBER.finditer(text):
        if m.group(1):
            value, unit = _EN_NUMBER_WORDS[m.group(1).lower()], m.group(2).lower()
        else:
            number = _zh_number(m.group(3))
            if number is None:
                continue
            value, unit = number, m.group(4)
        kind = _STRICT_UNIT.get(unit)
        if kind in (None, "year", "month", "day"):
            continue  # "三年" is a span, "一月" a month name: left to the other layers
        found.append(_Number(m.group(0).strip(), float(value), kind))
    for m in _EN_MONTH.finditer(text):
        month = _MONTHS[m.group(1).lower()]
        found.append(_Number(f"{m.group(1)}", float(month), "month"))
        if m.group(2):
            found.append(_Number(m.group(2), float(m.group(2)), "day"))
    masked = _EN_MONTH.sub(lambda m: " " * len(m.group(0)) + m.group(3), text)
    for m in _NUMBER.finditer(masked):
        raw, unit = m.group(1), (m.group(2) or "").lower()
        # Digits inside a Latin name ("GPT-3", "DALL-E 2") belong to the name's check.
        before = masked[max(0, m.start() - 12) : m.start()]
        if re.search(r"[A-Za-z]-?$", before) or re.search(r"\b[A-Z][A-Z\-]+\s$", before):
            continue
        amount = float(raw.replace(",", "")) * _MULTIPLIER.get(unit, 1.0)
        kind = _STRICT_UNIT.get(unit)
        if kind is None and not unit and re.fullmatch(r"(1[89]|20)\d\d", raw):
            kind = "year-like"
        found.append(_Number(m.group(0).strip(), amount, kind))
    return found


def _number_problems(sentence: str, passage: str) -> list[str]:
    passage_numbers = _numbers(passage)
    values = {round(n.value, 6) for n in passage_numbers}
    # A value may be written with a multiplier in one text and plainly in the other.
    values |= {
        round(float(m.replace(",", "")), 6)
        for m in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", passage)
    }
    by_kind: dict[str, set[float]] = {}
    for n in passage_numbers:
        if n.kind:
            by_kind.setdefault(n.kind.replace("year-like", "year"), set()).add(round(n.value, 6))
    problems = []
    for n in _numbers(sentence):
        value = round(n.value, 6)
        kind = (n.kind or "").replace("year-like", "year")
        if value not in values or (
            kind and kind not in ("year",) and value not in by_kind.get(kind, set())
        ):
            problems.append(f"number {n.text} not in the passage")
    return problems


def _latin_terms(sentence: str, language: str) -> list[str]:
    words = [w.strip(".'’") for w in _LATIN_TERM.findall(sentence)]
    if language == "zh":
        return [w for w in words if w and not TRANSLATED_NAME.match(w)]
    # English: acronyms, CamelCase and letter-digit names are names; ordinary capitalised
    # words are translations of Chinese text and are left to the other layers.
    return [
        w
        for w in words
        if len(w) >= 2
        and (sum(c.isupper() for c in w) >= 2 or any(c.isdigit() for c in w))
        and not TRANSLATED_NAME.match(w)
    ]


def _known(term: str, vocabulary: frozenset[str] | None) -> bool:
    """Whether the library writes ``term`` in Latin letters: each of its words of three letters
    or more is in ``vocabulary`` (True without a vocabulary: every name is checked)."""
    if vocabulary is None:
        return True
    return all(w.lower() in vocabulary for w in re.findall(r"[A-Za-z]{3,}", term))


def _checked(terms: list[str], vocabulary: frozenset[str] | None, cross_lingual: bool) -> list[str]:
    """The names and quoted terms of a sentence to look for in its passage. An English sentence
    about a Chinese passage may translate a Chinese name (字节跳动 -> ByteDance, 峥嵘 ->
    Zhengrong): a Latin term the library never writes in Latin letters is left to the later
    layers; one it does write (or one in Chinese) must be in the passage as written."""
    if not cross_lingual:
        return terms
    return [t for t in terms if _CJK_RUN.search(t) or _known(t, vocabulary)]


def _term_problems(
    sentence: str, passage: str, language: str, vocabulary: frozenset[str] | None, min_name: int
) -> list[str]:
    norm_passage = _normal(passage)
    cross = language == "en" and bool(_CJK_RUN.search(passage))
    problems = []
    for term in _checked(_latin_terms(sentence, language), vocabulary, cross):
        if _normal(term) not in norm_passage:
            problems.append(f"name {term} not in the passage")
    quoted_terms = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(sentence)]
    for quoted in _checked(quoted_terms, vocabulary, cross):
        if _CONTENT.search(quoted) and _normal(quoted) not in norm_passage:
            problems.append(f"quoted {quoted} not in the passage")
    if language == "zh":
        for name in _names(sentence):
            if len(name) >= min_name and _normal(name) not in norm_passage:
                problems.append(f"name {name} not in the passage")
    return list(dict.fromkeys(problems))


def _normal_unit(text: str) -> str:
    """``text`` normalised for the anchor search: thousands separators dropped, and an amount
    in 万 / 亿 followed by its digits, so that "43.25 万" holds the anchor 432500 of a
    translation that wrote the amount the Western way."""
    text = re.sub(r"(?<=\d),(?=\d{3})", "", _normal(text))
    return MYRIAD_AMOUNT.sub(_with_digits, text)


#: A number counted in the Chinese myriads: 43.25 万 (432,500), 7.38 亿 (738 million).
MYRIAD_AMOUNT = re.compile(r"(?<![\d.,])(\d+(?:\.\d+)?)\s*(万亿|亿|万)")


def myriad_value(match: re.Match[str]) -> Decimal:
    """The exact value of a ``MYRIAD_AMOUNT`` match."""
    return Decimal(match.group(1)) * _MYRIADS[match.group(2)]


def _with_digits(match: re.Match[str]) -> str:
    value = myriad_value(match)
    if value != value.to_integral_value():
        return match.group(0)
    return f"{match.group(0)}〔{int(value)}〕"


def _anchors(
    clause: str, language: str, vocabulary: frozenset[str] | None, cross_lingual: bool = False
) -> list[re.Pattern[str]]:
    """What of a clause must be found in the very passage sentence it aligns to."""
    found: list[str] = []
    for n in _numbers(clause):
        digits = re.sub(r",", "", n.text.split()[0]) if n.text[:1].isdigit() else ""
        if n.kind == "month" and not digits:
            found.append(rf"(?<!\d){int(n.value)}月")
        elif digits and (n.kind or "").startswith("year"):
            found.append(rf"(?<!\d){re.escape(re.sub(r'[^0-9.]', '', digits))}(?!\d)")
        elif digits and not any(u in n.text for u in _MULTIPLIER):
            found.append(rf"(?<![\d.]){re.escape(re.sub(r'[^0-9.]', '', digits))}(?![\d])")
    for term in _checked(_latin_terms(clause, language), vocabulary, cross_lingual):
        found.append(re.escape(_normal(term)))
    if language == "zh":
        # Places and organisations (jieba tags common nouns such as 白皮书 as persons or
        # "other proper nouns" too often for those tags to be anchors).
        people_places = _names(clause, ("ns", "nt"))
        found += [re.escape(_normal(name)) for name in people_places if len(name) >= 2]
    quoted_terms = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(clause)]
    for quoted in _checked(quoted_terms, vocabulary, cross_lingual):
        if _CONTENT.search(quoted):
            found.append(re.escape(_normal(quoted)))
    return [re.compile(f) for f in dict.fromkeys(found)]
