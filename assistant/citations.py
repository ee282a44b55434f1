"""Citations are parsed and checked in code, never trusted from the model.

An answer marks citations as 【n】 (the passage number in the prompt). The white paper's own
bracketed reference numbers ("AlexNet[1]") are not citations and are never read as such.
After generation: markers are parsed, out-of-range ones dropped, the answer split into
sentences, and every claim checked against its cited passages by a support judge; a claim
without a valid citation gets the best-supporting passage when one supports it, and a claim
that no passage supports is flagged (and removed in strict mode).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.support.exact import TRANSLATED_NAME
from assistant.types import AnswerSentence, Citation, Passage, SupportCheck, Verdict
from ingest.text import (
    CONTENT,
    IDEOGRAPH_SPAN,
    LATIN_TERM,
    answer_sentence_ends,
    detect_language,
    is_named_term,
    split_sentences,
)

MARKER = re.compile(r"【\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*】")
# Malformed markers: 【】, 【a】, an unclosed 【1.
_LOOSE_MARKER = re.compile(r"【[^【】\n]{0,12}】|【[\s\d,，、]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"“([^”]{1,40})”|《([^》]{1,40})》|\"([^\"]{1,40})\"|「([^」]{1,40})」")
_LATIN_TERM = re.compile(rf"{LATIN_TERM.pattern}|[A-Za-z]")
_CONTENT = CONTENT
_IDEOGRAPH_RUN = re.compile(rf"[{IDEOGRAPH_SPAN}]{{3,}}")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
# English words that carry no content: articles, question words, auxiliaries.
_GLUE = frozenset(
    "a an the this that these those which what who whom whose when where why how is are was "  # noqa: SIM905
    "were be been do does did has have had it its".split()
)
# Yes/no questions, by the language's own words.
_YES_NO = re.compile(
    r"是否|是不是|有没有|能不能|会不会|吗[？?]?\s*$"
    r"|^\s*(?:is|are|was|were|does|do|did|can|could|will|would|should|has|have|had)\b",
    re.IGNORECASE,
)
# The language's question words, for putting a bare answer into its question ("是哪一年发布的"
# + "2018年" -> "是2018年发布的"): longest first, so "多少个" is replaced whole.
_ASKED = re.compile(
    r"哪一年|哪年|什么时候|多少[年个份次张位家种人天岁元首字部篇项]?|几[年个种位家次项部首天岁]"
    r"|哪[个位家种部项些款首篇条]|谁|什么"
)
_QUESTION = re.compile(
    rf"[?？]|{_ASKED.pattern}|\b(?:what|which|who|whom|whose|when|where|how|why)\b", re.I
)
# What a bare answer is made of: ideographs, Latin words and numbers, counted one each.
_UNIT = re.compile(rf"[{IDEOGRAPH_SPAN}]|[A-Za-z]+|\d+(?:[.,]\d+)*")
#: A sentence of at most this many units is a bare value ("2018年", "8700 多份", "Eliza").
BARE_UNITS = 6


@dataclass
class ParsedSentence:
    """A sentence of a generated answer with the markers that follow it."""

    text: str  # without markers, stripped
    markers: list[int] = field(default_factory=list)
    newline_after: bool = False


def parse_answer(text: str) -> list[ParsedSentence]:
    """Split an answer into sentences and attach each 【n】 marker to its sentence.

    A marker right after a sentence's end ("…。【2】") belongs to that sentence; malformed
    markers ("【】", "【a】", an unclosed "【") are removed from the text.
    """
    sentences: list[ParsedSentence] = []
    current = ParsedSentence("")
    pos = 0
    pieces: list[tuple[str, str | list[int]]] = []
    for m in MARKER.finditer(text):
        pieces.append(("text", text[pos : m.start()]))
        pieces.append(("marker", [int(x) for x in re.split(r"\s*[,，、]\s*", m.group(1))]))
        pos = m.end()
    pieces.append(("text", text[pos:]))

    def close(newline: bool) -> None:
        nonlocal current
        if _CONTENT.search(current.text):
            current.text = current.text.strip()
            current.newline_after = newline
            sentences.append(current)
        elif current.markers and sentences:
            sentences[-1].markers.extend(current.markers)
        current = ParsedSentence("")

    for kind, value in pieces:
        if kind == "marker":
            assert isinstance(value, list)
            if not _CONTENT.search(current.text) and sentences:
                sentences[-1].markers.extend(value)
            else:
                current.markers.extend(value)
            continue
        assert isinstance(value, str)
        chunk = _LOOSE_MARKER.sub("", value)
        start = 0
        for end_match in answer_sentence_ends(chunk):
            current.text += chunk[start : end_match.end()]
            start = end_match.end()
            close(newline="\n" in end_match.group(0))
        current.text += chunk[start:]
    close(newline=False)
    for sentence in sentences:
        sentence.markers = list(dict.fromkeys(sentence.markers))
    return sentences


def is_claim(sentence: str) -> bool:
    """Lead-ins such as "根据白皮书：" or "According to the white paper:" are not claims."""
    content = _CONTENT.findall(sentence)
    return not (len(content) <= 30 and sentence.rstrip().endswith((":", "："))) and bool(content)


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def hard_terms(sentence: str) -> list[str]:
    """Numbers, years, Latin terms and quoted names: each must appear in a supporting passage."""
    terms = _NUMBER.findall(sentence)
    terms += [next(g for g in m.groups() if g) for m in _QUOTED.finditer(sentence)]
    if detect_language(sentence) == "zh":
        terms += _LATIN_TERM.findall(sentence)
    else:
        words = _LATIN_TERM.findall(sentence)
        # In English, only acronyms, CamelCase and letter-digit names are terms; ordinary
        # (and sentence-initial) capitalised words are translations, not checkable strings.
        terms += [
            w
            for w in words[1:] + words[:1]
            if is_named_term(w) and len(w) >= 2 and not TRANSLATED_NAME.match(w)
        ]
    return [t for t in terms if _CONTENT.search(t)]


def _bare_facts(sentence: str, terms: list[str]) -> bool:
    """Whether a sentence is little more than its terms ("2012", "43.25 万美元", "GAN.")."""
    rest = sentence
    for term in terms:
        rest = rest.replace(term, " ")
    return (
        bool(terms)
        and len(re.findall(r"[A-Za-z]{2,}", rest)) <= 2
        and not _IDEOGRAPH_RUN.search(rest)
    )


def _bigrams(text: str) -> set[str]:
    chars = "".join(_CONTENT.findall(text.lower()))
    return {chars[i : i + 2] for i in range(len(chars) - 1)} or ({chars} if chars else set())


def bigram_overlap(sentence: str, passage: str) -> float:
    """Share of the sentence's character bigrams that occur in the passage."""
    grams = _bigrams(sentence)
    if not grams:
        return 0.0
    return len(grams & _bigrams(passage)) / len(grams)


