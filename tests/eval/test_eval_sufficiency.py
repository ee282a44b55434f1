"""Calibrating the refusal before generation: rows, the cache, the fit and its budget."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant.fakes import make_passage
from assistant.sufficiency import (
    Calibration,
    SufficiencyChecker,
    SufficiencyFeatures,
    evidence_sentences,
)
from assistant.terms import CorpusTerms
from assistant.types import Passage, Turn
from eval import sufficiency as S
from eval.dataset import EvalItem
from eval.dataset import Turn as EvalTurn

GAN = "生成对抗网络由一个生成器和一个判别器组成。"
PAINTING = "2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交。"
STATS = CorpusTerms([GAN, PAINTING, "AIGC 的治理需要多方参与。"], ["AIGC 白皮书"])


class Scorer:
    """Similarity 0.9 for every sentence of a passage whose text the question shares a
    two-character word with, else 0.8."""

    def sentence_similarities(self, question: str, passages: Sequence[Passage]) -> list[float]:
        return [
            0.9 if any(question[i : i + 2] in s for i in range(len(question) - 1)) else 0.8
            for s in self.sentences(passages)
        ]

    def sentences(self, passages: Sequence[Passage]) -> list[str]:
        return evidence_sentences(passages)


class CountingJudge:
    def __init__(self) -> None:
        self.calls = 0

    def answer_score(self, question: str, evidence: str) -> float:
        self.calls += 1
        return 0.9 if "组成" in question else 0.2


def _item(id_: str, question: str, answerable: bool, split: str = "calib") -> EvalItem:
    return EvalItem(
        id=id_,
        type="factual" if answerable else "unanswerable",
        question=question,
        answerable=answerable,
        reference_answer="x" if answerable else "白皮书没有提到这一点。",
        split=split,
    )


def _row(
    id_: str, answerable: bool, similarity: float, p: float | None = None, language: str = "zh"
) -> S.Row:
    feats = SufficiencyFeatures(similarity, 1.0, 0.0, False, False, p)
    return S.Row(id_, "calib", "t", language, answerable, id_, False, feats, "k")  # type: ignore[arg-type]


def test_collect_caches_rows_and_asks_the_model_once(tmp_path: Path) -> None:
    items = [_item("a", "生成对抗网络由什么组成？", True), _item("b", "佳士得在哪个城市？", False)]
    searched: list[str] = []

    def search(question: str) -> list[Passage]:
        searched.append(question)
        return [make_passage(1, GAN), make_passage(2, PAINTING)]

    judge = CountingJudge()
    checker = SufficiencyChecker(lambda: STATS, Scorer(), judge=lambda: judge)
    cache = tmp_path / "rows.jsonl"
    rows = S.collect(items, search, checker, lambda: STATS, cache)
    assert [r.features.p_yes for r in rows] == [None, None] and judge.calls == 0
    assert rows[1].features.similarity == pytest.approx(0.85)  # top 3 of 0.8, 0.9 (2 sentences)
    assert searched == ["生成对抗网络由什么组成？", "佳士得在哪个城市？"]

    with_model = S.collect(items, search, checker, lambda: STATS, cache, with_model=True)
    assert [r.features.p_yes for r in with_model] == [0.9, 0.2] and judge.calls == 2
    again = S.collect(items, search, checker, lambda: STATS, cache, with_model=True, refresh=True)
    assert again == with_model and judge.calls == 2  # same evidence: the model's answer stays
    assert len(cache.read_text(encoding="utf-8").splitlines()) == 2
    assert S.Row.from_json(json.loads(cache.read_text().splitlines()[1])) == with_model[1]


def test_collect_condenses_follow_ups_as_the_mode_does(tmp_path: Path) -> None:
    """The rows rest on the mode's own standalone question (the LLM's condense in the LLM
    modes), so the calibration sees what answers see."""
    follow_up = EvalItem(
        id="f",
        type="followup",
        question="它由什么组成？",
        answerable=True,
        reference_answer="x",
        split="calib",
        history=[
            EvalTurn(role="user", content="什么是生成对抗网络？"),
            EvalTurn(role="assistant", content="一种模型。"),
        ],
    )
    seen: list[tuple[str, int]] = []

    def condense(question: str, history: Sequence[Turn]) -> str:
        seen.append((question, len(history)))
        return "生成对抗网络由什么组成？"

    searched: list[str] = []
    checker = SufficiencyChecker(lambda: STATS, Scorer())
    rows = S.collect(
        [follow_up],
        lambda q: searched.append(q) or [make_passage(1, GAN)],
        checker,
        lambda: STATS,
        tmp_path / "rows.jsonl",
        condense=condense,
    )
    assert seen == [("它由什么组成？", 2)]
    assert searched == ["生成对抗网络由什么组成？"] and rows[0].standalone == searched[0]


def test_fit_stays_within_the_false_refusal_budget() -> None:
    rows = [_row(f"a{i}", True, 0.80 + i / 100) for i in range(20)]
    rows += [_row(f"u{i}", False, 0.795 + i / 50) for i in range(5)]
    cal = S.fit(rows, 0.0)
    outcome = S.evaluate(rows, cal)
    assert outcome.refused_answerable == 0 and outcome.refused_unanswerable == 1
    assert cal["zh"].threshold <= 0.80
    wider = S.evaluate(rows, S.fit(rows, 0.10))  # 2 of 20 answerable may be refused
    assert wider.refused_answerable <= 2 and wider.refused_unanswerable == 2
    assert wider.recall == pytest.approx(0.4) and wider.false_refusals <= 0.1


def test_each_language_keeps_its_own_false_refusal_budget() -> None:
    # Chinese: 40 answerable, no unanswerable to catch; English: 20 answerable, of which the
    # three weakest score below all five unanswerable ones.
    rows = [_row(f"z{i}", True, 0.80 + i / 1000) for i in range(40)]
    rows += [_row(f"e{i}", True, 0.80 + i / 100, language="en") for i in range(20)]
    rows += [_row(f"x{i}", False, 0.825 + i / 1000, language="en") for i in range(5)]
    english = [r for r in rows if r.language == "en"]
    outcome = S.evaluate(english, S.fit(rows, 0.05))
    # A shared budget (3 of 60) would refuse the three English ones and catch all five;
    # English's own (1 of 20) catches none of them, so it refuses nothing.
    assert outcome.refused_answerable == 0 and outcome.refused_unanswerable == 0
    assert S.evaluate(english, S.fit(rows, 0.15)).as_dict()["refusal_recall"] == 1.0


def test_fit_weighs_the_model_only_when_asked_and_it_helps() -> None:
    rows = [_row(f"a{i}", True, 0.85, p=0.95) for i in range(10)]
    rows += [_row(f"u{i}", False, 0.85, p=0.3) for i in range(4)]
    assert S.evaluate(rows, S.fit(rows, 0.0)).refused_unanswerable == 0
    cal = S.fit(rows, 0.0, with_model=True)
    assert cal["zh"].model_weight > 0
    assert S.evaluate(rows, cal).as_dict()["refusal_recall"] == 1.0


def test_a_named_unknown_term_always_refuses() -> None:
    row = _row("n", False, 0.99)
    named = S.Row(**{**row.__dict__, "named_unknown": True})
    assert S.refuses(named, {"zh": Calibration(0.5)})
    assert not S.refuses(row, {"zh": Calibration(0.5)})


def test_the_report_fits_on_calib_and_shows_the_split() -> None:
    calib = [_row(f"a{i}", True, 0.9) for i in range(10)] + [_row("u", False, 0.8)]
    test = [S.Row(**{**_row("t", False, 0.85).__dict__, "split": "test"})]
    result = S.report(calib + test, "test", {"zh": Calibration(0.5)}, 0.0)
    assert result["items"] == 1 and result["fitted_figures"]["refusal_recall"] == 1.0
    assert result["shipped_figures"]["refusal_recall"] == 0.0
    text = S.render(result)
    assert "split test (1 items)" in text and "budget 0.00: refusal recall 1.000" in text


def test_the_cli_command_prints_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from ui.cli import main

    rows = [_row(f"a{i}", True, 0.9) for i in range(10)] + [_row("u", False, 0.8)]
    seen: dict[str, object] = {}

    def fake_run(settings, set_path, split, with_model, max_false, cache, refresh):  # type: ignore[no-untyped-def]
        seen.update(split=split, model=with_model, max_false=max_false, refresh=refresh)
        return S.report(rows, split, {}, max_false, with_model=with_model)

    monkeypatch.setattr(S, "run", fake_run)
    result = CliRunner().invoke(main, ["eval-sufficiency", "--json", "--model"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["fitted_figures"]["refusal_recall"] == 1.0
    assert seen == {"split": "calib", "model": True, "max_false": 0.05, "refresh": False}
    bad = CliRunner().invoke(main, ["eval-sufficiency", "--max-false", "2"])
    assert bad.exit_code != 0 and "--max-false" in bad.output
