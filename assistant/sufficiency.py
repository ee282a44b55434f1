"""Whether the retrieved evidence can answer a question, decided before any answer is written.

One signal for every mode (extractive or a model's), from the question and the passages:

- **unknown named terms**: a named Latin term of the question (an acronym, a CamelCase or
  letter-digit name such as "ChatGPT") that no chunk of the library holds: refuse;
- **sentence similarity**: the mean dense similarity of the question to its ``top`` closest
  evidence sentences (sentences, not chunks: a chunk about the right topic that never states
  the asked relation scores lower sentence by sentence);
- **term coverage**: the IDF-weighted share of the question's content terms that the best two
  evidence sentences hold together, and the share of that weight the library never holds;
- **asked value**: the question asks for a value (a year, a day, a rank, a count of its measure
  word, a number: ``assistant.asked``, by the language's question words) and no evidence
  sentence about what it names (holding at least half the term weight the best one holds, with
  the sentence after it; for an English question also its most similar sentences) gives one
  that the question does not already state;
- **the model's yes/no** (LLM modes only): P(yes) of the local model asked whether the best
  evidence sentences (the most similar and the two covering the most terms, at most 600
  characters) state what the question asks (``assistant.llm.judge.answer_messages``).

The score is ``similarity + coverage_weight * coverage - unknown_weight * unknown_share -
quantity_weight * quantity_missing + model_weight * p_yes``, refused below the question
language's threshold. Calibration is per embedding model (e5's cosine scale is compressed) and
per kind of mode (``DEFAULT_CALIBRATION`` for extractive, ``MODEL_CALIBRATION`` for the LLM
modes), chosen on the ``calib`` split of the dev set with ``whitepaper eval-sufficiency``
(``eval.sufficiency``). Without a sentence scorer (fakes, an uncalibrated embedder), the score
is the best chunk similarity against the settings' per-language threshold, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from assistant.asked import asked_value, gives_value, question_parts
from assistant.followup import asked_part
from assistant.terms import CorpusTerms, Term, TermStatistics, held, question_terms
from assistant.types import Language, Passage
from ingest.chunker import split_sentences
from ingest.text import detect_language, has_cjk

_NAMED_TERM = re.compile(r"[A-Za-z][A-Za-z0-9\-·.]*[A-Za-z0-9]")


class SentenceScorer(Protocol):
    """Dense similarities of a question to the passages' sentences (``ExtractiveGenerator``)."""

    def sentence_similarities(self, question: str, passages: Sequence[Passage]) -> list[float]: ...

    def sentences(self, passages: Sequence[Passage]) -> list[str]:
        """The sentences ``sentence_similarities`` scores, in the same order."""
        ...


class AnswerJudge(Protocol):
    """A model's P(yes) that ``evidence`` answers ``question`` (``LlamaSupportJudge``)."""

    def answer_score(self, question: str, evidence: str) -> float: ...


@dataclass(frozen=True)
class Calibration:
    """How one question language's score is formed and where it is cut.

    score = similarity + coverage_weight * coverage - unknown_weight * unknown_share
    - quantity_weight * (the question asks a quantity the evidence sentences lack)
    + model_weight * P(yes) of the model's "do these sentences answer it?" (LLM modes).
    """

    threshold: float
    top: int = 3  # evidence sentences whose similarities are averaged
    coverage_weight: float = 0.0
    unknown_weight: float = 0.0
    quantity_weight: float = 0.0
    model_weight: float = 0.0


@dataclass(frozen=True)
class SufficiencyFeatures:
    """What the decision is made from; every field is cheap except ``p_yes`` (a model call)."""

    similarity: float  # mean dense similarity of the top evidence sentences
    coverage: float  # weighted share of the question's terms two evidence sentences hold
    unknown_share: float  # weighted share of the question's terms the library never holds
    asks_quantity: bool  # the question asks how many / when / how long
    quantity_held: bool  # a best evidence sentence holds a number
    p_yes: float | None = None

    @property
    def quantity_missing(self) -> float:
        return 1.0 if self.asks_quantity and not self.quantity_held else 0.0

    def score(self, cal: Calibration) -> float:
        """The calibrated score, refused below ``cal.threshold``."""
        value = self.similarity + cal.coverage_weight * self.coverage
        value -= (
            cal.unknown_weight * self.unknown_share + cal.quantity_weight * self.quantity_missing
        )
        if cal.model_weight and self.p_yes is not None:
            value += cal.model_weight * self.p_yes
        return value


