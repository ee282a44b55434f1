"""Tests for eval/report.py: the report and its charts are written from a run folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from eval_fakes import ScriptedAssistant, answer, citation, refusal
from eval_fakes import sentence as sent

from assistant.fakes import FakeJudge, make_passage
from assistant.types import REFUSAL, Answer
from eval.baseline import baseline_entry
from eval.dataset import EvalItem
from eval.gate import check_gate
from eval.report import BY_TYPE_PNG, LATENCY_PNG, REPORT_FILE, TREND_PNG, write_report
from eval.runner import EvalRunError, RunResult, load_run, run_eval

EVIDENCE = "人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _items() -> list[EvalItem]:
    return [
        EvalItem(
            id="f-1",
            type="factual",
            question="佳士得拍出的人工智能画作卖了多少钱？",
            answerable=True,
            reference_answer="43.25 万美元。",
            evidence=[EVIDENCE],
            key_facts=["43.25 万美元"],
        ),
        EvalItem(
            id="c-1",
            type="crosslingual",
            question="How much did the AI painting sell for at Christie's?",
            answerable=True,
            reference_answer="432,500 US dollars.",
            evidence=[EVIDENCE],
            key_facts=["43.25"],
        ),
        EvalItem(
            id="u-1",
            type="unanswerable",
            question="白皮书谈到了量子计算吗？",
            answerable=False,
            reference_answer=REFUSAL["zh"],
        ),
    ]


def _answers(miss_retrieval: bool = False) -> dict[str, Answer]:
    hit = make_passage(1, f"2018 年，{EVIDENCE}。")
    other = make_passage(1, "英伟达发布的 StyleGAN 模型可以自动生成图片。")
    return {
        "佳士得拍出的人工智能画作卖了多少钱？": answer(
            f"{EVIDENCE}【1】。",
            [other if miss_retrieval else hit],
            sentences=[sent(f"{EVIDENCE}【1】。", 1)],
            citations=[citation(1, 0)],
            total_ms=900.0,
        ),
        "How much did the AI painting sell for at Christie's?": answer(
            "It sold for 43.25 万美元 (USD 432,500) 【1】.",
            [hit],
            language="en",
            sentences=[sent("It sold for 43.25 万美元 (USD 432,500) 【1】.", 1)],
            citations=[citation(1, 0)],
            total_ms=2500.0,
        ),
        "白皮书谈到了量子计算吗？": refusal("zh", [hit]),
    }


def _run(out: Path, miss_retrieval: bool = False, items: list[EvalItem] | None = None) -> RunResult:
    return run_eval(
        ScriptedAssistant(_answers(miss_retrieval)),
        items or _items(),
        out,
        mode="extractive",
        judges=[FakeJudge(name="contain")],
        progress=False,
        resume=False,
        resamples=100,
    )


def test_report_files_exist_with_non_empty_charts(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "dev"
    _run(out)
    _run(out)  # a second run: the trend has two points
    path = write_report(out, None)
    assert path == out / REPORT_FILE
    for name in (BY_TYPE_PNG, LATENCY_PNG, TREND_PNG):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC), name
        assert len(data) > 5_000, name
    text = path.read_text("utf-8")
    assert text.startswith("# Eval report: dev\n")
    assert "| hit@5 | 100.0 |" in text
    assert "| citation_recall[contain] |" in text
    assert f"![Metrics by type]({BY_TYPE_PNG})" in text
    assert "2 comparable run(s)" in text
    assert "No baseline given." in text
    assert "## Broken invariants (0)" in text
    assert "The eval set has no calib/test split." in text
    assert "Not gated." in text
    # Refusal recall is over the one unanswerable item; F1 is shown, not gated.
    assert "| refusal_recall | 100.0 | 100.0–100.0 | 1 | — | — | yes |" in text
    assert "| refusal_f1 | 100.0 | 100.0–100.0 | 3 | — | — | no |" in text
    assert "| citation_recall[contain] | 50.0 | 0.0–100.0 | 2 | — | — | yes |" in text


def test_report_lists_items_flipped_against_the_baseline(tmp_path: Path) -> None:
    good = _run(tmp_path / "good")
    baseline = baseline_entry(good.metrics, good.scores)
    out = tmp_path / "bad"
    _run(out, miss_retrieval=True)
    text = write_report(out, baseline).read_text("utf-8")
    flipped = text.split("### Pass → fail (1)")[1].split("### Fail → pass")[0]
    assert (
        "| f-1 | factual | hit@1, hit@5, citation_recall[contain], citation_precision[contain] |"
        in (flipped)
    )
    assert "| hit@5 | 50.0 |" in text
    assert "| 100.0 | -50.0 | yes |" in text  # baseline, delta and gated columns
    misses = text.split("### Retrieval misses: no evidence in the top 5 (1)")[1]
    assert "| f-1 | factual |" in misses


def test_report_needs_a_finished_run(tmp_path: Path) -> None:
    with pytest.raises(EvalRunError):
        write_report(tmp_path, None)


def test_report_shows_splits_and_the_gate(tmp_path: Path) -> None:
    items = [
        item.model_copy(update={"split": "test" if item.id == "c-1" else "calib"})
        for item in _items()
    ]
    good = _run(tmp_path / "good", items=items)
    entry = baseline_entry(good.metrics, good.scores)
    bad = _run(tmp_path / "bad", miss_retrieval=True, items=items)
    verdict = check_gate(bad.metrics, bad.scores, entry)
    text = write_report(tmp_path / "bad", entry, verdict).read_text("utf-8")
    splits = text.split("## Calibration and test splits")[1].split("## ")[0]
    assert "| Metric | calib (95% interval, n) | test (95% interval, n) | calib − test |" in splits
    assert "| hit@5 | 0.0 (0.0–0.0, 1) | 100.0 (100.0–100.0, 1) | -100.0 |" in splits
    gate = text.split("## Gate")[1].split("## ")[0]
    # One of two items lost: within one item's worth, so the gate passes and shows why.
    assert verdict.passed and "**PASSED**" in gate
    assert "| hit@5 | 100.0 | 50.0 | +50.0 | 82.2 | 2 | ok |" in gate
    assert "| factual:hit@5 | 100.0 | 0.0 | +100.0 | 100.0 | 1 | ok |" in gate
    assert "Follow-ups were asked with the reference history only." in text


def test_sentences_the_judges_disagree_on_are_listed() -> None:
    from eval.report import judge_disagreements

    record = {
        "id": "a-1",
        "sentences": [{"text": "甲。"}, {"text": "乙。"}, {"text": "丙。"}],
        "scores": {
            "details": {
                "unsupported_sentences[checker]": [1, 2],
                "unsupported_sentences[local-llm]": [2],
            }
        },
    }
    assert judge_disagreements([record]) == [
        {"id": "a-1", "sentence": "乙。", "rejected_by": ["checker"], "accepted_by": ["local-llm"]}
    ]
    one_judge = {**record, "scores": {"details": {"unsupported_sentences[checker]": [1]}}}
    assert judge_disagreements([one_judge]) == []


def test_report_lists_what_strict_checking_removed(tmp_path: Path) -> None:
    answers = _answers()
    question = "佳士得拍出的人工智能画作卖了多少钱？"
    answers[question] = replace(
        answers[question],
        removed_sentences=("这幅画卖了 50 万美元。",),
        fallback="the model's answer was not supported by the passages; quoting them",
    )
    out = tmp_path / "run"
    run_eval(
        ScriptedAssistant(answers),
        _items(),
        out,
        mode="extractive",
        judges=[FakeJudge(name="contain")],
        progress=False,
        resume=False,
        resamples=100,
    )
    record = next(r for r in load_run(out).records if r["id"] == "f-1")
    assert record["removed_sentences"] == ["这幅画卖了 50 万美元。"]
    assert record["fallback"].startswith("the model's answer")
    text = write_report(out, None).read_text("utf-8")
    removed = text.split("## Removed by strict checking")[1].split("## ")[0]
    assert "1 sentence(s) removed from 1 answer(s); 1 of 2 answered item(s) fell back" in removed
    assert "| f-1 | factual | yes | 这幅画卖了 50 万美元。 |" in removed
