"""The ingest entry points a front end calls: open the configured index, and ingest files (or
rebuild the whole index when it must be rebuilt) in one step."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ingest.index import Index
from ingest.pipeline import IngestReport, Progress
from ingest.rebuild import RebuildReport
from ingest.settings import BUNDLED_PDF, IndexSettings

log = logging.getLogger(__name__)


def open_index(settings: IndexSettings) -> Index:
    """The index of ``settings.home`` with the configured embedding model."""
    from ingest.embeddings import embeddings_from

    return Index(settings, embeddings_from(settings))


def ingest_or_rebuild(
    settings: IndexSettings,
    paths: Sequence[Path],
    *,
    rebuild: bool,
    wait: bool,
    progress: Progress,
) -> IngestReport | RebuildReport:
    """Ingest ``paths`` (default: the bundled paper), or rebuild every catalogued document.

    A rebuild happens when asked, or when the index must be rebuilt (e.g. another embedding
    model); a first rebuild of a missing index with no paths starts from the bundled paper.
    """
    from ingest.embeddings import embeddings_from
    from ingest.home import index_exists
    from ingest.pipeline import Ingestor
    from ingest.rebuild import needs_rebuild
    from ingest.rebuild import rebuild as rebuild_index

    embeddings = embeddings_from(settings)
    reason = None if rebuild else needs_rebuild(settings, embeddings)
    if reason:
        log.warning("%s: rebuilding every document", reason)
    if rebuild or reason:
        fresh = not paths and not index_exists(settings.home)
        return rebuild_index(
            settings,
            embeddings,
            [BUNDLED_PDF] if fresh else list(paths),
            wait=wait,
            progress=progress,
        )
    index = Index(settings, embeddings, create=True)
    try:
        ingestor = Ingestor(settings, embeddings, index, progress, wait=wait)
        return ingestor.ingest(list(paths) or [BUNDLED_PDF])
    finally:
        index.close()
