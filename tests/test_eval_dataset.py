"""Tests for eval/dataset.py: schema, loader, validator, and the real draft sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from eval.dataset import (
    REFUSAL_EN,
    REFUSAL_ZH,
    EvalItem,
    EvalSetError,
    dump_eval_set,
    load_eval_set,
    type_mix,
    validate_eval_set,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SETS_DIR = REPO_ROOT / "eval" / "sets"
SOURCE_CANDIDATES = (
    REPO_ROOT / "data" / "aigc-whitepaper-2022" / "source.txt",
    Path("/work/shared/corpus/000_72157d0212f93ba2.txt"),
)

# A tiny stand-in for the white paper: text lines separated by blank lines,
# like the pypdf extraction.
SOURCE = (
    "2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交。\n"
    "\n"
    "生成对抗网络由一个生成器和一个判别器组成，判别器负责鉴别真假。\n"
    "\n"
    "英伟达发布的 StyleGAN 模型可以自动生成图片。\n"
    "\n"
)


def _item(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "t-001",
        "type": "factual",
        "question": "佳士得拍出的人工智能画作卖了多少钱？",
        "history": [],
        "answerable": True,
        "reference_answer": "43.25 万美元。",
        "evidence": ["人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交"],
        "key_facts": ["43.25"],
    }
    base.update(overrides)
    return base


def _valid_items() -> list[EvalItem]:
    raw = [
        _item(),
        _item(
            id="t-002",
            type="multihop",
            question="GAN 有哪两部分？英伟达发布了什么模型？",
            reference_answer="生成器和判别器；StyleGAN。",
            evidence=[
                "生成对抗网络由一个生成器和一个判别器组成",
                "英伟达发布的 StyleGAN 模型可以自动生成图片",
            ],
            key_facts=["生成器", "判别器", "StyleGAN"],
        ),
        _item(
            id="t-003",
            type="crosslingual",
            question="How much did the AI painting sell for at Christie's?",
            reference_answer="432,500 US dollars (43.25 万美元).",
        ),
        _item(
            id="t-004",
            type="unanswerable",
            question="白皮书如何评价 ChatGPT？",
            answerable=False,
            reference_answer=REFUSAL_ZH,
            evidence=[],
            key_facts=[],
        ),
        _item(
            id="t-005",
            type="unanswerable",
            question="What does the paper say about the EU AI Act?",
            answerable=False,
            reference_answer=REFUSAL_EN,
            evidence=[],
            key_facts=[],
        ),
        _item(
            id="t-006",
            type="followup",
            question="后者负责什么？",
            history=[
                {"role": "user", "content": "生成对抗网络由哪两部分组成？"},
                {"role": "assistant", "content": "一个生成器和一个判别器。"},
            ],
            reference_answer="判别器负责鉴别真假。",
            evidence=["生成器和一个判别器组成，判别器负责鉴别真假"],
            key_facts=["鉴别真假"],
        ),
    ]
    return [EvalItem.model_validate(r) for r in raw]


def _problems_for(**overrides: Any) -> list[str]:
    return validate_eval_set([EvalItem.model_validate(_item(**overrides))], SOURCE)


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


# --------------------------------------------------------------------------- schema


def test_valid_tiny_set_has_no_problems() -> None:
    assert validate_eval_set(_valid_items(), SOURCE) == []


def test_item_is_frozen() -> None:
    item = _valid_items()[0]
    with pytest.raises(ValidationError):
        item.question = "changed"


@pytest.mark.parametrize(
    "overrides",
    [
        {"type": "trivia"},
        {"history": [{"role": "system", "content": "x"}]},
        {"unexpected": 1},
        {"evidence": "not a list"},
        {"question": ""},
    ],
)
def test_schema_rejects_bad_items(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EvalItem.model_validate(_item(**overrides))


def test_schema_requires_all_core_fields() -> None:
    data = _item()
    del data["reference_answer"]
    with pytest.raises(ValidationError):
        EvalItem.model_validate(data)


# --------------------------------------------------------------------------- loader


def test_load_round_trip(tmp_path: Path) -> None:
    items = _valid_items()
    path = tmp_path / "set.jsonl"
    path.write_text(dump_eval_set(items) + "\n", encoding="utf-8")  # trailing blank line is ignored
    assert load_eval_set(path) == items


def test_load_reports_line_number_on_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_item(), ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(EvalSetError) as exc_info:
        load_eval_set(path)
    assert exc_info.value.line_no == 2
    assert ":2:" in str(exc_info.value)
    assert "invalid JSON" in str(exc_info.value)


def test_load_reports_line_number_on_schema_error(tmp_path: Path) -> None:
    rows = [_item(), _item(id="t-002"), _item(id="t-003", type="trivia")]
    path = _write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(EvalSetError) as exc_info:
        load_eval_set(path)
    assert exc_info.value.line_no == 3
    assert "t-003" in str(exc_info.value)
    assert "type" in str(exc_info.value)


def test_load_rejects_non_object_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "bad.jsonl", [[1, 2, 3]])
    with pytest.raises(EvalSetError, match="JSON object"):
        load_eval_set(path)


# --------------------------------------------------------------------------- validator


def test_duplicate_ids_reported() -> None:
    items = _valid_items()
    problems = validate_eval_set([*items, items[0]], SOURCE)
    assert any("duplicate id" in p and "t-001" in p for p in problems)


def test_evidence_not_in_source_reported() -> None:
    problems = _problems_for(evidence=["人工智能生成的画作在苏富比拍卖行以高价成交了"])
    assert any("not an exact substring" in p for p in problems)


def test_evidence_spanning_line_reported() -> None:
    problems = _problems_for(evidence=["以 43.25 万美元成交。\n\n生成对抗网络由一个生成器"])
    assert any("spans a line break" in p for p in problems)


def test_evidence_too_short_reported() -> None:
    problems = _problems_for(evidence=["43.25 万美元"])
    assert any("characters" in p and "15-80" in p for p in problems)


def test_evidence_too_long_reported() -> None:
    long_source = SOURCE + "甲" * 90 + "\n"
    item = EvalItem.model_validate(_item(evidence=["甲" * 81]))
    problems = validate_eval_set([item], long_source)
    assert any("81 characters" in p for p in problems)


def test_too_many_evidence_passages_reported() -> None:
    ev = "人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交"
    problems = _problems_for(evidence=[ev, ev[1:], ev[2:], ev[3:]])
    assert any("evidence passages (max 3)" in p for p in problems)


def test_answerable_without_evidence_reported() -> None:
    assert any("no evidence" in p for p in _problems_for(evidence=[]))


@pytest.mark.parametrize("facts", [[], ["43.25", "2018", "佳士得", "万美元", "画作"]])
def test_answerable_key_fact_count_reported(facts: list[str]) -> None:
    assert any("key facts (must be 1-4)" in p for p in _problems_for(key_facts=facts))


def test_key_fact_not_in_source_reported() -> None:
    assert any("does not occur verbatim" in p for p in _problems_for(key_facts=["43.26"]))


def test_unanswerable_with_evidence_and_key_facts_reported() -> None:
    problems = _problems_for(type="unanswerable", answerable=False, reference_answer=REFUSAL_ZH)
    assert any("unanswerable item has 1 evidence" in p for p in problems)
    assert any("unanswerable item has 1 key fact" in p for p in problems)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("白皮书如何评价 ChatGPT？", "没有相关内容。"),
        ("白皮书如何评价 ChatGPT？", REFUSAL_EN),  # right refusal, wrong language
        ("What does the paper say about ChatGPT?", REFUSAL_ZH),
    ],
)
def test_unanswerable_wrong_refusal_reported(question: str, answer: str) -> None:
    problems = _problems_for(
        type="unanswerable",
        answerable=False,
        question=question,
        reference_answer=answer,
        evidence=[],
        key_facts=[],
    )
    assert any("fixed refusal" in p for p in problems)


def test_answerable_flag_must_match_type() -> None:
    assert any("answerable is false" in p for p in _problems_for(answerable=False))
    problems = _problems_for(
        type="unanswerable", answerable=True, reference_answer=REFUSAL_ZH, evidence=[], key_facts=[]
    )
    assert any("answerable is true" in p for p in problems)


def test_followup_without_history_reported() -> None:
    assert any("empty history" in p for p in _problems_for(type="followup", history=[]))


def test_followup_history_shape_reported() -> None:
    history = [{"role": "assistant", "content": "你好"}, {"role": "assistant", "content": "再见"}]
    problems = _problems_for(type="followup", history=history)
    assert any("start with a user turn" in p for p in problems)
    assert any("consecutive" in p for p in problems)


def test_non_followup_with_history_reported() -> None:
    history = [{"role": "user", "content": "问"}, {"role": "assistant", "content": "答"}]
    assert any("non-followup" in p for p in _problems_for(history=history))


def test_crosslingual_must_be_english() -> None:
    assert any("English" in p for p in _problems_for(type="crosslingual"))


def test_type_mix() -> None:
    mix = type_mix(_valid_items())
    assert set(mix) == {"factual", "multihop", "crosslingual", "unanswerable", "followup"}
    assert mix["unanswerable"] == pytest.approx(2 / 6)
    assert sum(mix.values()) == pytest.approx(1.0)
    assert all(v == 0.0 for v in type_mix([]).values())


# --------------------------------------------------------------------------- real drafts


def _source_path() -> Path | None:
    return next((p for p in SOURCE_CANDIDATES if p.is_file()), None)


SETS = sorted(SETS_DIR.glob("aigc-*.jsonl"))


def test_versioned_sets_exist() -> None:
    assert SETS, "no versioned eval set eval/sets/aigc-*.jsonl"


@pytest.mark.parametrize("draft", SETS, ids=[p.name for p in SETS])
def test_real_sets_validate(draft: Path) -> None:
    source_path = _source_path()
    if source_path is None:
        pytest.skip("white paper source text not found")
    items = load_eval_set(draft)
    assert items, f"{draft.name} is empty"
    problems = validate_eval_set(items, source_path.read_text(encoding="utf-8"))
    assert problems == [], "\n".join(problems)
