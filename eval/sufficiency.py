"""Calibrating the refusal decided before generation (``assistant.sufficiency``) on the dev set.

``collect`` computes, per item, what the decision rests on: the standalone question (the
extractive rule's), a named term the library never mentions, and the ``SufficiencyFeatures``
over the retrieved passages; with a model, also its P(yes) that the best evidence sentences
answer the question. Rows are cached in a JSONL file keyed by the item, its question and its
evidence, so refitting costs nothing and only changed items reach the model again.

``fit`` chooses, per question language, the weights (from a small grid) and the threshold that
refuse the most unanswerable items of that language while refusing at most ``max_false`` of
its answerable ones; ``evaluate`` applies a calibration to rows. Fit on ``calib``, report
``test`` once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from assistant.followup import RuleRewriter
from assistant.sufficiency import (
    Calibration,
    SufficiencyChecker,
    SufficiencyFeatures,
    evidence_text,
    unknown_named_terms,
)
from assistant.types import Language, Passage, Turn
from eval.dataset import EvalItem
from ingest.text import detect_language

#: Grids of the weights tried per language (similarity's weight is 1).
COVERAGE_WEIGHTS = (0.0, 0.01, 0.02, 0.04, 0.08)
QUANTITY_WEIGHTS = (0.0, 0.01, 0.02, 0.04, 1.0)
UNKNOWN_WEIGHTS = (0.0, 0.05)
MODEL_WEIGHTS = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.24, 0.32, 0.48, 1.0)


@dataclass(frozen=True)
class Row:
    """One dev item's sufficiency inputs."""

    id: str
    split: str
    type: str
    language: Language
    answerable: bool
    standalone: str
    named_unknown: bool
    features: SufficiencyFeatures
    evidence_key: str  # hash of the evidence the model would see

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Row:
        fields = dict(data)
        fields["features"] = SufficiencyFeatures(**fields["features"])
        return cls(**fields)


def _key(*parts: str) -> str:
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


def collect(
    items: Sequence[EvalItem],
    search: Callable[[str], Sequence[Passage]],
    checker: SufficiencyChecker,
    stats: Callable[[], Any],
    cache: Path | None = None,
    *,
    with_model: bool = False,
    refresh: bool = False,
    top: int = 3,
    progress: Callable[[int, int], None] | None = None,
    condense: Callable[[str, Sequence[Turn]], str] | None = None,
) -> list[Row]:
    """The rows of ``items``, read from ``cache`` where the item's question is unchanged,
    computed otherwise (every row's cheap features when ``refresh``); the model is asked only
    for rows without its P(yes), and a P(yes) is kept while the evidence it saw is unchanged.
    ``condense`` makes a follow-up standalone (default: the extractive rule); ``search`` should
    retrieve as answers do (an English question's keyword query included)."""
    cached: dict[str, Row] = {}
    if cache is not None and cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            if line.strip():
                stored = Row.from_json(json.loads(line))
                cached[stored.id] = stored
    condense = condense or RuleRewriter().condense
    rows: list[Row] = []
    for n, item in enumerate(items, 1):
        history = [Turn(t.role, t.content) for t in item.history]
        standalone = condense(item.question, history)
        old = cached.get(item.id)
        row: Row | None = old
        passages: Sequence[Passage] | None = None
        if row is None or row.standalone != standalone or refresh:
            passages = search(standalone)
            feats, chosen = checker.features(standalone, passages, top)
            key = _key(evidence_text(chosen))
            if row is not None and row.evidence_key == key and row.standalone == standalone:
                feats = replace(feats, p_yes=row.features.p_yes)  # the model saw the same
            row = Row(
                id=item.id,
                split=item.split or "",
                type=item.type,
                language=detect_language(standalone),
                answerable=item.answerable,
                standalone=standalone,
                named_unknown=bool(unknown_named_terms(standalone, stats())),
                features=feats,
                evidence_key=key,
            )
        assert row is not None
        if with_model and row.features.p_yes is None:
            passages = passages if passages is not None else search(standalone)
            judged, _ = checker.features(standalone, passages, top, ask_model=True)
            row = replace(row, features=replace(row.features, p_yes=judged.p_yes))
        if cache is not None and old != row:
            cached[item.id] = row
            _write(cache, cached.values())
        rows.append(row)
        if progress is not None:
            progress(n, len(items))
    return rows


def _write(cache: Path, rows: Iterable[Row]) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    text = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in rows)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(cache)


@dataclass(frozen=True)
class Outcome:
    """Refusal recall and false refusals of a calibration over some rows."""

    refused_unanswerable: int
    unanswerable: int
    refused_answerable: int
    answerable: int

    @property
    def recall(self) -> float:
        return self.refused_unanswerable / self.unanswerable if self.unanswerable else 0.0

    @property
    def false_refusals(self) -> float:
        return self.refused_answerable / self.answerable if self.answerable else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "refusal_recall": round(self.recall, 3),
            "false_refusals": round(self.false_refusals, 3),
            "refused_unanswerable": self.refused_unanswerable,
            "unanswerable": self.unanswerable,
            "refused_answerable": self.refused_answerable,
            "answerable": self.answerable,
        }


