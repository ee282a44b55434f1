"""How well the support checker agrees with the labelled pairs, by split, kind, language, origin.

``whitepaper eval-checker --split test`` prints the tables eval/README.md reports; thresholds
are chosen with ``--split calib`` only.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.support import SupportChecker, Verdict
from eval.pairs import SUPPORTED_KINDS, Pair

__all__ = ["CheckedPair", "CheckerReport", "check_pairs", "render_report"]


@dataclass(frozen=True)
class CheckedPair:
    """A labelled pair with the checker's verdict and its cost."""

    pair: Pair
    verdict: Verdict
    seconds: float

    @property
    def agrees(self) -> bool:
        return self.verdict.supported == self.pair.supported


@dataclass(frozen=True)
class Cell:
    n: int
    agreement: float
    unsupported_accepted: float | None  # share of unsupported pairs the checker accepted
    supported_rejected: float | None  # share of supported pairs the checker rejected


@dataclass(frozen=True)
class CheckerReport:
    """Agreement tables of one run."""

    overall: Cell
    by_kind: dict[str, Cell]
    by_lang: dict[str, Cell]
    by_origin: dict[str, Cell]
    by_layer: dict[str, Cell]
    mean_ms_cheap: float
    mean_ms_model: float | None
    ms_by_layer: dict[str, float]
    disagreements: tuple[CheckedPair, ...]

    def to_json(self) -> dict[str, object]:
        def cells(table: dict[str, Cell]) -> dict[str, object]:
            return {k: vars(v) for k, v in table.items()}

        return {
            "overall": vars(self.overall),
            "by_kind": cells(self.by_kind),
            "by_lang": cells(self.by_lang),
            "by_origin": cells(self.by_origin),
            "by_layer": cells(self.by_layer),
            "mean_ms_cheap": round(self.mean_ms_cheap, 2),
            "mean_ms_model": None if self.mean_ms_model is None else round(self.mean_ms_model, 1),
            "ms_by_layer": {k: round(v, 2) for k, v in self.ms_by_layer.items()},
            "disagreements": [
                {
                    "id": c.pair.id,
                    "kind": c.pair.kind,
                    "label": c.pair.supported,
                    **c.verdict.to_json(explain=True),
                }
                for c in self.disagreements
            ],
        }


def check_pairs(
    checker: SupportChecker, pairs: Sequence[Pair], *, use_model: bool = True
) -> list[CheckedPair]:
    """Run the checker over labelled pairs, timing each."""
    out = []
    for pair in pairs:
        started = time.perf_counter()
        verdict = checker.check(pair.sentence, pair.passage, use_model=use_model)
        out.append(CheckedPair(pair, verdict, time.perf_counter() - started))
    return out


def _cell(checked: Sequence[CheckedPair]) -> Cell:
    unsupported = [c for c in checked if not c.pair.supported]
    supported = [c for c in checked if c.pair.supported]
    return Cell(
        n=len(checked),
        agreement=round(sum(c.agrees for c in checked) / len(checked), 3) if checked else 0.0,
        unsupported_accepted=(
            round(sum(c.verdict.supported for c in unsupported) / len(unsupported), 3)
            if unsupported
            else None
        ),
        supported_rejected=(
            round(sum(not c.verdict.supported for c in supported) / len(supported), 3)
            if supported
            else None
        ),
    )


def _table(checked: Sequence[CheckedPair], key: str) -> dict[str, Cell]:
    groups: dict[str, list[CheckedPair]] = defaultdict(list)
    for c in checked:
        value = c.verdict.layer if key == "layer" else getattr(c.pair, key)
        groups[str(value)].append(c)
    return {k: _cell(v) for k, v in sorted(groups.items())}


def summarise(checked: Sequence[CheckedPair]) -> CheckerReport:
    cheap = [c.seconds for c in checked if c.verdict.layer != "model"]
    model = [c.seconds for c in checked if c.verdict.layer == "model"]
    return CheckerReport(
        overall=_cell(checked),
        by_kind=_table(checked, "kind"),
        by_lang=_table(checked, "lang"),
        by_origin=_table(checked, "origin"),
        by_layer=_table(checked, "layer"),
        mean_ms_cheap=1000 * sum(cheap) / len(cheap) if cheap else 0.0,
        mean_ms_model=1000 * sum(model) / len(model) if model else None,
        ms_by_layer=_ms_by_layer(checked),
        disagreements=tuple(c for c in checked if not c.agrees),
    )


def _ms_by_layer(checked: Sequence[CheckedPair]) -> dict[str, float]:
    """Mean milliseconds of the pairs each layer decided (a pair decided late paid for the
    layers before it too)."""
    groups: dict[str, list[float]] = defaultdict(list)
    for c in checked:
        groups[c.verdict.layer].append(c.seconds)
    return {k: 1000 * sum(v) / len(v) for k, v in sorted(groups.items())}


def render_report(report: CheckerReport, title: str) -> str:
    """Markdown tables of a report."""

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f}"

    lines = [f"### {title}", ""]
    lines.append("| group | n | agreement | unsupported accepted | supported rejected |")
    lines.append("|---|---:|---:|---:|---:|")

    def row(name: str, cell: Cell) -> None:
        lines.append(
            f"| {name} | {cell.n} | {pct(cell.agreement)} | {pct(cell.unsupported_accepted)} "
            f"| {pct(cell.supported_rejected)} |"
        )

    row("**all**", report.overall)
    for name, table in (
        ("lang", report.by_lang),
        ("origin", report.by_origin),
        ("kind", report.by_kind),
        ("decided by", report.by_layer),
    ):
        for key, cell in table.items():
            label = f"{key} (supported)" if key in SUPPORTED_KINDS else key
            row(f"{name}: {label}", cell)
    model = "—" if report.mean_ms_model is None else f"{report.mean_ms_model:.0f} ms"
    lines += ["", f"Mean cost per pair: cheap layers {report.mean_ms_cheap:.2f} ms; model {model}."]
    lines.append(
        "By deciding layer: "
        + ", ".join(f"{k} {v:.2f} ms" for k, v in report.ms_by_layer.items())
        + "."
    )
    return "\n".join(lines)
