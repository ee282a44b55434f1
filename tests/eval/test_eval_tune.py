"""The calib sweep (eval/tune.py): grids, the selection rule, the split guard, the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eval_fakes import ScriptedAssistant, answer

from assistant.fakes import make_passage
from assistant.followup import DEFAULT_RULES
from assistant.types import Answer, Turn
from eval.dataset import EvalItem, dump_eval_set
from eval.runner import LIVE_GROUP
from eval.tune import (
    Candidate,
    CandidateResult,
    SweepError,
    choose,
    chunk_grid,
    followup_grid,
    fusion_grid,
    grid,
    run_sweep,
)
from ui.settings import Settings

pytest_plugins = ["fixtures_index"]

EV_SALE = "人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交"
EV_GAN = "生成对抗网络由一个生成器和一个判别器组成"
EV_TURING = "1950 年，艾伦·图灵在论文《计算机器与智能》中提出了著名的图灵测试"


def _item(item_id: str, question: str, evidence: str, fact: str, split: str, **extra: Any) -> Any:
    return EvalItem.model_validate(
        {
            "id": item_id,
            "type": "followup" if "history" in extra else "factual",
            "question": question,
            "answerable": True,
            "reference_answer": f"{fact}。",
            "evidence": [evidence],
            "key_facts": [fact],
            "split": split,
            **extra,
        }
    )


ITEMS = [
    _item("c-1", "佳士得拍出的画作卖了多少钱？", EV_SALE, "43.25 万美元", "calib"),
    _item("c-2", "生成对抗网络由什么组成？", EV_GAN, "判别器", "calib"),
    _item(
        "c-3",
        "它的另一部分是什么？",
        EV_GAN,
        "生成器",
        "calib",
        history=[
            {"role": "user", "content": "生成对抗网络由什么组成？"},
            {"role": "assistant", "content": "一个生成器和一个判别器。"},
        ],
    ),
    _item("t-1", "图灵测试是哪一年提出的？", EV_TURING, "1950 年", "test"),
]


class RankedAssistant(ScriptedAssistant):
    """Puts the evidence passage at ``rank`` (1-based) behind filler passages."""

    def __init__(self, rank: int, rewrite: str = "") -> None:
        super().__init__({})
        self.rank = rank
        self.rewrite = rewrite

    def ask(
        self, question: str, history: Sequence[Turn] = (), *, mode: str | None = None
    ) -> Answer:
        self.calls.append((question, tuple(history), mode))
        item = next(i for i in ITEMS if i.question == question)
        filler = [make_passage(n, f"无关的段落{n}。") for n in range(1, self.rank)]
        evidence = make_passage(self.rank, f"{item.evidence[0]}。")
        found = answer(f"{item.key_facts[0]}。", [*filler, evidence], question=question)
        return replace(found, standalone_question=question + self.rewrite)


class Builds:
    """A builder: each candidate gets an assistant ranking the evidence as ``ranks`` says."""

    def __init__(self, ranks: dict[str, int], rewrites: dict[str, str] | None = None) -> None:
        self.ranks = ranks
        self.rewrites = rewrites or {}
        self.built: list[str] = []
        self.assistants: dict[str, RankedAssistant] = {}

    def __call__(self, candidate: Candidate) -> RankedAssistant:
        self.built.append(candidate.label)
        label = candidate.label
        assistant = RankedAssistant(self.ranks.get(label, 2), self.rewrites.get(label, ""))
        self.assistants[candidate.label] = assistant
        return assistant


def _asked(builds: Builds) -> set[str]:
    return {q for a in builds.assistants.values() for q, _, _ in a.calls}


GRID = [Candidate("default"), Candidate("better", {"rrf_k": 10}), Candidate("same", {"rrf_k": 9})]


def test_a_sweep_asks_only_calib_items_and_reports_each_candidate(tmp_path: Path) -> None:
    builds = Builds({"default": 2, "better": 1, "same": 2})
    sweep = run_sweep("fusion", ITEMS, "calib", builds, tmp_path, candidates=GRID)

    assert builds.built == ["default", "better", "same"]
    assert ITEMS[3].question not in _asked(builds)
    assert sweep.items == 3
    values = {r.candidate.label: r.value() for r in sweep.results}
    assert values == {"default": 0.5, "better": 1.0, "same": 0.5}
    default = sweep.results[0].figures["overall"]
    assert set(default) == {"hit@5", "mrr@10", "key_fact_recall"}
    assert default["key_fact_recall"]["value"] == 1.0
    assert default["mrr@10"]["n"] == 3
    # Every item gains the same: the interval is a point, so the gain clears it.
    assert sweep.chosen == "better"
    assert "better" in sweep.table() and "<- chosen" in sweep.table()
    assert json.loads(json.dumps(sweep.to_json()))["chosen"] == "better"


def test_the_test_split_runs_only_the_default_and_chooses_nothing(tmp_path: Path) -> None:
    builds = Builds({"default": 2, "better": 1})
    sweep = run_sweep("fusion", ITEMS, "test", builds, tmp_path, candidates=GRID)

    assert builds.built == ["default"]
    assert _asked(builds) == {ITEMS[3].question}
    assert sweep.chosen == "default"


def test_the_followup_sweep_asks_follow_ups_both_ways(tmp_path: Path) -> None:
    builds = Builds({"default": 1}, rewrites={"longer": "（上文：生成对抗网络）"})
    grid_ = [Candidate("default", rules=DEFAULT_RULES), Candidate("longer"), Candidate("same")]
    sweep = run_sweep("followup", ITEMS, "calib", builds, tmp_path, candidates=grid_)

    assert sweep.items == 1
    assert [r.rewrites_changed for r in sweep.results] == [0, 1, 0]
    assert "rewrites changed: 1" in sweep.table()
    calls = builds.assistants["default"].calls
    # With the set's history, then live: the history's question, then the follow-up.
    assert [q for q, _, _ in calls] == [
        ITEMS[2].question,
        "生成对抗网络由什么组成？",
        ITEMS[2].question,
    ]
    assert set(sweep.results[0].figures) == {"overall", LIVE_GROUP}


def test_a_split_without_items_is_one_clear_error(tmp_path: Path) -> None:
    no_followups = [i for i in ITEMS if not i.history]
    with pytest.raises(SweepError, match="no follow-up items with split 'calib'"):
        run_sweep("followup", no_followups, "calib", Builds({}), tmp_path)
    with pytest.raises(SweepError, match="unknown sweep"):
        grid("weights", Settings())


def _result(label: str, value: float, low: float, high: float) -> CandidateResult:
    fig = {"value": value, "low": low, "high": high, "n": 100}
    return CandidateResult(Candidate(label), {"overall": {"mrr@10": fig}})


def test_the_rule_keeps_the_default_unless_the_gain_clears_the_half_width() -> None:
    base = _result("default", 0.80, 0.75, 0.85)
    small = _result("x", 0.84, 0.79, 0.89)  # gains 0.04, half-width 0.05
    large = _result("y", 0.87, 0.83, 0.91)  # gains 0.07, half-width 0.04
    tie = _result("z", 0.80, 0.80, 0.80)
    assert choose([base, small]) == "default"
    assert choose([base, tie]) == "default"
    assert choose([base, small, large]) == "y"
    assert choose([_result("default", 0.9, 0.8, 1.0), large]) == "default"


def test_the_grids_start_with_the_default_and_change_one_thing_each() -> None:
    s = Settings()
    for candidates in (fusion_grid(s), chunk_grid(s), followup_grid()):
        labels = [c.label for c in candidates]
        assert labels[0] == "default" and len(set(labels)) == len(labels)
    assert all(len(c.settings) in (1, 2) for c in fusion_grid(s)[1:])
    chunks = {c.settings["chunk_target"]: c.settings["chunk_max"] for c in chunk_grid(s)[1:]}
    proportion = s.chunk_max / s.chunk_target
    assert s.chunk_target not in chunks
    assert all(abs(m - t * proportion) <= 5 for t, m in chunks.items())
    rules = [c.rules for c in followup_grid()]
    assert rules[0] == DEFAULT_RULES and DEFAULT_RULES not in rules[1:]
    assert len(set(rules)) == len(rules)


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def env(hash_home: Settings, clean_env: None) -> dict[str, str]:
    return {
        "WHITEPAPER_HOME": str(hash_home.home),
        "WHITEPAPER_EMBEDDING": "hash:64",
        "WHITEPAPER_MODE": "extractive",
    }


def test_cli_sweeps_the_real_retrieval_of_a_small_index(
    env: dict[str, str], tmp_path: Path
) -> None:
    from ui.cli import main

    path = tmp_path / "set.jsonl"
    path.write_text(dump_eval_set(ITEMS), "utf-8")
    result = CliRunner().invoke(
        main,
        ["eval-tune", "--what", "followup", "--set", str(path), "--out", str(tmp_path), "--json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["what"] == "followup" and data["items"] == 1
    assert [c["label"] for c in data["candidates"]] == [c.label for c in followup_grid()]
    assert data["chosen"] in {c["label"] for c in data["candidates"]}


def test_cli_says_in_one_line_when_the_set_cannot_be_read(
    env: dict[str, str], tmp_path: Path
) -> None:
    from ui.cli import main

    result = CliRunner().invoke(
        main, ["eval-tune", "--what", "fusion", "--set", str(tmp_path / "none.jsonl")], env=env
    )
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: cannot load the eval set")
    assert len(result.output.strip().splitlines()) == 1
