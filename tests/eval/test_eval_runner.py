"""Tests for eval/runner.py with a scripted assistant and a containment judge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eval_fakes import ScriptedAssistant, answer, citation, refusal
from eval_fakes import sentence as sent

from assistant.fakes import FakeJudge, make_passage
from assistant.types import REFUSAL, Answer, Turn
from eval.dataset import EvalItem, dump_eval_set, load_eval_set
from eval.runner import (
    HISTORY_FILE,
    LIVE_GROUP,
    MANIFEST_FILE,
    METRICS_FILE,
    RESULTS_FILE,
    EvalRunError,
    RunResult,
    filter_items,
    history_path,
    load_history,
    load_run,
    run_eval,
    select_subset,
)

EV1 = "人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交"
EV2 = "生成对抗网络由一个生成器和一个判别器组成"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _items() -> list[EvalItem]:
    raw = [
        {
            "id": "f-1",
            "type": "factual",
            "question": "佳士得拍出的人工智能画作卖了多少钱？",
            "answerable": True,
            "reference_answer": "43.25 万美元。",
            "evidence": [EV1],
            "key_facts": ["43.25 万美元"],
        },
        {
            "id": "f-2",
            "type": "factual",
            "question": "生成对抗网络由什么组成？",
            "answerable": True,
            "reference_answer": "生成器和判别器。",
            "evidence": [EV2],
            "key_facts": ["生成器", "判别器"],
        },
        {
            "id": "u-1",
            "type": "unanswerable",
            "question": "白皮书谈到了量子计算吗？",
            "answerable": False,
            "reference_answer": REFUSAL["zh"],
        },
        {
            "id": "x-1",
            "type": "followup",
            "question": "它是哪一年卖出的？",
            "history": [
                {"role": "user", "content": "佳士得拍出的人工智能画作卖了多少钱？"},
                {"role": "assistant", "content": "43.25 万美元。"},
            ],
            "answerable": True,
            "reference_answer": "2018 年。",
            "evidence": [EV1],
            "key_facts": ["2018"],
        },
    ]
    return [EvalItem.model_validate(r) for r in raw]


def _answers() -> dict[str, Answer]:
    p_sale = make_passage(1, f"2018 年，{EV1}。")
    p_gan = make_passage(2, f"{EV2}，判别器负责鉴别真假。")
    return {
        "佳士得拍出的人工智能画作卖了多少钱？": answer(
            f"{EV1}【1】。",
            [p_sale, p_gan],
            sentences=[sent(f"{EV1}【1】。", 1)],
            citations=[citation(1, 0)],
            total_ms=1200.0,
        ),
        "生成对抗网络由什么组成？": answer(
            "由生成器组成【1】。",
            [p_sale, p_gan],
            sentences=[sent("由生成器组成【1】。", 1)],
            citations=[citation(1, 0)],
            total_ms=800.0,
        ),
        "白皮书谈到了量子计算吗？": refusal("zh", [p_gan]),
        "它是哪一年卖出的？": answer(
            "2018 年【1】。",
            [p_sale],
            sentences=[sent("2018 年【1】。", 1)],
            citations=[citation(1, 0)],
            first_token_ms=None,
        ),
    }


@pytest.fixture
def set_file(tmp_path: Path) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text(dump_eval_set(_items()), encoding="utf-8")
    return path


def _run(out: Path, set_file: Path, assistant: ScriptedAssistant, **kwargs: Any) -> RunResult:
    options: dict[str, Any] = {
        "mode": "extractive",
        "judges": [FakeJudge(name="contain")],
        "progress": False,
        "set_path": set_file,
        "resamples": 200,
    }
    options.update(kwargs)
    return run_eval(assistant, load_eval_set(set_file), out, **options)


def test_run_writes_results_metrics_and_history(tmp_path: Path, set_file: Path) -> None:
    assistant = ScriptedAssistant(_answers())
    out = tmp_path / "runs" / "dev"
    result = run_eval(
        assistant,
        load_eval_set(set_file),
        out,
        mode="extractive",
        judges=[FakeJudge(name="contain")],
        progress=False,
        set_path=set_file,
        resamples=200,
    )
    assert (result.answered, result.resumed) == (4, 0)
    # The assistant got the history as assistant Turns, and the mode.
    assert assistant.calls[3] == (
        "它是哪一年卖出的？",
        (
            Turn("user", "佳士得拍出的人工智能画作卖了多少钱？"),
            Turn("assistant", "43.25 万美元。"),
        ),
        "extractive",
    )

    lines = [json.loads(x) for x in (out / RESULTS_FILE).read_text("utf-8").splitlines()]
    assert [r["id"] for r in lines] == ["f-1", "f-2", "u-1", "x-1"]
    first = lines[0]
    assert first["answer"] == f"{EV1}【1】。"
    assert first["passages"][0]["text"] == f"2018 年，{EV1}。"
    assert first["passages"][0]["chunk_ids"] == ["c1"]
    assert first["citations"][0] == {
        "marker": 1,
        "chunk_id": "c1",
        "page": "1",
        "page_index": 0,
        "section": "一、AIGC",
        "quote": "quote",
        "sentence_index": 0,
        "support": 1.0,
    }
    assert first["standalone_question"] == "q"
    assert first["timings"]["total_ms"] == 1200.0
    assert first["scores"]["metrics"]["citation_recall[contain]"] == 1.0
    assert lines[1]["scores"]["metrics"]["hit@1"] == 0.0
    assert lines[1]["scores"]["metrics"]["key_fact_recall"] == 0.5
    assert lines[1]["scores"]["metrics"]["citation_precision[contain]"] == 0.0
    assert lines[2]["refused"] is True
    assert lines[3]["history"][0] == {
        "role": "user",
        "content": "佳士得拍出的人工智能画作卖了多少钱？",
    }

    metrics = json.loads((out / METRICS_FILE).read_text("utf-8"))
    assert metrics == result.metrics
    overall = metrics["metrics"]["overall"]
    assert overall["hit@1"] == {
        "value": pytest.approx(2 / 3),
        "low": pytest.approx(0.0),
        "high": 1.0,
        "n": 3,
    }
    assert overall["key_fact_recall"]["value"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert overall["refusal_f1"]["value"] == 1.0
    assert overall["citation_recall[contain]"]["judge"] == "contain"
    assert overall["citation_recall[contain]"]["value"] == pytest.approx(2 / 3)
    assert metrics["metrics"]["unanswerable"]["refusal_recall"]["value"] == 1.0
    assert list(metrics["metrics"]) == ["overall", "factual", "unanswerable", "followup"]
    assert metrics["mode"] == "extractive"
    assert metrics["answer_modes"] == {"fake": 4}
    assert metrics["judges"] == [{"name": "contain", "threshold": 0.5}]
    assert metrics["set"]["path"] == str(set_file)
    assert len(metrics["set"]["sha256"]) == 64
    assert metrics["item_ids"] == ["f-1", "f-2", "u-1", "x-1"]
    assert metrics["latency_ms"]["first_token_ms"]["n"] == 3
    assert metrics["latency_ms"]["total_ms"]["max"] == 1200.0
    assert metrics["violations"] == {}
    assert "commit" in metrics["git"] and metrics["timestamp"]
    assert "citation_precision[contain]" in metrics["headline"]

    assert history_path(out) == (tmp_path / "runs" / HISTORY_FILE).resolve()
    (entry,) = load_history(out)
    assert entry["name"] == "dev"
    assert entry["headline"]["refusal_f1"] == 1.0
    assert entry["n_items"] == 4


def test_resume_answers_only_the_missing_items(tmp_path: Path, set_file: Path) -> None:
    out = tmp_path / "run"
    crashing = ScriptedAssistant(_answers(), fail_after=2)
    with pytest.raises(RuntimeError, match="scripted crash"):
        _run(out, set_file, crashing)
    assert len((out / RESULTS_FILE).read_text("utf-8").splitlines()) == 2
    assert not (out / METRICS_FILE).exists()

    second = ScriptedAssistant(_answers())
    result = _run(out, set_file, second)
    assert [c[0] for c in second.calls] == ["白皮书谈到了量子计算吗？", "它是哪一年卖出的？"]
    assert (result.answered, result.resumed) == (2, 2)
    assert [s.id for s in result.scores] == ["f-1", "f-2", "u-1", "x-1"]
    assert len(load_history(out)) == 1

    # Nothing left to do: no new answers, no new history line.
    third = ScriptedAssistant(_answers())
    _run(out, set_file, third)
    assert third.calls == []
    assert len(load_history(out)) == 1


def test_resume_drops_a_torn_last_line(tmp_path: Path, set_file: Path) -> None:
    out = tmp_path / "run"
    _run(out, set_file, ScriptedAssistant(_answers()), limit=2)
    with (out / RESULTS_FILE).open("a", encoding="utf-8") as fh:
        fh.write('{"id": "u-1", "ty')
    again = ScriptedAssistant(_answers())
    result = _run(out, set_file, again)
    assert len(again.calls) == 2
    assert len(result.records) == 4
    assert len((out / RESULTS_FILE).read_text("utf-8").splitlines()) == 4


def test_resume_refuses_another_run_and_no_resume_starts_over(
    tmp_path: Path, set_file: Path
) -> None:
    out = tmp_path / "run"
    _run(out, set_file, ScriptedAssistant(_answers()))
    with pytest.raises(EvalRunError, match="mode"):
        _run(out, set_file, ScriptedAssistant(_answers()), mode="local")
    with pytest.raises(EvalRunError, match="judges"):
        _run(out, set_file, ScriptedAssistant(_answers()), judges=[])
    fresh = ScriptedAssistant(_answers())
    result = _run(out, set_file, fresh, mode="local", resume=False)
    assert len(fresh.calls) == 4
    assert result.metrics["mode"] == "local"
    assert json.loads((out / MANIFEST_FILE).read_text("utf-8"))["mode"] == "local"


def test_limit_and_resume_with_a_larger_limit(tmp_path: Path, set_file: Path) -> None:
    out = tmp_path / "run"
    first = _run(out, set_file, ScriptedAssistant(_answers()), limit=1)
    assert first.metrics["item_ids"] == ["f-1"]
    more = ScriptedAssistant(_answers())
    second = _run(out, set_file, more, limit=3)
    assert len(more.calls) == 2
    assert second.metrics["n_items"] == 3
    with pytest.raises(EvalRunError, match="limit"):
        _run(out, set_file, ScriptedAssistant(_answers()), limit=-1)


def test_load_run_reads_a_finished_run(tmp_path: Path, set_file: Path) -> None:
    out = tmp_path / "run"
    done = _run(out, set_file, ScriptedAssistant(_answers()))
    loaded = load_run(out)
    assert loaded.metrics == done.metrics
    assert loaded.scores == done.scores
    with pytest.raises(EvalRunError, match="no finished eval run"):
        load_run(tmp_path / "nothing")


def test_violations_are_recorded(tmp_path: Path, set_file: Path) -> None:
    answers = _answers()
    answers["生成对抗网络由什么组成？"] = answer(
        "由生成器组成【5】。",
        [make_passage(1, "x")],
        citations=[citation(5, 0, chunk_id="elsewhere")],
    )
    result = _run(tmp_path / "run", set_file, ScriptedAssistant(answers))
    assert list(result.violations) == ["f-2"]
    assert result.metrics["violations"]["f-2"][0] == "answer text shows marker 【5】 outside 1..1"


def test_select_subset_is_fixed_and_stratified() -> None:
    items = load_eval_set(REPO_ROOT / "eval" / "sets" / "aigc-dev-v1.jsonl")
    subset = select_subset(items, 20)
    assert [i.id for i in subset] == [i.id for i in select_subset(items, 20)]
    assert len(subset) == 20
    assert {i.type for i in subset} == {
        "factual",
        "multihop",
        "crosslingual",
        "unanswerable",
        "followup",
    }
    assert all(sum(i.type == t for i in subset) == 4 for t in {i.type for i in subset})
    assert [i.id for i in filter_items(items, [subset[1].id, subset[0].id])] == [
        subset[0].id,
        subset[1].id,
    ]
    with pytest.raises(EvalRunError, match="not in the eval set"):
        filter_items(items, ["nope"])


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    items = _items()
    with pytest.raises(EvalRunError, match="duplicate"):
        run_eval(
            ScriptedAssistant(_answers()), [items[0], items[0]], tmp_path, mode=None, progress=False
        )


def _live_answers() -> dict[str, Answer]:
    """The first question now misses its key fact; the follow-up, asked after it, too."""
    answers = _answers()
    answers["佳士得拍出的人工智能画作卖了多少钱？"] = answer(
        "一幅画作在佳士得拍卖行成交【1】。",
        [make_passage(1, f"2018 年，{EV1}。")],
        sentences=[sent("一幅画作在佳士得拍卖行成交【1】。", 1)],
        citations=[citation(1, 0)],
    )
    return answers


class _ByHistory(ScriptedAssistant):
    """Answers the follow-up well only when the history holds the reference answer."""

    def ask(self, question: str, history: Any = (), *, mode: str | None = None) -> Answer:
        got = super().ask(question, history, mode=mode)
        if question == "它是哪一年卖出的？" and "43.25" not in history[-1].content:
            return answer("不清楚。", [], sentences=[sent("不清楚。")])
        return got


def test_follow_ups_asked_live_use_the_assistants_own_answers(
    tmp_path: Path, set_file: Path
) -> None:
    assistant = _ByHistory(_live_answers())
    result = _run(tmp_path / "run", set_file, assistant, conversation="live")
    # x-1: its history's user turn first, then the question with the assistant's answer.
    assert assistant.calls[3:] == [
        ("佳士得拍出的人工智能画作卖了多少钱？", (), "extractive"),
        (
            "它是哪一年卖出的？",
            (
                Turn("user", "佳士得拍出的人工智能画作卖了多少钱？"),
                Turn("assistant", "一幅画作在佳士得拍卖行成交【1】。"),
            ),
            "extractive",
        ),
    ]
    record = result.records[3]
    assert record["conversation"] == "live"
    assert record["live_history"][1]["content"] == "一幅画作在佳士得拍卖行成交【1】。"
    assert record["scores"]["metrics"]["key_fact_recall"] == 0.0
    assert LIVE_GROUP not in result.metrics["metrics"]
    assert result.metrics["conversation"] == "live"


def test_both_conversations_are_scored_and_reported(tmp_path: Path, set_file: Path) -> None:
    assistant = _ByHistory(_live_answers())
    result = _run(tmp_path / "run", set_file, assistant, conversation="both")
    assert len(assistant.calls) == 6  # 4 items + the follow-up's earlier turn and itself again
    record = result.records[3]
    assert record["conversation"] == "reference"
    assert record["answer"] == "2018 年【1】。"
    assert record["live"]["answer"] == "不清楚。"
    assert record["live"]["live_history"][0]["content"] == "佳士得拍出的人工智能画作卖了多少钱？"
    table = result.metrics["metrics"]
    assert table["followup"]["key_fact_recall"]["value"] == 1.0
    assert table[LIVE_GROUP]["key_fact_recall"]["value"] == 0.0
    assert table[LIVE_GROUP]["key_fact_recall"]["n"] == 1
    assert [s.id for s in result.live_scores] == ["x-1"]
    assert load_run(tmp_path / "run").live_scores == result.live_scores
    # Another conversation is another run: no resuming over it.
    with pytest.raises(EvalRunError, match="conversation"):
        _run(tmp_path / "run", set_file, ScriptedAssistant(_answers()), conversation="live")
    with pytest.raises(EvalRunError, match="conversation must be one of"):
        _run(tmp_path / "other", set_file, ScriptedAssistant(_answers()), conversation="nope")


def test_figures_per_split_and_the_calib_test_gap(tmp_path: Path, set_file: Path) -> None:
    items = [
        item.model_copy(update={"split": "calib" if item.id in {"f-1", "u-1"} else "test"})
        for item in _items()
    ]
    path = tmp_path / "split.jsonl"
    path.write_text(dump_eval_set(items), encoding="utf-8")
    result = _run(tmp_path / "run", path, ScriptedAssistant(_answers()))
    assert [r["split"] for r in result.records] == ["calib", "test", "calib", "test"]
    splits = result.metrics["splits"]
    assert splits["calib"]["key_fact_recall"]["value"] == 1.0
    assert splits["test"]["key_fact_recall"]["value"] == pytest.approx(0.75)  # f-2 0.5, x-1 1
    assert splits["test"]["hit@5"]["n"] == 2
    assert result.metrics["split_gap"]["key_fact_recall"] == pytest.approx(0.25)
    assert result.metrics["split_gap"]["refusal_recall"] is None  # no unanswerable test item
    # Without splits: no split figures.
    plain = _run(tmp_path / "plain", set_file, ScriptedAssistant(_answers()))
    assert plain.metrics["splits"] == {}
    assert plain.metrics["split_gap"] == {}