class LexicalJudge:
    """Deterministic support check.

    Every number, year, Latin term and quoted name of the sentence must appear in the
    passage; the rest is scored by character-bigram overlap. English sentences about Chinese
    passages share no bigrams, so for them the rest is scored by the embedding similarity of
    the sentence to the passage's closest sentence (when an embedder is given).
    """

    name = "lexical"

    def __init__(
        self,
        threshold: float = 0.5,
        embeddings: Embeddings | None = None,
        cross_lingual_floor: float = 0.78,
        cross_lingual_ceiling: float = 0.837,
    ) -> None:
        self.threshold = threshold
        self.embeddings = embeddings
        self.floor = cross_lingual_floor
        self.ceiling = cross_lingual_ceiling

    def score(self, sentence: str, passage: str) -> float:
        norm_passage = _normal(passage)
        terms = hard_terms(sentence)
        if any(_normal(t) not in norm_passage for t in terms):
            return 0.0
        if _bare_facts(sentence, terms):
            return 1.0  # a short answer ("2012", "43.25【1】") is its terms, all present
        if detect_language(sentence) == "zh" or self.embeddings is None:
            return bigram_overlap(sentence, passage)
        return self._semantic(sentence, passage)

    def check(self, sentence: str, passage: str, *, use_model: bool = True) -> Verdict:
        value = self.score(sentence, passage)
        return Verdict(value >= self.threshold, value, (f"lexical: {value:.2f}",), "lexical")

    def quote_score(self, sentence: str, quote: str) -> float:
        """Chinese sentences rank quotes by character-bigram overlap alone, without the term
        check (the passage as a whole passed it); other sentences as ``score`` does."""
        if detect_language(sentence) == "zh":
            return bigram_overlap(sentence, quote)
        return self.score(sentence, quote)

    def _semantic(self, sentence: str, passage: str) -> float:
        assert self.embeddings is not None
        parts = [passage[s.start : s.end].strip() for s in split_sentences(passage)] or [passage]
        vectors = np.asarray(self.embeddings.embed_documents(parts), dtype=np.float32)
        query = np.asarray(self.embeddings.embed_query(sentence), dtype=np.float32)
        best = float((vectors @ query).max())
        return float(np.clip((best - self.floor) / (self.ceiling - self.floor), 0.0, 1.0))


