"""Settings: one flat parsing layer per package (same WHITEPAPER_ variables and defaults as
ever) and the frozen groups each component takes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from assistant.settings import AssistantSettings, GenerationSettings, RetrievalSettings
from ingest.settings import IndexSettings, IngestSettings, StoreSettings
from ui.settings import Settings, UISettings


@pytest.fixture(autouse=True)
def no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WHITEPAPER_"):
            monkeypatch.delenv(name)


def test_the_defaults_are_the_calibrated_ones() -> None:
    s = Settings()
    assert s.store == StoreSettings(Path(".whitepaper"), None, "whitepaper")
    assert s.ingest == IngestSettings("e5", 32, None, True, 300, 400)
    r = s.retrieval
    assert (r.top_k, r.dense_k, r.bm25_k, r.rrf_k) == (5, 30, 30, 60)
    assert (r.dense_weight, r.bm25_weight, r.merge_neighbours, r.reranker) == (1.0, 1.0, True, None)
    assert r.refusal_threshold("zh") == 0.874 and r.refusal_threshold("en") == 0.77
    g = s.generation
    assert (g.mode, g.strict, g.llm_threads, g.llm_ctx, g.llm_max_tokens) == (
        "auto",
        None,
        2,
        4096,
        320,
    )
    assert g.llm_flash_attn and g.llm_keep_system_state and g.llm_passage_chars == 160
    assert g.model_cache.name == "whitepaper-assistant"
    assert (g.openai_base_url, g.openai_model, g.openai_api_key) == (None, None, None)
    assert s.ui == UISettings(None, None)


def test_every_variable_still_reaches_its_group(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "WHITEPAPER_HOME": "/tmp/wp-home",
        "WHITEPAPER_CHROMA_URL": "http://127.0.0.1:8123",
        "WHITEPAPER_COLLECTION": "docs",
        "WHITEPAPER_EMBEDDING": "hash:64",
        "WHITEPAPER_CHUNK_TARGET": "200",
        "WHITEPAPER_STRIP_HEADERS": "false",
        "WHITEPAPER_TOP_K": "7",
        "WHITEPAPER_RERANKER": "/models/cross",
        "WHITEPAPER_MODE": "extractive",
        "WHITEPAPER_STRICT": "true",
        "WHITEPAPER_LLM_THREADS": "4",
        "WHITEPAPER_OPENAI_API_KEY": "sk-secret",
        "WHITEPAPER_UI_USER": "reader",
        "WHITEPAPER_UI_PASSWORD": "pw",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s = Settings()
    assert s.store == StoreSettings(Path("/tmp/wp-home"), "http://127.0.0.1:8123", "docs")
    assert s.ingest.embedding == "hash:64" and s.ingest.chunk_target == 200
    assert not s.ingest.strip_headers
    assert s.retrieval.top_k == 7 and s.retrieval.reranker == "/models/cross"
    assert s.retrieval.refusal_threshold("zh") is None  # no thresholds for hash:64
    assert s.generation.mode == "extractive" and s.generation.strict is True
    assert s.generation.llm_threads == 4
    key = s.generation.openai_api_key
    assert key is not None and key.get_secret_value() == "sk-secret"
    assert s.ui.user == "reader" and s.ui.password is not None
    # The flat fields stay readable, and each lower layer parses only its own.
    assert s.top_k == 7 and s.home == Path("/tmp/wp-home")
    assert AssistantSettings().mode == "extractive" and not hasattr(AssistantSettings(), "ui")
    assert IndexSettings().home == Path("/tmp/wp-home") and not hasattr(IndexSettings(), "mode")


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("WHITEPAPER_MODE", "telepathy")
    with pytest.raises(ValidationError, match="mode"):
        Settings()


def test_groups_are_frozen_and_follow_a_copy() -> None:
    s = Settings().model_copy(update={"top_k": 3, "mode": "local"})
    assert s.retrieval.top_k == 3 and s.generation.mode == "local"
    for group in (s.store, s.ingest, s.retrieval, s.generation, s.ui):
        assert dataclasses.is_dataclass(group)
        with pytest.raises(dataclasses.FrozenInstanceError):
            group.__setattr__(dataclasses.fields(group)[0].name, None)
    assert isinstance(s.retrieval, RetrievalSettings)
    assert isinstance(s.generation, GenerationSettings)
