"""The polarity layer of the support checker: negations and overclaiming quantifiers the
sentence asserts and its passage sentence lacks (or the reverse), and swapped from/to roles.
"""

from __future__ import annotations

import re

from assistant.support.text import _CJK_RUN, _EN_WORD, _normal, _tokens
from ingest.text import IDEOGRAPHS

# Polarity and quantifier words of the two languages. A Chinese word counts as a jieba token
# (so 不断/不仅/无论 are not negations). English words map to the Chinese words that carry them,
# so an English sentence about a Chinese passage is checked too.
_ZH_NEGATIONS = frozenset(
    [
        "不",
        "未",
        "没",
        "没有",
        "无",
        "非",
        "并非",
        "尚未",
        "不是",
        "不会",
        "不能",
        "无法",
        "不再",
        "未能",
        "未曾",
        "绝非",
        "并不",
        "从未",
        "从不",
        "不可",
        "难以",
        "未必",
        "毫无",
        "不得",
        "勿",
        "别",
        "否",
    ]
)
_ZH_QUANTIFIERS = frozenset(
    [
        "唯一",
        "首个",
        "首次",
        "首部",
        "首款",
        "第一",
        "第一个",
        "最早",
        "最先",
        "所有",
        "全部",
        "一切",
        "必然",
        "必将",
        "一定",
        "必须",
        "仅",
        "仅仅",
        "只",
        "只有",
        "只能",
        "只是",
        "完全",
        "总是",
        "始终",
        "永远",
        "均",
        "皆",
        "全都",
        "都",
        "已",
        "已经",
        "已然",
        "最",
    ]
)
_EN_NEGATIONS = {
    "not": ("不", "未", "没", "无", "非"),
    "no": ("不", "未", "没", "无", "非"),
    "never": ("从未", "从不", "未", "不"),
    "none": ("没有", "无", "未"),
    "nor": ("不", "未", "无"),
    "cannot": ("不", "无法", "难以", "未"),
    "without": ("无", "没有", "不", "未"),
}
_EN_QUANTIFIERS = {
    "only": ("仅", "只", "唯一"),
    "sole": ("唯一", "仅"),
    "solely": ("仅", "只", "唯一"),
    "unique": ("唯一", "独"),
    "first": ("首", "第一", "最早", "最先", "开创", "先"),
    "earliest": ("最早", "首", "第一"),
    "all": ("所有", "全部", "一切", "均", "都", "全"),
    "every": ("所有", "每", "均", "都", "全"),
    "always": ("总是", "始终", "一直", "永远"),
    "inevitably": ("必然", "必将", "一定"),
    "must": ("必须", "必然", "一定", "需", "要"),
    "already": ("已", "已经"),
}
_EN_NOT = re.compile(r"n['’]t\b", re.I)


_FROM_TO = (
    re.compile(
        rf"从([{IDEOGRAPHS}A-Za-z0-9]{{1,12}}?)(?:逐渐)?(?:向|到|至)([{IDEOGRAPHS}A-Za-z0-9]{{1,12}})"
    ),
    re.compile(r"\bfrom ([A-Za-z][\w\- ]{0,30}?) to ([A-Za-z][\w\-]*(?: [\w\-]+){0,3})", re.I),
)


def _swapped_relation(clause: str, aligned: str) -> str | None:
    """A "from X to Y" (从 X 向/到 Y) whose two sides the passage has the other way round."""
    for frame in _FROM_TO:
        for m in frame.finditer(clause):
            x, y = _normal(m.group(1)), _normal(m.group(2))
            for n in frame.finditer(aligned):
                px, py = _normal(n.group(1)), _normal(n.group(2))
                if x and y and (x in py or py in x) and (y in px or px in y) and x != y:
                    return f"the passage goes from {n.group(1)} to {n.group(2)}, not the reverse"
    return None


def _polarity_problems(clause: str, aligned: str, language: str) -> list[str]:
    """Polarity words the clause asserts and its passage sentence lacks, and the reverse for
    negations (the passage negates what the clause states plainly)."""
    problems = []
    norm_aligned = _normal(aligned)
    if language == "zh":
        tokens = _tokens(clause)
        aligned_tokens = _tokens(aligned)
        for token in tokens:
            if (
                token in _ZH_NEGATIONS
                and token not in aligned_tokens
                and not any(n in aligned_tokens for n in _negation_family(token))
            ):
                problems.append(f"negation {token} in the sentence, not in the passage")
            elif (
                token in _ZH_QUANTIFIERS or (token.startswith("最") and len(token) <= 3)
            ) and token not in norm_aligned:
                problems.append(f"quantifier {token} in the sentence, not in the passage")
        clause_negated = any(t in _ZH_NEGATIONS for t in tokens)
        if not clause_negated:
            for i, token in enumerate(aligned_tokens[:-1]):
                if token in _ZH_NEGATIONS:
                    target = aligned_tokens[i + 1]
                    if len(target) >= 2 and target in clause:
                        problems.append(
                            f"the passage says {token}{target}; the sentence drops {token}"
                        )
    else:
        words = [w.lower() for w in _EN_WORD.findall(clause)]
        lowered_aligned = aligned.lower()
        aligned_is_zh = bool(_CJK_RUN.search(aligned))
        for w in words:
            if w in _EN_NEGATIONS or _EN_NOT.search(w):
                marks = _EN_NEGATIONS.get(w, ("不", "未", "没", "无", "非"))
                present = (
                    any(m in aligned for m in marks)
                    if aligned_is_zh
                    else re.search(
                        r"\b(not|no|never|none|nor|cannot|without)\b|n['’]t\b", lowered_aligned
                    )
                )
                if not present:
                    problems.append(f"negation {w} in the sentence, not in the passage")
            elif w in _EN_QUANTIFIERS:
                marks = _EN_QUANTIFIERS[w]
                present = (
                    any(m in aligned for m in marks)
                    if aligned_is_zh
                    else re.search(rf"\b{w}\b", lowered_aligned)
                )
                if not present:
                    problems.append(f"quantifier {w} in the sentence, not in the passage")
    return list(dict.fromkeys(problems))


def _negation_family(token: str) -> tuple[str, ...]:
    """Negation words that say the same ("没有" for "未", "无法" for "不能"), as jieba tokens."""
    if token in ("未", "没", "没有", "尚未", "未能", "未曾", "从未"):
        return ("未", "没", "没有", "无", "尚未", "未能", "未曾", "从未")
    if token in ("不", "不是", "并非", "非", "绝非", "并不"):
        return ("不", "不是", "并非", "非", "绝非", "并不")
    if token in ("无", "毫无", "无法", "不能", "难以", "不可"):
        return ("无", "毫无", "无法", "不能", "难以", "不可", "没有")
    return (token,)
