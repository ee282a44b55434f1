"""eval.pairs: the pairs file, its loader and the split rule."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from eval.pairs import (
    KINDS,
    Pair,
    PairsError,
    assign_splits,
    dump_pairs,
    load_pairs,
    sentence_lang,
)

ROOT = Path(__file__).resolve().parents[2]
PAIRS_FILE = ROOT / "eval" / "sets" / "support-pairs-v1.jsonl"
PAPER = ROOT / "data" / "aigc-whitepaper-2022" / "source.txt"

GOOD = {
    "id": "x-1",
    "passage": "2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交。",
    "sentence": "2019 年，人工智能生成的画作以 43.25 万美元成交。",
    "supported": False,
    "kind": "wrong_number",
    "lang": "zh",
    "origin": "hand",
    "split": "calib",
    "note": "2018 in the passage",
}


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_round_trip(tmp_path: Path) -> None:
    pair = Pair(**GOOD)  # type: ignore[arg-type]
    path = tmp_path / "out.jsonl"
    dump_pairs([pair], path)
    assert load_pairs(path) == [pair]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "sentence"}),
            "missing field(s) sentence",
        ),
        (json.dumps({**GOOD, "supported": "no"}), "field 'supported' must be a bool"),
        (json.dumps({**GOOD, "kind": "typo"}), "field 'kind' is 'typo'"),
        (json.dumps({**GOOD, "supported": True}), "contradicts supported=True"),
        (json.dumps({**GOOD, "extra": 1}), "unknown field(s) extra"),
        (json.dumps({**GOOD, "passage": " "}), "field 'passage' is empty"),
    ],
)
def test_malformed_line_names_its_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path, json.dumps(GOOD), "", line)
    with pytest.raises(PairsError) as err:
        load_pairs(path)
    text = str(err.value)
    assert err.value.line_no == 3 and f"{path}:3:" in text and message in text
    assert "\n" not in text


def test_duplicate_id_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PairsError, match=r":2: duplicate id 'x-1' \(first on line 1\)"):
        load_pairs(_write(tmp_path, json.dumps(GOOD), json.dumps(GOOD)))
    with pytest.raises(PairsError, match="no such file"):
        load_pairs(tmp_path / "absent.jsonl")


def test_sentence_lang() -> None:
    assert sentence_lang("In 1957 Hiller and Isaacson completed 《依利亚克组曲》.") == "en"
    assert sentence_lang("1957 年，希勒（Hiller）完成了第一支由计算机创作的音乐作品。") == "zh"


def test_assign_splits_is_stratified_and_ignores_order_and_label() -> None:
    pairs = [
        Pair(f"p-{i}", "p", f"s{i}", kind in KINDS[:4], kind, lang, "hand", "calib")
        for i, (kind, lang) in enumerate(
            (k, la) for k in KINDS for la in ("zh", "en") for _ in range(5)
        )
    ]
    split = assign_splits(pairs)
    assert [p.id for p in split] == [p.id for p in pairs]
    assert {p.id: p.split for p in assign_splits(list(reversed(pairs)))} == {
        p.id: p.split for p in split
    }
    by_stratum = Counter((p.kind, p.lang, p.split) for p in split)
    for kind in KINDS:
        for lang in ("zh", "en"):
            assert {by_stratum[(kind, lang, "calib")], by_stratum[(kind, lang, "test")]} == {2, 3}
    assert assign_splits(pairs, seed="other") != split


def test_the_pairs_file() -> None:
    pairs = load_pairs(PAIRS_FILE)
    assert len(pairs) >= 240
    assert sum(p.lang == "en" for p in pairs) >= 60
    assert sum(p.origin == "generated" for p in pairs) >= 100
    hand = [p for p in pairs if p.origin == "hand"]
    assert len(hand) >= 130 and {p.kind for p in hand} == set(KINDS)
    assert assign_splits(pairs) == pairs  # the stored tags are the documented rule's
    paper = re.sub(r"\s+", "", PAPER.read_text(encoding="utf-8"))
    for pair in pairs:
        assert pair.lang == sentence_lang(pair.sentence)
        assert re.sub(r"\s+", "", pair.passage) in paper or pair.origin == "generated", pair.id
