"""Tests for eval/gate.py: the regression gate and the baseline file."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from eval.baseline import (
    baseline_entry,
    load_baseline,
    require_entry,
    subset_ids,
    update_baseline,
)
from eval.gate import (
    DEFAULT_BASELINE_PATH,
    GATE_FORMAT,
    BaselineError,
    GateResult,
    check_gate,
    compare_flags,
    gated_figures,
    identity_differences,
    item_flags,
    paired_drop,
)
from eval.metrics import ItemScores, aggregate, headline_keys

GOOD = {"hit@1": 1.0, "hit@5": 1.0, "mrr@10": 1.0, "key_fact_recall": 1.0}


def _scores(answerable: int = 18, unanswerable: int = 6) -> list[ItemScores]:
    """Perfect answerable factual items and correctly refused unanswerable ones."""
    good = [
        ItemScores(f"a-{i:02d}", "factual", {**GOOD, "refusal_correct": 1.0}, False, False)
        for i in range(answerable)
    ]
    refused = [
        ItemScores(f"u-{i}", "unanswerable", {"refusal_correct": 1.0}, True, True)
        for i in range(unanswerable)
    ]
    return good + refused


def _metrics(
    scores: list[ItemScores],
    *,
    mode: str = "extractive",
    judges: list[dict[str, Any]] | None = None,
    sha: str = "abc",
) -> dict[str, Any]:
    judges = judges or []
    table = aggregate(scores, resamples=50)
    return {
        "mode": mode,
        "conversation": "both",
        "set": {"path": "set.jsonl", "sha256": sha},
        "judges": judges,
        "git": {"commit": "deadbeef"},
        "headline": headline_keys([j["name"] for j in judges]),
        "metrics": {g: {k: e.to_json() for k, e in t.items()} for g, t in table.items()},
    }


def _set(scores: list[ItemScores], ids: set[str], **metrics: float) -> list[ItemScores]:
    return [replace(s, metrics={**s.metrics, **metrics}) if s.id in ids else s for s in scores]


def _miss(scores: list[ItemScores], *ids: str) -> list[ItemScores]:
    return _set(scores, set(ids), **{"hit@1": 0.0, "hit@5": 0.0, "mrr@10": 0.0})


def _failed(result: GateResult, prefix: str) -> bool:
    return any(f.startswith(prefix) for f in result.failures)


def test_gate_passes_on_equal_metrics() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    result = check_gate(_metrics(scores), scores, entry)
    assert result.passed, result.summary()
    assert result.failures == ()
    assert result.regressions == {}
    assert {c.key for c in result.checks} == {
        "hit@5",
        "mrr@10",
        "key_fact_recall",
        "refusal_recall",
        "false_refusal_rate",
        "factual:hit@5",
        "factual:key_fact_recall",
    }
    assert all(c.drop == 0 and c.passed for c in result.checks)


def test_gate_fails_and_lists_the_item_that_broke() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    broken = _miss(scores, "a-03")
    broken[3] = replace(broken[3], violations=("citation 【4】 outside 1..3",))
    result = check_gate(_metrics(broken), broken, entry)
    assert not result.passed
    assert result.failures == ("invariant broken in a-03: citation 【4】 outside 1..3",)
    assert result.regressions == {"a-03": ("hit@1", "hit@5")}
    assert "a-03: hit@1, hit@5" in result.summary()


def test_paired_tolerance_exact() -> None:
    # No change: one item's worth.
    assert paired_drop([1.0] * 10, [1.0] * 10) == (0.0, 0.1)
    # Two of 18 items lost, none gained: drop 2/18, tolerance 1.645 * sd / sqrt(18).
    drop, tolerance = paired_drop([1.0] * 18, [0.0, 0.0] + [1.0] * 16)
    sd = math.sqrt((2 * (1 - 2 / 18) ** 2 + 16 * (2 / 18) ** 2) / 17)
    assert drop == pytest.approx(2 / 18)
    assert tolerance == pytest.approx(1.645 * sd / math.sqrt(18))
    # Lower is better: a rise is a drop.
    assert paired_drop([0.0, 0.0], [1.0, 0.0], lower_is_better=True)[0] == pytest.approx(0.5)
    assert paired_drop([], []) == (0.0, 0.0)


def test_two_items_lost_pass_three_fail_and_trades_widen_the_tolerance() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    two = _miss(scores, "a-01", "a-02")
    result = check_gate(_metrics(two), two, entry)
    assert result.passed, result.summary()
    assert set(result.regressions) == {"a-01", "a-02"}  # listed although it passes

    three = _miss(scores, "a-01", "a-02", "a-03")
    result = check_gate(_metrics(three), three, entry)
    assert not result.passed
    assert _failed(
        result,
        "hit@5 fell from 100.0% to 83.3%: a paired drop of 16.7 points over 18 items, "
        "more than the 14.9-point tolerance",
    ), result.failures
    assert _failed(result, "factual:hit@5 fell")

    # Four lost and two gained against a baseline that missed those two: a net loss of two
    # items among six that moved is within the noise.
    start = _miss(scores, "a-10", "a-11")
    entry = baseline_entry(_metrics(start), start)
    traded = _miss(scores, "a-01", "a-02", "a-03", "a-04")
    result = check_gate(_metrics(traded), traded, entry)
    hit5 = next(c for c in result.checks if c.key == "hit@5")
    assert hit5.drop == pytest.approx(2 / 18)
    assert hit5.passed and result.passed, result.summary()
    assert set(result.improvements) == {"a-10", "a-11"}


def test_a_drop_inside_one_type_fails_its_per_type_figure() -> None:
    factual = _scores(answerable=30, unanswerable=0)
    multihop = [replace(s, id=f"m-{i}", type="multihop") for i, s in enumerate(_scores(6, 0))]
    base = _miss(factual, "a-00", "a-01", "a-02") + multihop
    entry = baseline_entry(_metrics(base), base)
    # Three factual items fixed, three multihop items broken: overall unchanged.
    now = factual + _miss(multihop, "m-0", "m-1", "m-2")
    result = check_gate(_metrics(now), now, entry)
    overall = next(c for c in result.checks if c.key == "hit@5")
    assert overall.passed and overall.drop == 0
    assert not result.passed
    assert [f.split(" ")[0] for f in result.failures] == ["multihop:hit@5"]


def test_refusal_recall_and_false_refusals_are_gated_separately() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    missed = [
        replace(s, refused=False, metrics={"refusal_correct": 0.0})
        if s.id in {"u-0", "u-1", "u-2"}
        else s
        for s in scores
    ]
    result = check_gate(_metrics(missed), missed, entry)
    assert [f.split(" ")[0] for f in result.failures] == ["refusal_recall"]
    assert result.regressions == {i: ("refusal_correct",) for i in ("u-0", "u-1", "u-2")}

    over = [
        replace(s, refused=True, metrics={"refusal_correct": 0.0})
        if s.id in {"a-00", "a-01", "a-02"}
        else s
        for s in scores
    ]
    result = check_gate(_metrics(over), over, entry)
    assert _failed(result, "false_refusal_rate rose from 0.0% to 16.7%"), result.failures
    assert not _failed(result, "refusal_recall")


def test_extractive_checker_citations_are_not_gated_a_model_judge_is() -> None:
    judged = {
        "citation_recall[checker]": 1.0,
        "citation_precision[checker]": 1.0,
        "citation_recall[local-llm]": 0.5,
        "citation_precision[local-llm]": 0.5,
        "language_match": 1.0,
        "answered_with_citation": 1.0,
    }
    scores = [replace(s, metrics={**s.metrics, **judged}) for s in _scores(6, 0)]
    judges = [{"name": "checker", "threshold": 0.7}, {"name": "local-llm", "threshold": 0.8}]
    extractive = {m for g, m in gated_figures(_metrics(scores, judges=judges)) if g == "overall"}
    assert "citation_recall[checker]" not in extractive
    assert "citation_precision[checker]" not in extractive
    assert {"citation_recall[local-llm]", "language_match", "answered_with_citation"} <= extractive
    local = {m for g, m in gated_figures(_metrics(scores, judges=judges, mode="local"))}
    assert "citation_precision[checker]" in local  # several citations can still be imprecise
    assert "citation_recall[checker]" not in local  # strict: every shown sentence passed it


def test_a_run_not_like_the_baseline_fails_saying_what_differs() -> None:
    scores = _scores()
    judges = [{"name": "lexical", "threshold": 0.7}]
    entry = baseline_entry(_metrics(scores, judges=judges), scores)
    assert identity_differences(entry, _metrics(scores, judges=judges)) == []

    other = _metrics(
        scores, judges=[{"name": "lexical", "threshold": 0.5}], sha="def", mode="local"
    )
    result = check_gate(other, scores, entry)
    assert not result.passed and not result.comparable
    assert result.checks == ()
    text = "\n".join(result.failures)
    assert "eval set sha256 def… vs the baseline's abc…" in text
    assert "mode 'local' vs the baseline's 'extractive'" in text
    assert "judges lexical@0.5 vs the baseline's lexical@0.7" in text

    live_only = {**_metrics(scores, judges=judges), "conversation": "live"}
    assert identity_differences(entry, live_only) == [
        "conversation 'live' vs the baseline's 'both'"
    ]


def test_the_committed_baseline_is_readable_and_says_to_re_record() -> None:
    baseline = load_baseline(DEFAULT_BASELINE_PATH)
    assert len(subset_ids(baseline, "local-calib60") or []) == 60
    entry = baseline["extractive-dev"]
    if entry.get("format") == GATE_FORMAT:
        pytest.skip("the baseline has been re-recorded in the current format")
    run = {"mode": entry["mode"], "set": entry["set"], "judges": entry["judges"]}
    (difference,) = identity_differences(entry, run)
    assert difference.startswith("the entry was recorded by an older gate (format 1")


def test_missing_figures_and_items_fail() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    fewer = scores[1:]
    result = check_gate(_metrics(fewer), fewer, entry)
    assert not result.passed
    assert "1 missing: a-00" in result.failures[0]
    judged_entry = {
        **entry,
        "figures": {
            **entry["figures"],
            "citation_recall[llm]": {
                "group": "overall",
                "metric": "citation_recall[llm]",
                "value": 0.8,
                "n": 18,
            },
        },
    }
    result = check_gate(_metrics(scores), scores, judged_entry)
    assert result.failures == ("citation_recall[llm] is missing from the run (baseline 80.0%)",)


def test_live_follow_ups_are_gated_and_their_flips_listed() -> None:
    follow = [replace(s, id=f"x-{i}", type="followup") for i, s in enumerate(_scores(6, 0))]
    metrics = _metrics(follow)
    live_table = aggregate(follow, resamples=20)["overall"]
    metrics["metrics"]["followup-live"] = {k: e.to_json() for k, e in live_table.items()}
    entry = baseline_entry(metrics, follow, live_scores=follow)
    assert set(entry["live_items"]) == {f"x-{i}" for i in range(6)}
    assert "followup-live:key_fact_recall" in entry["figures"]

    worse = _set(follow, {"x-0", "x-1", "x-2"}, key_fact_recall=0.0)
    now = _metrics(follow)
    worse_table = aggregate(worse, resamples=20)["overall"]
    now["metrics"]["followup-live"] = {k: e.to_json() for k, e in worse_table.items()}
    result = check_gate(now, follow, entry, live_scores=worse)
    assert [f.split(" ")[0] for f in result.failures] == ["followup-live:key_fact_recall"]
    assert result.regressions == {f"x-{i} (live)": ("key_fact_recall",) for i in range(3)}


def test_item_flags_and_flips() -> None:
    scores = ItemScores(
        "a",
        "factual",
        {"hit@5": 1.0, "mrr@10": 0.5, "key_fact_recall": 0.5, "citation_recall[lexical]": 1.0},
        False,
        False,
    )
    assert item_flags(scores) == {
        "hit@5": True,
        "key_fact_recall": False,
        "citation_recall[lexical]": True,
    }
    now = replace(scores, metrics={"hit@5": 0.0, "key_fact_recall": 1.0})
    flips = compare_flags({"a": item_flags(scores)}, [now])
    assert flips.regressions == {"a": ("hit@5",)}
    assert flips.improvements == {"a": ("key_fact_recall",)}
    # Per-item values (format 2) flip the same way as flags (format 1).
    values = {"a": {"hit@5": 1.0, "mrr@10": 0.5, "key_fact_recall": 0.5}}
    assert compare_flags(values, [now]) == flips


def test_update_baseline_round_trip_keeps_other_runs_and_the_subset(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    assert load_baseline(path) == {}
    scores = _scores()
    metrics = _metrics(scores)
    update_baseline("local-subset20", metrics, scores, path=path, subset=["a-00", "u-1"])
    update_baseline("extractive-dev", metrics, scores, path=path)
    update_baseline("local-subset20", metrics, scores, path=path)  # subset kept
    baseline = load_baseline(path)
    assert set(baseline) == {"local-subset20", "extractive-dev"}
    assert subset_ids(baseline, "local-subset20") == ["a-00", "u-1"]
    assert subset_ids(baseline, "extractive-dev") is None
    entry = baseline["extractive-dev"]
    assert entry["format"] == GATE_FORMAT
    assert entry["figures"]["hit@5"] == {
        "group": "overall",
        "metric": "hit@5",
        "value": 1.0,
        "n": 18,
    }
    assert entry["items"]["u-1"] == {"refusal_correct": 1.0, "refusal_recall": 1.0}
    assert entry["git_commit"] == "deadbeef"
    assert entry["accepted_regression"] is None
    assert check_gate(metrics, scores, entry).passed
    assert json.loads(path.read_text("utf-8")) == baseline
    assert require_entry(baseline, "extractive-dev", path) == entry
    with pytest.raises(BaselineError, match=r"no baseline for run 'local-dev'.*--update-baseline"):
        require_entry(baseline, "local-dev", path)


def test_a_failing_gate_writes_nothing_unless_the_regression_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    scores = _scores()
    update_baseline("extractive-dev", _metrics(scores), scores, path=path)
    before = path.read_bytes()
    worse = _miss(scores, "a-01", "a-02", "a-03")
    verdict = check_gate(_metrics(worse), worse, load_baseline(path)["extractive-dev"])
    assert not verdict.passed
    with pytest.raises(BaselineError, match=r"gate failed.*--accept-regression"):
        update_baseline("extractive-dev", _metrics(worse), worse, path=path, verdict=verdict)
    with pytest.raises(BaselineError):
        update_baseline(
            "extractive-dev",
            _metrics(worse),
            worse,
            path=path,
            verdict=verdict,
            accept_regression=" ",
        )
    assert path.read_bytes() == before

    entry = update_baseline(
        "extractive-dev",
        _metrics(worse),
        worse,
        path=path,
        verdict=verdict,
        accept_regression="chunk size 400: fewer, longer passages",
    )
    assert entry["accepted_regression"]["reason"] == "chunk size 400: fewer, longer passages"
    assert entry["accepted_regression"]["failures"] == list(verdict.failures)
    assert load_baseline(path)["extractive-dev"]["figures"]["hit@5"]["value"] == pytest.approx(
        15 / 18
    )
    again = check_gate(_metrics(worse), worse, entry)
    assert again.passed
    assert "recorded over a failing gate: 'chunk size 400" in again.notes[0]

    # Over a passing gate there is nothing to accept: no reason is stored.
    passing = update_baseline(
        "extractive-dev",
        _metrics(worse),
        worse,
        path=path,
        verdict=again,
        accept_regression="nothing failed",
    )
    assert passing["accepted_regression"] is None


def test_a_broken_baseline_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text("{oops", "utf-8")
    with pytest.raises(BaselineError, match="not valid JSON"):
        load_baseline(path)
    path.write_text("[]", "utf-8")
    with pytest.raises(BaselineError, match="keyed by run name"):
        load_baseline(path)


def test_a_model_mode_is_never_held_to_less_than_the_spread_between_cpu_builds() -> None:
    from eval.gate import _check

    figure = {"metric": "key_fact_recall", "value": 0.6}
    members = [
        ItemScores(f"i{k}", "factual", {"key_fact_recall": 0.5}, False, False) for k in range(40)
    ]
    base = {f"i{k}": {"key_fact_recall": 0.55} for k in range(40)}  # every item 5 points down
    strict = _check("overall key_fact_recall", figure, 0.5, base, members)
    lenient = _check("overall key_fact_recall", figure, 0.5, base, members, model_mode=True)
    assert not strict.passed and lenient.passed
    assert lenient.tolerance == pytest.approx(2 * 0.30 / 40**0.5)


def test_the_build_term_shrinks_with_n_so_a_real_regression_still_fails() -> None:
    from eval.gate import _check, build_term

    # 52 answered items (the 60-item local subset): a citation figure may move 6.9 points.
    assert build_term("citation_precision", 52) == pytest.approx(0.0693, abs=1e-4)
    assert build_term("hit@5", 52) == 0.0  # retrieval does not depend on the build
    figure = {"metric": "citation_precision", "value": 0.9}
    base = {f"i{k}": {"citation_precision": 1.0} for k in range(52)}
    # Ten of 52 items lose their support (19 points): beyond any build's spread.
    members = [
        ItemScores(f"i{k}", "factual", {"citation_precision": 0.0 if k < 10 else 1.0}, False, False)
        for k in range(52)
    ]
    check = _check("overall citation_precision", figure, 0.81, base, members, model_mode=True)
    assert not check.passed
    # Three items (5.8 points) is what another CPU build may do.
    members = [
        ItemScores(f"i{k}", "factual", {"citation_precision": 0.0 if k < 3 else 1.0}, False, False)
        for k in range(52)
    ]
    check = _check("overall citation_precision", figure, 0.94, base, members, model_mode=True)
    assert check.passed
