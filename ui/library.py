"""The document library behind the UI: list, add an uploaded PDF, remove a document.

Uploads are checked before anything is ingested (size limit, ``.pdf`` name, PDF magic bytes,
with the CLI's messages) and stored only under ``WHITEPAPER_HOME/library`` under a sanitised
name; the name is the document id, as with ``whitepaper ingest``.
"""

from __future__ import annotations

import re
import shutil
import threading
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.chain import Assistant
from ingest.errors import IngestError
from ingest.index import DocumentRecord
from ingest.loaders import inspect

LIBRARY_DIR = "library"
MAX_UPLOAD_MB = 50
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
_MAX_NAME = 80
_UNSAFE = re.compile(r"[^\w.\-]+")

#: ``progress(stage, done, total)`` as ``ingest.pipeline.Progress``.
Progress = Callable[[str, int, int], None]


def safe_filename(name: str) -> str:
    """A file name safe to store: no folders, no control or shell characters, not hidden.

    Letters of any script (Chinese names stay readable), digits, ``.``, ``-`` and ``_`` are
    kept; runs of anything else become one ``_``.
    """
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._-") or "document"
    suffix = _UNSAFE.sub("", suffix).lower()
    stem = stem[: _MAX_NAME - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


@dataclass(frozen=True)
class LibraryResult:
    """What an add or remove did, as one line for the reader."""

    ok: bool
    message: str
    doc_id: str | None = None


class Library:
    """Adds and removes documents of the assistant's index (one writer at a time, with the
    CLI's ingests too: each change holds the index's write lock)."""

    def __init__(self, assistant: Assistant, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.folder = self.settings.home / LIBRARY_DIR
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def documents(self) -> list[DocumentRecord]:
        """The documents of the assistant's index."""
        return self.assistant.documents()

    def check_upload(self, upload: Path, name: str) -> None:
        """Refuse what must not be stored: wrong type, too large, empty, not a PDF."""
        suffix = Path(name).suffix.lower()
        if suffix != ".pdf":
            raise IngestError(
                f"{name}: unsupported file type {suffix or '(none)'}: upload a .pdf file "
                "(ingest .txt and .md files with `whitepaper ingest`)"
            )
        size = upload.stat().st_size
        if size > self.max_bytes:
            raise IngestError(
                f"{name}: the file is {_megabytes(size)}, over the {_megabytes(self.max_bytes)} "
                "upload limit: ingest it with `whitepaper ingest FILE` instead"
            )
        with upload.open("rb") as fh:
            head = fh.read(1024)
        if not head:
            raise IngestError(f"{name}: the file is empty (0 bytes): re-export or re-download it")
        if b"%PDF-" not in head:
            raise IngestError(
                f"{name}: not a PDF (no %PDF- header): it may be HTML or another format "
                "renamed to .pdf; download or export the real PDF"
            )

    def add(
        self, upload: Path, original_name: str | None = None, progress: Progress | None = None
    ) -> LibraryResult:
        """Check, store and ingest an uploaded PDF. Never raises for a bad file."""
        name = safe_filename(original_name or upload.name)
        try:
            self.check_upload(upload, name)
        except IngestError as exc:
            return LibraryResult(False, str(exc))
        # The whole change (the stored copy and its ingest) holds the index's write lock: a
        # CLI ingest or another UI beside this one waits, and this upload waits for them.
        with self._lock, self.assistant.writing():
            staging = self.folder / ".staging" / uuid.uuid4().hex
            staging.mkdir(parents=True, exist_ok=True)
            try:
                staged = staging / name
                shutil.copyfile(upload, staged)
                inspect(staged)  # the CLI's own checks and messages
                target = self.folder / name
                backup = self._set_aside(target)
                staged.replace(target)
                outcome = self.assistant.ingest([target], progress or _quiet).outcomes[0]
                if outcome.status == "failed":
                    self._restore(target, backup)
                    return LibraryResult(False, outcome.error or f"{name}: cannot be ingested")
                if backup is not None:
                    backup.unlink(missing_ok=True)
            except IngestError as exc:
                return LibraryResult(False, str(exc))
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        verb = {"new": "added", "replaced": "replaced", "unchanged": "already in the library:"}
        return LibraryResult(
            True,
            f"{verb.get(outcome.status, outcome.status)} {outcome.doc_id} — {outcome.pages} pages, "
            f"{outcome.chunks} chunks",
            outcome.doc_id,
        )

    def remove(self, doc_id: str) -> LibraryResult:
        """Remove a document from the index, and its stored upload if the library holds one."""
        from ingest.errors import DocumentNotFound

        with self._lock, self.assistant.writing():
            try:
                record = self.assistant.remove_document(doc_id)
            except DocumentNotFound as exc:
                return LibraryResult(False, str(exc))
            source = Path(record.source_file).resolve()
            if source.parent == self.folder.resolve():  # never delete files outside the library
                source.unlink(missing_ok=True)
        return LibraryResult(
            True, f"removed {record.doc_id} ({record.n_chunks} chunks)", record.doc_id
        )

    def _set_aside(self, target: Path) -> Path | None:
        if not target.exists():
            return None
        backup = target.with_name(f".{target.name}.previous")
        target.replace(backup)
        return backup

    @staticmethod
    def _restore(target: Path, backup: Path | None) -> None:
        if backup is not None:
            backup.replace(target)
        else:
            target.unlink(missing_ok=True)


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def _megabytes(size: int) -> str:
    mb = size / 2**20
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"
