"""Sweep the tuned retrieval values on the dev set's calib split and pick one by a fixed rule.

Three sweeps (``what``), each a small grid of :class:`Candidate` values, the first of which is
the current default:

* ``fusion`` — ``dense_weight``/``bm25_weight`` (only their ratio matters to RRF), ``rrf_k``
  and the candidate depths ``dense_k``/``bm25_k``, one value changed at a time;
* ``chunks`` — ``chunk_target``/``chunk_max``; every candidate is ingested into its own index
  home (``<home_prefix><target>``), which a later sweep reuses;
* ``followup`` — the deterministic rewriter's :class:`~assistant.followup.FollowupRules`,
  over the split's follow-up items only (nothing else has a history), asked with the set's
  history and live.

Every candidate is a whole extractive eval run (:func:`eval.runner.run_eval`) over the split's
items, in a folder of its own under ``work_dir``; its figures are hit@5, MRR@10 and key-fact
recall, each with its bootstrap 95% interval.

**Selection rule** (:func:`choose`), fixed before any figure is seen: the candidate with the
highest MRR@10 replaces the default only when it beats the default's MRR@10 by more than the
half-width of its own interval; otherwise (ties included) the default stays.

Tuning looks at ``calib`` only. Asked for ``test``, a sweep runs the current default alone:
a figure for the report, never a choice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from assistant.followup import DEFAULT_RULES, FollowupRules, RuleRewriter
from assistant.settings import AssistantSettings
from eval.dataset import EvalItem
from eval.runner import LIVE_GROUP, QuestionAnswerer, RunResult, run_eval
from ingest.errors import WhitepaperError

__all__ = [
    "FIGURES",
    "SELECTION_METRIC",
    "WHATS",
    "Candidate",
    "CandidateResult",
    "Sweep",
    "SweepError",
    "What",
    "choose",
    "chunk_grid",
    "followup_grid",
    "fusion_grid",
    "grid",
    "real_builder",
    "run_sweep",
]

log = logging.getLogger(__name__)

What = Literal["fusion", "chunks", "followup"]
WHATS: tuple[str, ...] = get_args(What)

FIGURES = ("hit@5", "mrr@10", "key_fact_recall")
"""The figures reported per candidate (per group: all items, and for follow-ups live ones)."""
SELECTION_METRIC = "mrr@10"


class SweepError(WhitepaperError):
    """A sweep cannot run: no items in the split, an unknown sweep."""


@dataclass(frozen=True)
class Candidate:
    """One value of a sweep.

    Attributes:
        label: Short name, e.g. ``"bm25_weight=0.5"``; the default is ``"default"``.
        settings: Overrides of :class:`~assistant.settings.AssistantSettings` fields.
        rules: The follow-up rules (the follow-up sweep only).
    """

    label: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    rules: FollowupRules | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"label": self.label, "settings": dict(self.settings)}
        if self.rules is not None:
            data["rules"] = {
                "zh_max_chars": self.rules.zh_max_chars,
                "en_max_words": self.rules.en_max_words,
                "zh_openers": self.rules.zh_openers,
                "answer_chars": self.rules.answer_chars,
            }
        return data


@dataclass(frozen=True)
class CandidateResult:
    """A candidate's figures: group (``overall``, ``followup-live``) -> figure -> estimate.

    ``rewrites_changed`` (follow-up sweep): items whose standalone question (with the set's
    history) differs from the default's; 0 means the rule never fired differently.
    """

    candidate: Candidate
    figures: Mapping[str, Mapping[str, Mapping[str, Any]]]
    rewrites_changed: int | None = None

    def value(self, key: str = SELECTION_METRIC, group: str = "overall") -> float | None:
        return self.figures.get(group, {}).get(key, {}).get("value")

    def half_width(self, key: str = SELECTION_METRIC, group: str = "overall") -> float | None:
        fig = self.figures.get(group, {}).get(key, {})
        if fig.get("low") is None or fig.get("high") is None:
            return None
        return (float(fig["high"]) - float(fig["low"])) / 2

    def to_json(self) -> dict[str, Any]:
        data = {
            **self.candidate.to_json(),
            "figures": {g: {k: dict(v) for k, v in f.items()} for g, f in self.figures.items()},
        }
        if self.rewrites_changed is not None:
            data["rewrites_changed"] = self.rewrites_changed
        return data


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: every candidate's figures and the chosen one."""

    what: str
    split: str
    items: int
    results: tuple[CandidateResult, ...]
    chosen: str

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "split": self.split,
            "items": self.items,
            "selection": (
                f"highest {SELECTION_METRIC}; replaces the default only when it gains more than "
                "its own 95% interval's half-width"
            ),
            "chosen": self.chosen,
            "candidates": [r.to_json() for r in self.results],
        }

    def table(self) -> str:
        """One line per candidate: each figure with its interval, the chosen one marked."""
        groups = list(self.results[0].figures) if self.results else []
        head = f"{'candidate':<28}" + "".join(
            f"{_heading(g, k):>26}" for g in groups for k in FIGURES
        )
        lines = [f"{self.what} sweep, split {self.split} ({self.items} items)", head]
        for r in self.results:
            cells = "".join(_cell(r.figures.get(g, {}).get(k)) for g in groups for k in FIGURES)
            changed = (
                "" if r.rewrites_changed is None else f"  rewrites changed: {r.rewrites_changed}"
            )
            mark = " <- chosen" if r.candidate.label == self.chosen else ""
            lines.append(f"{r.candidate.label:<28}{cells}{changed}{mark}")
        return "\n".join(lines)


