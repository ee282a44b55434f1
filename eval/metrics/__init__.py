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

The figures live in :mod:`.names` (metric names), :mod:`.evidence` (evidence and retrieval),
:mod:`.answers` (one answer's text and faithfulness), :mod:`.items` (one item's scores) and
:mod:`.aggregate` (bootstrap and aggregation); this package re-exports them.
"""

from eval.metrics.aggregate import (
    Estimate,
    aggregate,
    aggregate_splits,
    bootstrap_mean,
    bootstrap_ratio,
)
from eval.metrics.answers import (
    CitationScores,
    answer_language,
    check_invariants,
    citation_scores,
    is_refusal,
    key_fact_recall,
    language_matches,
)
from eval.metrics.evidence import (
    EVIDENCE_MIN_SHARE,
    RetrievalScores,
    evidence_found,
    evidence_matrix,
    hit_at_k,
    ideal_relevant,
    longest_common_run,
    ndcg_at_k,
    reciprocal_rank,
    score_retrieval,
    strip_whitespace,
)
from eval.metrics.items import ItemScores, item_values, score_item
from eval.metrics.names import (
    HEADLINE_METRICS,
    JUDGED_METRICS,
    LOWER_IS_BETTER,
    METRIC_ORDER,
    REFUSAL_METRICS,
    RETRIEVAL_METRICS,
    headline_keys,
    judge_of,
    judged,
)

__all__ = [
    "EVIDENCE_MIN_SHARE",
    "HEADLINE_METRICS",
    "JUDGED_METRICS",
    "LOWER_IS_BETTER",
    "METRIC_ORDER",
    "REFUSAL_METRICS",
    "RETRIEVAL_METRICS",
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
