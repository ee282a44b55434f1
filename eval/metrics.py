"""Scores of one answer against one eval item, and their aggregation with bootstrap intervals.

Every figure is a small pure function of an :class:`~eval.dataset.EvalItem` and an
:class:`~assistant.types.Answer` (plus a :class:`~assistant.types.SupportJudge` for
faithfulness). :func:`score_item` collects them for one item into :class:`ItemScores`;
:func:`aggregate` turns many into overall and per-type :class:`Estimate` values.

Definitions (all figures are in [0, 1], higher is better):

* **Evidence match** (:func:`evidence_found`): with all whitespace removed from both strings,
  at least 60% of the evidence string's characters form one contiguous run inside the passage.
  This tolerates PDF line joins, a removed page header and evidence cut by a chunk boundary.
* **Retrieval** (answerable items; a passage is relevant when it matches any evidence string):
  ``hit@k``, ``mrr@10``, ``ndcg@10`` and ``evidence_recall@5`` (share of the item's evidence
  strings found in the top 5 passages). nDCG@10 uses binary gains; the ideal ranking holds one
  relevant passage per evidence string (capped at 10), except that evidence strings found
  together in one retrieved passage count once (they sit side by side in the document: on the
  white paper, 56 of the 74 retrieved 2-3-string items have all their strings in one passage,
  and counting them separately would cap a perfect ranking at 0.61 or 0.47); and it holds at
  least as many relevant passages as were retrieved in the top 10 (overlapping passages may
  repeat one string), so nDCG never exceeds 1. See :func:`ideal_relevant`.
* **Key-fact recall** (answerable items): share of key facts contained in the answer text,
  ignoring whitespace and case.
* **Refusal** (all items): the positive class is "should refuse" (unanswerable items). An answer
  counts as a refusal when ``answer.refused`` is true *and* its text starts with the fixed
  sentence of :data:`~assistant.types.REFUSAL` (either language). Precision, recall and F1 are
  ratios over the items; ``refusal_correct`` is the per-item flag (refused iff it should).
* **False refusals** (answerable items): ``false_refusal_rate`` is the share of answerable items
  that were refused; lower is better (:data:`LOWER_IS_BETTER`). Gated beside refusal recall,
  because F1 alone can hide a trade of one for the other.
* **Language match** (all items): the answer is in the question's language, using the rule of
  :func:`ingest.text.detect_language`; a refusal's language is that of its fixed sentence.
* **Answered with a citation** (items not refused): ``answered_with_citation`` is 1 when the
  answer carries at least one citation.
* **Faithfulness**, ALCE-style, per judge (non-refusal answers with at least one sentence):
  ``citation_recall[judge]`` is the share of answer sentences supported by the concatenation of
  their cited passages (a sentence without citations is unsupported);
  ``citation_precision[judge]`` is the share of citations whose passage *alone* supports its
  sentence (simpler than ALCE's "needed" test); an answer with sentences but no citations has
  precision 0, as in ALCE. "Supported" means ``judge.score(sentence, text) >= judge.threshold``.
* **Invariants** (:func:`check_invariants`): markers within ``1..len(passages)``, a refusal
  starts with the fixed sentence exactly, cited chunk ids are among the retrieved ones.

Per-item figures are averaged over the items they apply to (macro average); refusal precision,
recall, F1 and the false-refusal rate are ratios of sums. :func:`bootstrap_ratio` gives a
percentile interval for both. :func:`aggregate` groups by item type, :func:`aggregate_splits`
by the set's ``calib``/``test`` split; :func:`item_values` gives the per-item values the gate
compares (the refusal ratios as 0/1 per item).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

import numpy as np

from assistant.types import REFUSAL, Answer, AnswerSentence, Language, SupportJudge
from eval.dataset import ITEM_TYPES, EvalItem, KeyFact, key_fact_found
from ingest.text import detect_language

__all__ = [
    "EVIDENCE_MIN_SHARE",
    "HEADLINE_METRICS",
    "LOWER_IS_BETTER",
    "METRIC_ORDER",
    "REFUSAL_METRICS",
    "CitationScores",
    "Estimate",
    "ItemScores",
    "RetrievalScores",
    "aggregate",
    "aggregate_splits",
    "answer_language",
    "bootstrap_mean",
    "bootstrap_ratio",
    "check_invariants",
    "citation_scores",
    "evidence_found",
    "evidence_matrix",
    "headline_keys",
    "hit_at_k",
    "ideal_relevant",
    "is_refusal",
    "item_values",
    "judge_of",
    "judged",
    "key_fact_recall",
    "language_matches",
    "longest_common_run",
    "ndcg_at_k",
    "reciprocal_rank",
    "score_item",
    "score_retrieval",
    "strip_whitespace",
]

EVIDENCE_MIN_SHARE = 0.6
"""Share of an evidence string's characters that must form one run inside a passage."""