# multilingual-e5-small, fitted on the calib split of eval/sets/aigc-dev-v2.jsonl (149 items) by
# ``whitepaper eval-sufficiency`` (``eval.sufficiency.fit``) over what answers retrieve (the
# mode's condense step, an English question's keyword query, and since 2026-12-07 the question
# embedded without its reference to the document): per language, the weights from a small grid
# and the threshold that refuse the most unanswerable calib items while refusing at most 5% of
# that language's answerable ones. Without a model (calib: 13 of 30 refused; 4 of 83 Chinese and
# 1 of 36 English answerable ones) the similarity is the score, less 0.04 for a Chinese question
# whose asked value (a year, a count of its unit) no sentence about what it names gives
# (``assistant.asked``; since 2026-12-07, refitted on an Intel Xeon with AMX).
DEFAULT_CALIBRATION: dict[str, dict[Language, Calibration]] = {
    "e5": {
        "zh": Calibration(threshold=0.88645, quantity_weight=0.04),
        "en": Calibration(threshold=0.76581),
    },
}

#: The LLM modes' calibration: the model's P(yes) weighs in (calib: 21 of 30 refused; 3 of 83
#: Chinese and 1 of 36 English answerable ones), fitted the same way with the model's answers
#: from the AVX-512 build of llama.cpp (another build moves P(yes) in the last digits); see
#: ``eval/README.md`` ("Refusal before generation").
MODEL_CALIBRATION: dict[str, dict[Language, Calibration]] = {
    "e5": {
        "zh": Calibration(threshold=1.09997, model_weight=0.24),
        "en": Calibration(threshold=1.00543, coverage_weight=0.04, model_weight=0.32),
    },
}


@dataclass(frozen=True)
class Sufficiency:
    """The decision, the score it was made on, and why (missing or unknown terms)."""

    sufficient: bool
    score: float
    reason: str
    coverage: float = 0.0
    missing: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    #: ``score`` minus the threshold it was cut at (negative: refused); None without a cut.
    margin: float | None = None


def unknown_named_terms(question: str, stats: TermStatistics) -> list[str]:
    """Named Latin terms of the question (two capitals or a digit: "ChatGPT", "GPT-4") with a
    word of three letters or more that no chunk of the library holds."""
    unknown = []
    for term in _NAMED_TERM.findall(question):
        if sum(c.isupper() for c in term) < 2 and not any(c.isdigit() for c in term):
            continue
        words = [w.lower() for w in re.findall(r"[A-Za-z]{3,}", term)]
        if words and any(stats.document_frequency(w) == 0 for w in words):
            unknown.append(term)
    return unknown


def evidence_sentences(passages: Sequence[Passage]) -> list[str]:
    """Every sentence of the passages."""
    out = []
    for passage in passages:
        for span in split_sentences(passage.text):
            text = passage.text[span.start : span.end].strip()
            if text:
                out.append(text)
    return out


def best_coverage(
    terms: Sequence[Term], sentences: Sequence[str], k: int
) -> tuple[float, set[str]]:
    """The weighted share of ``terms`` that ``k`` sentences, chosen greedily, hold together."""
    total = sum(t.weight for t in terms)
    if total <= 0:
        return 0.0, set()
    weight = {t.text: t.weight for t in terms}
    holds = [held(terms, s) for s in sentences]
    covered: set[str] = set()
    for _ in range(k):
        gains = [sum(weight[t] for t in h - covered) for h in holds]
        if not gains or max(gains) <= 0:
            break
        covered |= holds[gains.index(max(gains))]
    return sum(weight[t] for t in covered) / total, covered


