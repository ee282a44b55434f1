"""LLM backends: the local llama.cpp model (default) and OpenAI-compatible endpoints.

- :mod:`.model_file` joins and verifies the GGUF shipped in PyPI part packages.
- :mod:`.local` is ``ChatLlamaCpp``, a LangChain chat model over one shared, lazily loaded
  ``llama_cpp.Llama`` (``LlamaRuntime``).
- :mod:`.openai_compat` builds a ``ChatOpenAI`` for ``WHITEPAPER_OPENAI_*`` and probes it.
- :mod:`.judge` holds the SupportJudge implementations that ask the LLM yes/no.

Names are re-exported lazily so that importing this package stays cheap (no LangChain, numpy or
llama.cpp until a backend is used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.llm.judge import LlamaSupportJudge, OpenAISupportJudge
    from assistant.llm.local import ChatLlamaCpp, LlamaRuntime, make_local_chat_model
    from assistant.llm.model_file import ensure_local_model, local_model_available
    from assistant.llm.openai_compat import check_endpoint, make_openai_chat_model

_EXPORTS = {
    "ensure_local_model": "model_file",
    "local_model_available": "model_file",
    "ChatLlamaCpp": "local",
    "LlamaRuntime": "local",
    "make_local_chat_model": "local",
    "check_endpoint": "openai_compat",
    "make_openai_chat_model": "openai_compat",
    "LlamaSupportJudge": "judge",
    "OpenAISupportJudge": "judge",
}

__all__ = [
    "ChatLlamaCpp",
    "LlamaRuntime",
    "LlamaSupportJudge",
    "OpenAISupportJudge",
    "check_endpoint",
    "ensure_local_model",
    "local_model_available",
    "make_local_chat_model",
    "make_openai_chat_model",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
