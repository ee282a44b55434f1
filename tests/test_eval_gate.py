"""Tests for eval/gate.py: the regression gate and the baseline file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from eval.gate import (
    BaselineError,
    baseline_entry,
    check_gate,
    compare_flags,
    item_flags,
    load_baseline,
    require_entry,
    subset_ids,
    update_baseline,
)
from eval.metrics import ItemScores, aggregate, headline_keys

GOOD = {"hit@1": 1.0, "hit@5": 1.0, "mrr@10": 1.0, "key_fact_recall": 1.0}


def _scores() -> list[ItemScores]:
    """18 perfect answerable items and 2 correctly refused unanswerable ones."""
    answerable = [
        ItemScores(f"a-{i:02d}", "factual", {**GOOD, "refusal_correct": 1.0}, False, False)
        for i in range(18)
    ]
    refused = [
        ItemScores(f"u-{i}", "unanswerable", {"refusal_correct": 1.0}, True, True) for i in range(2)
    ]
    return answerable + refused


def _metrics(scores: list[ItemScores]) -> dict[str, Any]:
    table = aggregate(scores, resamples=50)
    return {
        "mode": "extractive",
        "set": {"path": "set.jsonl", "sha256": "abc"},
        "judges": [],
        "git": {"commit": "deadbeef"},
        "headline": headline_keys([]),
        "metrics": {g: {k: e.to_json() for k, e in t.items()} for g, t in table.items()},
    }


def _break_retrieval(scores: list[ItemScores], *ids: str) -> list[ItemScores]:
    worse = {**GOOD, "hit@1": 0.0, "hit@5": 0.0, "mrr@10": 0.0, "refusal_correct": 1.0}
    return [replace(s, metrics=worse) if s.id in ids else s for s in scores]


def test_gate_passes_on_equal_metrics() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    result = check_gate(_metrics(scores), scores, entry)
    assert result.passed, result.summary()
    assert result.failures == ()
    assert result.regressions == {}
    assert {c.key for c in result.checks} == {"hit@5", "mrr@10", "key_fact_recall", "refusal_f1"}


def test_gate_fails_and_lists_the_item_that_broke() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    broken = _break_retrieval(scores, "a-03")
    broken[3] = replace(broken[3], violations=("citation 【4】 outside 1..3",))
    result = check_gate(_metrics(broken), broken, entry)
    assert not result.passed
    assert result.failures == ("invariant broken in a-03: citation 【4】 outside 1..3",)
    assert result.regressions == {"a-03": ("hit@1", "hit@5")}
    assert "a-03: hit@1, hit@5" in result.summary()


def test_one_item_worth_of_drop_is_tolerated_two_are_not() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    # 18 answerable items: one flip costs 1/18 = 5.6 points, within max(2, 100/18) points.
    one = _break_retrieval(scores, "a-01")
    result = check_gate(_metrics(one), one, entry)
    assert result.passed, result.summary()
    assert result.regressions == {"a-01": ("hit@1", "hit@5")}
    two = _break_retrieval(scores, "a-01", "a-02")
    result = check_gate(_metrics(two), two, entry)
    assert not result.passed
    assert any(f.startswith("hit@5 fell from 100.0% to 88.9%") for f in result.failures)
    assert any(f.startswith("mrr@10 fell") for f in result.failures)
    assert set(result.regressions) == {"a-01", "a-02"}


def test_a_missed_refusal_fails_through_refusal_f1() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    missed = [
        replace(s, refused=False, metrics={"refusal_correct": 0.0}) if s.id == "u-1" else s
        for s in scores
    ]
    result = check_gate(_metrics(missed), missed, entry)
    assert not result.passed
    assert result.failures == (
        "refusal_f1 fell from 100.0% to 66.7% (more than the 5.0-point tolerance)",
    )
    assert result.regressions == {"u-1": ("refusal_correct",)}


def test_gate_fails_on_another_item_set_or_a_missing_metric() -> None:
    scores = _scores()
    entry = baseline_entry(_metrics(scores), scores)
    fewer = scores[1:]
    result = check_gate(_metrics(fewer), fewer, entry)
    assert not result.passed
    assert "1 missing: a-00" in result.failures[0]
    judged_entry = {
        **entry,
        "metrics": {**entry["metrics"], "citation_recall[llm]": {"value": 0.8, "n": 18}},
    }
    result = check_gate(_metrics(scores), scores, judged_entry)
    assert result.failures == ("citation_recall[llm] is missing from the run (baseline 80.0%)",)


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
    assert entry["metrics"]["hit@5"] == {"value": 1.0, "n": 18}
    assert entry["items"]["u-1"] == {"refusal_correct": True}
    assert entry["git_commit"] == "deadbeef"
    assert check_gate(metrics, scores, entry).passed
    assert json.loads(path.read_text("utf-8")) == baseline
    assert require_entry(baseline, "extractive-dev", path) == entry
    with pytest.raises(BaselineError, match=r"no baseline for run 'local-dev'.*--update-baseline"):
        require_entry(baseline, "local-dev", path)


def test_a_broken_baseline_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text("{oops", "utf-8")
    with pytest.raises(BaselineError, match="not valid JSON"):
        load_baseline(path)
    path.write_text("[]", "utf-8")
    with pytest.raises(BaselineError, match="keyed by run name"):
        load_baseline(path)