def value_scope(terms: Sequence[Term], passages: Sequence[Passage]) -> list[str]:
    """Where the value a question asks for must stand: the evidence sentences about what it
    names (holding at least half the question's term weight that the best sentence holds),
    each with the sentence after it ("2019 年，DeepMind 发布了 DVD-GAN 模型" gives its year;
    the next sentence may give the count); none when no sentence holds a term."""
    weight = {t.text: t.weight for t in terms if t.known}
    pairs: list[tuple[float, str]] = []
    for passage in passages:
        sentences = [
            passage.text[span.start : span.end].strip() for span in split_sentences(passage.text)
        ]
        for i, sentence in enumerate(sentences):
            held_weight = sum(weight[t] for t in held(terms, sentence) if t in weight)
            pairs.append((held_weight, " ".join(sentences[i : i + 2])))
    best = max((w for w, _ in pairs), default=0.0)
    if best <= 0:
        return []
    return [text for w, text in pairs if w >= 0.5 * best]


def evidence_text(sentences: Sequence[str], max_chars: int = 600) -> str:
    """The evidence sentences a model is shown, within ``max_chars``."""
    out: list[str] = []
    used = 0
    for sentence in sentences:
        if out and used + len(sentence) > max_chars:
            break
        out.append(sentence[:max_chars])
        used += len(out[-1])
    return "\n".join(out)


