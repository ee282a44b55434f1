"""eval.perturb: each rule on real white-paper passages, determinism, other documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval.pairs import SUPPORTED_KINDS
from eval.perturb import GENERATED_KINDS, document_passages, perturb_pairs
from tests.pdf_factory import make_cjk_pdf

ROOT = Path(__file__).resolve().parents[2]
PAPER_PDF = ROOT / "data" / "aigc-whitepaper-2022" / "aigc-whitepaper-2022.pdf"

# Verbatim passages of the white paper (as ingestion chunks them).
CHRISTIES = (
    "2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交，成为世界上首个出售的人工智能艺术品，"
    "引发各界关注。随着人工智能越来越多地被应用于内容创作，人工智能生成内容（Artificial Intelligence "
    "Generated Content，简称 AIGC）的概念悄然兴起。"
)
BERT_GPT = (
    "例如，谷歌和 OpenAI 分别提出大规模预训练模型BERT[18] 和 GPT[19]，在诸多自然语言理解和生成任务上"
    "取得了突破性的性能提升，验证了大模型在零资源、小样本、中低资源场景的优越性。"
)
STAGES = (
    "80 年代末至 90 年代中，由于高昂的系统成本无法带来可观的商业变现，各国政府纷纷减少了在人工智能领域的"
    "投入，AIGC 没有取得重大突破。\n沉淀积累阶段（1990s-2010s），AIGC 从实验性向实用性逐渐转变。"
)
NVIDIA = (
    "2018年，英伟达发布的 StyleGAN 模型可以自动生成图片，目前已升级到第四代模型 StyleGAN-XL，其生成的高分辨率"
    "图片人眼难以分辨真假。2019 年，DeepMind 发布了 DVD-GAN 模型用以生成连续视频，在草地、广场等明确场景下表现突出。"
)
WATSON = (
    "IBM 旗下的人工智能系统 Watson 在学习了上百部惊悚预告片的视听手法后，从 90 分钟的《Morgan》影片中挑选出"
    "符合惊悚预告片特点的电影镜头，并制作出一段 6 分钟的预告片。尽管这部预告片需要在制作人员的重新修改下才能"
    "最终完成，但却将预告片的制作周期从一个月左右缩减到 24 小时。"
)
PASSAGES = [CHRISTIES, BERT_GPT, STAGES, NVIDIA, WATSON]


def _pairs(kind: str, passages: list[str] = PASSAGES, seeds: range = range(6)) -> list:
    out = []
    for seed in seeds:
        out += [p for p in perturb_pairs(passages, seed=seed) if p.kind == kind]
    assert out, f"no {kind} pair made"
    return out


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+(?:\.\d+)?", text)


def test_wrong_number_changes_one_number_and_nothing_else() -> None:
    for pair in _pairs("wrong_number"):
        assert not pair.supported and pair.origin == "generated"
        source = pair.note.split("; from: ", 1)[1]
        before, after = _numbers(source), _numbers(pair.sentence)
        assert len(before) == len(after)
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(changed) == 1, (source, pair.sentence)
        assert re.sub(r"\d", "", source) == re.sub(r"\d", "", pair.sentence)
        assert pair.sentence not in pair.passage


def test_swapped_name_uses_a_name_of_the_document_absent_from_the_passage() -> None:
    names_in_doc = {"英伟达", "StyleGAN", "StyleGAN-XL", "DeepMind", "DVD-GAN", "IBM", "Watson",
                    "《Morgan》", "BERT", "GPT", "OpenAI"}  # fmt: skip
    for pair in _pairs("swapped_name"):
        old, new = re.match(r"(.+?) -> (.+?) \(", pair.note).groups()  # type: ignore[union-attr]
        assert old in pair.passage.replace("[18]", "").replace("[19]", "")
        assert new not in pair.passage and new in "".join(PASSAGES)
        assert new in pair.sentence and not pair.supported
    swaps = {re.match(r"(.+?) -> ", p.note).group(1) for p in _pairs("swapped_name")}  # type: ignore[union-attr]
    assert swaps & names_in_doc


def test_negation_inserts_or_removes_a_negation() -> None:
    made = {p.sentence for p in _pairs("negation", [STAGES], range(12))}
    assert (
        "80 年代末至 90 年代中，由于高昂的系统成本无法带来可观的商业变现，各国政府纷纷减少了在人工智能领域的投入，AIGC 有取得重大突破。"
        in made
        or any("能够带来可观的商业变现" in s for s in made)
    )
    for pair in _pairs("negation"):
        neg = re.compile(r"不|没|无法|未|难以|尚未")
        source = pair.note.split("; from: ", 1)[1]
        assert (
            len(neg.findall(source)) != len(neg.findall(pair.sentence)) or "能够" in pair.sentence
        )
        assert not pair.supported


def test_merged_examples_swaps_roles_on_real_sentences() -> None:
    made = {p.sentence for p in _pairs("merged_examples", [BERT_GPT])}
    assert any("模型GPT 和 BERT" in s for s in made), made
    made = {p.sentence for p in _pairs("merged_examples", [STAGES], range(12))}
    assert "沉淀积累阶段（1990s-2010s），AIGC 从实用性逐渐向实验性转变。" in made or any(
        "从实用性" in s for s in made
    ), made


def test_supported_kinds_only_reuse_the_passage() -> None:
    for kind in ("paraphrase", "summary", "combination"):
        for pair in _pairs(kind):
            assert pair.supported and pair.kind in SUPPORTED_KINDS
            drop = re.compile(r"（[^（）]*）|\[[\d,]+\]|\s")
            body = drop.sub("", pair.sentence.removeprefix("文中提到，"))
            flat = re.sub(r"[，。；,;]", "", drop.sub("", pair.passage))
            for piece in re.split(r"[，。；,;]", body):
                assert piece in flat, (piece, pair.sentence)


def test_every_generated_unsupported_sentence_differs_from_the_passage() -> None:
    for pair in perturb_pairs(PASSAGES, seed=3):
        assert pair.kind in GENERATED_KINDS and pair.origin == "generated"
        if not pair.supported:
            assert pair.sentence not in pair.passage


def test_same_seed_same_pairs_and_passages_are_independent() -> None:
    a = perturb_pairs(PASSAGES, seed=7)
    assert a == perturb_pairs(PASSAGES, seed=7)
    assert {p.sentence for p in a} != {p.sentence for p in perturb_pairs(PASSAGES, seed=8)}
    # Rules that need no document names give a passage the same pairs whatever comes along.
    local = ("paraphrase", "summary", "wrong_number", "combination")
    alone = {p.sentence for p in perturb_pairs([CHRISTIES, STAGES], seed=7) if p.kind in local}
    together = {p.sentence for p in a if p.passage in (CHRISTIES, STAGES) and p.kind in local}
    assert alone == together and alone
    assert len({p.id for p in a}) == len(a)


def test_per_kind_caps_each_kind() -> None:
    pairs = perturb_pairs(PASSAGES, seed=1, per_kind=1)
    kinds = [p.kind for p in pairs]
    assert len(kinds) == len(set(kinds)) >= 5


@pytest.mark.slow
def test_white_paper_yields_every_kind() -> None:
    pairs = perturb_pairs(document_passages(PAPER_PDF), seed=0, per_kind=20)
    assert {p.kind for p in pairs} == set(GENERATED_KINDS)
    assert len(pairs) >= 100


def test_works_on_an_english_document() -> None:
    pairs = perturb_pairs(document_passages(ROOT / "README.md"), seed=0)
    kinds = {p.kind for p in pairs}
    assert {"paraphrase", "wrong_number", "negation"} <= kinds, kinds
    for pair in pairs:
        assert pair.lang == "en" or re.search(r"[\u4e00-\u9fff]", pair.sentence)
        if not pair.supported:
            assert pair.sentence not in pair.passage
    for pair in (p for p in pairs if p.kind == "negation"):
        source = pair.note.split("; from: ", 1)[1]
        count = lambda t: len(re.findall(r"\b(?:not|never|cannot|no)\b", t))  # noqa: E731
        assert count(source) != count(pair.sentence) or "some" in pair.sentence, pair


def test_works_on_a_chinese_pdf_that_is_not_the_paper(tmp_path: Path) -> None:
    lines = [
        "一、城市公交年度报告",
        "2021 年，江城公交集团新开通线路 12 条，日均客流达到 85 万人次。",
        "新能源公交车占比由 2019 年的 40% 提升到 2021 年的 78%，票价没有上调。",
        "其中，东湖线由星河公司运营，西岭线由远山公司运营，两条线路分别于 3 月和 9 月通车。",
        "报告认为，夜间线路不能完全满足市民需求，需要进一步增加班次。",
    ]
    pdf = make_cjk_pdf(tmp_path / "bus.pdf", [lines])
    passages = document_passages(pdf)
    pairs = perturb_pairs(passages, seed=0)
    kinds = {p.kind for p in pairs}
    assert {"wrong_number", "negation", "paraphrase"} <= kinds, kinds
    wrong = [p for p in pairs if p.kind == "wrong_number"]
    assert all(p.sentence not in p.passage and p.lang == "zh" for p in wrong)


@pytest.mark.slow
def test_generated_pairs_in_the_file_are_reproducible() -> None:
    from eval.pairs import load_pairs

    stored = [
        p for p in load_pairs(ROOT / "eval/sets/support-pairs-v1.jsonl") if p.origin == "generated"
    ]
    assert stored == perturb_pairs(document_passages(PAPER_PDF), seed=0, per_kind=20)