def refuses(row: Row, calibration: Mapping[Language, Calibration]) -> bool:
    """Whether ``calibration`` refuses ``row`` before generation."""
    if row.named_unknown:
        return True
    cal = calibration.get(row.language)
    return cal is not None and row.features.score(cal) < cal.threshold


def evaluate(rows: Sequence[Row], calibration: Mapping[Language, Calibration]) -> Outcome:
    """Refusal recall and false refusals of ``calibration`` on ``rows``."""
    unanswerable = [r for r in rows if not r.answerable]
    answerable = [r for r in rows if r.answerable]
    return Outcome(
        sum(refuses(r, calibration) for r in unanswerable),
        len(unanswerable),
        sum(refuses(r, calibration) for r in answerable),
        len(answerable),
    )


def _threshold(rows: Sequence[Row], cal: Calibration, allowed: int) -> tuple[float, int]:
    """The highest threshold refusing at most ``allowed`` answerable rows (named-term refusals
    included), and how many unanswerable rows it refuses."""
    answerable = [r for r in rows if r.answerable]
    free = sorted(r.features.score(cal) for r in answerable if not r.named_unknown)
    allowed -= len(answerable) - len(free)
    if allowed < 0:
        return -math.inf, sum(r.named_unknown for r in rows if not r.answerable)
    # Refusing below a threshold t refuses every answerable score < t: cut at the next one.
    if allowed < len(free):
        threshold = free[allowed]
    else:
        threshold = max(r.features.score(cal) for r in rows) + 1.0
    caught = sum(
        1
        for r in rows
        if not r.answerable and (r.named_unknown or r.features.score(cal) < threshold)
    )
    return threshold, caught


def _down(threshold: float) -> float:
    """The threshold rounded down to 5 decimals (rounding up could refuse the row it cut at)."""
    return math.floor(threshold * 1e5) / 1e5 if math.isfinite(threshold) else threshold


def _best_per_count(
    rows: Sequence[Row], most: int, with_model: bool
) -> list[tuple[int, Calibration]]:
    """For each number of answerable rows allowed to be refused (0..``most``), the grid
    weights and threshold refusing the most unanswerable rows; ties go to smaller weights."""
    model_grid = MODEL_WEIGHTS if with_model else (0.0,)
    best: list[tuple[int, float, Calibration] | None] = [None] * (most + 1)
    for cw, qw, uw, mw in itertools.product(
        COVERAGE_WEIGHTS, QUANTITY_WEIGHTS, UNKNOWN_WEIGHTS, model_grid
    ):
        cal = Calibration(0.0, 3, cw, uw, qw, mw)
        simplicity = -(cw + qw + uw + mw)
        for allowed in range(most + 1):
            threshold, caught = _threshold(rows, cal, allowed)
            current = best[allowed]
            if current is None or (caught, simplicity) > (current[0], current[1]):
                best[allowed] = (caught, simplicity, replace(cal, threshold=_down(threshold)))
    return [(b[0], b[2]) for b in best if b is not None]


def fit(
    rows: Sequence[Row], max_false: float = 0.05, *, with_model: bool = False
) -> dict[Language, Calibration]:
    """Per language, grid weights and a threshold that refuse the most unanswerable rows while
    refusing at most ``max_false`` of that language's answerable rows. The budget is the
    language's own: a shared one was spent where it caught the most (English, calib 4 of 36
    answerable refused against 1 of 83 Chinese), and a reader asking in English is owed the
    same bound as one asking in Chinese."""
    fitted: dict[Language, Calibration] = {}
    for language in ("zh", "en"):
        mine = [r for r in rows if r.language == language]
        if not mine:
            continue
        budget = math.floor(max_false * sum(r.answerable for r in mine) + 1e-9)
        options = _best_per_count(mine, budget, with_model)
        if options:
            most = max(caught for caught, _ in options)
            # The fewest answerable rows refused among the options that catch the most.
            fitted[language] = next(cal for caught, cal in options if caught == most)
    return fitted


def curve(
    rows: Sequence[Row], budgets: Sequence[float], *, with_model: bool = False
) -> list[dict[str, Any]]:
    """Recall against false refusals over ``rows`` for calibrations fitted at each budget."""
    points = []
    for budget in budgets:
        cal = fit(rows, budget, with_model=with_model)
        points.append({"budget": budget, **evaluate(rows, cal).as_dict()})
    return points


BUDGETS = (0.0, 0.02, 0.03, 0.04, 0.05, 0.08, 0.10, 0.15, 0.25)