class SufficiencyChecker:
    """Decides, before generation, whether passages suffice for a question.

    ``stats`` gives the library's term statistics (``assistant.terms.library_terms``);
    ``scorer`` the sentence similarities; ``calibration`` the per-language cut for the
    embedding model in use; ``fallback`` the per-language chunk-similarity threshold used
    when there is no scorer or no calibration; ``judge`` a model asked whether the best
    evidence sentences answer the question (only where the calibration weighs it).
    """

    def __init__(
        self,
        stats: Callable[[], TermStatistics] | None = None,
        scorer: SentenceScorer | None = None,
        calibration: Mapping[Language, Calibration] | None = None,
        fallback: Callable[[Language], float | None] | None = None,
        judge: Callable[[], AnswerJudge] | None = None,
    ) -> None:
        self._stats = stats
        self.scorer = scorer
        self.calibration = calibration
        self.fallback = fallback
        self._judge = judge

    def features(
        self, question: str, passages: Sequence[Passage], top: int = 3, *, ask_model: bool = False
    ) -> tuple[SufficiencyFeatures, tuple[str, ...]]:
        """The features of ``question`` over ``passages`` (needs a scorer) and the best evidence
        sentences they rest on: the ``top`` most similar and the two covering the most terms."""
        assert self.scorer is not None
        stats = self._stats() if self._stats is not None else CorpusTerms(p.text for p in passages)
        terms = question_terms(question, stats)
        total = sum(t.weight for t in terms)
        scored = list(
            zip(
                self.scorer.sentences(passages),
                self.scorer.sentence_similarities(question, passages),
                strict=False,  # a scorer may score fewer sentences than it lists
            )
        )
        sentences = [s for s, _ in scored]
        sims = [x for _, x in scored]
        order = sorted(range(len(sims)), key=lambda i: -sims[i])
        # The value asked by the question itself, not by the context a follow-up carries.
        own = question_parts(asked_part(question))
        asked = [(p, v) for p in own if (v := asked_value(p)) is not None]
        best = [sentences[i] for i in order[:top]]
        cover, _ = best_coverage(terms, evidence_sentences(passages), 2)
        _, cover_pick = _coverage_sentences(terms, sentences, 2)
        chosen = tuple(dict.fromkeys(best + cover_pick))
        top_sims = [sims[i] for i in order[:top]]
        feats = SufficiencyFeatures(
            similarity=sum(top_sims) / len(top_sims) if top_sims else 0.0,
            coverage=cover,
            unknown_share=sum(t.weight for t in terms if not t.known) / total if total else 0.0,
            asks_quantity=bool(asked),
            quantity_held=any(
                gives_value(value, s, question)
                for part, value in asked
                for s in self._value_sentences(part, stats, passages, chosen)
            ),
        )
        if ask_model and self._judge is not None and chosen:
            feats = replace(
                feats, p_yes=self._judge().answer_score(question, evidence_text(chosen))
            )
        return feats, chosen

    @staticmethod
    def _value_sentences(
        part: str, stats: TermStatistics, passages: Sequence[Passage], chosen: Sequence[str]
    ) -> list[str]:
        """Where the value ``part`` asks for must stand: the sentences about what it names. A
        question in another language than the library's names little the library holds by
        its own words, so its most similar sentences count too."""
        scope = value_scope(question_terms(part, stats), passages)
        if not scope or not has_cjk(part):
            scope = list(dict.fromkeys([*chosen, *scope]))
        return scope

    def assess(
        self,
        question: str,
        passages: Sequence[Passage],
        language: Language | None = None,
        similarity: float | None = None,
    ) -> Sufficiency:
        """Decide for ``question`` over ``passages``. ``similarity`` is the best dense chunk
        similarity (default: the best passage's)."""
        language = language or detect_language(question)
        if not passages:
            return Sufficiency(False, 0.0, "no passage was retrieved")
        stats = self._stats() if self._stats is not None else CorpusTerms(p.text for p in passages)
        terms = question_terms(question, stats)
        cover, covered = best_coverage(terms, evidence_sentences(passages), 2)
        missing = tuple(t.text for t in terms if t.text not in covered)
        named = unknown_named_terms(question, stats)
        if named:
            reason = "the library never mentions " + ", ".join(dict.fromkeys(named))
            return Sufficiency(False, 0.0, reason, cover, missing, tuple(named))

        cal = self.calibration.get(language) if self.calibration else None
        if cal is not None and self.scorer is not None:
            feats, _ = self.features(question, passages, cal.top, ask_model=bool(cal.model_weight))
            score = feats.score(cal)
            threshold: float | None = cal.threshold
            what = f"sufficiency score {score:.3f} (similarity {feats.similarity:.3f}"
            if feats.quantity_missing:
                what += "; the evidence holds no number"
            if feats.p_yes is not None:
                what += f"; the model's yes {feats.p_yes:.2f}"
            what += ")"
        else:
            if similarity is None:
                known = [p.dense_similarity for p in passages if p.dense_similarity is not None]
                similarity = max(known) if known else None
            score = similarity if similarity is not None else 0.0
            threshold = self.fallback(language) if self.fallback is not None else None
            what = f"best passage similarity {score:.3f}"
        if threshold is not None and score < threshold:
            lacking = f"; the evidence lacks {', '.join(missing[:4])}" if missing else ""
            return Sufficiency(
                False,
                score,
                f"{what} is below {threshold:.3f}{lacking}",
                cover,
                missing,
                margin=score - threshold,
            )
        return Sufficiency(
            True,
            score,
            f"{what}; the evidence holds {cover:.0%} of the question's weighted terms",
            cover,
            missing,
            margin=None if threshold is None else score - threshold,
        )


def _coverage_sentences(
    terms: Sequence[Term], sentences: Sequence[str], k: int
) -> tuple[float, list[str]]:
    """``best_coverage``, returning the sentences it picked."""
    total = sum(t.weight for t in terms)
    if total <= 0:
        return 0.0, []
    weight = {t.text: t.weight for t in terms}
    holds = [held(terms, s) for s in sentences]
    covered: set[str] = set()
    picked: list[str] = []
    for _ in range(k):
        gains = [sum(weight[t] for t in h - covered) for h in holds]
        if not gains or max(gains) <= 0:
            break
        i = gains.index(max(gains))
        covered |= holds[i]
        picked.append(sentences[i])
    return sum(weight[t] for t in covered) / total, picked
