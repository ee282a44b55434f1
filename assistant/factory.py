"""Builds an ``Assistant`` from settings: cheap, nothing heavy loads until it is used."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langchain_core.embeddings import Embeddings

from assistant.chain import Assistant
from assistant.citations import LexicalJudge
from assistant.extractive import ExtractiveGenerator
from assistant.generators import ChatGenerator
from assistant.prompts import SYSTEM_PROMPT
from assistant.retrieval import HybridSearcher
from assistant.sufficiency import DEFAULT_CALIBRATION, SufficiencyChecker
from assistant.terms import library_terms
from assistant.types import Generator, SupportJudge
from ingest.embeddings import embeddings_from
from ingest.index import Index
from ingest.settings import Settings

log = logging.getLogger(__name__)

#: Calibrated on the 60 hand-labelled pairs of eval/sets/judge_labels.jsonl (eval/README.md).
LEXICAL_SUPPORT_THRESHOLD = 0.7


def build_assistant(
    settings: Settings,
    *,
    embeddings: Embeddings | None = None,
    index: Index | None = None,
) -> Assistant:
    """Open the index and wire retrieval, generators and judges for the configured modes."""
    embeddings = embeddings or embeddings_from(settings)
    index = index or Index(settings, embeddings)
    searcher = HybridSearcher(index, embeddings, settings)
    judge = LexicalJudge(LEXICAL_SUPPORT_THRESHOLD, embeddings=embeddings)

    vectors_path = settings.home / "sentence_vectors.sqlite"
    terms = lambda: library_terms(index)  # noqa: E731
    extractive = ExtractiveGenerator(embeddings, cache_path=vectors_path, terms=terms)
    sufficiency = SufficiencyChecker(
        terms,
        scorer=extractive,
        calibration=DEFAULT_CALIBRATION.get(settings.embedding),
        fallback=settings.refusal_threshold,
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

    notice = None
    if settings.mode == "auto":
        default = "local" if local_ok else "extractive"
        if not local_ok:
            notice = "the local model is not installed; answering in extractive mode"
            log.info(notice)
    else:
        default = settings.mode
    return Assistant(
        settings, index, searcher, judge, factories, model_judge, default, notice, sufficiency
    )


def _local_available() -> bool:
    try:
        from assistant.llm.model_file import local_model_available
    except ImportError:
        return False
    return bool(local_model_available())


def _local_runtime(settings: Settings, shared: dict[str, Any]) -> Any:
    from assistant.llm.local import LlamaRuntime

    if "runtime" not in shared:
        shared["runtime"] = LlamaRuntime(settings)  # cheap: loads on first use
    return shared["runtime"]


def _local_generator(
    settings: Settings, shared: dict[str, Any], excerpter: ExtractiveGenerator
) -> Generator:
    from assistant.llm.local import make_local_chat_model

    chat = make_local_chat_model(
        settings, runtime=_local_runtime(settings, shared), warm_system_prompt=SYSTEM_PROMPT
    )
    return ChatGenerator(chat, "local", excerpter, settings.llm_passage_chars)


def _local_judge(settings: Settings, shared: dict[str, Any]) -> SupportJudge:
    from assistant.llm.judge import LlamaSupportJudge

    return LlamaSupportJudge(_local_runtime(settings, shared))


def _openai_generator(settings: Settings, excerpter: ExtractiveGenerator) -> Generator:
    from assistant.llm.openai_compat import make_openai_chat_model

    return ChatGenerator(make_openai_chat_model(settings), "openai", excerpter, 700)
