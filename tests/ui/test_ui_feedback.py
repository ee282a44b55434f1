"""ui.feedback and ``whitepaper feedback export``: JSONL lines, the latest per answer, and
👎 answers turned into eval-set candidates in the eval schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.fakes import make_passage
from assistant.types import Answer, Citation, Timings, Turn
from eval.dataset import EvalItem, load_eval_set
from ui.feedback import (
    REFERENCE_PLACEHOLDER,
    FeedbackError,
    FeedbackStore,
    export_eval_candidates,
    feedback_path,
)

HISTORY = (Turn("user", "AIGC 的发展分为哪几个阶段？"), Turn("assistant", "三个阶段。【1】"))


def make_answer(question: str, text: str = "三个阶段。【1】", mode: str = "extractive") -> Answer:
    p = make_passage(1, "AIGC 的发展大致可以分为三个阶段。")
    n = len(p.text)
    c = Citation(1, "c1", p.doc_id, p.title, 0, "1", p.section_path, p.text, 0, n, 0, n, 0, 0.9)
    return Answer(question, text, (c,), (p,), question, False, mode, Timings(1.0, 2.0, 3.0), "zh")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_rating_is_one_line_with_question_history_answer_citations_mode_verdict_time(
    tmp_path: Path,
) -> None:
    store = FeedbackStore(feedback_path(tmp_path))
    store.rate("ex1", make_answer("它们分别是什么？"), HISTORY, "down", doc_id="x.pdf")
    [line] = lines(tmp_path / "feedback.jsonl")
    assert line["id"] == "ex1" and line["verdict"] == "down" and line["mode"] == "extractive"
    assert line["question"] == "它们分别是什么？" and line["answer"] == "三个阶段。【1】"
    assert line["history"] == [
        {"role": "user", "content": "AIGC 的发展分为哪几个阶段？"},
        {"role": "assistant", "content": "三个阶段。【1】"},
    ]
    assert line["citations"][0]["marker"] == 1 and line["citations"][0]["page_label"] == "1"
    assert line["time"].endswith("+00:00") and line["doc_id"] == "x.pdf"
    assert line["timings"] == {"retrieve_ms": 1.0, "first_token_ms": 2.0, "total_ms": 3.0}


def test_a_comment_appends_a_newer_line_and_readers_take_the_latest(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.jsonl")
    store.rate("ex1", make_answer("问一"), (), "up")
    store.rate("ex2", make_answer("问二"), (), "down")
    assert store.comment("ex2", "  阶段说错了  ") is not None
    store.rate("ex1", make_answer("问一"), (), "down")  # changed their mind
    assert len(lines(tmp_path / "fb.jsonl")) == 4
    latest = {r.id: r for r in store.read()}
    assert [r.id for r in store.read()] == ["ex1", "ex2"]
    assert latest["ex1"].verdict == "down" and latest["ex2"].comment == "阶段说错了"
    assert store.comment("never-rated", "x") is None


def test_a_broken_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "fb.jsonl"
    path.write_text('{"id": "a", "verdict": "up"}\nnot json\n', encoding="utf-8")
    with pytest.raises(FeedbackError, match=r"fb.jsonl:2: not a feedback line"):
        FeedbackStore(path).read()


def test_export_turns_thumbs_down_into_valid_eval_candidates(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.jsonl")
    store.rate("up1", make_answer("AIGC 是什么？"), (), "up")
    store.rate("zh1", make_answer("AIGC 面临哪些问题？"), (), "down")
    store.rate("fu1", make_answer("它们分别是什么？"), HISTORY, "down")
    store.rate("en1", make_answer("What are the stages of AIGC?"), (), "down")
    out = tmp_path / "candidates.jsonl"
    result = export_eval_candidates(store, out)
    assert (result.written, result.skipped) == (3, 0)
    items = load_eval_set(out)  # the eval set's own loader and schema
    assert [(i.id, i.type) for i in items] == [
        ("fb-zh1", "factual"),
        ("fb-fu1", "followup"),
        ("fb-en1", "crosslingual"),
    ]
    followup = items[1]
    assert followup.history[0].content == "AIGC 的发展分为哪几个阶段？"
    assert all(i.evidence == [] and i.key_facts == [] and i.answerable for i in items)
    assert all(i.reference_answer == REFERENCE_PLACEHOLDER for i in items)
    assert isinstance(items[0], EvalItem)


def test_export_refuses_to_overwrite_and_appends_only_new_ids(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.jsonl")
    store.rate("a", make_answer("问一"), (), "down")
    out = tmp_path / "c.jsonl"
    export_eval_candidates(store, out)
    with pytest.raises(FeedbackError, match="exists: pass --append"):
        export_eval_candidates(store, out)
    store.rate("b", make_answer("问二"), (), "down")
    result = export_eval_candidates(store, out, append=True)
    assert (result.written, result.skipped) == (1, 1)
    assert [line["id"] for line in lines(out)] == ["fb-a", "fb-b"]


def test_export_without_feedback_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(FeedbackError, match=r"no feedback yet: .*feedback.jsonl does not exist"):
        export_eval_candidates(FeedbackStore(feedback_path(tmp_path)), tmp_path / "c.jsonl")


# -- the CLI ----------------------------------------------------------------------------------


def test_cli_feedback_export_writes_candidates(cli: Any, tmp_path: Path) -> None:
    FeedbackStore(feedback_path(cli.home)).rate("a1", make_answer("问一"), (), "down")
    out = tmp_path / "out.jsonl"
    done = cli.invoke("feedback", "export", "--to-eval", str(out))
    assert done.exit_code == 0, done.output
    assert f"wrote 1 candidate(s) to {out}" in done.output
    assert lines(out)[0]["id"] == "fb-a1"
    again = cli.invoke("feedback", "export", "--to-eval", str(out), "--append", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) == {"written": 0, "skipped": 1, "path": str(out)}


def test_cli_feedback_export_errors_are_one_line(cli: Any, tmp_path: Path) -> None:
    done = cli.invoke("feedback", "export", "--to-eval", str(tmp_path / "out.jsonl"))
    assert done.exit_code == 1
    assert done.output.startswith("Error: no feedback yet:")
    missing = cli.invoke("feedback", "export")
    assert missing.exit_code == 2 and "--to-eval" in missing.output


def test_cli_ui_help_and_login_config_error(cli: Any) -> None:
    shown = cli.invoke("ui", "--help")
    assert shown.exit_code == 0 and "127.0.0.1" in shown.output and "--port" in shown.output
    done = cli.invoke("ui", env={"WHITEPAPER_UI_USER": "reader"})
    assert done.exit_code == 1
    assert "WHITEPAPER_UI_PASSWORD is not set" in done.output
