"""``whitepaper eval`` as a maintainer runs it: --json figures, the gate, the baseline file.

Runs the real extractive assistant over the small hash-embedded index (no model) with a
six-item set written from that index's document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from assistant.types import REFUSAL
from eval.dataset import EvalItem, dump_eval_set, load_eval_set
from ui.settings import Settings

pytest_plugins = ["fixtures_index"]

ITEMS: list[dict[str, Any]] = [
    {
        "id": "f-1",
        "type": "factual",
        "question": "佳士得拍卖行的人工智能画作以多少钱成交？",
        "answerable": True,
        "reference_answer": "43.25 万美元。",
        "evidence": ["人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交"],
        "key_facts": ["43.25 万美元", "2018 年"],
    },
    {
        "id": "f-2",
        "type": "factual",
        "question": "生成对抗网络由什么组成？",
        "answerable": True,
        "reference_answer": "一个生成器和一个判别器。",
        "evidence": ["生成对抗网络由一个生成器和一个判别器组成"],
        "key_facts": ["生成器", "判别器"],
    },
    {
        "id": "f-3",
        "type": "factual",
        "question": "图灵测试是哪一年提出的？",
        "answerable": True,
        "reference_answer": "1950 年。",
        "evidence": ["1950 年，艾伦·图灵在论文《计算机器与智能》中提出了著名的图灵测试"],
        "key_facts": ["1950 年", "《计算机器与智能》"],
    },
    {
        "id": "u-1",
        "type": "unanswerable",
        "question": "白皮书谈到了量子计算的纠错码吗？",
        "answerable": False,
        "reference_answer": REFUSAL["zh"],
    },
    {
        "id": "x-1",
        "type": "followup",
        "question": "它的判别器做什么？",
        "history": [
            {"role": "user", "content": "生成对抗网络由什么组成？"},
            {"role": "assistant", "content": "一个生成器和一个判别器。"},
        ],
        "answerable": True,
        "reference_answer": "寻找生成数据和真实数据的不同。",
        "evidence": ["判别器致力于不断寻找生成数据和真实数据的不同"],
        "key_facts": ["生成数据和真实数据的不同"],
    },
]


@pytest.fixture
def env(hash_home: Settings, clean_env: None) -> dict[str, str]:
    return {
        "WHITEPAPER_HOME": str(hash_home.home),
        "WHITEPAPER_EMBEDDING": "hash:64",
        "WHITEPAPER_MODE": "extractive",
    }


@pytest.fixture
def eval_set(tmp_path: Path) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text(dump_eval_set([EvalItem.model_validate(i) for i in ITEMS]), "utf-8")
    return path


def _eval(env: dict[str, str], *args: str) -> Result:
    from ui.cli import main

    return CliRunner().invoke(main, ["eval", *map(str, args)], env=env)


def _key_facts_cut(path: Path, out: Path) -> Path:
    """The set with each item's key facts cut to the first one (the issue's edited set)."""
    items = [
        item.model_copy(update={"key_facts": item.key_facts[:1]}) for item in load_eval_set(path)
    ]
    out.write_text(dump_eval_set(items), "utf-8")
    return out


def test_eval_json_prints_every_headline_figure_with_its_interval(
    env: dict[str, str], eval_set: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    result = _eval(
        env, "--set", eval_set, "--out", tmp_path / "run", "--baseline", baseline, "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "extractive" and data["conversation"] == "both"
    headline = data["headline"]
    assert {"hit@5", "key_fact_recall", "false_refusal_rate", "language_match"} <= set(headline)
    for key, figure in headline.items():
        assert isinstance(figure["value"], float), key
        assert figure["low"] <= figure["value"] <= figure["high"], key
        assert figure["n"] > 0, key
    assert headline["hit@5"]["n"] == 4
    followups = data["followups"]
    assert followups["reference"]["hit@5"]["n"] == followups["live"]["hit@5"]["n"] == 1
    assert data["gate"] is None and data["baseline"]["written"] is False
    assert not baseline.exists()
    assert Path(data["report"]).exists()

    table = _eval(env, "--set", eval_set, "--out", tmp_path / "run", "--baseline", baseline)
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].split() == ["metric", "value", "95%", "interval", "n"]
    assert "follow-ups, reference → live history (n=1)" in table.stdout


def test_gating_an_edited_set_fails_and_says_how_to_re_record(
    env: dict[str, str], eval_set: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    first = _eval(
        env, "--set", eval_set, "--out", tmp_path / "run", "--baseline", baseline,
        "--update-baseline",
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    assert "baseline 'extractive-dev' updated in" in first.output
    assert _eval(env, "--set", eval_set, "--out", tmp_path / "run", "--baseline", baseline,
                 "--gate").exit_code == 0  # fmt: skip

    edited = _key_facts_cut(eval_set, tmp_path / "edited.jsonl")
    before = baseline.read_bytes()
    result = _eval(
        env, "--set", edited, "--out", tmp_path / "edited", "--baseline", baseline, "--gate"
    )
    assert result.exit_code == 1
    (message,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert message.startswith("Error: this run is not comparable with baseline 'extractive-dev'")
    assert "eval set sha256" in message
    assert '--update-baseline --accept-regression "WHY"' in message
    # Not asked at all: the run folder was never written.
    assert not (tmp_path / "edited").exists()

    update = _eval(
        env, "--set", edited, "--out", tmp_path / "edited", "--baseline", baseline,
        "--update-baseline",
    )  # fmt: skip
    assert update.exit_code == 1
    assert baseline.read_bytes() == before

    accepted = _eval(
        env, "--set", edited, "--out", tmp_path / "edited", "--baseline", baseline,
        "--update-baseline", "--accept-regression", "key facts cut for the v2 rules",
    )  # fmt: skip
    assert accepted.exit_code == 0, accepted.output
    entry = json.loads(baseline.read_text("utf-8"))["extractive-dev"]
    assert entry["accepted_regression"]["reason"] == "key facts cut for the v2 rules"
    assert entry["set"]["path"] == str(edited)


def test_a_failing_gate_with_update_baseline_exits_non_zero_and_leaves_the_file(
    env: dict[str, str], eval_set: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    run = tmp_path / "run"
    args = ("--set", eval_set, "--out", run, "--baseline", baseline)
    assert _eval(env, *args, "--update-baseline").exit_code == 0
    # A better past: the baseline claims every item at full marks and one more item.
    data = json.loads(baseline.read_text("utf-8"))
    entry = data["extractive-dev"]
    entry["items"] = {
        item_id: {k: 0.0 if k == "false_refusal_rate" else 1.0 for k in values}
        for item_id, values in entry["items"].items()
    }
    entry["items"]["f-9"] = {"hit@5": 1.0}
    baseline.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
    before = baseline.read_bytes()

    result = _eval(env, *args, "--update-baseline", "--json")
    assert result.exit_code == 1
    assert baseline.read_bytes() == before
    verdict = json.loads(result.stdout)["gate"]
    assert verdict["passed"] is False
    assert any("the run's items are not the baseline's (1 missing: f-9" in f
               for f in verdict["failures"])  # fmt: skip
    assert "NOT updated: the gate failed" in result.stderr
    gated = _eval(env, *args, "--gate")
    assert gated.exit_code == 1
    assert "gate: FAILED" in gated.output

    assert _eval(env, *args, "--accept-regression", "x").exit_code == 2  # needs --update-baseline
    blank = _eval(env, *args, "--update-baseline", "--accept-regression", " ")
    assert blank.exit_code == 2 and "needs a reason" in blank.output
    assert baseline.read_bytes() == before


def test_gate_without_a_baseline_entry_is_a_one_line_error(
    env: dict[str, str], eval_set: Path, tmp_path: Path
) -> None:
    result = _eval(
        env, "--set", eval_set, "--out", tmp_path / "run",
        "--baseline", tmp_path / "none.json", "--gate",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "has no baseline for run 'extractive-dev'" in result.output
    missing = _eval(env, "--set", tmp_path / "nope.jsonl", "--out", tmp_path / "run")
    assert missing.exit_code == 1
    assert "Error: cannot load the eval set" in missing.output
