"""The extractive generator: no model, offline, quick. It quotes the passages' sentences that
best answer the question, in document order, each followed by its citation."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.followup import RuleRewriter, asked_part
from assistant.terms import (
    CorpusTerms,
    Term,
    TermStatistics,
    coverage,
    held,
    question_terms,
    without_document_reference,
)
from assistant.types import (
    LEAD_IN,
    GenerationRequest,
    Language,
    Passage,
    QueryRewriter,
    Translator,
)
from ingest.embeddings import embedding_name
from ingest.text import CONTENT, detect_language, ends_sentence, has_cjk, split_sentences

# An English question over a Chinese document gets the document's own sentences: a translation
# made here could not be checked against the passage, a verbatim quote can. The lead-in says so
# (and stays a lead-in, not a claim: short and ending in a colon).
LEAD_IN_QUOTED_IN_CHINESE = "Quoted from the paper, in Chinese:"
_CONTENT = CONTENT
#: A sentence of at most this many characters (ideographs, letters, digits) is a topic sentence
#: when quoted: the paper states a point in a short sentence ("二是加速数字孪生系统的构建。") and
#: says what it means in the next one, so the next one is quoted with it.
TOPIC_UNITS = 20
#: Characters between a topic sentence and the next candidate sentence beyond which the latter is
#: not taken as its continuation (line breaks and page furniture inside a paragraph are fewer).
MAX_DETAIL_GAP = 12
# A clause that ends so is part of a longer sentence: a topic's detail continues past it.
_CLAUSE_ENDS = ("；", ";")


@dataclass(frozen=True)
class ScoredSentence:
    passage: Passage
    text: str
    offset: int  # in the document
    score: float
    similarity: float = 0.0
    terms: frozenset[str] = frozenset()  # the question's content terms it holds
    by_meaning: bool = False  # scored by meaning alone (an English question, a Chinese sentence)


def lead_in(language: Language, quotes: Sequence[str]) -> str:
    """The line before the quotes: in the question's language, and for an English question
    answered with Chinese sentences, saying that they are quoted in the original Chinese."""
    if language == "en" and any(has_cjk(q) for q in quotes):
        return LEAD_IN_QUOTED_IN_CHINESE
    return LEAD_IN[language]


class SentenceVectors:
    """Embeddings of passage sentences, computed once per sentence and embedding model.

    Kept in memory and, when a path is given, in a small SQLite file beside the index, so a
    sentence is embedded once across processes (the CLI, the UI, an eval run).
    """

    def __init__(self, embeddings: Embeddings, path: Path | None = None) -> None:
        self.embeddings = embeddings
        self.model = embedding_name(embeddings)
        self.path = path
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _store(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors(key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )
        return self._db

    def get(self, sentences: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha1(f"{self.model}\n{s}".encode()).hexdigest() for s in sentences]
        with self._lock:
            missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
            db = self._store()
            if missing and db is not None:
                marks = ",".join("?" * len(missing))
                for key, blob in db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", missing
                ):
                    self._cache[key] = np.frombuffer(blob, dtype=np.float32)
            todo = {k: s for k, s in zip(keys, sentences, strict=True) if k not in self._cache}
        if todo:
            vectors = self.embeddings.embed_documents(list(todo.values()))
            with self._lock:
                rows = []
                for key, vector in zip(todo, vectors, strict=True):
                    array = np.asarray(vector, dtype=np.float32)
                    self._cache[key] = array
                    rows.append((key, array.tobytes()))
                db = self._store()
                if db is not None:
                    with db:
                        db.executemany("INSERT OR REPLACE INTO vectors VALUES(?, ?)", rows)
        with self._lock:
            return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, 1))


class ExtractiveGenerator:
    """Picks sentences by embedding similarity plus the weighted share of the question's content
    terms they hold (see ``assistant.terms``), covering each part of a multi-part question;
    follow-ups are condensed by the deterministic rule; ``translator`` (set by the factory, see
    ``assistant.crosslingual``) gives an English question's keyword query."""

    mode = "extractive"

    def __init__(
        self,
        embeddings: Embeddings,
        cache_path: Path | None = None,
        max_sentences: int = 4,
        max_chars: int = 480,
        semantic_weight: float = 0.7,
        margin: float = 0.1,
        terms: Callable[[], TermStatistics] | None = None,
        topic_units: int = TOPIC_UNITS,
    ) -> None:
        self.embeddings = embeddings
        self.rewriter: QueryRewriter = RuleRewriter()
        self.translator: Translator | None = None
        self.vectors = SentenceVectors(embeddings, cache_path)
        self.max_sentences = max_sentences
        self.max_chars = max_chars
        self.semantic_weight = semantic_weight
        self.margin = margin
        self._terms = terms
        self.topic_units = topic_units

    def question_terms(self, question: str, passages: Sequence[Passage]) -> tuple[Term, ...]:
        """The question's weighted content terms: IDF over the library when it is known, else
        over the given passages."""
        stats = self._terms() if self._terms is not None else CorpusTerms(p.text for p in passages)
        return question_terms(question, stats)

    def sentence_similarities(self, question: str, passages: Sequence[Passage]) -> list[float]:
        """The dense similarity of the question to each quotable sentence of the passages
        (the sufficiency signal's ``SentenceScorer``)."""
        candidates = self._candidates(passages)
        if not candidates:
            return []
        query_vec = self._question_vector(question)
        return [float(x) for x in self.vectors.get([c[1] for c in candidates]) @ query_vec]

    def _question_vector(self, question: str) -> np.ndarray:
        """The question's embedding, without "according to the white paper": otherwise the
        document's sentences about itself score high for every question that names it."""
        query = without_document_reference(question)
        return np.asarray(self.embeddings.embed_query(query), dtype=np.float32)

    def sentences(self, passages: Sequence[Passage]) -> list[str]:
        """The quotable sentences ``sentence_similarities`` scores, in its order."""
        return [c[1] for c in self._candidates(passages)]

    def _candidates(self, passages: Sequence[Passage]) -> list[tuple[Passage, str, int]]:
        candidates: list[tuple[Passage, str, int]] = []
        for passage in passages:
            heading_free = passage.text
            for span in split_sentences(heading_free):
                raw = heading_free[span.start : span.end]
                text = raw.strip()
                if len(CONTENT.findall(text)) < 8 or not ends_sentence(text):
                    continue  # headings, captions and fragments are not answers
                offset = passage.start + span.start + (len(raw) - len(raw.lstrip()))
                candidates.append((passage, text, offset))
        return candidates

    def rank(
        self,
        question: str,
        passages: Sequence[Passage],
        keywords_from: str | None = None,
        terms: tuple[Term, ...] | None = None,
    ) -> list[ScoredSentence]:
        """Every claim-like sentence of the passages, scored against the question (``terms``:
        the question's terms when the caller has them already)."""
        candidates = self._candidates(passages)
        if not candidates:
            return []
        query_vec = self._question_vector(question)
        sims = self.vectors.get([c[1] for c in candidates]) @ query_vec
        if terms is None:
            terms = self.question_terms(keywords_from or question, passages)
        # An English word found in a Chinese sentence is a name or a gloss in brackets
        # ("Generated" in the gloss of AIGC), not what an English question asks about: across
        # languages only numbers are matched as terms, and meaning comes from the embeddings.
        numbers = tuple(t for t in terms if any(ch.isdigit() for ch in t.text))
        english = detect_language(question) == "en"
        w = self.semantic_weight
        scored = []
        for (passage, text, offset), sim in zip(candidates, sims, strict=True):
            cross = english and has_cjk(text)
            cover = coverage(numbers, text) if cross else coverage(terms, text)
            only_meaning = cross and not numbers
            score = float(sim) if only_meaning else w * float(sim) + (1 - w) * cover
            scored.append(
                ScoredSentence(
                    passage,
                    text,
                    offset,
                    score,
                    float(sim),
                    frozenset(held(terms, text)),
                    only_meaning,
                )
            )
        scored.sort(key=lambda s: -s.score)
        return scored

    def select(
        self,
        question: str,
        passages: Sequence[Passage],
        keywords_from: str | None = None,
        *,
        max_sentences: int | None = None,
        max_chars: int | None = None,
        margin: float | None = None,
        meaning_margin: float | None = None,
    ) -> list[ScoredSentence]:
        """The best sentence, then the next best within ``margin`` of it, where a sentence's
        score gains a bonus for the question terms it adds that the chosen ones lack: each part
        of "A 和 B 分别是什么" gets its sentence, before sentences that only repeat a part. A
        short topic sentence comes with the sentence after it (``_detail``).
        ``max_sentences`` / ``max_chars`` / ``margin`` override the quoting budget (a model's
        evidence); ``meaning_margin`` replaces the margin when the sentences are scored by
        meaning alone (an English question over Chinese sentences, see ``rank``)."""
        max_sentences = max_sentences or self.max_sentences
        max_chars = max_chars or self.max_chars
        asked = self.question_terms(keywords_from or question, passages)
        ranked = self.rank(question, passages, keywords_from, asked)
        if not ranked:
            return []
        margin = self.margin if margin is None else margin
        if meaning_margin is not None and ranked[0].by_meaning:
            margin = meaning_margin
        terms = {t.text: t.weight for t in asked}
        total = sum(terms.values()) or 1.0
        w = self.semantic_weight
        best = ranked[0].score
        pool = [s for s in ranked[1:] if s.text != ranked[0].text]
        chosen: list[ScoredSentence] = []
        covered: set[str] = set()
        used = 0

        def take(sentence: ScoredSentence, detail_of_topic: bool = False) -> None:
            """Quote ``sentence`` and, after a topic sentence, the one that explains it (and,
            while that detail is a clause ending in "；", the clauses after it)."""
            nonlocal used
            chosen.append(sentence)
            used += len(sentence.text)
            covered.update(sentence.terms)
            opens = (
                sentence.text.endswith(_CLAUSE_ENDS) if detail_of_topic else self._topic(sentence)
            )
            if opens and len(chosen) < max_sentences:
                detail = self._detail(sentence, pool, chosen, max_chars - used)
                if detail is not None:
                    pool.remove(detail)
                    take(detail, detail_of_topic=True)

        take(ranked[0])
        while pool and len(chosen) < max_sentences:
            merits = [
                s.score + (1 - w) * sum(terms.get(t, 0.0) for t in s.terms - covered) / total
                for s in pool
            ]
            top = max(range(len(pool)), key=merits.__getitem__)
            pick, merit = pool[top], merits[top]
            pool.remove(pick)
            if merit < best - margin:
                break
            if used + len(pick.text) > max_chars or any(pick.text == c.text for c in chosen):
                continue
            take(pick)
        chosen.sort(key=lambda s: (s.passage.doc_id, s.offset))
        return chosen

    def _topic(self, sentence: ScoredSentence) -> bool:
        """A topic sentence ("一是内容审核能力有待提升。", "医疗领域，AIGC 赋能诊疗全过程。"):
        at most ``topic_units`` content characters."""
        return len(CONTENT.findall(sentence.text)) <= self.topic_units

    def _detail(
        self,
        topic: ScoredSentence,
        pool: Sequence[ScoredSentence],
        chosen: Sequence[ScoredSentence],
        room: int,
    ) -> ScoredSentence | None:
        """The sentence of ``pool`` that follows ``topic`` in its passage and says what it
        means, if it fits in ``room`` characters and is not quoted yet."""
        after = [
            s for s in pool if s.passage.number == topic.passage.number and s.offset > topic.offset
        ]
        if not after:
            return None
        detail = min(after, key=lambda s: s.offset)
        if detail.offset - (topic.offset + len(topic.text)) > MAX_DETAIL_GAP:
            return None  # not the next sentence (a heading, a figure or a fragment between)
        if len(detail.text) > room or any(detail.text == c.text for c in chosen):
            return None
        return detail

    def excerpt(
        self, question: str, passage: Passage, budget: int, keywords_from: str | None = None
    ) -> str:
        """The passage's best sentences for the question, in document order, within budget."""
        chosen: list[ScoredSentence] = []
        used = 0
        for sentence in self.rank(question, [passage], keywords_from):
            if chosen and used + len(sentence.text) > budget:
                continue
            chosen.append(sentence)
            used += len(sentence.text)
        if not chosen:  # no claim-like sentence (a table, a list): up to a sentence end
            return _whole_sentences(passage.text, budget)
        chosen.sort(key=lambda s: s.offset)
        return "…".join(s.text for s in chosen)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        # Meaning from the standalone question; keywords from what the reader actually asked
        # and the list item it points at, not the context a rewritten follow-up carries.
        asked = asked_part(request.standalone_question)
        chosen = self.select(request.standalone_question, request.passages, asked)
        yield lead_in(request.language, [s.text for s in chosen]) + "\n"
        for sentence in chosen:
            yield f"{sentence.text}【{sentence.passage.number}】"


def _whole_sentences(text: str, budget: int) -> str:
    """The text's leading sentences within ``budget`` (at least the first), never a cut one
    unless a single sentence runs past twice the budget."""
    kept = ""
    for span in split_sentences(text):
        if kept and span.end > budget:
            break
        kept = text[: span.end]
    if not kept or len(kept) > 2 * budget:
        return text[:budget] + "…"
    return kept.strip()
