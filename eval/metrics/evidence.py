"""Evidence matching and the retrieval figures (hit@k, MRR, nDCG, evidence recall)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from eval.metrics.names import RETRIEVAL_METRICS

EVIDENCE_MIN_SHARE = 0.6
"""Share of an evidence string's characters that must form one run inside a passage."""

_WS_RE = re.compile(r"\s+")


# --------------------------------------------------------------------------- evidence


def strip_whitespace(text: str) -> str:
    """``text`` with every whitespace character removed."""
    return _WS_RE.sub("", text)


def _has_common_run(needle: str, haystack: str, length: int) -> bool:
    # Substring search runs in C; at most len(needle) searches per call.
    return any(needle[i : i + length] in haystack for i in range(len(needle) - length + 1))


def longest_common_run(needle: str, haystack: str) -> int:
    """Length of the longest substring of ``needle`` that occurs in ``haystack``.

    Binary search over the length (a common run of length L implies one of L-1), each step
    a handful of C-level substring searches: fast for an 80-character needle.
    """
    lo, hi = 0, len(needle)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _has_common_run(needle, haystack, mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _min_run(evidence_chars: int, min_share: float) -> int:
    # round() first so that 0.6 * 15 is 9, not 9.000000000000002 -> 10.
    return max(1, math.ceil(round(min_share * evidence_chars, 9)))


def evidence_found(evidence: str, passage: str, min_share: float = EVIDENCE_MIN_SHARE) -> bool:
    """Whether ``evidence`` is found in ``passage`` (see the module docstring).

    Whitespace is removed from both; then at least ``min_share`` of the evidence characters
    must form one contiguous run inside the passage. Blank evidence is never found.
    """
    needle = strip_whitespace(evidence)
    if not needle:
        return False
    return _has_common_run(needle, strip_whitespace(passage), _min_run(len(needle), min_share))


def evidence_matrix(
    evidence: Sequence[str], passages: Sequence[str], min_share: float = EVIDENCE_MIN_SHARE
) -> list[list[bool]]:
    """``found[i][j]``: evidence string ``i`` is found in passage ``j`` (rank order)."""
    haystacks = [strip_whitespace(p) for p in passages]
    rows = []
    for ev in evidence:
        needle = strip_whitespace(ev)
        need = _min_run(len(needle), min_share)
        rows.append([bool(needle) and _has_common_run(needle, h, need) for h in haystacks])
    return rows


# --------------------------------------------------------------------------- retrieval


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 when a relevant passage is among the first ``k``, else 0.0."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int = 10) -> float:
    """1 / rank of the first relevant passage within the first ``k``; 0.0 if none."""
    for rank, rel in enumerate(relevant[:k], start=1):
        if rel:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(relevant: Sequence[bool], n_ideal: int, k: int = 10) -> float:
    """Binary-gain nDCG@k.

    Args:
        relevant: Relevance of the passages in rank order.
        n_ideal: How many relevant passages the ideal ranking holds (see
            :func:`ideal_relevant`); raised to the number actually retrieved in the top ``k``
            if that is more, and capped at ``k``.
        k: Cut-off.
    """
    top = relevant[:k]
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(top, start=1) if rel)
    ideal_n = min(max(n_ideal, sum(bool(r) for r in top)), k)
    if ideal_n == 0:
        return 0.0
    idcg = sum(1.0 / math.log2(rank + 1) for rank in range(1, ideal_n + 1))
    return dcg / idcg


def ideal_relevant(found: Sequence[Sequence[bool]], k: int = 10) -> int:
    """How many relevant passages an ideal ranking needs for these evidence strings.

    One per evidence string not found in the top ``k``, plus the fewest top-``k`` passages
    that together hold all the others (so strings found side by side in one passage count
    once). ``found[i][j]``: evidence ``i`` is in passage ``j``, as from :func:`evidence_matrix`.
    """
    rows = [list(row[:k]) for row in found]
    missing = sum(not any(row) for row in rows)
    covered = [row for row in rows if any(row)]
    columns = sorted({j for row in covered for j, hit in enumerate(row) if hit})
    for size in range(1, len(covered) + 1):  # at most 3 evidence strings: tiny search
        for combo in combinations(columns, size):
            if all(any(row[j] for j in combo) for row in covered):
                return missing + size
    return missing


@dataclass(frozen=True)
class RetrievalScores:
    """Retrieval figures of one answerable item; ``relevant_ranks`` are 1-based."""

    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr_at_10: float
    ndcg_at_10: float
    evidence_recall_at_5: float
    relevant_ranks: tuple[int, ...]

    def as_metrics(self) -> dict[str, float]:
        """The figures keyed by their metric names (``hit@1`` ...)."""
        values = (
            self.hit_at_1,
            self.hit_at_3,
            self.hit_at_5,
            self.mrr_at_10,
            self.ndcg_at_10,
            self.evidence_recall_at_5,
        )
        return dict(zip(RETRIEVAL_METRICS, values, strict=True))


def score_retrieval(evidence: Sequence[str], passages: Sequence[str]) -> RetrievalScores:
    """Retrieval figures for passages (texts in rank order) against an item's evidence."""
    found = evidence_matrix(evidence, passages)
    relevant = [any(row[j] for row in found) for j in range(len(passages))]
    recall5 = sum(any(row[:5]) for row in found) / len(found) if found else 0.0
    return RetrievalScores(
        hit_at_1=hit_at_k(relevant, 1),
        hit_at_3=hit_at_k(relevant, 3),
        hit_at_5=hit_at_k(relevant, 5),
        mrr_at_10=reciprocal_rank(relevant, 10),
        ndcg_at_10=ndcg_at_k(relevant, ideal_relevant(found, 10), 10),
        evidence_recall_at_5=recall5,
        relevant_ranks=tuple(j + 1 for j, rel in enumerate(relevant) if rel),
    )
