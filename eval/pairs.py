"""Labelled (passage, sentence) pairs that tune and test the support checker.

A pairs file is JSONL, one :class:`Pair` per line (``eval/sets/support-pairs-v1.jsonl``).
Every pair carries a ``split``: ``calib`` pairs may be looked at to choose thresholds and
weights, ``test`` pairs only report figures. :func:`assign_splits` is the rule that tagged
them: within each stratum (kind x lang x origin) pairs are ranked by a seeded hash of their
id and alternate calib/test, so each stratum is split about 50/50 and a pair's tag depends
only on the ids of its stratum, never on its label or on the file order.

The module performs no I/O at import time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

__all__ = [
    "KINDS",
    "LANGS",
    "ORIGINS",
    "SPLITS",
    "SPLIT_SEED",
    "SUPPORTED_KINDS",
    "UNSUPPORTED_KINDS",
    "Pair",
    "PairsError",
    "assign_splits",
    "dump_pairs",
    "load_pairs",
    "sentence_lang",
]

SUPPORTED_KINDS: tuple[str, ...] = ("paraphrase", "summary", "combination", "detail")
"""Kinds of pairs whose sentence the passage supports."""

UNSUPPORTED_KINDS: tuple[str, ...] = (
    "wrong_number",
    "swapped_name",
    "merged_examples",
    "unsupported_detail",
    "negation",
    "overclaim",
)
"""Kinds of near-miss pairs whose sentence the passage does not support."""

KINDS: tuple[str, ...] = SUPPORTED_KINDS + UNSUPPORTED_KINDS
LANGS: tuple[str, ...] = ("zh", "en")
ORIGINS: tuple[str, ...] = ("hand", "generated")
SPLITS: tuple[str, ...] = ("calib", "test")
SPLIT_SEED = "support-pairs-v1"
"""Seed of the split hash; changing it re-deals every pair."""

_FIELDS: dict[str, type] = {
    "id": str,
    "passage": str,
    "sentence": str,
    "supported": bool,
    "kind": str,
    "lang": str,
    "origin": str,
    "split": str,
    "note": str,
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "kind": KINDS,
    "lang": LANGS,
    "origin": ORIGINS,
    "split": SPLITS,
}


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass(frozen=True)
class Pair:
    """One labelled pair: does ``passage`` support ``sentence``?

    ``kind`` says how the sentence was made (see :data:`KINDS`); it agrees with
    ``supported``. ``lang`` is the sentence's language, ``origin`` whether a person wrote
    it or :mod:`eval.perturb` generated it, ``note`` why the label holds.
    """

    id: str
    passage: str
    sentence: str
    supported: bool
    kind: str
    lang: str
    origin: str
    split: str
    note: str = ""

    def __repr__(self) -> str:
        return (
            f"Pair({self.id!r}, {self.kind}, supported={self.supported}, "
            f"sentence={_short(self.sentence)!r})"
        )

    def to_json(self) -> dict[str, object]:
        """The pair as the JSON object of one line of a pairs file."""
        return asdict(self)


class PairsError(ValueError):
    """A pairs file line that is not a valid pair; the message names file and line."""

    def __init__(self, path: str | Path, line_no: int, message: str) -> None:
        self.path = str(path)
        self.line_no = line_no
        self.message = message
        super().__init__(f"{self.path}:{line_no}: {message}")


def sentence_lang(text: str) -> str:
    """``"en"`` when a sentence has more Latin letters than CJK characters, else ``"zh"``."""
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "en" if latin > cjk else "zh"


def _check(data: dict[str, object]) -> str | None:
    """What is wrong with one decoded line, or None."""
    missing = [f for f in _FIELDS if f not in data]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    extra = sorted(set(data) - set(_FIELDS))
    if extra:
        return f"unknown field(s) {', '.join(extra)}"
    for name, typ in _FIELDS.items():
        if not isinstance(data[name], typ):
            return f"field {name!r} must be a {typ.__name__}, got {type(data[name]).__name__}"
    for name, choices in _CHOICES.items():
        if data[name] not in choices:
            return f"field {name!r} is {data[name]!r}; expected one of {', '.join(choices)}"
    for name in ("id", "passage", "sentence"):
        if not str(data[name]).strip():
            return f"field {name!r} is empty"
    if (data["kind"] in SUPPORTED_KINDS) != data["supported"]:
        return f"kind {data['kind']!r} contradicts supported={data['supported']}"
    return None


def load_pairs(path: str | Path) -> list[Pair]:
    """Load a pairs file (JSONL, UTF-8); blank lines are ignored.

    Raises:
        PairsError: the file is missing, or a line is not JSON, not an object, lacks or
            mistypes a field, has an unknown kind/lang/origin/split, a kind that
            contradicts its label, or an id already used; the message names the line.
    """
    path = Path(path)
    if not path.is_file():
        raise PairsError(path, 0, "no such file; give the path of a .jsonl pairs file")
    pairs: list[Pair] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PairsError(
                    path, line_no, f"invalid JSON: {exc.msg} (column {exc.colno})"
                ) from exc
            if not isinstance(data, dict):
                raise PairsError(
                    path, line_no, f"expected a JSON object, got {type(data).__name__}"
                )
            problem = _check(data)
            if problem:
                raise PairsError(path, line_no, f"pair {data.get('id', '?')!r}: {problem}")
            if data["id"] in seen:
                raise PairsError(
                    path, line_no, f"duplicate id {data['id']!r} (first on line {seen[data['id']]})"
                )
            seen[data["id"]] = line_no
            pairs.append(Pair(**data))
    return pairs


def dump_pairs(pairs: Iterable[Pair], path: str | Path) -> None:
    """Write pairs as JSONL (UTF-8, one object per line, non-ASCII kept)."""
    with Path(path).open("w", encoding="utf-8") as fh:
        for pair in pairs:
            fh.write(json.dumps(pair.to_json(), ensure_ascii=False) + "\n")


def _rank(seed: str, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def assign_splits(pairs: Sequence[Pair], seed: str = SPLIT_SEED) -> list[Pair]:
    """Tag every pair ``calib`` or ``test``, stratified by kind x lang x origin.

    Within a stratum pairs are ordered by sha256(seed:id) and dealt alternately; the
    parity of the stratum's own hash says whether dealing starts with calib or test, so
    the odd pairs of odd-sized strata do not all fall on one side. Returns new pairs in
    the input order.
    """
    strata: dict[tuple[str, str, str], list[Pair]] = defaultdict(list)
    for pair in pairs:
        strata[(pair.kind, pair.lang, pair.origin)].append(pair)
    split_of: dict[str, str] = {}
    for key, members in strata.items():
        first = "calib" if int(_rank(seed, "/".join(key)), 16) % 2 == 0 else "test"
        second = "test" if first == "calib" else "calib"
        ordered = sorted(members, key=lambda p: _rank(seed, p.id))
        for i, pair in enumerate(ordered):
            split_of[pair.id] = first if i % 2 == 0 else second
    return [replace(pair, split=split_of[pair.id]) for pair in pairs]
