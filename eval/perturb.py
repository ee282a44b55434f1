"""Labelled pairs made from any document's passages by general perturbation rules.

Each rule takes one sentence of a passage and returns a sentence whose label is known by
construction. Supported: the sentence with a lead-in and without parenthetical glosses
(``paraphrase``), a leading run of its clauses (``summary``), two adjacent sentences joined
(``combination``). Unsupported, copying everything else: a number, year or month changed
(``wrong_number``); a name swapped for another name of the same document that the passage
does not contain (``swapped_name``); a negation inserted or removed (``negation``); the two
sides of a from/to relation or of a "respectively" list swapped, or one example's name
put into another example's sentence of the same passage (``merged_examples``).

Names come from the document itself: titles in 《》, Latin names, and jieba's person,
place and organisation tags (nr/nrt/nrfg, ns, nt) for words that are rare in the document.
Nothing here knows any particular document.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.pairs import Pair, assign_splits, sentence_lang

__all__ = ["GENERATED_KINDS", "Pair", "document_passages", "perturb_pairs"]

GENERATED_KINDS: tuple[str, ...] = (
    "paraphrase",
    "summary",
    "combination",
    "wrong_number",
    "swapped_name",
    "negation",
    "merged_examples",
)
"""The kinds :func:`perturb_pairs` can make."""

_MIN_SENTENCE, _MAX_SENTENCE = 15, 220
_NAME_MAX_DOC_COUNT = 3  # a word seen more often than this is a topic word, not an example's name
_CITATION = re.compile(r"\[\d+(?:\s*[,，-]\s*\d+)*\]")
_PARENS = re.compile(r"[（(][^（）()]{1,60}[）)]")
_TERMINAL = re.compile(r"[。！？!?；;.]\s*[”’」』）)》\"']*\s*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TITLE = re.compile(r"《[^《》]{1,30}》")
_CJK_WORD = re.compile(r"[\u4e00-\u9fff]{1,4}")
_HEDGE = re.compile(r"可能|也许|或许|未可知|不一定|\b(?:may|might|perhaps|possibly)\b", re.I)
# One Latin word, or a run of capitalised words ("Alan Turing", "Sci-Fi London").
_LATIN_WORD = r"[A-Za-z][A-Za-z0-9]*(?:[-+][A-Za-z0-9]+)*\+?"
_CAPITAL_WORD = r"[A-Z][A-Za-z0-9]*(?:[-+][A-Za-z0-9]+)*\+?"
_LATIN_NAME = re.compile(
    rf"(?<![A-Za-z0-9])(?:{_CAPITAL_WORD}(?: {_CAPITAL_WORD})+|{_LATIN_WORD})(?![A-Za-z0-9])"
)
_URL = re.compile(r"https?://\S+|www\.\S+")
_JIEBA_GROUPS = {"nr": "person", "nrt": "person", "nrfg": "person", "ns": "place", "nt": "org"}
_NOT_NAME_SUFFIX = ("性", "化", "度", "们", "者")
_ORG_SUFFIX = (
    "学",
    "社",
    "司",
    "院",
    "局",
    "视",
    "府",
    "会",
    "部",
    "所",
    "厂",
    "台",
    "团",
    "馆",
    "校",
    "盟",
)
_PERSON_MAX_DICT_FREQ = 50
_PLACE_MIN_DICT_FREQ = 2000
_EN_STOP = {
    "The", "This", "That", "These", "Those", "It", "Its", "A", "An", "In", "On", "At", "For",
    "If", "When", "With", "And", "Or", "But", "To", "By", "As", "Of", "Each", "Every", "All",
    "No", "Not", "Use", "See", "Run", "We", "You", "They", "He", "She", "I", "Our", "Your",
}  # fmt: skip

# A number with what it counts; a bare one- or two-digit number without a unit is skipped
# (footnote markers glued to words look exactly like that).
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9.\-/\[])(\d+(?:\.\d+)?)(\s*)"
    r"(年|月|日|%|％|个|万|亿|倍|小时|分钟|秒|天|张|部|首|集|名|份|元|美元|岁|周|世纪|度|°|"
    r"percent|per cent|years?|months?|days?|hours?|minutes?|seconds?|times|MB|GB|ms|s\b)?"
)

# Negation rules over jieba tokens (Chinese) and words (English): token -> its opposite.
_ZH_REMOVE = {
    "不": "", "没有": "有", "无法": "能够", "不能": "能", "不会": "会", "并不": "",
    "尚未": "已经", "未": "已", "不是": "是", "难以": "能够", "不再": "仍然", "不够": "足够",
}  # fmt: skip
_ZH_INSERT = {
    "可以": "无法", "能够": "无法", "能": "不能", "已经": "尚未", "已": "尚未", "是": "不是",
    "具有": "不具有", "具备": "不具备", "会": "不会", "需要": "不需要",
}  # fmt: skip
_ZH_NO_NEGATION_AFTER = set("只仅所也还就而但即正或于别其一二三四五六七八九十不未没无非")
_EN_REMOVE = {"not": "", "never": "always", "cannot": "can", "no": "some"}
_EN_INSERT_AFTER = {
    "is",
    "are",
    "was",
    "were",
    "can",
    "will",
    "should",
    "must",
    "does",
    "do",
    "has",
}

_ZH_FROM_TO = re.compile(
    r"(从|由)([^，。、；：,;（）“”《》\s的了]{1,12})(到|向|至)([^，。、；：,;（）“”《》\s的了]{1,12}?)(?=[的，。；、]|转|发展|过渡|跃|迈|演|延伸|拓展)"
)
_EN_FROM_TO = re.compile(r"\bfrom ([A-Za-z0-9][\w\- ]{0,30}?) to ([A-Za-z0-9][\w\-]{0,30})\b")
_ZH_RESPECTIVELY = re.compile(r"分别")
_CLAUSE = re.compile(r"[，,]")
_CONDITIONAL_START = re.compile(r"^(如果|若|假如|只要|只有|一旦|除非|If|Unless|When|Only)")


@dataclass(frozen=True)
class _Names:
    """The names of one document, by group, and how often each occurs."""

    by_group: dict[str, tuple[str, ...]]
    group_of: dict[str, str]


def _clean(sentence: str) -> str:
    return _CITATION.sub("", sentence).strip()


def _sentences(passage: str) -> list[str]:
    """Whole sentences of a passage that a perturbation may start from."""
    from ingest.chunker import split_sentences

    out = []
    for span in split_sentences(passage):
        text = _clean(passage[span.start : span.end])
        if not (_MIN_SENTENCE <= len(text) <= _MAX_SENTENCE):
            continue
        if "http" in text or not _TERMINAL.search(text):
            continue
        out.append(text)
    return out


def _jieba_posseg() -> object:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def _collect_names(passages: Sequence[str]) -> _Names:
    """Titles, Latin names and jieba-tagged proper names that are rare in the passages."""
    import jieba

    posseg = _jieba_posseg()
    sentences = sorted({s for p in passages for s in _sentences(p)})
    counts: Counter[str] = Counter()
    group_of: dict[str, str] = {}
    for text in sentences:
        text = _URL.sub(" ", text)
        for title in _TITLE.findall(text):
            counts[title] += 1
            group_of[title] = "title"
        for m in _LATIN_NAME.finditer(text):
            counts[m.group(0)] += 1
            if _latin_is_name(text, m.start(), m.group(0)):
                group_of.setdefault(m.group(0), "latin")
        if not _CJK.search(text):
            continue
        tokens = [(t.word, t.flag) for t in posseg.cut(text)]  # type: ignore[attr-defined]
        for i, (word, flag) in enumerate(tokens):
            counts[word] += 1
            group = _JIEBA_GROUPS.get(flag)
            if group and _cjk_is_name(word, group, jieba.dt.FREQ.get(word, 0)):
                group_of.setdefault(word, group)
            if word == "·" and 0 < i < len(tokens) - 1:  # a transliterated full name
                left, right = tokens[i - 1][0], tokens[i + 1][0]
                if _CJK_WORD.fullmatch(left) and _CJK_WORD.fullmatch(right):
                    counts[left + word + right] += 1
                    group_of[left + word + right] = "person"
    group_of = {w: g for w, g in group_of.items() if counts[w] <= _NAME_MAX_DOC_COUNT}
    by_group: dict[str, list[str]] = defaultdict(list)
    for word, group in sorted(group_of.items()):
        by_group[group].append(word)
    return _Names({g: tuple(ws) for g, ws in by_group.items()}, group_of)


def _cjk_is_name(word: str, group: str, dict_freq: int) -> bool:
    """Filter jieba's proper-noun tags, which also fall on common words."""
    if len(word) < 2 or word.endswith(_NOT_NAME_SUFFIX):
        return False
    if group == "person":  # common words tagged nr are frequent in jieba's dictionary
        return dict_freq < _PERSON_MAX_DICT_FREQ and len(word) <= 4
    if group == "org":
        return word.endswith(_ORG_SUFFIX)
    return dict_freq >= _PLACE_MIN_DICT_FREQ  # real places are well-known dictionary words


