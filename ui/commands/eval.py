"""Commands that measure quality: eval, validate-set, and the support checker's verify and
eval-checker.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ingest.settings import BUNDLED_PDF
from ui.commands.common import MODE, emit, user_errors
from ui.settings import Settings

DEFAULT_SET = Path(__file__).resolve().parents[2] / "eval" / "sets" / "aigc-dev-v2.jsonl"


@click.command("eval")
@click.option(
    "--set",
    "set_path",
    type=click.Path(path_type=Path),
    default=DEFAULT_SET,
    show_default=True,
    help="Eval set (JSONL in the eval schema).",
)
@click.option("--mode", type=MODE, default="extractive", show_default=True)
@click.option(
    "--name",
    default=None,
    help="Run name in the baseline (default: extractive-dev, local-calib60, openai-dev).",
)
@click.option("--limit", type=int, default=None, help="Only the first N items.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Run folder (default: eval/runs/NAME).",
)
@click.option(
    "--judge",
    type=click.Choice(["checker", "model", "both"]),
    default=None,
    help="Faithfulness judge(s): the mode's support checker, the local model alone, or both "
    "(default: both in local mode, else the checker).",
)
@click.option(
    "--conversation",
    type=click.Choice(["reference", "live", "both"]),
    default="both",
    show_default=True,
    help="Follow-ups: with the set's history, with the assistant's own answers, or both.",
)
@click.option("--gate", is_flag=True, help="Fail when the run falls below the baseline.")
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Store this run as the new baseline (only if it passes the gate).",
)
@click.option(
    "--accept-regression",
    metavar="WHY",
    default=None,
    help="With --update-baseline: store the run even though the gate fails; WHY is kept.",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Baseline file to read and write (default: eval/baseline.json).",
)
@click.option("--fresh", is_flag=True, help="Discard earlier results in the run folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures and verdict as JSON.")
@click.pass_obj
def eval_command(
    settings: Settings,
    set_path: Path,
    mode: str,
    name: str | None,
    limit: int | None,
    out_dir: Path | None,
    judge: str | None,
    conversation: str,
    gate: bool,
    update_baseline: bool,
    accept_regression: str | None,
    baseline_path: Path | None,
    fresh: bool,
    as_json: bool,
) -> None:
    """Run the eval set through the assistant; write results, metrics and a report.

    \b
    Examples:
      whitepaper eval                                   # extractive, whole dev set
      whitepaper eval --mode local --gate               # the fixed 60-item local subset
      whitepaper eval --limit 10 --out /tmp/run --json
      whitepaper eval --update-baseline                 # only moves a baseline it passes
      whitepaper eval --update-baseline --accept-regression "new set v2"
    """
    from assistant.factory import build_assistant
    from eval.gate import DEFAULT_BASELINE_PATH
    from eval.orchestrate import EvalRequest, evaluate

    if accept_regression is not None and not update_baseline:
        raise click.UsageError("--accept-regression only applies with --update-baseline")
    if accept_regression is not None and not accept_regression.strip():
        raise click.UsageError('--accept-regression needs a reason, e.g. "new eval set v2"')
    request = EvalRequest(
        set_path=set_path,
        mode=mode,
        name=name,
        limit=limit,
        out_dir=out_dir,
        judge=judge,  # type: ignore[arg-type]  # click.Choice above
        gate=gate,
        update_baseline=update_baseline,
        accept_regression=accept_regression,
        baseline_path=baseline_path or DEFAULT_BASELINE_PATH,
        fresh=fresh,
        conversation=conversation,  # type: ignore[arg-type]  # click.Choice above
    )
    with user_errors():
        outcome = evaluate(
            request, lambda m: build_assistant(settings.model_copy(update={"mode": m}))
        )
    emit(as_json, outcome.to_json(), outcome.table())
    if outcome.verdict is not None:
        click.echo(outcome.verdict.summary(), err=as_json)
    if outcome.baseline_written:
        click.echo(f"baseline {outcome.name!r} updated in {outcome.baseline_path}", err=as_json)
    elif update_baseline:
        click.echo(
            f"baseline {outcome.name!r} in {outcome.baseline_path} NOT updated: the gate failed; "
            'to record this run anyway add --accept-regression "WHY"',
            err=as_json,
        )
    if not outcome.ok:
        sys.exit(1)


@click.command("validate-set")
@click.argument("path", type=click.Path(path_type=Path), default=DEFAULT_SET)
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def validate_set(path: Path, as_json: bool) -> None:
    """Check an eval set: schema, mix, split, key facts, and evidence verbatim in the source.

    Prints the items per type and calib/test split.

    \b
    Example:
      whitepaper validate-set eval/sets/aigc-dev-v2.jsonl
    """
    from eval.dataset import load_eval_set, split_counts, type_mix, validate_eval_set

    source = BUNDLED_PDF.parent / "source.txt"
    try:
        items = load_eval_set(path)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    problems = validate_eval_set(items, source.read_text(encoding="utf-8"))
    mix = {k: round(v, 3) for k, v in type_mix(items).items()}
    splits = split_counts(items)
    columns = ("calib", "test", "none", "total")
    table = [f"{'type':<14}" + "".join(f"{c:>7}" for c in columns)] + [
        f"{item_type:<14}" + "".join(f"{row[c]:>7}" for c in columns)
        for item_type, row in splits.items()
    ]
    text = "\n".join(
        [f"{len(items)} items; mix: {mix}", *table]
        + problems
        + (["no problems"] if not problems else [])
    )
    emit(
        as_json,
        {"items": len(items), "mix": mix, "splits": splits, "problems": problems},
        text,
    )
    if problems:
        sys.exit(1)


@click.command()
@click.argument("pairs", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list instead of JSON lines.")
@click.option("--explain", is_flag=True, help="Also name the layer that decided each pair.")
@click.option(
    "--model/--no-model",
    "use_model",
    default=None,
    help="Ask the local model about what the cheap layers leave open "
    "(default: as answers do in the default mode).",
)
@click.pass_obj
def verify(
    settings: Settings, pairs: Path, as_json: bool, explain: bool, use_model: bool | None
) -> None:
    """Check (passage, sentence) pairs with the support checker that answers use.

    PAIRS is a JSONL file of {"passage": ..., "sentence": ...} objects. Each line gets
    {"supported", "score", "reasons"} in input order.

    \b
    Examples:
      whitepaper verify pairs.jsonl
      whitepaper verify pairs.jsonl --json --explain
    """
    from assistant.factory import build_checker
    from assistant.support import read_pairs

    with user_errors():
        items = read_pairs(pairs)
        checker = build_checker(settings, use_model=use_model)
        results = [checker.check(sentence, passage).to_json(explain) for passage, sentence in items]
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for result in results:
            click.echo(json.dumps(result, ensure_ascii=False))


@click.command("eval-checker")
@click.option(
    "--pairs",
    "pairs_path",
    type=click.Path(path_type=Path),
    default=Path(__file__).resolve().parents[2] / "eval" / "sets" / "support-pairs-v1.jsonl",
    show_default=True,
    help="Labelled pairs (JSONL with supported, kind, lang, origin, split).",
)
@click.option(
    "--split",
    type=click.Choice(["calib", "test", "all"]),
    default="test",
    show_default=True,
    help="Tune on calib only; report test.",
)
@click.option(
    "--model/--no-model",
    "use_model",
    default=None,
    help="Let the local model decide the undecided band (default: as answers in the default mode).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the tables as JSON.")
@click.pass_obj
def eval_checker(
    settings: Settings, pairs_path: Path, split: str, use_model: bool | None, as_json: bool
) -> None:
    """Agreement of the support checker with labelled pairs, by kind, language and origin.

    \b
    Examples:
      whitepaper eval-checker                  # the test split
      whitepaper eval-checker --split calib --no-model --json
    """
    from assistant.factory import build_checker
    from eval.checker import check_pairs, render_report, summarise
    from eval.pairs import PairsError, load_pairs

    with user_errors():
        try:
            pairs = load_pairs(pairs_path)
        except PairsError as exc:
            raise click.ClickException(str(exc)) from exc
        chosen = [p for p in pairs if split == "all" or p.split == split]
        checker = build_checker(settings, use_model=use_model)
        report = summarise(check_pairs(checker, chosen))
    title = f"{pairs_path.name}, split {split} ({len(chosen)} pairs)"
    emit(as_json, report.to_json(), render_report(report, title))


@click.command("eval-tune")
@click.option(
    "--what", type=click.Choice(["fusion", "chunks", "followup"]), required=True, help="Sweep."
)
@click.option(
    "--split",
    type=click.Choice(["calib", "test"]),
    default="calib",
    show_default=True,
    help="calib: the whole grid and the choice; test: the current default alone.",
)
@click.option(
    "--set",
    "set_path",
    type=click.Path(path_type=Path),
    default=DEFAULT_SET,
    show_default=True,
    help="Eval set with calib/test splits.",
)
@click.option(
    "--home-prefix",
    default=None,
    help="chunks: index homes are PREFIX<chunk_target> (default: a temporary folder).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of the candidates' runs (default: a temporary folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures and the choice as JSON.")
@click.pass_obj
def eval_tune(
    settings: Settings,
    what: str,
    split: str,
    set_path: Path,
    home_prefix: str | None,
    out_dir: Path | None,
    as_json: bool,
) -> None:
    """Sweep fusion weights, chunk size or follow-up rules on the calib split (extractive).

    Prints hit@5, MRR@10 and key-fact recall per candidate and the value the rule picks
    (eval/README.md). Nothing is changed: set the chosen default in the code.

    \b
    Examples:
      whitepaper eval-tune --what fusion
      whitepaper eval-tune --what chunks --home-prefix /tmp/tune-home- --json
    """
    import tempfile

    from eval.dataset import EvalSetError, load_eval_set
    from eval.tune import real_builder, run_sweep

    with user_errors(), tempfile.TemporaryDirectory(prefix="whitepaper-tune-") as tmp:
        try:
            items = load_eval_set(set_path)
        except (OSError, EvalSetError) as exc:
            raise click.ClickException(f"cannot load the eval set: {exc}") from exc
        build = real_builder(what, settings, home_prefix or f"{tmp}/home-")
        sweep = run_sweep(
            what, items, split, build, out_dir or Path(tmp), settings=settings, progress=True
        )
    emit(as_json, sweep.to_json(), sweep.table())


@click.command("eval-sufficiency")
@click.option("--set", "set_path", type=click.Path(path_type=Path), default=DEFAULT_SET)
@click.option(
    "--split",
    type=click.Choice(["calib", "test"]),
    default="calib",
    show_default=True,
    help="Split to report; the fit always uses calib only.",
)
@click.option(
    "--model/--no-model",
    "use_model",
    default=False,
    show_default=True,
    help="Ask the local model whether the evidence answers (the LLM modes' signal).",
)
@click.option(
    "--max-false",
    type=click.FloatRange(0.0, 1.0),
    default=0.05,
    show_default=True,
    help="False-refusal budget on calib when fitting.",
)
@click.option(
    "--cache",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Per-item features (and the model's P(yes)) (default: eval/runs/sufficiency*.jsonl).",
)
@click.option(
    "--refresh", is_flag=True, help="Recompute the cheap features (keeps the model's answers)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_obj
def eval_sufficiency(
    settings: Settings,
    set_path: Path,
    split: str,
    use_model: bool,
    max_false: float,
    cache: Path | None,
    refresh: bool,
    as_json: bool,
) -> None:
    """Calibrate the refusal decided before generation on calib; report a split.

    \b
    Examples:
      whitepaper eval-sufficiency --split calib
      whitepaper eval-sufficiency --split test --model --json
    """
    from eval.sufficiency import render, run

    with user_errors():
        result = run(settings, set_path, split, use_model, max_false, cache, refresh)
    emit(as_json, result, render(result))