def _heading(group: str, key: str) -> str:
    return key if group == "overall" else f"{key} ({group})"


def _cell(fig: Mapping[str, Any] | None) -> str:
    if not fig or fig.get("value") is None:
        return f"{'—':>26}"
    low, high = fig.get("low"), fig.get("high")
    interval = "" if low is None or high is None else f" [{100 * low:.1f}, {100 * high:.1f}]"
    text = f"{100 * fig['value']:.1f}{interval} n={fig['n']}"
    return f"{text:>26}"


# --------------------------------------------------------------------------- grids


def fusion_grid(settings: AssistantSettings) -> list[Candidate]:
    """The default, then one fusion value changed at a time."""
    s = settings
    ratio = [
        Candidate(f"bm25_weight={w}", {"dense_weight": s.dense_weight, "bm25_weight": w})
        for w in (0.5, 2.0)
        if w != s.bm25_weight
    ]
    rrf = [Candidate(f"rrf_k={k}", {"rrf_k": k}) for k in (20, 120) if k != s.rrf_k]
    depth = [
        Candidate(f"dense_k=bm25_k={k}", {"dense_k": k, "bm25_k": k})
        for k in (15, 50)
        if (k, k) != (s.dense_k, s.bm25_k)
    ]
    return [Candidate("default"), *ratio, *rrf, *depth]


def chunk_grid(settings: AssistantSettings) -> list[Candidate]:
    """The default chunk size and two others, ``chunk_max`` in the default's proportion."""
    proportion = settings.chunk_max / settings.chunk_target
    targets = [t for t in (200, 300, 400) if t != settings.chunk_target]
    return [Candidate("default")] + [
        Candidate(
            f"chunk_target={t}",
            {"chunk_target": t, "chunk_max": round(t * proportion / 10) * 10},
        )
        for t in targets
    ]


def followup_grid(rules: FollowupRules = DEFAULT_RULES) -> list[Candidate]:
    """The default rules, then one rule changed at a time."""
    changes: list[tuple[str, FollowupRules]] = []
    for n in (4, 8):
        changes.append((f"zh_max_chars={n}", replace(rules, zh_max_chars=n)))
    for n in (2, 4):
        changes.append((f"en_max_words={n}", replace(rules, en_max_words=n)))
    changes.append(("zh_openers=off", replace(rules, zh_openers=not rules.zh_openers)))
    for n in (0, 30, 120):
        changes.append((f"answer_chars={n}", replace(rules, answer_chars=n)))
    return [Candidate("default", rules=rules)] + [
        Candidate(label, rules=r) for label, r in changes if r != rules
    ]


def grid(what: str, settings: AssistantSettings) -> list[Candidate]:
    """The candidates of a sweep, the default first."""
    if what == "fusion":
        return fusion_grid(settings)
    if what == "chunks":
        return chunk_grid(settings)
    if what == "followup":
        return followup_grid()
    raise SweepError(f"unknown sweep {what!r}; choose one of {', '.join(WHATS)}")


# --------------------------------------------------------------------------- selection


def choose(results: Sequence[CandidateResult], default: str = "default") -> str:
    """The label the selection rule picks (see the module docstring)."""
    base = next(r for r in results if r.candidate.label == default)
    base_value = base.value()
    best = base
    for r in results:
        if (r.value() or 0.0) > (best.value() or 0.0):
            best = r
    if best is base or base_value is None:
        return default
    gain = (best.value() or 0.0) - base_value
    return best.candidate.label if gain > (best.half_width() or 0.0) else default


# --------------------------------------------------------------------------- running


