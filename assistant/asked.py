"""The value a question asks for, when it asks for one, and whether a sentence gives it.

"英伟达的 StyleGAN-XL 是哪一年发布的？" asks for a year, "诗集一共收录了多少首诗？" for a count
of poems (a number before 首), "该规定是从哪一天起施行的？" for a day, "最终获得了第几名？" for a
rank, "How many parameters does it have?" for a number. A passage about the
right thing that never gives such a value does not answer the question, however close it is:
the paper names StyleGAN-XL without its year, the collection without its number of poems. Read
by the language's own question words and measure words (量词), never by an item's words.

``asked_value`` reads the question; ``gives_value`` whether a text gives a value of that kind
that the question does not state itself ("2022 年" in "2022 年的市场规模是多少？" answers nothing).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["year", "day", "count", "rank", "number"]

# Chinese measure words and units that follow 多少 / 几 in a question ("多少首", "几个", "多少亿
# 元", "多少秒"); longest first so "分钟" wins over "分". The language's list, not the items'.
_UNIT_WORDS = (
    "亿元 万元 亿美元 万美元 美元 元 亿 万 千 百 个 首 集 部 本 篇 章 字 词 句 秒 秒钟 分钟 小时 "
    "天 周 个月 月 年 次 位 名 家 种 类 条 张 幅 件 项 款 座 台 人 倍 层 代 帧 米 届 期 场 所 "
    "家次 轮 步 版"
)
_UNITS_ZH = sorted(_UNIT_WORDS.split(), key=len, reverse=True)
_UNIT_ZH = "|".join(map(re.escape, _UNITS_ZH))
# Durations are given in whichever unit the paper chose ("多少秒" is answered by "3 分钟").
_TIME_UNITS = ("秒", "秒钟", "分钟", "小时", "天", "周", "个月", "月", "年")
# Money is given in whichever magnitude and currency ("多少亿元" is answered by "300 万美元").
_MONEY_UNITS = ("亿元", "万元", "亿美元", "万美元", "美元", "元")

_ASKS_YEAR = re.compile(
    r"哪一?年|什么时[候间]|何时|哪个年份|\bwhen\b|\b(?:what|which) year\b|\bin what year\b",
    re.IGNORECASE,
)
_ASKS_DAY = re.compile(
    r"哪一?天|几月几[日号]|几号|什么日期|哪个日期|\b(?:what|which) (?:day|date)\b|\bon what date\b",
    re.IGNORECASE,
)
_ASKS_RANK = re.compile(r"第几|\bwhat (?:place|rank|position)\b|\branked\b", re.IGNORECASE)
_ASKS_COUNT_ZH = re.compile(rf"(?:多少|几)\s*({_UNIT_ZH})?")
_ASKS_NUMBER = re.compile(
    r"多大|多高|多快|多久|多长|多远|多重|\bhow (?:many|much|long|old|large|big|fast|high)\b"
    r"|\b(?:what|which) (?:percentage|share|number|proportion|rate|resolution|size|amount|"
    r"score|accuracy|error rate|word error rate|magnitude)\b",
    re.IGNORECASE,
)

# A number as a text writes it: digits, or Chinese numerals.
_NUMBER = r"(?:\d+(?:[.,]\d+)*|[零一二三四五六七八九十百千万亿两]+)"
_MAGNITUDE = r"[十百千万亿多余]*"
_YEAR = re.compile(r"(?<![\d.])(1[5-9]\d\d|20\d\d)(?![\d.%s])(?!\s*年代)")
_DAY = re.compile(
    r"\d{1,2}\s*[日号]|[一二三四五六七八九十]+[日号]|\b(?:January|February|March|April|May|June|"
    r"July|August|September|October|November|December)\s+\d{1,2}\b|\b\d{1,2}\s+(?:January|"
    r"February|March|April|May|June|July|August|September|October|November|December)\b"
)
_RANK = re.compile(rf"第\s*{_NUMBER}|\b(?:first|second|third|\d+(?:st|nd|rd|th))\b", re.IGNORECASE)
_ANY_NUMBER = re.compile(
    rf"\d+(?:[.,]\d+)*|[零一二三四五六七八九十百千万亿两]+(?=\s*(?:{_UNIT_ZH}|%))"
)


@dataclass(frozen=True)
class Asked:
    """What a question asks for: its kind and, for a count, the units that may follow it."""

    kind: Kind
    units: tuple[str, ...] = ()


def asked_value(question: str) -> Asked | None:
    """The value ``question`` asks for, or None when it asks for none (what, why, how)."""
    if _ASKS_DAY.search(question):
        return Asked("day")
    if _ASKS_YEAR.search(question):
        return Asked("year")
    if _ASKS_RANK.search(question):
        return Asked("rank")
    for match in _ASKS_COUNT_ZH.finditer(question):
        if question[max(0, match.start() - 1) : match.start()] in ("哪", "第"):
            continue
        unit = match.group(1)
        if not unit or unit == "个":  # the general measure word is often dropped: "三阶段"
            return Asked("number")
        if unit in _TIME_UNITS:
            return Asked("count", _TIME_UNITS)
        if unit in _MONEY_UNITS or unit in ("亿", "万", "千", "百"):
            return Asked("count", (*_MONEY_UNITS, unit))
        return Asked("count", (unit,))
    if _ASKS_NUMBER.search(question):
        return Asked("number")
    return None


def gives_value(asked: Asked, text: str, question: str = "") -> bool:
    """Whether ``text`` gives a value of the kind ``asked`` that ``question`` does not state."""
    stated = _numbers(question)
    if asked.kind == "year":
        return any(m.group(1) not in stated for m in _YEAR.finditer(text))
    if asked.kind == "day":
        return bool(_DAY.search(text))
    if asked.kind == "rank":
        return any(_digits(m.group(0)) not in stated for m in _RANK.finditer(text))
    if asked.kind == "count":
        pattern = _count_pattern(asked.units)
        return any(
            _digits(m.group(1)) not in stated and not _is_indefinite(m.group(0))
            for m in pattern.finditer(text)
        )
    return any(
        _digits(m.group(0)) not in stated and not _is_indefinite(m.group(0))
        for m in _ANY_NUMBER.finditer(text)
    )


@functools.lru_cache(maxsize=64)
def _count_pattern(units: tuple[str, ...]) -> re.Pattern[str]:
    """A number, its magnitude, then one of ``units`` (compiled once per set of units)."""
    alternatives = "|".join(map(re.escape, sorted(units, key=len, reverse=True)))
    return re.compile(rf"({_NUMBER})\s*{_MAGNITUDE}\s*(?:{alternatives})")


def question_parts(question: str) -> list[str]:
    """The questions a question asks ("哪年成交的？它学习了多少张肖像画？" asks two)."""
    parts = [p.strip() for p in re.split(r"(?<=[？?；;])", question)]
    return [p for p in parts if p]


def _numbers(text: str) -> set[str]:
    return {_digits(m.group(0)) for m in re.finditer(_NUMBER, text)}


def _digits(number: str) -> str:
    return re.sub(r"[^\d零一二三四五六七八九十百千万亿两]", "", number)


def _is_indefinite(match: str) -> bool:
    """ "一个" / "一种" is mostly the indefinite article, not a count."""
    return match.startswith("一") and len(match) <= 2