def _latin_is_name(text: str, start: int, word: str) -> bool:
    """A Latin name has a capital not only at a sentence start and is not URL debris."""
    if len(word) < 2 or len(word) > 40 or not any(c.isupper() for c in word):
        return False
    if word.split(" ")[0] in _EN_STOP or sum(c.isdigit() for c in word) > 4:
        return False
    if word.isupper() or any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word):
        return True
    before = text[:start].rstrip()
    return bool(before) and before[-1] not in ".!?。！？\n"


def _names_in(sentence: str, names: _Names) -> list[str]:
    found = [w for w in names.group_of if w in sentence]
    # A name inside a longer found name ("GPT" in "GPT-3") is not a name of its own here.
    return sorted(w for w in found if not any(w != o and w in o for o in found))


# --- supported ------------------------------------------------------------------------


def _paraphrase(sentence: str, lang: str) -> tuple[str, str] | None:
    stripped = _PARENS.sub("", sentence)
    lead = "According to the document, " if lang == "en" else "文中提到，"
    first = stripped.split(" ", 1)[0]
    body = stripped[0].lower() + stripped[1:] if lang == "en" and first in _EN_STOP else stripped
    note = "lead-in added" + ("; parenthetical glosses dropped" if stripped != sentence else "")
    return lead + body, note


