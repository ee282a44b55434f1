"""Section ``quality``: retrieval hit@k and MRR on the dev set, ours beside the tutorial's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eval.bench.context import BenchContext, mean, turns
from eval.bench.results import QualityFigures, QualitySection, RetrievalScores, relative
from eval.metrics import RetrievalScores as ItemScores
from eval.metrics import score_retrieval
from ingest.text import detect_language

PROFILES: tuple[str, ...] = ()

#: Chunks the tutorial retrieves for the same-context-size comparison.
EQUAL_CONTEXT_K = 15

NOTE = (
    "answerable items; ours: extractive-mode retrieval (rule-based follow-up rewrite, keyword "
    "query of English questions from the best dense chunks) with neighbour merging, 5 passages;"
    " tutorial: top-5 dense chunks of the raw question. MRR over those 5 passages. Evidence "
    "counts as found when 60% of it is one contiguous run of a passage (eval/metrics.py)."
)


@dataclass(frozen=True)
class _Row:
    type: str
    language: str
    ours: ItemScores
    tutorial: ItemScores
    ours_chars: int
    tutorial_chars: int
    same_size: ItemScores
    same_size_chunks: int


def run(ctx: BenchContext) -> QualitySection:
    assistant, tutorial = ctx.assistant(), ctx.tutorial()
    rows = []
    for item in ctx.items:
        if not item.answerable:
            continue
        standalone = assistant.generator("extractive").rewriter.condense(item.question, turns(item))
        ours = [p.text for p in assistant.searcher.search(standalone).passages]
        wide = [d.page_content for d in tutorial.retrieve(item.question, k=EQUAL_CONTEXT_K)]
        top = wide[:5]
        # The tutorial given as much text as ours: its top chunks until they hold as many
        # characters as our five passages (merged neighbours make ours longer).
        budget, used, same_size = sum(len(t) for t in ours), 0, []
        for text in wide:
            if used >= budget:
                break
            same_size.append(text)
            used += len(text)
        rows.append(
            _Row(
                type=item.type,
                language=detect_language(item.question),
                ours=score_retrieval(item.evidence, ours),
                tutorial=score_retrieval(item.evidence, top),
                ours_chars=sum(len(t) for t in ours),
                tutorial_chars=sum(len(t) for t in top),
                same_size=score_retrieval(item.evidence, same_size),
                same_size_chunks=len(same_size),
            )
        )
    return QualitySection(
        overall=_figures(rows),
        by_language={
            lang: _figures([r for r in rows if r.language == lang]) for lang in ("zh", "en")
        },
        by_type={
            t: _figures([r for r in rows if r.type == t])
            for t in dict.fromkeys(r.type for r in rows)
        },
        eval_set=relative(ctx.config.eval_set),
        note=NOTE,
    )


def _scores(scores: Sequence[ItemScores], chars: Sequence[int]) -> RetrievalScores:
    return RetrievalScores(
        hit_at_1=mean(s.hit_at_1 for s in scores),
        hit_at_5=mean(s.hit_at_5 for s in scores),
        mrr=mean(s.mrr_at_10 for s in scores),
        evidence_recall_at_5=mean(s.evidence_recall_at_5 for s in scores),
        context_chars=mean(chars),
    )


def _figures(rows: Sequence[_Row]) -> QualityFigures:
    return QualityFigures(
        items=len(rows),
        ours=_scores([r.ours for r in rows], [r.ours_chars for r in rows]),
        tutorial=_scores([r.tutorial for r in rows], [r.tutorial_chars for r in rows]),
        tutorial_same_context_hit=mean(float(bool(r.same_size.relevant_ranks)) for r in rows),
        tutorial_same_context_chunks=mean(r.same_size_chunks for r in rows),
        hit_at_5_only_ours=sum(r.ours.hit_at_5 > r.tutorial.hit_at_5 for r in rows),
        hit_at_5_only_tutorial=sum(r.ours.hit_at_5 < r.tutorial.hit_at_5 for r in rows),
    )