def best_quote(sentence: str, passage: Passage, checker: SupportCheck) -> tuple[str, int, float]:
    """The passage sentence that best supports ``sentence``: (quote, offset in passage, score).

    Scored by the checker's cheap layers only: the quote is shown, the decision is made once
    on the whole cited passage. Ties (a sentence that merges two of the passage's, which no
    single one carries alone) go to the sentence sharing the most character pairs with it,
    not to the passage's first line."""
    best = ("", 0, -1.0)
    best_key = (-1.0, -1.0)
    for span in split_sentences(passage.text):
        raw = passage.text[span.start : span.end]
        quote = raw.strip()
        if not _CONTENT.search(quote):
            continue
        score = checker.quote_score(sentence, quote)
        key = (score, bigram_overlap(quote, sentence))
        if key > best_key:
            best, best_key = (quote, span.start + (len(raw) - len(raw.lstrip())), score), key
    return best


def cite(sentence: str, passage: Passage, checker: SupportCheck, index: int) -> Citation:
    """The citation of ``passage`` by answer sentence ``index``: the passage sentence that best
    carries ``sentence``, located on its page."""
    quote, offset, q_score = best_quote(sentence, passage, checker)
    doc_start = passage.document_offset(offset)
    page = passage.page_at(doc_start)
    page_start = passage.page_spans[page][0] if passage.page_spans else passage.start
    return Citation(
        marker=passage.number,
        chunk_id=passage.chunk_at(offset),
        doc_id=passage.doc_id,
        title=passage.title,
        page_index=passage.page_indices[page] if passage.page_indices else 0,
        page_label=passage.page_labels[page] if passage.page_labels else "",
        section_path=passage.section_path,
        quote=quote,
        quote_start=doc_start - page_start,
        quote_end=doc_start - page_start + len(quote),
        doc_start=doc_start,
        doc_end=doc_start + len(quote),
        sentence_index=index,
        support=round(max(q_score, 0.0), 3),
    )


@dataclass(frozen=True)
class CheckedAnswer:
    text: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    removed_unsupported: int
    removed: tuple[str, ...] = ()


def join_checked(first: CheckedAnswer, then: CheckedAnswer) -> CheckedAnswer:
    """``first`` followed by ``then`` on a new line, as one answer (sentence indices shifted)."""
    shift = len(first.sentences)
    citations = first.citations + tuple(
        replace(c, sentence_index=c.sentence_index + shift) for c in then.citations
    )
    return CheckedAnswer(
        f"{first.text}\n{then.text}".strip(),
        first.sentences + then.sentences,
        citations,
        first.removed_unsupported + then.removed_unsupported,
        first.removed + then.removed,
    )


def restates(sentence: str, question: str) -> bool:
    """Whether ``sentence`` only restates ``question``: it adds at most one character pair the
    question lacks ("公众提高风险治理能力。" for "公众提高风险治理能力？"), so it answers nothing
    however well a passage supports it. A two-character name ("叫“聆语”") already adds two.
    An English sentence restates when every word it has, but articles, question words and
    auxiliaries, is the question's. A yes/no question is answered by restating it, so none is
    held to restate one."""
    if not question or _YES_NO.search(question):
        return False  # "AIGC 会取代人类。" answers "AIGC 是否会取代人类？"
    if detect_language(sentence) == "en":  # words: "The court …" for "Which court …?"
        asked = {w.lower() for w in _WORD.findall(question)}
        return all(w.lower() in asked or w.lower() in _GLUE for w in _WORD.findall(sentence))
    return len(_bigrams(sentence) - _bigrams(question)) <= 1


