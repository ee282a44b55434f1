"""One item's scores: :func:`score_item` collects every figure of one answer, and
:func:`item_values` gives the per-item values the gate compares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.types import Answer, SupportJudge
from eval.dataset import EvalItem, key_fact_found
from eval.metrics.answers import (
    check_invariants,
    citation_scores,
    is_refusal,
    key_fact_recall,
    language_matches,
)
from eval.metrics.evidence import score_retrieval
from eval.metrics.names import judged

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
