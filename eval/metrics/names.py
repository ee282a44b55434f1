"""Metric names: display order, the headline figures, which are lower-is-better, and the
``metric[judge]`` keys of judged figures.
"""

from __future__ import annotations

from collections.abc import Sequence

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
