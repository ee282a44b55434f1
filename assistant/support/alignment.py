"""The alignment layer of the support checker: clauses of a sentence, the passage's sentences,
and which passage sentences hold a clause's anchors and cover its words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.support.exact import _normal_unit
from assistant.support.text import _CLAUSE_BREAK, _CONTENT, _en_words
from ingest.text import detect_language, split_sentences


def clauses(sentence: str) -> list[str]:
    """The sentence's clauses: cut at commas, semicolons and colons; tiny pieces join the next."""
    pieces = [p.strip() for p in _CLAUSE_BREAK.split(sentence)]
    out: list[str] = []
    carry = ""
    for piece in pieces:
        piece = (carry + piece) if carry else piece
        content = len(_CONTENT.findall(piece))
        if content < (6 if detect_language(piece) == "zh" else 12):
            carry = piece + " "
            continue
        out.append(piece)
        carry = ""
    if carry.strip():
        if out:
            out[-1] = out[-1] + " " + carry.strip()
        else:
            out.append(carry.strip())
    return [c for c in out if _CONTENT.search(c)]


def _anchored(units: Sequence[str], anchors: Sequence[re.Pattern[str]]) -> list[str]:
    """The passage sentences that hold (nearly) all of a clause's anchors.

    A clause's names and numbers must stand in one passage sentence; with four or more, one
    may be missing (the document's own subject, e.g. "AIGC", is often only implied)."""
    if not anchors:
        return list(units)
    normal = [_normal_unit(u) for u in units]
    found = [sum(bool(a.search(n)) for a in anchors) for n in normal]
    need = len(anchors) - (1 if len(anchors) >= 4 else 0)
    best = max(found)
    if best < need:
        return []
    return [u for u, f in zip(units, found, strict=True) if f == best]


def _word_coverage(clause: str, against: str) -> float:
    words = _en_words(clause)
    if not words:
        return 1.0
    target = _en_words(against)
    return len(words & target) / len(words)


def _passage_sentences(passage: str) -> list[str]:
    units = [passage[s.start : s.end].strip() for s in split_sentences(passage)]
    units = [u for u in units if _CONTENT.search(u)]
    return units or [passage.strip()]
