"""Generation through any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama, ...).

Configured by ``WHITEPAPER_OPENAI_BASE_URL``, ``WHITEPAPER_OPENAI_MODEL`` and optionally
``WHITEPAPER_OPENAI_API_KEY`` (local servers usually need none). Nothing touches the network at
import or construction; :func:`check_endpoint` is the explicit, fast reachability probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.settings import GenerationSettings
from ingest.errors import ModelUnavailable

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

__all__ = [
    "DEFAULT_API_KEY",
    "Endpoint",
    "check_endpoint",
    "endpoint_config",
    "make_openai_chat_model",
]

#: Sent when no key is configured: most local servers ignore it, the client insists on one.
DEFAULT_API_KEY = "not-needed"
REQUEST_TIMEOUT_S = 60.0
MAX_RETRIES = 1


@dataclass(frozen=True)
class Endpoint:
    """Where and what to ask; ``api_key`` is kept out of ``repr``."""

    base_url: str
    model: str
    api_key: str

    def __repr__(self) -> str:
        return f"Endpoint(base_url={self.base_url!r}, model={self.model!r})"


def endpoint_config(settings: GenerationSettings) -> Endpoint:
    """The configured endpoint; ModelUnavailable naming the missing variable(s)."""
    missing = [
        name
        for name, value in (
            ("WHITEPAPER_OPENAI_BASE_URL", settings.openai_base_url),
            ("WHITEPAPER_OPENAI_MODEL", settings.openai_model),
        )
        if not value
    ]
    if missing:
        raise ModelUnavailable(
            f"the OpenAI-compatible backend is not configured: set {' and '.join(missing)} "
            "(e.g. WHITEPAPER_OPENAI_BASE_URL=http://127.0.0.1:8000/v1 "
            "WHITEPAPER_OPENAI_MODEL=qwen2.5)"
        )
    assert settings.openai_base_url is not None and settings.openai_model is not None
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return Endpoint(
        base_url=settings.openai_base_url.rstrip("/"),
        model=settings.openai_model,
        api_key=key or DEFAULT_API_KEY,
    )


def make_openai_chat_model(settings: GenerationSettings) -> ChatOpenAI:
    """A streaming, deterministic ``ChatOpenAI`` for the configured endpoint (no network yet)."""
    endpoint = endpoint_config(settings)
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:  # a core dependency, but keep the message useful
        raise ModelUnavailable(
            "langchain-openai is not installed; pip install 'whitepaper-assistant'"
        ) from exc
    from pydantic import SecretStr

    return ChatOpenAI(
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key=SecretStr(endpoint.api_key),
        temperature=0.0,
        max_completion_tokens=settings.llm_max_tokens,
        streaming=True,
        timeout=REQUEST_TIMEOUT_S,
        max_retries=MAX_RETRIES,
    )


def check_endpoint(settings: GenerationSettings, *, timeout: float = 5.0) -> list[str]:
    """Probe the endpoint (``GET /models``) and return the model ids it lists (may be empty).

    Raises ModelUnavailable with what to do when it is not configured, cannot be reached, or
    rejects the key. Servers without ``/models`` (404) count as reachable.
    """
    import openai

    endpoint = endpoint_config(settings)
    client = openai.OpenAI(
        base_url=endpoint.base_url, api_key=endpoint.api_key, timeout=timeout, max_retries=0
    )
    try:
        return [model.id for model in client.models.list()]
    except openai.APIConnectionError as exc:  # includes timeouts
        raise ModelUnavailable(
            f"cannot reach the OpenAI-compatible endpoint at {endpoint.base_url}: {exc}; "
            "start it or unset WHITEPAPER_OPENAI_BASE_URL"
        ) from exc
    except openai.AuthenticationError as exc:
        raise ModelUnavailable(
            f"the OpenAI-compatible endpoint at {endpoint.base_url} rejected the API key "
            f"({exc.status_code}); set WHITEPAPER_OPENAI_API_KEY"
        ) from exc
    except openai.NotFoundError:
        return []
    except openai.APIStatusError as exc:
        raise ModelUnavailable(
            f"the OpenAI-compatible endpoint at {endpoint.base_url} answered {exc.status_code} "
            f"to GET /models: {exc.message}"
        ) from exc
    finally:
        client.close()
