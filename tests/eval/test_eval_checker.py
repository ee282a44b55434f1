"""The checker's agreement report over labelled pairs, and its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.support import SupportChecker
from eval.checker import check_pairs, render_report, summarise
from eval.pairs import Pair, dump_pairs

POLICY = (
    "2022 年 5 月，中共中央办公厅、国务院办公厅印发了《关于推进实施国家文化数字化战略的意见》，提出到"
    "“十四五”时期末，基本建成文化数字化基础设施和服务平台。"
)


def _pairs() -> list[Pair]:
    return [
        Pair("p1", POLICY, "2022 年 5 月印发了《关于推进实施国家文化数字化战略的意见》。", True,
             "detail", "zh", "hand", "test"),
        Pair("p2", POLICY, "2022 年 3 月印发了《关于推进实施国家文化数字化战略的意见》。", False,
             "wrong_number", "zh", "hand", "test"),
        Pair("p3", POLICY, "2022 年 5 月没有印发《关于推进实施国家文化数字化战略的意见》。", False,
             "negation", "zh", "generated", "calib"),
    ]  # fmt: skip


def test_the_report_counts_agreement_by_kind_language_origin_and_layer() -> None:
    report = summarise(check_pairs(SupportChecker(), _pairs()))
    assert report.overall.n == 3 and report.overall.agreement == 1.0
    assert report.overall.unsupported_accepted == 0.0 and report.overall.supported_rejected == 0.0
    assert set(report.by_kind) == {"detail", "wrong_number", "negation"}
    assert set(report.by_origin) == {"hand", "generated"}
    assert {"terms", "polarity"} <= set(report.by_layer)
    assert not report.disagreements
    text = render_report(report, "t")
    assert "| **all** | 3 | 100.0 |" in text and "terms" in text


def test_a_disagreement_is_listed_with_its_reasons() -> None:
    wrong = [Pair("x", POLICY, "2022 年 5 月印发了意见。", False, "unsupported_detail", "zh",
                  "hand", "test")]  # fmt: skip
    report = summarise(check_pairs(SupportChecker(), wrong))
    assert report.overall.agreement == 0.0 and report.overall.unsupported_accepted == 1.0
    (listed,) = report.to_json()["disagreements"]  # type: ignore[misc]
    assert listed["id"] == "x" and listed["reasons"]


def test_eval_checker_cli_reports_one_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui.cli import main

    monkeypatch.setenv("WHITEPAPER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WHITEPAPER_EMBEDDING", "hash:64")
    path = tmp_path / "pairs.jsonl"
    dump_pairs(_pairs(), path)
    args = ["eval-checker", "--pairs", str(path), "--split", "test", "--no-model", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["overall"]["n"] == 2 and data["overall"]["agreement"] == 1.0
