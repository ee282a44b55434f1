"""Tests for eval/dataset.py: schema, loader, validator, and the real draft sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from eval.dataset import (
    ITEM_TYPES,
    REFUSAL_EN,
    REFUSAL_ZH,
    EvalItem,
    EvalSetError,
    assign_splits,
    dump_eval_set,
    key_fact_alternatives,
    key_fact_found,
    load_eval_set,
    split_counts,
    type_mix,
    validate_eval_set,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
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
            key_facts=[["432,500", "43.25"], ["dollar", "USD"]],
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


# --------------------------------------------------------------------------- key facts


def test_key_fact_alternatives() -> None:
    assert key_fact_alternatives("43.25") == ["43.25"]
    assert key_fact_alternatives(["Generative Adversarial Network", "GAN"]) == [
        "Generative Adversarial Network",
        "GAN",
    ]


def test_key_fact_found_any_alternative_case_and_space_insensitive() -> None:
    fact = ["Generative Adversarial Network", "GAN"]
    assert key_fact_found(fact, "a generative adversarial  network")
    assert key_fact_found(fact, "StyleGAN")
    assert not key_fact_found(fact, "a diffusion model")
    assert key_fact_found("43.25 万美元", "以43.25万 美元成交")


def test_key_fact_found_numbers_not_inside_longer_numbers() -> None:
    assert key_fact_found("68 年", "相隔 68 年")
    assert not key_fact_found("68 年", "1968 年")
    assert not key_fact_found("2000", "约 20000 个单词")
    assert not key_fact_found("10.8", "提升 110.8 倍")
    assert key_fact_found("2000", "每秒写 2000 篇")


def test_schema_accepts_alternatives_and_rejects_other_shapes() -> None:
    item = EvalItem.model_validate(_item(key_facts=["43.25", ["佳士得", "Christie's"]]))
    assert item.key_facts == ["43.25", ["佳士得", "Christie's"]]
    for bad in ([1], [{"any": "x"}], [["x", 2]]):
        with pytest.raises(ValidationError):
            EvalItem.model_validate(_item(key_facts=bad))


def test_load_round_trip_keeps_alternatives_and_splits(tmp_path: Path) -> None:
    items = assign_splits(_valid_items())
    path = tmp_path / "set.jsonl"
    path.write_text(dump_eval_set(items), encoding="utf-8")
    loaded = load_eval_set(path)
    assert loaded == items
    assert loaded[2].key_facts == [["432,500", "43.25"], ["dollar", "USD"]]
    assert {item.split for item in loaded} <= {"calib", "test"}


def test_dump_omits_an_absent_split() -> None:
    assert '"split"' not in dump_eval_set(_valid_items()[:1])


@pytest.mark.parametrize("fact", ["画作", ["画作", "佳士得拍卖行"], "AI"])
def test_short_key_fact_reported(fact: str | list[str]) -> None:
    problems = _problems_for(key_facts=[fact], reference_answer="画作在佳士得拍卖行卖了 AI 价")
    assert any("shorter than 3 characters" in p for p in problems)


def test_short_number_with_unit_passes() -> None:
    source = SOURCE + "这一年过去了 8 年。\n"
    item = _item(key_facts=["8 年"], reference_answer="过去了 8 年。")
    assert validate_eval_set([EvalItem.model_validate(item)], source) == []
    # a bare short number has no unit
    bare = _item(key_facts=["43"], reference_answer="43 万")
    problems = validate_eval_set([EvalItem.model_validate(bare)], SOURCE)
    assert any("shorter than 3 characters" in p for p in problems)


def test_key_fact_in_question_reported() -> None:
    problems = _problems_for(
        question="佳士得拍卖行以多少钱卖出了那幅画作？",
        key_facts=["43.25", ["佳士得拍卖行", "拍卖会"]],
        reference_answer="佳士得拍卖行以 43.25 万美元卖出。",
    )
    assert [p for p in problems if "contained in the question" in p] == [
        "t-001: key_facts[1] ['佳士得拍卖行', '拍卖会']: '佳士得拍卖行' is contained in the question"
    ]


def test_key_fact_in_question_ignores_case_and_spaces() -> None:
    problems = _problems_for(question="StyleGAN 是谁发布的？", key_facts=["Style GAN"])
    assert any("contained in the question" in p for p in problems)


def test_chinese_key_fact_needs_one_verbatim_alternative() -> None:
    passing = _problems_for(
        key_facts=[["43.25 万美元", "四十三万两千五百美元"]],
        reference_answer="43.25 万美元。",
    )
    assert passing == []
    failing = _problems_for(key_facts=[["43.26 万美元", "四十三万美元"]])
    assert any("does not occur verbatim" in p for p in failing)


def test_computed_number_needs_no_source_only_in_multihop() -> None:
    computed = {"key_facts": ["68 年"], "reference_answer": "相隔 68 年。"}
    assert _problems_for(type="multihop", **computed) == []
    assert any("does not occur verbatim" in p for p in _problems_for(**computed))


def test_reference_answer_must_contain_its_key_facts() -> None:
    problems = _problems_for(reference_answer="它在 2018 年成交。")
    assert problems == ["t-001: reference_answer lacks key fact(s) ['43.25']"]


def _english(**overrides: Any) -> list[str]:
    return _problems_for(
        type="crosslingual",
        question="How much did the AI painting sell for at Christie's?",
        reference_answer="432,500 US dollars (43.25 万美元) in 2018 at 佳士得拍卖行.",
        **overrides,
    )


def test_english_item_with_english_key_facts_passes() -> None:
    assert _english(key_facts=[["432,500", "43.25"], ["dollar", "USD"]]) == []
    # a name that stays Chinese may be Chinese only
    assert _english(key_facts=[["dollar", "USD"], "佳士得"]) == []


def test_english_item_without_english_key_fact_reported() -> None:
    problems = _english(key_facts=["43.25 万美元"])
    assert any("no English key fact" in p for p in problems)
    # a Latin alternative beside a Chinese one does not stop a Chinese answer passing
    problems = _english(key_facts=[["dollar", "43.25 万美元"]])
    assert any("no English key fact" in p for p in problems)


def test_english_item_with_long_chinese_only_key_fact_reported() -> None:
    problems = _english(key_facts=["dollar", "佳士得拍卖行"])
    assert any("Chinese only in an English item" in p for p in problems)


def test_english_key_facts_need_not_be_in_the_source() -> None:
    assert _english(key_facts=["432,500", "US dollars"]) == []


# --------------------------------------------------------------------------- splits


def _typed_items(n: int, item_type: str = "factual", split: str | None = None) -> list[EvalItem]:
    return [
        EvalItem.model_validate(_item(id=f"{item_type[:1]}-{i:03d}", type=item_type, split=split))
        for i in range(n)
    ]


def test_set_without_splits_has_no_split_problem() -> None:
    assert validate_eval_set(_typed_items(5), SOURCE) == []


def test_split_on_some_items_only_reported() -> None:
    items = _typed_items(5)
    items[0] = items[0].model_copy(update={"split": "test"})
    items[1] = items[1].model_copy(update={"split": "test"})
    problems = validate_eval_set(items, SOURCE)
    assert sorted(p.split(":")[0] for p in problems if "no split" in p) == [
        "f-002",
        "f-003",
        "f-004",
    ]


def test_schema_rejects_unknown_split() -> None:
    with pytest.raises(ValidationError):
        EvalItem.model_validate(_item(split="train"))


def test_too_few_test_items_per_type_reported() -> None:
    items = [*_typed_items(3, split="calib"), *_typed_items(2, split="test")]
    items = [it.model_copy(update={"id": f"x-{i}"}) for i, it in enumerate(items)]
    assert validate_eval_set(items, SOURCE) == []  # 2 of 5 = 40%
    items[-1] = items[-1].model_copy(update={"split": "calib"})
    problems = validate_eval_set(items, SOURCE)
    assert problems == ["split: type 'factual' has 1 of 5 items in test (at least 40% needed)"]


def test_forty_percent_is_exact() -> None:
    # 0.4 * 15 is 6.000000000000001 in floating point: 6 of 15 must count as 40%.
    items = [*_typed_items(9, split="calib"), *_typed_items(6, split="test")]
    items = [it.model_copy(update={"id": f"x-{i}"}) for i, it in enumerate(items)]
    assert validate_eval_set(items, SOURCE) == []
    assert [it.split for it in assign_splits(items)].count("test") == 6


def _mixed_items() -> list[EvalItem]:
    rows = []
    for i in range(23):
        rows.append(_item(id=f"f-{i:03d}"))
    for i in range(7):
        rows.append(_item(id=f"u-{i:03d}", type="unanswerable", answerable=False,
                          question="白皮书如何评价 ChatGPT？", reference_answer=REFUSAL_ZH,
                          evidence=[], key_facts=[]))  # fmt: skip
    for i in range(6):
        rows.append(_item(id=f"v-{i:03d}", type="unanswerable", answerable=False,
                          question="What about the EU AI Act?", reference_answer=REFUSAL_EN,
                          evidence=[], key_facts=[]))  # fmt: skip
    return [EvalItem.model_validate(r) for r in rows]


def test_assign_splits_stratified_and_at_least_the_share() -> None:
    items = assign_splits(_mixed_items())
    assert validate_eval_set(items, SOURCE) == []
    test_ids = {it.id for it in items if it.split == "test"}
    assert len([i for i in test_ids if i.startswith("f-")]) == 10  # ceil(0.4 * 23)
    assert len([i for i in test_ids if i.startswith("u-")]) == 3  # ceil(0.4 * 7), Chinese
    assert len([i for i in test_ids if i.startswith("v-")]) == 3  # ceil(0.4 * 6), English
    assert [it.id for it in items] == [it.id for it in _mixed_items()]  # order kept


def test_assign_splits_is_deterministic_and_blind_to_content() -> None:
    items = _mixed_items()
    first = [it.split for it in assign_splits(items)]
    assert [it.split for it in assign_splits(items)] == first
    # reordering the file or editing answers and key facts moves no item
    shuffled = assign_splits(list(reversed(items)))
    assert {it.id: it.split for it in shuffled} == {
        it.id: s for it, s in zip(items, first, strict=True)
    }
    edited = [it.model_copy(update={"reference_answer": "changed"}) for it in items]
    assert [it.split for it in assign_splits(edited)] == first
    # another seed draws another sample
    assert [it.split for it in assign_splits(items, seed="other")] != first


def test_split_counts() -> None:
    counts = split_counts(assign_splits(_mixed_items()))
    assert set(counts) == {*ITEM_TYPES, "all"}
    assert counts["factual"] == {"calib": 13, "test": 10, "none": 0, "total": 23}
    assert counts["unanswerable"] == {"calib": 7, "test": 6, "none": 0, "total": 13}
    assert counts["all"]["total"] == 36
    assert split_counts(_valid_items())["all"] == {"calib": 0, "test": 0, "none": 6, "total": 6}


# --------------------------------------------------------------------------- real drafts


def _source_path() -> Path | None:
    return next((p for p in SOURCE_CANDIDATES if p.is_file()), None)


SETS = sorted(SETS_DIR.glob("aigc-*.jsonl"))
V1 = SETS_DIR / "aigc-dev-v1.jsonl"
V2 = SETS_DIR / "aigc-dev-v2.jsonl"
CURRENT = [p for p in SETS if p != V1]  # v1 predates the split and key-fact rules


def _source_text() -> str:
    source_path = _source_path()
    if source_path is None:
        pytest.skip("white paper source text not found")
    return source_path.read_text(encoding="utf-8")


def test_versioned_sets_exist() -> None:
    assert SETS, "no versioned eval set eval/sets/aigc-*.jsonl"
    assert V2 in SETS


@pytest.mark.parametrize("draft", CURRENT, ids=[p.name for p in CURRENT])
def test_real_sets_validate(draft: Path) -> None:
    items = load_eval_set(draft)
    assert items, f"{draft.name} is empty"
    problems = validate_eval_set(items, _source_text())
    assert problems == [], "\n".join(problems)


def test_v1_breaks_only_the_newer_key_fact_rules() -> None:
    items = load_eval_set(V1)
    assert all(item.split is None for item in items)
    problems = validate_eval_set(items, _source_text())
    assert problems, "v1 is kept as it was: its key facts break rule 5"
    rule5 = (": key_facts[", "English key fact", "reference_answer lacks key fact")
    assert all(any(mark in p for mark in rule5) for p in problems), problems


def test_v2_extends_v1_and_keeps_its_items() -> None:
    v1, v2 = load_eval_set(V1), load_eval_set(V2)
    by_id = {item.id: item for item in v2}
    assert len(v2) >= 240
    for old in v1:
        new = by_id[old.id]
        assert (new.type, new.question, new.history, new.evidence) == (
            old.type,
            old.question,
            old.history,
            old.evidence,
        )
    before, after = split_counts(v1), split_counts(v2)
    for item_type in ("multihop", "crosslingual", "unanswerable", "followup"):
        assert after[item_type]["total"] > before[item_type]["total"]


def test_v2_splits_are_the_seeded_assignment() -> None:
    items = load_eval_set(V2)
    assert [item.split for item in assign_splits(items)] == [item.split for item in items]


def test_validate_set_cli_prints_splits_and_no_problems() -> None:
    from click.testing import CliRunner

    from ui.cli import main

    result = CliRunner().invoke(main, ["validate-set", str(V2)])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("no problems")
    assert any(line.split()[:1] == ["multihop"] for line in result.output.splitlines())
    payload = json.loads(CliRunner().invoke(main, ["validate-set", str(V2), "--json"]).output)
    assert payload["problems"] == []
    assert payload["splits"]["all"]["total"] == payload["items"]

    failing = CliRunner().invoke(main, ["validate-set", str(V1)])
    assert failing.exit_code == 1
    assert "shorter than 3 characters" in failing.output
