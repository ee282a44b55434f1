"""The support checker that composes the layers (exact, polarity, alignment, then a model for
what they leave open), its thresholds, and any judge used as a check on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.support.alignment import _anchored, _passage_sentences, _word_coverage, clauses
from assistant.support.exact import _anchors, _number_problems, _term_problems
from assistant.support.polarity import _polarity_problems, _swapped_relation
from assistant.support.text import _CJK_RUN, _CONTENT, _coverage
from assistant.types import SupportJudge, Verdict
from ingest.text import detect_language


@dataclass(frozen=True)
class CheckerConfig:
    """Thresholds of the checker, chosen on the calibration split of the labelled pairs
    (eval/sets/support-pairs-v1.jsonl; eval/README.md has the tables).

    On the calibration pairs that pass the exact and polarity layers, the local model's yes/no
    on the aligned passage sentences agreed with the labels more often than any alignment cut
    (Chinese 0.92 at P(yes) >= 0.8 against 0.90 for the best cut; English 0.93 at >= 0.6
    against 0.73), so with a model every such pair goes to the model. Without one, a clause
    counts as aligned at the best single cut on the calibration pairs.
    """

    #: Without a model: share of a clause's character bigrams in one passage sentence.
    align_cut: float = 0.46
    #: Without a model: e5 cosine of an English clause to the closest Chinese passage sentence.
    semantic_cut: float = 0.76
    #: With a model: below these a clause aligns to nothing, and no model is asked.
    align_floor: float = 0.15
    semantic_floor: float = 0.70
    #: The model's P(yes) needed, by the sentence's language.
    model_threshold_zh: float = 0.8
    model_threshold_en: float = 0.6
    #: Names: check jieba-tagged proper names (nr/ns/nt/nz) of at least this many characters.
    name_min_chars: int = 2


_MODEL_LOCK = threading.Lock()


@dataclass
class SupportChecker:
    """The layered support check. Satisfies :class:`~assistant.types.SupportJudge`.

    ``embeddings`` (e5) aligns English sentences to Chinese passages; ``model`` (a judge with
    a yes/no score, e.g. the local LLM) decides what the cheap layers leave open; ``vocabulary``
    (the index's Latin words) lets English names be checked. All three are optional: without a
    model the undecided band is decided by the alignment score alone.
    """

    config: CheckerConfig = field(default_factory=CheckerConfig)
    embeddings: Embeddings | None = None
    model: SupportJudge | None = None
    model_source: Callable[[], SupportJudge] | None = None
    vocabulary: frozenset[str] | None = None
    vocabulary_source: Callable[[], frozenset[str]] | None = None
    name: str = "checker"
    threshold: float = 0.5
    _vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def score(self, sentence: str, passage: str) -> float:
        return self.check(sentence, passage).score

    def quote_score(self, sentence: str, quote: str) -> float:
        """How well one passage sentence carries ``sentence`` (cheap: no model call)."""
        return self.check(sentence, quote, use_model=False).score

    def check(self, sentence: str, passage: str, *, use_model: bool = True) -> Verdict:
        """Decide whether ``passage`` supports ``sentence``, with the reasons."""
        sentence = sentence.strip()
        if not _CONTENT.search(sentence):
            return Verdict(True, 1.0, ("nothing to check",), "empty")
        if not _CONTENT.search(passage):
            return Verdict(False, 0.0, ("the passage is empty",), "empty")
        language = detect_language(sentence)
        vocabulary = self.vocabulary
        if vocabulary is None and self.vocabulary_source is not None:
            vocabulary = self.vocabulary_source()

        problems = _number_problems(sentence, passage) + _term_problems(
            sentence, passage, language, vocabulary, self.config.name_min_chars
        )
        if problems:
            return Verdict(False, 0.0, tuple(problems), "terms")

        units = _passage_sentences(passage)
        cross_lingual = language == "en" and bool(_CJK_RUN.search(passage))
        aligned: list[tuple[str, str, float, float]] = []  # clause, passage sentence, best, whole
        for number, clause in enumerate(clauses(sentence) or [sentence], 1):
            anchors = _anchors(clause, language, vocabulary, cross_lingual)
            # A clause's numbers and names must all stand in the one sentence it aligns to:
            # a name taken from the passage's next sentence is a merged example.
            candidates = _anchored(units, anchors)
            if not candidates:
                return Verdict(
                    False,
                    0.0,
                    (f"clause {number}: its names and numbers are in different passage sentences",),
                    "alignment",
                )
            best_text, best = self._align(clause, candidates, language)
            whole = self._whole(clause, passage, language)
            aligned.append((clause, best_text, best, whole))

        polarity: list[str] = []
        for clause, best_text, _, _ in aligned:
            # Across languages the aligned sentence is a guess: polarity words are looked up
            # in the whole passage instead.
            against = passage if cross_lingual else best_text
            polarity += _polarity_problems(clause, against, language)
            swapped = _swapped_relation(clause, best_text)
            if swapped:
                polarity.append(swapped)
        if polarity:
            return Verdict(False, 0.05, tuple(dict.fromkeys(polarity)), "polarity")

        cut, floor = self._cuts(language, passage)
        worst = min(aligned, key=lambda a: a[2])
        index = aligned.index(worst) + 1
        model = self._model() if use_model else None
        if model is None or worst[2] < floor:
            score = _squash(worst[2], cut)
            if score >= 0.5:
                return Verdict(True, score, (f"every clause aligns ({worst[2]:.2f})",), "alignment")
            reason = f"clause {index} aligns to no passage sentence ({worst[2]:.2f})"
            if worst[3] >= cut:
                reason = f"clause {index} mixes several passage sentences ({worst[2]:.2f})"
            return Verdict(False, score, (reason,), "alignment")
        evidence = "".join(dict.fromkeys(a[1] for a in aligned))
        p = model.score(sentence, evidence)
        threshold = (
            self.config.model_threshold_zh if language == "zh" else self.config.model_threshold_en
        )
        # Rescaled so that, like every other verdict, supported means score >= 0.5.
        return Verdict(p >= threshold, _squash(p, threshold), (f"model: {p:.2f}",), "model")

    def _model(self) -> SupportJudge | None:
        if self.model is None and self.model_source is not None:
            with _MODEL_LOCK:
                if self.model is None:
                    self.model = self.model_source()
        return self.model

    def _cuts(self, language: str, passage: str) -> tuple[float, float]:
        """(no-model cut, with-model floor) for this sentence and passage."""
        if language == "en" and _CJK_RUN.search(passage) and self.embeddings is not None:
            return self.config.semantic_cut, self.config.semantic_floor
        return self.config.align_cut, self.config.align_floor

    def _align(self, clause: str, units: Sequence[str], language: str) -> tuple[str, float]:
        if language == "en" and any(_CJK_RUN.search(u) for u in units):
            return self._semantic_align(clause, units)
        best_text, best = "", -1.0
        for unit in units:
            value = _word_coverage(clause, unit) if language == "en" else _coverage(clause, unit)
            if value > best:
                best_text, best = unit, value
        return best_text, max(best, 0.0)

    def _whole(self, clause: str, passage: str, language: str) -> float:
        if language == "en":
            if _CJK_RUN.search(passage):
                return 0.0
            return _word_coverage(clause, passage)
        return _coverage(clause, passage)

    def _semantic_align(self, clause: str, units: Sequence[str]) -> tuple[str, float]:
        if self.embeddings is None:
            return (units[0] if units else ""), 0.5  # undecidable without a model
        missing = [u for u in units if u not in self._vectors]
        if missing:
            for unit, vector in zip(missing, self.embeddings.embed_documents(missing), strict=True):
                self._vectors[unit] = np.asarray(vector, dtype=np.float32)
            if len(self._vectors) > 20000:
                self._vectors.clear()
        query = np.asarray(self.embeddings.embed_query(clause), dtype=np.float32)
        scored = [(float(self._vectors[u] @ query), u) for u in units if u in self._vectors]
        if not scored:
            return "", 0.0
        best, text = max(scored)
        return text, best


def _squash(value: float, cut: float) -> float:
    """Map a score onto [0, 1] with ``cut`` at 0.5 (so supported means >= 0.5 everywhere)."""
    if value >= cut:
        return float(min(1.0, 0.5 + 0.5 * (value - cut) / max(1e-9, 1.0 - cut)))
    return float(max(0.0, 0.5 * value / cut)) if cut > 0 else 0.0


def verdicts(
    checker: SupportChecker, pairs: Iterable[tuple[str, str]], *, use_model: bool = True
) -> list[Verdict]:
    """Check many (passage, sentence) pairs in order."""
    return [checker.check(sentence, passage, use_model=use_model) for passage, sentence in pairs]


@dataclass
class JudgeCheck:
    """Any :class:`~assistant.types.SupportJudge` used as a check on its own (e.g. the local
    model on the whole passage: the eval's independent second judge, ``ask --verify model``)."""

    judge: SupportJudge
    name: str = field(init=False)
    threshold: float = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.judge.name
        self.threshold = self.judge.threshold

    def score(self, sentence: str, passage: str) -> float:
        return self.judge.score(sentence, passage)

    def check(self, sentence: str, passage: str, *, use_model: bool = True) -> Verdict:
        value = self.judge.score(sentence, passage)
        return Verdict(value >= self.threshold, value, (f"{self.name}: {value:.2f}",), self.name)

    def quote_score(self, sentence: str, quote: str) -> float:
        return _coverage(sentence, quote)
