"""One eval run as a maintainer asks for it: pick the items, the judges, run, report, gate,
and move the baseline only when allowed.

:func:`evaluate` is what ``whitepaper eval`` calls; it returns an :class:`EvalOutcome` that
the CLI prints (:meth:`EvalOutcome.table`, :meth:`EvalOutcome.to_json`). The rules:

* **Items.** The run name's fixed subset from the baseline file when it has one; the
  ``local-calib60`` run picks a type-stratified 60-item subset of the calibration items
  the first time (kept in the baseline from then on); otherwise the whole set (``limit`` cuts it).
* **Judges.** ``checker`` (the support checker the mode's answers were checked with),
  ``model`` (the local model alone, yes/no on the whole cited passage: an independent judge)
  or ``both``; by default both in local mode, else the checker.
* **Gate.** With ``gate`` or ``update_baseline``, a baseline entry of the run name that is not
  comparable with the run (another set, mode, judges, conversation or entry format) stops
  before anything is asked, saying what differs and how to record a new baseline; only
  ``accept_regression`` lets such a run go on to replace it.
* **Baseline.** ``update_baseline`` writes only when the gate passed (or there was no entry),
  or when ``accept_regression`` gives the reason, which is stored in the entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from assistant.types import SupportJudge
from eval import baseline as baselines
from eval import gate as gates
from eval.dataset import EvalSetError, load_eval_set
from eval.report import write_report
from eval.runner import (
    LIVE_GROUP,
    Conversation,
    EvalRunError,
    QuestionAnswerer,
    RunResult,
    filter_items,
    run_eval,
    run_manifest,
    select_subset,
)

__all__ = [
    "LOCAL_SUBSET_NAME",
    "LOCAL_SUBSET_SIZE",
    "EvalAssistant",
    "EvalOutcome",
    "EvalRequest",
    "JudgeChoice",
    "default_run_name",
    "evaluate",
]

LOCAL_SUBSET_NAME = "local-calib60"
#: Large enough that a regression beyond what another CPU build moves (about 7 points on the
#: citation figures, 9 on key-fact recall: eval/cpu-spread.md) fails the gate, small enough for
#: ``make test`` (about 20 minutes on 2 cores). Drawn from the calibration split: the held-out
#: test items are reported, not run on every change.
LOCAL_SUBSET_SIZE = 60

JudgeChoice = Literal["checker", "model", "both"]


class EvalAssistant(QuestionAnswerer, Protocol):
    """What an eval run needs of the assistant: answers, its own judge, the model judge."""

    def checker_for(self, mode: str) -> SupportJudge: ...

    def model_judge(self) -> SupportJudge: ...


@dataclass(frozen=True)
class EvalRequest:
    """What to run and what to do with the result.

    Attributes:
        set_path: The eval set (JSONL in the eval schema).
        mode: The generator.
        name: Run name in the baseline (default: :func:`default_run_name`).
        limit: Only the first ``limit`` items.
        out_dir: Run folder (default: ``eval/runs/NAME``).
        judge: Faithfulness judge(s) (default: both in local mode, else the checker).
        gate: Fail when the run falls below the baseline.
        update_baseline: Store the run as the baseline (see the module docstring).
        accept_regression: Why a failing run may still become the baseline.
        baseline_path: The baseline file read and written.
        fresh: Discard earlier results in the run folder instead of resuming.
        conversation: How follow-ups are asked (:data:`eval.runner.Conversation`).
        progress: Show a progress bar on stderr.
    """

    set_path: Path
    mode: str = "extractive"
    name: str | None = None
    limit: int | None = None
    out_dir: Path | None = None
    judge: JudgeChoice | None = None
    gate: bool = False
    update_baseline: bool = False
    accept_regression: str | None = None
    baseline_path: Path = gates.DEFAULT_BASELINE_PATH
    fresh: bool = False
    conversation: Conversation = "both"
    progress: bool = True


@dataclass(frozen=True)
class EvalOutcome:
    """A finished eval: the run, its report, the gate's verdict and what became of the baseline.

    Attributes:
        name: The run name.
        run: The run (folder, metrics, per-item scores).
        report: Path of ``report.md``.
        verdict: The gate's verdict (``None`` when not gated and no baseline was written).
        baseline_path: The baseline file.
        baseline_written: The run was stored as the baseline.
        flips: Items flipped against a comparable baseline entry (``None`` without one).
        baseline_differences: Why the run's baseline entry is not comparable with it (empty
            when it is, or when there is none).
    """

    name: str
    run: RunResult
    report: Path
    verdict: gates.GateResult | None
    baseline_path: Path
    baseline_written: bool
    flips: gates.Flips | None
    baseline_differences: tuple[str, ...] = ()

    def __repr__(self) -> str:
        gate = None if self.verdict is None else self.verdict.passed
        return f"EvalOutcome(name={self.name!r}, run={self.run!r}, gate={gate})"

    @property
    def ok(self) -> bool:
        """No failing gate (the CLI exits non-zero otherwise)."""
        return self.verdict is None or self.verdict.passed or self.baseline_written

    def headline(self) -> dict[str, dict[str, Any]]:
        """Every headline figure over all items: value, 95% interval and n."""
        overall = self.run.metrics["metrics"]["overall"]
        return {key: _figure(overall.get(key)) for key in self.run.metrics["headline"]}

    def splits(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The headline figures per split of the set (``calib``, ``test``); empty without."""
        keys = self.run.metrics["headline"]
        return {
            split: {key: _figure(table.get(key)) for key in keys}
            for split, table in self.run.metrics.get("splits", {}).items()
        }

    def followups(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Follow-up figures asked with the reference history and live (when both were run)."""
        table = self.run.metrics["metrics"]
        if LIVE_GROUP not in table or "followup" not in table:
            return {}
        keys = ("hit@5", "mrr@10", "key_fact_recall", "refusal_correct", "language_match")
        return {
            "reference": {k: _figure(table["followup"].get(k)) for k in keys},
            "live": {k: _figure(table[LIVE_GROUP].get(k)) for k in keys},
        }

    def to_json(self) -> dict[str, Any]:
        """What ``whitepaper eval --json`` prints."""
        m = self.run.metrics
        return {
            "name": self.name,
            "out": str(self.run.out_dir),
            "report": str(self.report),
            "mode": m.get("mode"),
            "conversation": m.get("conversation"),
            "set": m.get("set"),
            "n_items": m.get("n_items"),
            "judges": m.get("judges"),
            "headline": self.headline(),
            "splits": self.splits(),
            "split_gap": m.get("split_gap", {}),
            "followups": self.followups(),
            "violations": m.get("violations", {}),
            "flipped": None if self.flips is None else _flips_json(self.flips),
            "gate": None if self.verdict is None else self.verdict.to_json(),
            "baseline": {
                "path": str(self.baseline_path),
                "written": self.baseline_written,
                "not_comparable": list(self.baseline_differences),
            },
        }

    def table(self) -> str:
        """A short console table: headline figures (per split when the set has them), the
        follow-ups both ways, the flipped items and where the report is."""
        splits = self.splits()
        columns = ["calib", "test"] if set(splits) == {"calib", "test"} else []
        header = f"{'metric':<28} {'value':>6}  {'95% interval':<13} {'n':>4}"
        if columns:
            header += f" {'calib':>6} {'test':>6} {'gap':>6}"
        lines = [header]
        for key, fig in self.headline().items():
            line = f"{key:<28} {_pct(fig['value']):>6}  {_interval(fig):<13} {fig['n']:>4}"
            if columns:
                calib, test = splits["calib"][key]["value"], splits["test"][key]["value"]
                gap = None if calib is None or test is None else calib - test
                line += f" {_pct(calib):>6} {_pct(test):>6} {_signed(gap):>6}"
            lines.append(line)
        followups = self.followups()
        if followups:
            n = followups["reference"]["key_fact_recall"]["n"]
            ref, live = followups["reference"], followups["live"]
            cells = [
                f"{k} {_pct(ref[k]['value'])} → {_pct(live[k]['value'])}"
                for k in ("hit@5", "key_fact_recall")
            ]
            lines.append(f"follow-ups, reference → live history (n={n}): " + "; ".join(cells))
        if self.flips is not None and self.verdict is None:
            lines += _flip_lines(self.flips)
        if self.baseline_differences and self.verdict is None:
            lines.append(
                f"baseline {self.name!r} in {self.baseline_path} is not comparable, so no flips: "
                + "; ".join(self.baseline_differences)
            )
        lines.append(f"report: {self.report}")
        return "\n".join(lines)


def _figure(entry: Mapping[str, Any] | None) -> dict[str, Any]:
    entry = entry or {}
    return {k: entry.get(k) for k in ("value", "low", "high")} | {"n": entry.get("n", 0)}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:+.1f}"


def _interval(fig: Mapping[str, Any]) -> str:
    if fig.get("low") is None:
        return "—"
    return f"{_pct(fig['low'])}–{_pct(fig['high'])}"


def _flips_json(flips: gates.Flips) -> dict[str, Any]:
    return {
        "regressions": {k: list(v) for k, v in flips.regressions.items()},
        "improvements": {k: list(v) for k, v in flips.improvements.items()},
    }


def _flip_lines(flips: gates.Flips) -> list[str]:
    lines: list[str] = []
    for title, table in (("flipped to fail", flips.regressions), ("fixed", flips.improvements)):
        if table:
            lines.append(f"{title}: {len(table)} item(s)")
            lines += [f"  {i}: {', '.join(flags)}" for i, flags in table.items()]
    return lines


def default_run_name(mode: str) -> str:
    """The baseline name of a mode's usual run: ``local-calib60``, else ``<mode>-dev``."""
    return LOCAL_SUBSET_NAME if mode == "local" else f"{mode}-dev"


def _judges(assistant: EvalAssistant, mode: str, choice: JudgeChoice) -> list[SupportJudge]:
    """The production checker of the mode (what answers were checked with) and/or the local
    model alone on the whole passage, an independent second judge."""
    if choice == "checker":
        return [assistant.checker_for(mode)]
    if choice == "model":
        return [assistant.model_judge()]
    return [assistant.checker_for(mode), assistant.model_judge()]


def _not_comparable(name: str, path: Path, differences: Sequence[str]) -> gates.BaselineError:
    return gates.BaselineError(
        f"this run is not comparable with baseline {name!r} in {path}: {'; '.join(differences)}. "
        'To record it as the new baseline add --update-baseline --accept-regression "WHY"; '
        "to keep both, use another --name or --baseline FILE"
    )


def evaluate(request: EvalRequest, build_assistant: Callable[[str], EvalAssistant]) -> EvalOutcome:
    """Run one eval as ``request`` asks (see the module docstring).

    Args:
        request: What to run.
        build_assistant: Builds the assistant for a mode (cheap; models load on first use).

    Returns:
        The outcome; ``outcome.ok`` is false when the gate failed and the run did not become
        the baseline.

    Raises:
        eval.gate.BaselineError: The baseline file is unreadable; ``gate`` without an entry;
            an entry not comparable with the run (before anything is asked).
        eval.runner.EvalRunError: The eval set cannot be read, subset ids not in the set, a run
            folder of another run.
    """
    name = request.name or default_run_name(request.mode)
    out_dir = request.out_dir or Path("eval") / "runs" / name
    baseline_path = Path(request.baseline_path)
    try:
        all_items = load_eval_set(request.set_path)
    except (OSError, EvalSetError) as exc:
        raise EvalRunError(f"cannot load the eval set: {exc}") from exc
    baseline = baselines.load_baseline(baseline_path)
    entry = baseline.get(name)
    if request.gate and entry is None:
        baselines.require_entry(baseline, name, baseline_path)

    ids = baselines.subset_ids(baseline, name)
    if ids is None and name == LOCAL_SUBSET_NAME:
        calib = [item for item in all_items if item.split != "test"]
        ids = [item.id for item in select_subset(calib, LOCAL_SUBSET_SIZE)]
    items = filter_items(all_items, ids) if ids else all_items

    assistant = build_assistant(request.mode)
    choice = request.judge or ("both" if request.mode == "local" else "checker")
    judges = _judges(assistant, request.mode, choice)
    manifest = run_manifest(all_items, request.set_path, request.mode, judges, request.conversation)
    differences = [] if entry is None else gates.identity_differences(entry, manifest)
    if differences and (request.gate or request.update_baseline) and not request.accept_regression:
        raise _not_comparable(name, baseline_path, differences)

    run = run_eval(
        assistant,
        items,
        out_dir,
        mode=request.mode,
        judges=judges,
        limit=request.limit,
        resume=not request.fresh,
        progress=request.progress,
        set_path=request.set_path,
        name=name,
        conversation=request.conversation,
    )
    comparable = entry is not None and not differences
    verdict = None
    if entry is not None and (request.gate or request.update_baseline):
        verdict = gates.check_gate(run.metrics, run.scores, entry, live_scores=run.live_scores)
    flips = None
    if comparable:
        assert entry is not None
        flips = gates.compare_flags(entry.get("items", {}), run.scores)
    report = write_report(run.out_dir, entry if comparable else None, verdict)

    written = False
    if request.update_baseline and (verdict is None or verdict.passed or request.accept_regression):
        baselines.update_baseline(
            name,
            run.metrics,
            run.scores,
            path=baseline_path,
            subset=ids,
            live_scores=run.live_scores,
            verdict=verdict,
            accept_regression=request.accept_regression,
        )
        written = True
    return EvalOutcome(
        name=name,
        run=run,
        report=report,
        verdict=verdict,
        baseline_path=baseline_path,
        baseline_written=written,
        flips=flips,
        baseline_differences=tuple(differences),
    )
