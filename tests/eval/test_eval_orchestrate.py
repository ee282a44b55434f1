"""Tests for eval/orchestrate.py: subset, judges, gate and baseline rules with a fake assistant."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eval_fakes import answer, citation, refusal
from eval_fakes import sentence as sent

from assistant.fakes import FakeJudge, make_passage
from assistant.types import Answer, Turn
from eval.baseline import load_baseline
from eval.dataset import load_eval_set
from eval.gate import BaselineError
from eval.orchestrate import EvalRequest, default_run_name, evaluate
from eval.runner import select_subset

DEV_SET = Path(__file__).resolve().parents[2] / "eval" / "sets" / "aigc-dev-v1.jsonl"


@dataclass
class EchoAssistant:
    """Quotes the question back as a cited answer; refuses questions with a word in ``refuse``."""

    refuse: tuple[str, ...] = ()
    judge: FakeJudge = field(default_factory=lambda: FakeJudge(name="checker", threshold=0.7))
    model: FakeJudge = field(default_factory=lambda: FakeJudge(name="local-llm", threshold=0.8))
    asked: list[str] = field(default_factory=list)

    def checker_for(self, mode: str) -> FakeJudge:
        return self.judge

    def model_judge(self) -> FakeJudge:
        return self.model

    def ask(
        self, question: str, history: Sequence[Turn] = (), *, mode: str | None = None
    ) -> Answer:
        self.asked.append(question)
        passage = make_passage(1, question)
        if any(word in question for word in self.refuse):
            return refusal("zh", [passage])
        text = f"{question}【1】"
        return answer(text, [passage], sentences=[sent(text, 1)], citations=[citation(1, 0)])


def _request(tmp_path: Path, **kwargs: object) -> EvalRequest:
    options: dict[str, object] = {
        "set_path": DEV_SET,
        "mode": "local",
        "out_dir": tmp_path / "run",
        "baseline_path": tmp_path / "baseline.json",
        "progress": False,
        "conversation": "reference",
    }
    options.update(kwargs)
    return EvalRequest(**options)  # type: ignore[arg-type]


def test_the_local_run_keeps_its_fixed_subset_and_both_judges(tmp_path: Path) -> None:
    assert default_run_name("local") == "local-calib60"
    assert default_run_name("extractive") == "extractive-dev"
    fake = EchoAssistant()
    outcome = evaluate(_request(tmp_path, update_baseline=True), lambda mode: fake)
    calib = [i for i in load_eval_set(DEV_SET) if i.split != "test"]
    expected = [i.id for i in select_subset(calib, 60)]
    assert len(expected) == 60
    assert outcome.name == "local-calib60"
    assert outcome.run.metrics["item_ids"] == expected
    assert [j["name"] for j in outcome.run.metrics["judges"]] == ["checker", "local-llm"]
    assert outcome.baseline_written and outcome.verdict is None and outcome.ok
    entry = load_baseline(tmp_path / "baseline.json")["local-calib60"]
    assert entry["subset"] == expected
    assert "citation_precision[checker]" in entry["figures"]  # gated outside extractive mode
    assert "citation_recall[checker]" not in entry["figures"]  # strict: passed by construction

    # A subset stored in the baseline wins over the default pick, and is kept on update.
    data = json.loads((tmp_path / "baseline.json").read_text("utf-8"))
    data["local-calib60"]["subset"] = expected[:5]
    (tmp_path / "baseline.json").write_text(json.dumps(data), "utf-8")
    again = evaluate(
        _request(tmp_path, out_dir=tmp_path / "five", update_baseline=True, accept_regression="5"),
        lambda mode: EchoAssistant(),
    )
    assert again.run.metrics["item_ids"] == expected[:5]
    assert load_baseline(tmp_path / "baseline.json")["local-calib60"]["subset"] == expected[:5]


def test_a_regression_fails_the_gate_and_keeps_the_baseline(tmp_path: Path) -> None:
    first = evaluate(
        _request(tmp_path, mode="extractive", name="dev", update_baseline=True),
        lambda mode: EchoAssistant(),
    )
    assert first.ok
    assert [j["name"] for j in first.run.metrics["judges"]] == ["checker"]
    before = (tmp_path / "baseline.json").read_bytes()

    # Refusing every question about AIGC: many false refusals.
    worse = EchoAssistant(refuse=("AIGC",))
    outcome = evaluate(
        _request(tmp_path, mode="extractive", name="dev", out_dir=tmp_path / "worse",
                 update_baseline=True),
        lambda mode: worse,
    )  # fmt: skip
    assert outcome.verdict is not None and not outcome.verdict.passed
    assert not outcome.ok and not outcome.baseline_written
    assert any(f.startswith("false_refusal_rate rose") for f in outcome.verdict.failures)
    assert outcome.verdict.regressions  # the flipped items are named
    assert (tmp_path / "baseline.json").read_bytes() == before
    data = outcome.to_json()
    assert data["gate"]["passed"] is False and data["baseline"]["written"] is False

    # The same run folder, gated without a baseline update: fails the same way.
    gated = evaluate(
        _request(tmp_path, mode="extractive", name="dev", out_dir=tmp_path / "worse", gate=True),
        lambda mode: worse,
    )
    assert not gated.ok


def test_a_run_unlike_its_baseline_stops_before_asking(tmp_path: Path) -> None:
    evaluate(
        _request(tmp_path, mode="extractive", name="dev", update_baseline=True, limit=3),
        lambda mode: EchoAssistant(),
    )
    fake = EchoAssistant(judge=FakeJudge(name="checker", threshold=0.5))
    with pytest.raises(BaselineError, match=r"judges checker@0.5 vs the baseline's checker@0.7"):
        evaluate(
            _request(tmp_path, mode="extractive", name="dev", gate=True, limit=3),
            lambda mode: fake,
        )
    assert fake.asked == []
    with pytest.raises(BaselineError, match="has no baseline for run 'other'"):
        evaluate(_request(tmp_path, mode="extractive", name="other", gate=True), lambda m: fake)