RETRIEVAL_METRICS = ("hit@1", "hit@3", "hit@5", "mrr@10", "ndcg@10", "evidence_recall@5")
REFUSAL_METRICS = ("refusal_precision", "refusal_recall", "refusal_f1", "false_refusal_rate")
JUDGED_METRICS = ("citation_recall", "citation_precision")
METRIC_ORDER = (
    *RETRIEVAL_METRICS,
    "key_fact_recall",
    *REFUSAL_METRICS,
    "refusal_correct",
    "language_match",
    "answered_with_citation",
)
"""Judge-free metrics in display order; judged ones (``citation_recall[lexical]``) follow."""

HEADLINE_METRICS = (
    "hit@5",
    "mrr@10",
    "key_fact_recall",
    "refusal_f1",
    "refusal_recall",
    "false_refusal_rate",
    "language_match",
    "answered_with_citation",
    "citation_recall",
    "citation_precision",
)
"""The figures a run reports first (console, ``--json``, report); judged ones expand per judge.
Which of them the gate compares is decided in :mod:`eval.gate`."""

LOWER_IS_BETTER = frozenset({"false_refusal_rate"})
"""Metrics where a smaller value is better."""

_WS_RE = re.compile(r"\s+")
_MARKER_RE = re.compile(r"【(\d+)】")
_REFUSALS = tuple(REFUSAL.values())


def judged(metric: str, judge_name: str) -> str:
    """The key of a judged metric, e.g. ``judged("citation_recall", "lexical")``."""
    return f"{metric}[{judge_name}]"


def judge_of(key: str) -> str | None:
    """The judge name inside a judged metric key, or ``None`` for a judge-free metric."""
    return key[key.index("[") + 1 : -1] if key.endswith("]") and "[" in key else None


def headline_keys(judge_names: Sequence[str]) -> list[str]:
    """The headline metric keys of a run scored with these judges."""
    keys: list[str] = []
    for metric in HEADLINE_METRICS:
        if metric in JUDGED_METRICS:
            keys.extend(judged(metric, name) for name in judge_names)
        else:
            keys.append(metric)
    return keys


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


# --------------------------------------------------------------------------- answer text


def key_fact_recall(key_facts: Sequence[KeyFact], answer_text: str) -> float | None:
    """Share of key facts contained in the answer (whitespace- and case-insensitive).

    A key fact given as a list of alternatives counts when any one of them is contained; a
    number is not found inside a longer number (``"6 年"`` is not in ``"2006 年"``).
    ``None`` when there are no key facts (unanswerable items).
    """
    if not key_facts:
        return None
    return sum(key_fact_found(fact, answer_text) for fact in key_facts) / len(key_facts)


def is_refusal(answer: Answer) -> bool:
    """Whether the answer counts as a refusal: flagged *and* starting with a fixed sentence."""
    return answer.refused and answer.text.startswith(_REFUSALS)


def answer_language(answer: Answer) -> Language:
    """The language the answer is written in: a refusal's fixed sentence decides, else the
    text (markers removed) by the rule of :func:`ingest.text.detect_language`."""
    if is_refusal(answer):
        return "zh" if answer.text.startswith(REFUSAL["zh"]) else "en"
    return detect_language(_MARKER_RE.sub("", answer.text))