Builder = Callable[[Candidate], QuestionAnswerer]
"""Builds the assistant a candidate is evaluated with."""


def run_sweep(
    what: str,
    items: Sequence[EvalItem],
    split: str,
    build: Builder,
    work_dir: Path,
    *,
    settings: AssistantSettings | None = None,
    candidates: Sequence[Candidate] | None = None,
    progress: bool = False,
) -> Sweep:
    """Evaluate every candidate of ``what`` on the ``split`` items and choose one.

    Args:
        what: ``fusion``, ``chunks`` or ``followup``.
        items: The eval set; only the split's items are asked (for ``followup`` only its
            follow-ups).
        split: ``calib`` (the whole grid) or ``test`` (the default alone, nothing chosen).
        build: Builds the assistant of a candidate (:func:`real_builder` for the real one).
        work_dir: Where the candidates' run folders go.
        settings: The settings the grid is built around (default: ``AssistantSettings()``).
        candidates: Another grid (tests); the first is the default.
        progress: tqdm bars on stderr.

    Raises:
        SweepError: Unknown ``what``, or no item in the split.
    """
    grid_ = (
        list(candidates) if candidates is not None else grid(what, settings or AssistantSettings())
    )
    if split != "calib":
        grid_ = grid_[:1]
    chosen_items = [i for i in items if i.split == split and (what != "followup" or i.history)]
    if not chosen_items:
        kind = "follow-up items" if what == "followup" else "items"
        raise SweepError(f"no {kind} with split {split!r} in the eval set; give a set with splits")
    conversation: Any = "both" if what == "followup" else "reference"
    results: list[CandidateResult] = []
    default_rewrites: dict[str, str] = {}
    for candidate in grid_:
        log.info("%s sweep: %s", what, candidate.label)
        run = run_eval(
            build(candidate),
            chosen_items,
            work_dir / f"{what}-{split}-{_slug(candidate.label)}",
            mode="extractive",
            resume=False,
            progress=progress,
            name=f"tune-{what}-{candidate.label}",
            conversation=conversation,
        )
        changed = None
        if what == "followup":
            rewrites = {r["id"]: r["standalone_question"] for r in run.records}
            default_rewrites = default_rewrites or rewrites
            changed = sum(q != default_rewrites.get(i) for i, q in rewrites.items())
        results.append(CandidateResult(candidate, _figures(run), changed))
    return Sweep(what, split, len(chosen_items), tuple(results), choose(results, grid_[0].label))


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in label)


def _figures(run: RunResult) -> dict[str, dict[str, dict[str, Any]]]:
    table = run.metrics["metrics"]
    return {
        group: {k: table[group][k] for k in FIGURES if k in table[group]}
        for group in ("overall", LIVE_GROUP)
        if group in table
    }


# --------------------------------------------------------------------------- the real wiring


def real_builder(what: str, settings: AssistantSettings, home_prefix: str) -> Builder:
    """Builds extractive assistants over the real index for each candidate.

    ``fusion`` and ``followup`` share the index of ``settings.home``; ``chunks`` ingests the
    bundled white paper into ``<home_prefix><chunk_target>`` (kept and reused: an unchanged
    document is not embedded twice) and opens that.
    """
    from assistant.factory import build_assistant
    from ingest.embeddings import embeddings_from
    from ingest.index import Index

    embeddings = embeddings_from(settings)
    shared: dict[str, Any] = {}

    def build(candidate: Candidate) -> QuestionAnswerer:
        s = settings.model_copy(update={**candidate.settings, "mode": "extractive"})
        if what == "chunks":
            s = s.model_copy(update={"home": Path(f"{home_prefix}{s.chunk_target}")})
            _ingest_bundled(s, embeddings)
            return build_assistant(s, embeddings=embeddings)
        if "index" not in shared:
            shared["index"] = Index(s, embeddings)
        assistant = build_assistant(s, embeddings=embeddings, index=shared["index"])
        if candidate.rules is not None:
            assistant.generator("extractive").rewriter = RuleRewriter(rules=candidate.rules)
        return assistant

    return build


def _ingest_bundled(settings: AssistantSettings, embeddings: Any) -> None:
    from ingest.index import Index
    from ingest.pipeline import Ingestor
    from ingest.settings import BUNDLED_PDF

    index = Index(settings, embeddings, create=True)
    try:
        report = Ingestor(settings, embeddings, index).ingest([BUNDLED_PDF])
    finally:
        index.close()
    if report.failed:
        raise SweepError(f"ingest into {settings.home} failed: {report.failed[0].error}")
    log.info("index %s: %s", settings.home, report.to_json().get("documents"))
