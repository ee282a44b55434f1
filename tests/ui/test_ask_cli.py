"""``whitepaper ask`` as a user runs it: the --json shape, --history, and one-line errors.

Runs over the small hash-embedded index (no model); the real e5 answers are in
``test_assistant_real.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ui.settings import Settings

pytest_plugins = ["fixtures_index"]

QUESTION = "生成对抗网络由什么组成？"
ANSWER_KEYS = [
    "question", "standalone_question", "text", "refused", "mode", "language", "citations",
    "sentences", "passages", "nearest_sections", "timings", "notice", "removed_unsupported",
    "removed_sentences", "fallback", "sufficiency_margin",
]  # fmt: skip
CITATION_KEYS = {
    "marker", "chunk_id", "doc_id", "title", "page_index", "page_label", "section_path",
    "section", "quote", "quote_start", "quote_end", "doc_start", "doc_end", "sentence_index",
    "support",
}  # fmt: skip
PASSAGE_KEYS = {
    "number", "chunk_ids", "doc_id", "title", "content_hash", "text", "start", "end",
    "page_labels", "page_indices", "section_path", "score", "dense_similarity", "chunk_offsets",
    "chunk_starts", "page_spans",
}  # fmt: skip


@dataclass
class AskCli:
    env: dict[str, str]

    def invoke(self, *args: str) -> Result:
        """The click command in this process."""
        from ui.cli import main

        return CliRunner().invoke(main, list(args), env=self.env)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The installed console script in a subprocess."""
        exe = Path(sys.executable).parent / "whitepaper"
        return subprocess.run(
            [str(exe), *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def json(self, *args: str) -> Any:
        result = self.invoke("ask", *args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def cli(hash_home: Settings, clean_env: None) -> AskCli:
    return AskCli(
        {
            "WHITEPAPER_HOME": str(hash_home.home),
            "WHITEPAPER_EMBEDDING": "hash:64",
            "WHITEPAPER_MODE": "extractive",
        }
    )


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.fixture
def history_file(tmp_path: Path) -> Callable[[Any], Path]:
    def write(content: Any) -> Path:
        path = tmp_path / "turns.json"
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


# -- --json ----------------------------------------------------------------------------------


def test_ask_json_has_the_documented_shape(cli: AskCli) -> None:
    done = cli.run("ask", QUESTION, "--json")  # the real console script
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert list(data) == ANSWER_KEYS
    assert data["question"] == data["standalone_question"] == QUESTION
    assert data["refused"] is False and data["mode"] == "extractive" and data["language"] == "zh"
    assert data["text"].startswith("根据白皮书：\n")
    assert "生成对抗网络由一个生成器和一个判别器组成。" in data["text"]

    passages = data["passages"]
    assert [p["number"] for p in passages] == list(range(1, len(passages) + 1))
    assert all(set(p) == PASSAGE_KEYS and p["text"] for p in passages)
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True), "passages are in rank order"

    assert data["citations"], "an extractive answer cites"
    for c in data["citations"]:
        assert set(c) == CITATION_KEYS
        passage = passages[c["marker"] - 1]
        assert c["chunk_id"] in passage["chunk_ids"]
        assert c["quote"] in passage["text"]
        page = passage["page_indices"].index(c["page_index"])
        assert c["page_label"] == passage["page_labels"][page]
        page_start, page_end = passage["page_spans"][page]
        assert c["doc_start"] - page_start == c["quote_start"] < page_end - page_start
        assert c["quote_end"] - c["quote_start"] == len(c["quote"])
        assert c["section"] == " › ".join(c["section_path"])
        assert f"【{c['marker']}】" in data["text"]
    for s in data["sentences"]:
        assert set(s) == {"text", "markers", "supported", "support", "computed"}
    assert isinstance(data["nearest_sections"], list) and data["nearest_sections"]
    assert set(data["timings"]) == {"retrieve_ms", "first_token_ms", "total_ms"}
    assert data["timings"]["total_ms"] >= data["timings"]["retrieve_ms"] >= 0


def test_ask_options_reach_the_assistant(cli: AskCli) -> None:
    data = cli.json(QUESTION, "--top-k", "1", "--strict", "--mode", "extractive")
    assert len(data["passages"]) == 1
    assert all(s["supported"] for s in data["sentences"])


def test_a_refusal_in_json(cli: AskCli) -> None:
    data = cli.json("ChatGPT 的参数量是多少？")
    assert data["refused"] is True and data["citations"] == []
    assert data["text"].startswith("白皮书中没有找到与该问题相关的内容。")


def test_the_human_output_shows_text_citations_and_timings(cli: AskCli) -> None:
    result = cli.invoke("ask", QUESTION)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("根据白皮书：\n")
    assert "【1】 AIGC 测试文档 p.2 · AIGC 测试文档 › 二、技术体系" in out
    assert "“生成对抗网络由一个生成器和一个判别器组成。”" in out
    assert "[extractive] retrieve" in out and "total" in out


def test_the_human_output_lists_removed_sentences(capsys: pytest.CaptureFixture[str]) -> None:
    from ui.commands.ask import _print_answer

    shown = SimpleNamespace(
        text="白皮书中没有找到与该问题相关的内容。",
        question=QUESTION,
        standalone_question=QUESTION,
        sentences=(),
        citations=(),
        removed_sentences=("模型有 10 亿个参数。",),
        mode="local",
        timings=SimpleNamespace(retrieve_ms=1.0, first_token_ms=None, total_ms=2.0),
    )
    _print_answer(shown)
    out = capsys.readouterr().out
    assert "✗ removed, not supported by the passages: 模型有 10 亿个参数。" in out


def test_the_streamed_text_is_followed_by_a_note_when_it_is_not_the_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ui.commands.ask import _echo_status

    _echo_status("checking")  # nothing to say: the checked answer follows at once
    assert capsys.readouterr().out == ""
    _echo_status("quoting")
    _echo_status("translating")
    out = capsys.readouterr().out
    assert out == (
        "\n(the model's answer did not hold up; quoting the passages…)"
        "\n(translating the quoted passages…)"
    )


# -- --history -------------------------------------------------------------------------------


def test_history_file_makes_a_follow_up_standalone(
    cli: AskCli, history_file: Callable[[Any], Path]
) -> None:
    path = history_file(
        [
            {"role": "user", "content": "生成对抗网络由哪几部分组成？"},
            {"role": "assistant", "content": "由一个生成器和一个判别器组成。"},
        ]
    )
    data = cli.json("它有什么作用？", "--history", str(path))
    assert data["question"] == "它有什么作用？"
    assert (
        data["standalone_question"]
        == "它有什么作用？（上文：生成对抗网络由部分组成；由一个生成器和一个判别器组成。）"
    )
    human = cli.invoke("ask", "它有什么作用？", "--history", str(path))
    assert (
        "(searched as: 它有什么作用？（上文：生成对抗网络由部分组成；由一个生成器和一个判别器组成。）)"
        in human.stdout
    )


def test_an_empty_history_list_is_fine(cli: AskCli, history_file: Callable[[Any], Path]) -> None:
    data = cli.json(QUESTION, "--history", str(history_file([])))
    assert data["standalone_question"] == QUESTION


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read the history file"),
        ('{"role": "user", "content": "hi"}', "the history must be a JSON list of"),
        ('[{"role": "system", "content": "hi"}]', "the history must be a JSON list of"),
        ('[{"role": "user"}]', "the history must be a JSON list of"),
        ('[{"role": "user", "content": 3}]', "the history must be a JSON list of"),
        ('["hello"]', "the history must be a JSON list of"),
    ],
)
def test_a_malformed_history_file_is_a_one_line_error(
    cli: AskCli, history_file: Callable[[Any], Path], content: str, message: str
) -> None:
    result = cli.invoke("ask", QUESTION, "--history", str(history_file(content)))
    assert result.exit_code == 1
    line = one_line_error(result.stderr)
    assert message in line and '{"role": "user"|"assistant", "content": "..."}' in line