def language_matches(question: str, answer: Answer) -> bool:
    """Whether the answer is in the language of the question."""
    return bool(answer.text.strip()) and answer_language(answer) == detect_language(question)


# --------------------------------------------------------------------------- faithfulness


@dataclass(frozen=True)
class CitationScores:
    """ALCE-style citation figures of one answer under one judge (``None``: not applicable)."""

    judge: str
    recall: float | None
    precision: float | None
    sentences: int
    citations: int
    unsupported_sentences: tuple[int, ...] = ()


def _answer_sentences(answer: Answer) -> list[AnswerSentence]:
    if answer.sentences:
        return list(answer.sentences)
    if not answer.text.strip():
        return []
    # No segmentation given: judge the whole text as one sentence with all its markers.
    markers = tuple(int(m) for m in _MARKER_RE.findall(answer.text))
    return [AnswerSentence(text=answer.text, markers=markers, supported=False, support=0.0)]


def citation_scores(answer: Answer, judge: SupportJudge) -> CitationScores:
    """Citation recall and precision of a non-refusal answer (see the module docstring).

    Markers refer to ``Passage.number``; a marker with no such passage supports nothing.
    Each (sentence, passage text) pair is scored once.
    """
    sentences = [] if answer.refused else _answer_sentences(answer)
    sentences = [s for s in sentences if _MARKER_RE.sub("", s.text).strip()]
    if not sentences:
        return CitationScores(judge.name, None, None, 0, 0)
    by_number = {p.number: p.text for p in answer.passages}
    cache: dict[tuple[str, str], bool] = {}

    def supports(sentence: str, text: str) -> bool:
        key = (sentence, text)
        if key not in cache:
            cache[key] = judge.score(sentence, text) >= judge.threshold
        return cache[key]

    supported = precise = n_citations = 0
    unsupported: list[int] = []
    for index, sentence in enumerate(sentences):
        claim = _MARKER_RE.sub("", sentence.text).strip()
        markers = list(dict.fromkeys(sentence.markers))
        texts = [by_number[m] for m in markers if m in by_number]
        if texts and supports(claim, "\n".join(texts)):
            supported += 1
        else:
            unsupported.append(index)
        n_citations += len(markers)
        precise += sum(m in by_number and supports(claim, by_number[m]) for m in markers)
    return CitationScores(
        judge=judge.name,
        recall=supported / len(sentences),
        precision=precise / n_citations if n_citations else 0.0,
        sentences=len(sentences),
        citations=n_citations,
        unsupported_sentences=tuple(unsupported),
    )


# --------------------------------------------------------------------------- invariants


def check_invariants(answer: Answer) -> list[str]:
    """Broken invariants of one answer, as human-readable lines (empty when all hold)."""
    n = len(answer.passages)
    problems: list[str] = []

    def marker_ok(marker: int) -> bool:
        return 1 <= marker <= n

    for marker in sorted({int(m) for m in _MARKER_RE.findall(answer.text)}):
        if not marker_ok(marker):
            problems.append(f"answer text shows marker 【{marker}】 outside 1..{n}")
    for index, sentence in enumerate(answer.sentences):
        for marker in sentence.markers:
            if not marker_ok(marker):
                problems.append(f"sentence {index} cites 【{marker}】 outside 1..{n}")
    retrieved = {cid for p in answer.passages for cid in p.chunk_ids}
    for citation in answer.citations:
        if not marker_ok(citation.marker):
            problems.append(f"citation 【{citation.marker}】 outside 1..{n}")
        if citation.chunk_id not in retrieved:
            problems.append(
                f"citation 【{citation.marker}】 names chunk {citation.chunk_id!r}, "
                "which was not retrieved"
            )
    if answer.refused:
        fixed = REFUSAL.get(answer.language, REFUSAL["zh"])
        if not answer.text.startswith(fixed):
            problems.append(f"refusal does not start with the fixed sentence {fixed!r}")
    return problems