def as_claim(sentence: str, question: str | None) -> str:
    """What a sentence claims: itself, or, for a bare value ("2018年", "54 年", "Eliza"), the
    question it answers with the value in it ("英伟达的 StyleGAN-XL 是2018年发布的"). A bare
    value is found in many passages ("54 年后的今天" holds "54 年"); whether it answers *this*
    question is what needs checking. Yes/no questions, and sentences of more than
    ``BARE_UNITS`` units, are their own claim."""
    text = re.sub(r"\s+", " ", sentence).strip().rstrip("。.!！")
    if not question or _YES_NO.search(question) or len(_UNIT.findall(text)) > BARE_UNITS:
        return sentence
    if not _QUESTION.search(question):
        return sentence  # not a question ("q", a heading): nothing to fill in
    asked = re.sub(r"（[^）]*）|\([^)]*\)", "", question).strip().rstrip("？?。. ")
    if detect_language(asked) == "en":
        return f"{asked}: {text}"
    found = _ASKED.search(asked)
    if found is None:
        return f"{asked}：{text}"
    rest = asked[found.end() :]
    for size in range(len(text), 0, -1):  # "多少美元" + "43.25 万美元": the unit once
        tail = text[-size:].strip()
        if tail and not any(c.isdigit() for c in tail) and rest.startswith(tail):
            rest = rest[len(tail) :]
            break
    return asked[: found.start()] + text + rest


def said_key(sentence: str) -> str:
    """A sentence as compared for repeats: spacing and its closing full stop aside."""
    return re.sub(r"\s+", "", sentence).rstrip("。.!?！？")


def check_answer(
    text: str,
    passages: Sequence[Passage],
    checker: SupportCheck,
    *,
    strict: bool = False,
    question: str | None = None,
) -> CheckedAnswer:
    """Parse, validate and re-attach the citations of a generated answer. With ``question``,
    a sentence that only restates it is removed in strict mode like an unsupported one."""
    by_number = {p.number: p for p in passages}
    parsed = parse_answer(text)
    out_sentences: list[AnswerSentence] = []
    citations: list[Citation] = []
    pieces: list[str] = []
    removed = 0
    removed_texts: list[str] = []
    said: set[str] = set()
    for sentence in parsed:
        valid = [m for m in sentence.markers if m in by_number]
        if not is_claim(sentence.text):
            pieces.append(sentence.text + ("\n" if sentence.newline_after else ""))
            continue
        claim = said_key(sentence.text)
        if claim in said:
            continue  # a sentence said again adds nothing (a small model was seen looping)
        said.add(claim)
        if strict and question and restates(sentence.text, question):
            removed += 1
            removed_texts.append(sentence.text)
            continue
        claimed = as_claim(sentence.text, question)
        support = 0.0
        if valid:
            joined = "\n".join(by_number[m].text for m in valid)
            support = checker.check(claimed, joined).score
        if support >= checker.threshold and len(valid) > 1:
            # Of several cited passages keep those that carry the claim alone, if any does;
            # a claim that needs them together keeps them all.
            alone = [
                m
                for m in valid
                if checker.check(claimed, by_number[m].text, use_model=False).score
                >= checker.threshold
            ]
            valid = alone or valid
        if support < checker.threshold:
            # The cited passages do not carry the claim together (or none was cited): find one
            # that does alone: each of several cited ones, then the best of the others by the
            # cheap layers; the model (if any) confirms each candidate.
            cheap = {
                p.number: checker.check(claimed, p.text, use_model=False).score
                for p in passages
                if p.number not in valid or len(valid) > 1
            }
            cited = sorted(valid, key=lambda m: -cheap[m]) if len(valid) > 1 else []
            best_score, best_number = max(
                ((cheap[p.number], p.number) for p in passages if p.number not in valid),
                default=(0.0, 0),
            )
            for number in cited + ([best_number] if best_score > 0.0 else []):
                confirmed = checker.check(claimed, by_number[number].text).score
                if confirmed >= checker.threshold:
                    valid, support = [number], confirmed
                    break
        supported = support >= checker.threshold
        if not supported and strict:
            removed += 1
            removed_texts.append(sentence.text)
            continue
        markers = tuple(valid)
        index = len(out_sentences)
        out_sentences.append(AnswerSentence(sentence.text, markers, supported, round(support, 3)))
        citations += [cite(sentence.text, by_number[m], checker, index) for m in markers]
        marks = "".join(f"【{m}】" for m in markers)
        pieces.append(sentence.text + marks + ("\n" if sentence.newline_after else ""))
    joiner = "" if detect_language(text) == "zh" else " "
    final = ""
    for piece in pieces:
        if final and not final.endswith("\n"):
            final += joiner
        final += piece
    return CheckedAnswer(
        final.strip(), tuple(out_sentences), tuple(citations), removed, tuple(removed_texts)
    )