def test_a_missing_history_file_is_a_one_line_error(cli: AskCli, tmp_path: Path) -> None:
    result = cli.invoke("ask", QUESTION, "--history", str(tmp_path / "nope.json"))
    assert result.exit_code == 1
    assert "cannot read the history file" in one_line_error(result.stderr)


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "the question is empty"),
        ("   ", "the question is empty"),
        ("？？？", "no words"),
        ("问" * 20_000, "the limit is 1,000"),
    ],
)
def test_a_bad_question_is_a_one_line_error(cli: AskCli, question: str, message: str) -> None:
    result = cli.invoke("ask", question)
    assert result.exit_code == 1
    assert message in one_line_error(result.stderr)
    assert result.stdout == ""


def test_an_empty_question_fails_in_the_console_script_too(cli: AskCli) -> None:
    done = cli.run("ask", "", "--json")
    assert done.returncode == 1 and done.stdout == ""
    assert "the question is empty" in one_line_error(done.stderr)


def test_no_index_is_a_one_line_error(cli: AskCli, tmp_path: Path) -> None:
    cli.env["WHITEPAPER_HOME"] = str(tmp_path / "empty")
    result = cli.invoke("ask", QUESTION)
    assert result.exit_code == 1
    assert "run `whitepaper ingest` first" in one_line_error(result.stderr)


def test_an_unconfigured_mode_is_a_one_line_error(cli: AskCli) -> None:
    result = cli.invoke("ask", QUESTION, "--mode", "openai")
    assert result.exit_code == 1
    assert "WHITEPAPER_OPENAI_BASE_URL" in one_line_error(result.stderr)


def test_ask_help_has_examples(cli: AskCli) -> None:
    result = cli.invoke("ask", "--help")
    assert result.exit_code == 0
    assert 'whitepaper ask "What about its cost?" --history turns.json --json' in result.stdout
    for option in ("--json", "--history", "--mode", "--strict", "--verify", "--top-k"):
        assert option in result.stdout
