"""Settings of answering: retrieval and generation, on top of the index's settings.

``AssistantSettings`` adds the retrieval and generation fields to
``ingest.settings.IndexSettings`` (same ``WHITEPAPER_`` environment variables) and offers them
as frozen groups: the searcher takes ``retrieval``, the generators and judges ``generation``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from ingest.settings import IndexSettings

Mode = Literal["auto", "extractive", "local", "openai"]


def _default_model_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "whitepaper-assistant"


@dataclass(frozen=True)
class RetrievalSettings:
    """How passages are found, fused and judged sufficient."""

    top_k: int
    dense_k: int
    bm25_k: int
    rrf_k: int
    dense_weight: float
    bm25_weight: float
    merge_neighbours: bool
    reranker: str | None
    #: The embedding model queries are embedded with (the thresholds are per model).
    embedding: str
    refusal_thresholds: Mapping[str, Mapping[str, float]]

    def refusal_threshold(self, language: str) -> float | None:
        """The calibrated threshold for the embedding model and question language, if any."""
        return self.refusal_thresholds.get(self.embedding, {}).get(language)


@dataclass(frozen=True)
class GenerationSettings:
    """Which generator answers, and how the LLMs (local and OpenAI-compatible) run."""

    mode: Mode
    strict: bool | None
    model_cache: Path
    llm_threads: int
    llm_ctx: int
    llm_max_tokens: int
    llm_flash_attn: bool
    llm_keep_system_state: bool
    llm_passage_chars: int
    llm_evidence_chars: int
    openai_base_url: str | None
    openai_model: str | None
    openai_api_key: SecretStr | None


class AssistantSettings(IndexSettings):
    """What the ``assistant`` package reads, besides the index's settings."""

    # Retrieval.
    top_k: int = 5
    dense_k: int = 30
    bm25_k: int = 30
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    merge_neighbours: bool = True
    reranker: str | None = None
    # Refusal thresholds on the best dense cosine similarity, per embedding model and question
    # language (an English question scores lower against Chinese text). Calibrated on the dev
    # eval set: see eval/README.md.
    refusal_thresholds: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {"e5": {"zh": 0.874, "en": 0.77}}
    )

    # Generation.
    mode: Mode = "auto"
    #: Remove sentences the checker rejects. ``None``: on in the LLM modes (a model may write
    #: what no passage says), off in extractive mode (it only quotes).
    strict: bool | None = None
    model_cache: Path = Field(
        default_factory=_default_model_cache,
        description="Where the joined local GGUF model is kept.",
    )
    llm_threads: int = 2
    llm_ctx: int = 4096
    llm_max_tokens: int = 320
    llm_flash_attn: bool = Field(
        default=True, description="llama.cpp flash attention (CPU too: ~5% faster prompts)."
    )
    llm_keep_system_state: bool = Field(
        default=True, description="Keep the system prompt's KV state between local LLM calls."
    )
    llm_passage_chars: int = Field(
        default=160, description="Prompt budget per passage for the local model (characters)."
    )
    llm_evidence_chars: int = Field(
        default=600,
        description="Evidence the LLM modes write from: the sentences chosen for the question, "
        "within this many characters (0: per-passage excerpts of llm_passage_chars instead).",
    )
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_api_key: SecretStr | None = None

    @property
    def retrieval(self) -> RetrievalSettings:
        """How passages are found."""
        return RetrievalSettings(
            top_k=self.top_k,
            dense_k=self.dense_k,
            bm25_k=self.bm25_k,
            rrf_k=self.rrf_k,
            dense_weight=self.dense_weight,
            bm25_weight=self.bm25_weight,
            merge_neighbours=self.merge_neighbours,
            reranker=self.reranker,
            embedding=self.embedding,
            refusal_thresholds=self.refusal_thresholds,
        )

    @property
    def generation(self) -> GenerationSettings:
        """How answers are generated."""
        return GenerationSettings(
            mode=self.mode,
            strict=self.strict,
            model_cache=self.model_cache,
            llm_threads=self.llm_threads,
            llm_ctx=self.llm_ctx,
            llm_max_tokens=self.llm_max_tokens,
            llm_flash_attn=self.llm_flash_attn,
            llm_keep_system_state=self.llm_keep_system_state,
            llm_passage_chars=self.llm_passage_chars,
            llm_evidence_chars=self.llm_evidence_chars,
            openai_base_url=self.openai_base_url,
            openai_model=self.openai_model,
            openai_api_key=self.openai_api_key,
        )

    def refusal_threshold(self, language: str) -> float | None:
        """The calibrated threshold for the embedding model and question language, if any."""
        return self.retrieval.refusal_threshold(language)