# --------------------------------------------------------------------------- per item


@dataclass(frozen=True)
class ItemScores:
    """Every per-item figure of one answered item.

    Attributes:
        id: Item id.
        type: Item type.
        metrics: Metric name -> value in [0, 1]; metrics that do not apply are absent.
        should_refuse: The item is unanswerable.
        refused: The answer counts as a refusal (:func:`is_refusal`).
        violations: Broken invariants (:func:`check_invariants`).
        details: Diagnostics for people: relevant ranks, missing key facts, unsupported
            sentences per judge.
        split: The item's ``calib``/``test`` split, ``None`` when the set has none.
    """

    id: str
    type: str
    metrics: dict[str, float]
    should_refuse: bool
    refused: bool
    violations: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    split: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "metrics": dict(self.metrics),
            "should_refuse": self.should_refuse,
            "refused": self.refused,
            "violations": list(self.violations),
            "details": dict(self.details),
        }

    @classmethod
    def from_json(
        cls, item_id: str, item_type: str, data: Mapping[str, Any], split: str | None = None
    ) -> ItemScores:
        return cls(
            id=item_id,
            type=item_type,
            metrics={k: float(v) for k, v in data["metrics"].items()},
            should_refuse=bool(data["should_refuse"]),
            refused=bool(data["refused"]),
            violations=tuple(data.get("violations", ())),
            details=dict(data.get("details", {})),
            split=split,
        )


def score_item(item: EvalItem, answer: Answer, judges: Sequence[SupportJudge] = ()) -> ItemScores:
    """Score one answer against its item with every metric (and every judge)."""
    metrics: dict[str, float] = {}
    details: dict[str, Any] = {}
    if item.answerable:
        retrieval = score_retrieval(item.evidence, [p.text for p in answer.passages])
        metrics.update(retrieval.as_metrics())
        details["relevant_ranks"] = list(retrieval.relevant_ranks)
        recall = key_fact_recall(item.key_facts, answer.text)
        if recall is not None:
            metrics["key_fact_recall"] = recall
            details["missing_key_facts"] = [
                f for f in item.key_facts if not key_fact_found(f, answer.text)
            ]
    refused = is_refusal(answer)
    metrics["refusal_correct"] = float(refused == (not item.answerable))
    metrics["language_match"] = float(language_matches(item.question, answer))
    if not refused:
        metrics["answered_with_citation"] = float(bool(answer.citations))
    for judge in judges:
        cs = citation_scores(answer, judge)
        if cs.recall is not None and cs.precision is not None:
            metrics[judged("citation_recall", judge.name)] = cs.recall
            metrics[judged("citation_precision", judge.name)] = cs.precision
            details[judged("unsupported_sentences", judge.name)] = list(cs.unsupported_sentences)
    return ItemScores(
        id=item.id,
        type=item.type,
        metrics=metrics,
        should_refuse=not item.answerable,
        refused=refused,
        violations=tuple(check_invariants(answer)),
        details=details,
        split=item.split,
    )


def item_values(scores: ItemScores) -> dict[str, float]:
    """The per-item values behind every mean-like figure, keyed like the figures.

    The item's metrics plus the refusal ratios as one item's share: ``refusal_recall`` (1 when
    an unanswerable item was refused) and ``false_refusal_rate`` (1 when an answerable item
    was refused). The mean of these values over a group equals the group's figure.
    """
    values = dict(scores.metrics)
    if scores.should_refuse:
        values["refusal_recall"] = float(scores.refused)
    else:
        values["false_refusal_rate"] = float(scores.refused)
    return values