def _summary(sentence: str, rng: random.Random) -> tuple[str, str] | None:
    clauses = [c for c in _CLAUSE.split(sentence)]
    if len(clauses) < 3 or _CONDITIONAL_START.match(sentence):
        return None
    k = rng.randint(2, len(clauses) - 1)
    head = (
        "，".join(clauses[:k])
        if _CJK.search(sentence)
        else ", ".join(c.strip() for c in clauses[:k])
    )
    if (
        len(head) < _MIN_SENTENCE
        or head.count("“") != head.count("”")
        or head.count("（") != head.count("）")
    ):
        return None
    end = "。" if _CJK.search(sentence) else "."
    return head.rstrip("，, ") + end, f"first {k} of {len(clauses)} clauses"


def _combination(first: str, second: str) -> tuple[str, str] | None:
    if len(first) + len(second) > _MAX_SENTENCE:
        return None
    if _CJK.search(first):
        return first.rstrip("。！？；;") + "；" + second, "two adjacent sentences joined"
    return first.rstrip(".!?;") + "; " + second[0].lower() + second[
        1:
    ], "two adjacent sentences joined"


# --- unsupported ----------------------------------------------------------------------


def _new_number(value: str, unit: str, rng: random.Random) -> str:
    if "." in value:
        whole, frac = value.split(".")
        return f"{int(whole) + rng.randint(1, 9)}.{frac}"
    n = int(value)
    if unit == "月" and 1 <= n <= 12:
        return str(rng.choice([m for m in range(1, 13) if m != n]))
    if unit == "日" and 1 <= n <= 31:
        return str(rng.choice([d for d in range(1, 29) if d != n]))
    if len(value) == 4 and 1900 <= n <= 2100:  # a year
        return str(n + rng.choice([-3, -2, -1, 1, 2, 3]))
    if n < 10:
        return str(rng.choice([m for m in range(2, 10) if m != n]))
    return str(
        n * rng.choice([2, 3, 5]) if rng.random() < 0.5 else max(1, n // rng.choice([2, 4, 10])) + 1
    )


def _wrong_number(sentence: str, passage: str, rng: random.Random) -> tuple[str, str] | None:
    spots = [
        m
        for m in _NUMBER.finditer(sentence)
        if m.group(3) or len(m.group(1)) >= 3 or "." in m.group(1)
    ]
    rng.shuffle(spots)
    for m in spots:
        value, unit = m.group(1), m.group(3) or ""
        new = _new_number(value, unit, rng)
        replaced = new + m.group(2) + unit
        if new == value or replaced in passage:
            continue
        out = sentence[: m.start()] + replaced + sentence[m.end() :]
        return out, f"{value}{m.group(2)}{unit} -> {replaced}"
    return None


def _swapped_name(
    sentence: str, passage: str, names: _Names, rng: random.Random
) -> tuple[str, str] | None:
    present = _names_in(sentence, names)
    rng.shuffle(present)
    for name in present:
        group = names.group_of[name]
        others = [o for o in names.by_group.get(group, ()) if o not in passage and name not in o]
        if others:
            other = rng.choice(others)
            return sentence.replace(
                name, other, 1
            ), f"{name} -> {other} ({group}, elsewhere in the document)"
    return None


def _negation(sentence: str, lang: str, rng: random.Random) -> tuple[str, str] | None:
    if _HEDGE.search(sentence):  # negating a hedged claim need not contradict it
        return None
    if lang == "en":
        words = re.split(r"(\W+)", sentence)
        spots = [
            i
            for i, w in enumerate(words)
            if w.lower() in _EN_REMOVE or w.lower() in _EN_INSERT_AFTER
        ]
        if not spots:
            return None
        i = rng.choice(spots)
        w = words[i]
        if w.lower() in _EN_REMOVE:
            words[i] = _EN_REMOVE[w.lower()]
            note = f"removed {w!r}"
        else:
            words[i] = w + " not"
            note = f"'not' after {w!r}"
        return re.sub(r"\s{2,}", " ", "".join(words)), note
    posseg = _jieba_posseg()
    tokens = [(t.word, t.flag) for t in posseg.cut(sentence)]  # type: ignore[attr-defined]
    removable = [i for i, (w, _) in enumerate(tokens) if w in _ZH_REMOVE]
    insertable = [
        i for i, (w, f) in enumerate(tokens) if w in _ZH_INSERT and _can_negate(tokens, i, f)
    ]
    choices = [("remove", i) for i in removable] + [("insert", i) for i in insertable]
    if not choices:
        return None
    how, i = rng.choice(choices)
    word = tokens[i][0]
    new = (_ZH_REMOVE if how == "remove" else _ZH_INSERT)[word]
    rest = tokens[i + 1 :]
    if how == "insert" and rest and rest[0][0] == "了":  # "具备了" -> "并未具备"
        new, rest = "并未" + word, rest[1:]
    out = "".join(w for w, _ in tokens[:i]) + new + "".join(w for w, _ in rest)
    return out, f"{how}: {word} -> {new or '∅'}"


def _can_negate(tokens: list[tuple[str, str]], i: int, flag: str) -> bool:
    """Whether a verb or adverb token may take a negation without breaking the grammar."""
    if not flag.startswith(("v", "d")):
        return False
    prev = tokens[i - 1][0] if i else ""
    if prev[-1:] in _ZH_NO_NEGATION_AFTER:  # "只需要", "一是", "特别是", "不是"
        return False
    return not (tokens[i][0] == "是" and len(prev) < 2)


def _merged_examples(
    sentence: str, passage: str, names: _Names, rng: random.Random
) -> tuple[str, str] | None:
    m = _ZH_FROM_TO.search(sentence)
    if m and m.group(2) != m.group(4):
        out = (
            sentence[: m.start()]
            + m.group(1)
            + m.group(4)
            + m.group(3)
            + m.group(2)
            + sentence[m.end() :]
        )
        return out, f"from/to swapped: {m.group(2)} <-> {m.group(4)}"
    m2 = _EN_FROM_TO.search(sentence)
    if m2 and m2.group(1) != m2.group(2):
        out = sentence[: m2.start()] + f"from {m2.group(2)} to {m2.group(1)}" + sentence[m2.end() :]
        return out, f"from/to swapped: {m2.group(1)} <-> {m2.group(2)}"
    resp = _respectively(sentence)
    if resp:
        return resp
    # One example's property given to another: a name from another sentence of the passage.
    mine = _names_in(sentence, names)
    rng.shuffle(mine)
    for name in mine:
        group = names.group_of[name]
        others = [
            o
            for o in _names_in(passage, names)
            if o != name
            and names.group_of[o] == group
            and o not in sentence
            and name not in o
            and o not in name
        ]
        if others:
            other = rng.choice(others)
            return sentence.replace(
                name, other, 1
            ), f"{name} -> {other} (another example of the passage)"
    return None


def _respectively(sentence: str) -> tuple[str, str] | None:
    """ "A 和 B 分别 … X 和 Y": swap X and Y so each gets the other's subject."""
    m = _ZH_RESPECTIVELY.search(sentence)
    if not m or not re.search(r"[和与及]", sentence[: m.start()].rsplit("，", 1)[-1]):
        return None
    tail = sentence[m.end() :]
    pair = re.search(
        r"([^，。、；和与及\s]{1,20}?)\s*(?:和|与|及)\s*([^，。、；和与及\s]{1,20}?)(?=[，。；,]|$|\s)",
        tail,
    )
    if not pair or pair.group(1) == pair.group(2):
        return None
    x_full, y = pair.group(1), pair.group(2)
    # Keep a shared lead ("提出大规模预训练模型BERT" vs "GPT"): swap only a Latin name at the end.
    latin = re.search(r"[A-Za-z0-9][\w\-]*$", x_full)
    x_head, x = (x_full[: latin.start()], latin.group(0)) if latin else ("", x_full)
    new_tail = (
        tail[: pair.start(1)]
        + x_head
        + y
        + tail[pair.end(1) : pair.start(2)]
        + x
        + tail[pair.end(2) :]
    )
    return sentence[: m.end()] + new_tail, f"respectively-list swapped: {x} <-> {y}"


# --- driver ---------------------------------------------------------------------------


def _pair_id(kind: str, passage: str, sentence: str) -> str:
    return "g-" + hashlib.sha256(f"{kind}\n{passage}\n{sentence}".encode()).hexdigest()[:10]


def _passage_pairs(passage: str, names: _Names, rng: random.Random) -> list[Pair]:
    sentences = _sentences(passage)
    if not sentences:
        return []
    out: list[Pair] = []

    def add(kind: str, supported: bool, made: tuple[str, str] | None, source: str) -> None:
        if made is None or (made[0] == source and not supported):
            return
        sentence, note = made
        if not supported and sentence in passage:
            return
        out.append(
            Pair(
                id=_pair_id(kind, passage, sentence),
                passage=passage,
                sentence=sentence,
                supported=supported,
                kind=kind,
                lang=sentence_lang(sentence),
                origin="generated",
                split="calib",
                note=f"{note}; from: {source}",
            )
        )

    lang = sentence_lang(passage)
    order = list(range(len(sentences)))
    rng.shuffle(order)
    makers: dict[str, Callable[[str], tuple[str, str] | None]] = {
        "paraphrase": lambda s: _paraphrase(s, lang),
        "summary": lambda s: _summary(s, rng),
        "wrong_number": lambda s: _wrong_number(s, passage, rng),
        "swapped_name": lambda s: _swapped_name(s, passage, names, rng),
        "negation": lambda s: _negation(s, lang, rng),
        "merged_examples": lambda s: _merged_examples(s, passage, names, rng),
    }
    for kind, make in makers.items():
        for i in order:  # the first sentence (in seeded order) the rule applies to
            made = make(sentences[i])
            if made is not None and made[0] != sentences[i]:
                add(kind, kind in ("paraphrase", "summary"), made, sentences[i])
                break
    for i in order:
        if i + 1 < len(sentences):
            made = _combination(sentences[i], sentences[i + 1])
            if made:
                add("combination", True, made, sentences[i] + sentences[i + 1])
                break
    return out


def perturb_pairs(
    passages: Sequence[str], seed: int = 0, per_kind: int | None = None
) -> list[Pair]:
    """Labelled pairs made from ``passages`` (e.g. one document's chunk texts).

    Every passage yields at most one pair per kind, each from a sentence chosen with a
    random generator seeded by ``seed`` and the passage text, so a passage's pairs do not
    depend on the other passages. With ``per_kind``, at most that many pairs of each kind
    are kept (a seeded sample). Pairs come back sorted by kind and id, tagged
    ``origin="generated"`` and split by :func:`eval.pairs.assign_splits`.
    Same passages and seed, same pairs.
    """
    passages = [p for p in dict.fromkeys(p.strip() for p in passages) if p]
    names = _collect_names(passages)
    pairs: list[Pair] = []
    for passage in passages:
        digest = hashlib.sha256(f"{seed}:{passage}".encode()).hexdigest()
        pairs.extend(_passage_pairs(passage, names, random.Random(digest)))
    unique = {p.id: p for p in pairs}
    by_kind: dict[str, list[Pair]] = defaultdict(list)
    for pair in sorted(unique.values(), key=lambda p: (p.kind, p.id)):
        by_kind[pair.kind].append(pair)
    chosen: list[Pair] = []
    sampler = random.Random(seed)
    for kind in GENERATED_KINDS:
        group = by_kind.get(kind, [])
        if per_kind is not None and len(group) > per_kind:
            group = sorted(sampler.sample(group, per_kind), key=lambda p: p.id)
        chosen.extend(group)
    return assign_splits(chosen)


def document_passages(path: str | Path) -> list[str]:
    """The chunk texts ingestion makes of a PDF, text or Markdown file (no index needed).

    Raises:
        ingest.errors.IngestError: the file cannot be read (the message says why).
    """
    from ingest.chunker import Chunker
    from ingest.clean import clean_pages
    from ingest.loaders import inspect, open_pdf, read_text_pages

    source = inspect(Path(path))
    if source.kind == "pdf":
        pages = list(open_pdf(source))
    else:
        pages, _ = read_text_pages(source)
    doc = clean_pages(
        pages,
        doc_id=source.doc_id,
        title=source.path.stem,
        source_file=str(source.path),
        content_hash=source.content_hash,
        markdown=source.kind == "markdown",
    )
    return [chunk.text for chunk in Chunker().chunk(doc)]
