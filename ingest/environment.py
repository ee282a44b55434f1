"""The process environment the third-party libraries read, set in one place.

No module changes ``os.environ`` when it is imported: the entry points (the ``whitepaper``
CLI, the web UI's ``serve``, the bench's ``run_bench``) call :func:`prepare_environment`
first, and the few places that import a Hugging Face library lazily call it again just
before (it is idempotent), so library use stays offline too.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

#: Defaults for variables the libraries read: Hugging Face libraries never reach the network
#: (nothing may download a model at run time) and Chroma sends no telemetry.
OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
}


def prepare_environment(environ: MutableMapping[str, str] | None = None) -> None:
    """Set the offline and no-telemetry defaults; a value the user set is kept.

    Call it before ``huggingface_hub``, ``transformers``, ``sentence_transformers`` or
    ``chromadb`` are imported (the first two read their flags at import)."""
    env = os.environ if environ is None else environ
    for name, value in OFFLINE_DEFAULTS.items():
        env.setdefault(name, value)
