"""Builds an ``Assistant`` from settings: cheap, nothing heavy loads until it is used."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from langchain_core.embeddings import Embeddings

from assistant.chain import Assistant
from assistant.crosslingual import FeedbackTranslator
from assistant.extractive import ExtractiveGenerator
from assistant.generators import ChatGenerator
from assistant.prompts import SYSTEM_PROMPT
from assistant.retrieval import HybridSearcher
from assistant.settings import AssistantSettings
from assistant.sufficiency import (
    DEFAULT_CALIBRATION,
    MODEL_CALIBRATION,
    AnswerJudge,
    SufficiencyChecker,
)
from assistant.support import SupportChecker
from assistant.terms import library_terms
from assistant.types import Generator, SupportJudge
from ingest.embeddings import embeddings_from
from ingest.errors import WhitepaperError
from ingest.home import index_exists
from ingest.index import Index

log = logging.getLogger(__name__)


def build_assistant(
    settings: AssistantSettings,
    *,
    embeddings: Embeddings | None = None,
    index: Index | None = None,
) -> Assistant:
    """Open the index and wire retrieval, generators and judges for the configured modes."""
    embeddings = embeddings or embeddings_from(settings)
    index = index or Index(settings, embeddings)
    searcher = HybridSearcher(index, embeddings, settings.retrieval)
    vocabulary = _latin_vocabulary(index)
    judge = SupportChecker(embeddings=embeddings, vocabulary_source=vocabulary)

    vectors_path = settings.home / "sentence_vectors.sqlite"
    terms = lambda: library_terms(index)  # noqa: E731
    extractive = ExtractiveGenerator(embeddings, cache_path=vectors_path, terms=terms)
    extractive.translator = FeedbackTranslator(index, embeddings, terms)
    sufficiency = SufficiencyChecker(
        terms,
        scorer=extractive,
        calibration=DEFAULT_CALIBRATION.get(settings.embedding),
        fallback=settings.retrieval.refusal_threshold,
    )
    factories: dict[str, Callable[[], Generator]] = {"extractive": lambda: extractive}
    model_judge: Callable[[], SupportJudge] | None = None
    local_ok = _local_available()
    if local_ok:
        # The chat model and the judge share one runtime: the 1 GB model is loaded once.
        shared: dict[str, Any] = {}
        factories["local"] = lambda: _local_generator(settings, shared, extractive)
        model_judge = lambda: _local_judge(settings, shared)  # noqa: E731
    if settings.openai_base_url and settings.openai_model:
        factories["openai"] = lambda: _openai_generator(settings, extractive)
        if model_judge is None:  # the local model judges when it is installed (no network)
            model_judge = lambda: _openai_judge(settings)  # noqa: E731

    notice = None
    if settings.mode == "auto":
        default = "local" if local_ok else "extractive"
        if not local_ok:
            notice = "the local model is not installed; answering in extractive mode"
            log.info(notice)
    else:
        default = settings.mode
    # The LLM modes have a model loaded anyway: it decides what the cheap layers leave open.
    model_checker = (
        SupportChecker(
            embeddings=embeddings, model_source=model_judge, vocabulary_source=vocabulary
        )
        if model_judge is not None
        else judge
    )
    model_sufficiency = None
    model_calibration = MODEL_CALIBRATION.get(settings.embedding)
    if model_judge is not None and model_calibration:
        source = model_judge
        model_sufficiency = SufficiencyChecker(
            terms,
            scorer=extractive,
            calibration=model_calibration,
            fallback=settings.refusal_threshold,
            judge=lambda: cast(AnswerJudge, source()),
        )
    return Assistant(
        settings,
        index,
        searcher,
        judge,
        factories,
        model_judge,
        default,
        notice,
        model_checker,
        sufficiency,
        model_sufficiency,
    )


def _local_available() -> bool:
    try:
        from assistant.llm.model_file import local_model_available
    except ImportError:
        return False
    return bool(local_model_available())


def _local_runtime(settings: AssistantSettings, shared: dict[str, Any]) -> Any:
    from assistant.llm.local import LlamaRuntime

    if "runtime" not in shared:
        shared["runtime"] = LlamaRuntime(settings.generation)  # cheap: loads on first use
    return shared["runtime"]


def _local_generator(
    settings: AssistantSettings, shared: dict[str, Any], excerpter: ExtractiveGenerator
) -> Generator:
    from assistant.llm.local import make_local_chat_model

    chat = make_local_chat_model(
        settings.generation,
        runtime=_local_runtime(settings, shared),
        warm_system_prompt=SYSTEM_PROMPT,
    )
    return ChatGenerator(
        chat,
        "local",
        excerpter,
        settings.llm_passage_chars,
        translator=excerpter.translator,
        evidence_chars=settings.llm_evidence_chars,
    )


def _local_judge(settings: AssistantSettings, shared: dict[str, Any]) -> SupportJudge:
    from assistant.llm.judge import LlamaSupportJudge

    return LlamaSupportJudge(_local_runtime(settings, shared))


def _openai_judge(settings: AssistantSettings) -> SupportJudge:
    from assistant.llm.judge import OpenAISupportJudge

    return OpenAISupportJudge(settings.generation)


def _openai_generator(settings: AssistantSettings, excerpter: ExtractiveGenerator) -> Generator:
    from assistant.llm.openai_compat import make_openai_chat_model

    return ChatGenerator(
        make_openai_chat_model(settings.generation),
        "openai",
        excerpter,
        700,
        translator=excerpter.translator,
        evidence_chars=settings.llm_evidence_chars,
    )


def build_checker(
    settings: AssistantSettings,
    *,
    use_model: bool | None = None,
    embeddings: Embeddings | None = None,
    index: Index | None = None,
) -> SupportChecker:
    """The support checker answers use: e5 for English sentences, the index's Latin words as
    the document's names (when an index exists), and the local model for the undecided band
    when ``use_model`` (default: when the default mode is the local model)."""
    embeddings = embeddings or embeddings_from(settings)
    if index is None and index_exists(settings.home):
        index = Index(settings, embeddings)
    vocabulary = _latin_vocabulary(index) if index is not None else None
    if use_model is None:
        use_model = settings.mode in ("auto", "local") and _local_available()
    source = (lambda: _local_judge(settings, {})) if use_model else None
    return SupportChecker(embeddings=embeddings, model_source=source, vocabulary_source=vocabulary)


def _latin_vocabulary(index: Index) -> Callable[[], frozenset[str]]:
    """The index's Latin words, read once on first use (an empty index has none)."""
    cache: list[frozenset[str]] = []

    def read() -> frozenset[str]:
        if not cache:
            try:
                words = index.bm25().vocabulary
            except WhitepaperError:
                words = frozenset()
            cache.append(frozenset(w for w in words if w.isascii() and w.isalpha()))
        return cache[0]

    return read