# --------------------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class Estimate:
    """A figure with its bootstrap interval over ``n`` items (all ``None`` when undefined)."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


def bootstrap_ratio(
    numerators: Sequence[float],
    denominators: Sequence[float],
    *,
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """sum(numerators) / sum(denominators) with a percentile bootstrap interval over items.

    Items are resampled with replacement ``resamples`` times from a generator seeded with
    ``seed``, so the interval is deterministic. Resamples whose denominator is 0 are dropped;
    the value is ``None`` when the full denominator is 0.
    """
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    n = len(num)
    if n == 0 or den.sum() == 0:
        return Estimate(None, None, None, n)
    value = float(num.sum() / den.sum())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    nums, dens = num[idx].sum(axis=1), den[idx].sum(axis=1)
    stats = nums[dens > 0] / dens[dens > 0]
    if stats.size == 0:
        return Estimate(value, value, value, n)
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), n)


def bootstrap_mean(
    values: Sequence[float], *, resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> Estimate:
    """Mean of per-item values with a bootstrap interval (see :func:`bootstrap_ratio`)."""
    return bootstrap_ratio(
        values, [1.0] * len(values), resamples=resamples, seed=seed, confidence=confidence
    )


def _metric_keys(scores: Sequence[ItemScores]) -> list[str]:
    present = {k for s in scores for k in s.metrics}
    ordered = [k for k in METRIC_ORDER if k in present or k in REFUSAL_METRICS]
    judges = sorted({j for k in present if (j := judge_of(k)) is not None})
    ordered += [judged(m, j) for m in JUDGED_METRICS for j in judges if judged(m, j) in present]
    return ordered + sorted(present - set(ordered))


_REFUSAL_COUNTS: dict[str, Callable[[bool, bool], tuple[int, int]]] = {
    # metric -> (should_refuse, refused) -> (numerator, denominator) contribution of one item
    "refusal_precision": lambda s, r: (int(s and r), int(r)),
    "refusal_recall": lambda s, r: (int(s and r), int(s)),
    "refusal_f1": lambda s, r: (2 * int(s and r), 2 * int(s and r) + int(r != s)),
    "false_refusal_rate": lambda s, r: (int(r and not s), int(not s)),
}
_PER_ITEM_RATIOS = frozenset({"refusal_recall", "false_refusal_rate"})


def _estimate(key: str, scores: Sequence[ItemScores], resamples: int, seed: int) -> Estimate:
    if key in _REFUSAL_COUNTS:
        pairs = [_REFUSAL_COUNTS[key](s.should_refuse, s.refused) for s in scores]
        estimate = bootstrap_ratio(
            [p[0] for p in pairs], [p[1] for p in pairs], resamples=resamples, seed=seed
        )
        if key in _PER_ITEM_RATIOS:  # a share of the items it is about: n counts those
            estimate = replace(estimate, n=sum(1 for p in pairs if p[1]))
        return estimate
    values = [s.metrics[key] for s in scores if key in s.metrics]
    return bootstrap_mean(values, resamples=resamples, seed=seed)


def aggregate(
    scores: Sequence[ItemScores], *, resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, Estimate]]:
    """Every metric overall and by item type.

    Returns:
        ``{"overall": {metric: Estimate}, "<type>": {...}, ...}``; types in
        :data:`~eval.dataset.ITEM_TYPES` order, only those present. Each metric's ``n`` is the
        number of items it was computed over.
    """
    groups: dict[str, list[ItemScores]] = {"overall": list(scores)}
    for item_type in ITEM_TYPES:
        members = [s for s in scores if s.type == item_type]
        if members:
            groups[item_type] = members
    keys = _metric_keys(scores)
    return {
        group: {key: _estimate(key, members, resamples, seed) for key in keys}
        for group, members in groups.items()
    }


def aggregate_splits(
    scores: Sequence[ItemScores], *, resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, Estimate]]:
    """Every metric over each split of the set (``calib``, ``test``); empty without splits.

    Items without a split are left out of both.
    """
    splits: dict[str, dict[str, Estimate]] = {}
    keys = _metric_keys(scores)
    for split in ("calib", "test"):
        members = [s for s in scores if s.split == split]
        if members:
            splits[split] = {key: _estimate(key, members, resamples, seed) for key in keys}
    return splits