def report(
    rows: Sequence[Row],
    split: str,
    shipped: Mapping[Language, Calibration],
    max_false: float = 0.05,
    *,
    with_model: bool = False,
) -> dict[str, Any]:
    """Fit on the calib rows, then the figures on ``split`` of the fitted and the shipped
    calibrations, with the calib curve (recall against false refusals per budget)."""
    calib = [r for r in rows if r.split == "calib"]
    chosen = [r for r in rows if r.split == split]
    fitted = fit(calib, max_false, with_model=with_model)

    def figures(cal: Mapping[Language, Calibration]) -> dict[str, Any]:
        out = evaluate(chosen, cal).as_dict()
        for language in ("zh", "en"):
            out[language] = evaluate([r for r in chosen if r.language == language], cal).as_dict()
        return out

    return {
        "split": split,
        "items": len(chosen),
        "model": with_model,
        "max_false_on_calib": max_false,
        "fitted": {k: asdict(v) for k, v in fitted.items()},
        "fitted_figures": figures(fitted),
        "shipped": {k: asdict(v) for k, v in shipped.items()},
        "shipped_figures": figures(shipped),
        "calib_curve": curve(calib, BUDGETS, with_model=with_model),
    }


def render(result: Mapping[str, Any]) -> str:
    """The report as text."""

    def line(name: str, f: Mapping[str, Any]) -> str:
        return (
            f"{name}: refusal recall {f['refusal_recall']:.3f} "
            f"({f['refused_unanswerable']}/{f['unanswerable']}), false refusals "
            f"{f['false_refusals']:.3f} ({f['refused_answerable']}/{f['answerable']})"
        )

    def cal_text(cals: Mapping[str, Mapping[str, float]]) -> str:
        return "; ".join(
            f"{k} threshold {c['threshold']:.5f} coverage {c['coverage_weight']} quantity "
            f"{c['quantity_weight']} unknown {c['unknown_weight']} model {c['model_weight']}"
            for k, c in cals.items()
        )

    out = [
        f"split {result['split']} ({result['items']} items), "
        f"{'with' if result['model'] else 'without'} the model",
        f"fitted on calib at <= {result['max_false_on_calib']:.0%} false refusals: "
        + cal_text(result["fitted"]),
        line("  fitted", result["fitted_figures"]),
        "shipped: " + cal_text(result["shipped"]),
        line("  shipped", result["shipped_figures"]),
        "calib curve (fitted at each false-refusal budget):",
    ]
    for point in result["calib_curve"]:
        out.append(line(f"  budget {point['budget']:.2f}", point))
    return "\n".join(out)


def run(
    settings: Any,
    set_path: Path,
    split: str,
    with_model: bool,
    max_false: float = 0.05,
    cache: Path | None = None,
    refresh: bool = False,
) -> dict[str, Any]:
    """Collect the dev set's rows over the real index (cached), fit on calib, report ``split``
    (``whitepaper eval-sufficiency``)."""
    from assistant.factory import build_assistant
    from assistant.sufficiency import DEFAULT_CALIBRATION, MODEL_CALIBRATION
    from assistant.terms import library_terms
    from eval.dataset import load_eval_set
    from ingest.errors import ModelUnavailable

    items = load_eval_set(set_path)
    assistant = build_assistant(settings)
    checker = assistant.sufficiency
    shipped = DEFAULT_CALIBRATION.get(settings.embedding, {})
    if with_model:
        if assistant.model_sufficiency is not None:
            checker = assistant.model_sufficiency
        else:
            judge = assistant.model_judge()  # raises ModelUnavailable without a model
            if not hasattr(judge, "answer_score"):
                raise ModelUnavailable("the configured model judge cannot judge sufficiency")
            checker = SufficiencyChecker(
                lambda: library_terms(assistant.index),
                scorer=checker.scorer,
                judge=lambda: judge,  # type: ignore[arg-type, return-value]
            )
        shipped = MODEL_CALIBRATION.get(settings.embedding, shipped)
    name = "sufficiency-model.jsonl" if with_model else "sufficiency.jsonl"
    cache = cache or Path(__file__).resolve().parent / "runs" / name
    # Features over what answers retrieve: the mode's own condense step and, for an English
    # question, its keyword query (without it English passages differ from the answers').
    generator = assistant.generator("local" if with_model else "extractive")
    translator = generator.translator

    def search(question: str) -> Sequence[Passage]:
        query = translator.translate(question) if translator is not None else None
        return assistant.searcher.search(question, bm25_query=query).passages

    rows = collect(
        items,
        search,
        checker,
        lambda: library_terms(assistant.index),
        cache,
        with_model=with_model,
        refresh=refresh,
        condense=generator.rewriter.condense,
    )
    return report(rows, split, shipped, max_false, with_model=with_model)
