"""Where an index lives under ``WHITEPAPER_HOME``, and the lock that lets one writer in at a time.

The home holds one live index folder, named by the small file ``current`` (``index-…``), plus
what outlives rebuilds (the upload library, feedback, the writer lock). A rebuild fills a new
folder beside the live one and replaces ``current`` in one atomic rename, so a reader, or a
rebuild killed at any moment, finds the old index or the new one, never half of either. Homes
made before the ``current`` file keep their index in the home itself until their first rebuild.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import IO

from ingest.errors import IndexBusy

log = logging.getLogger(__name__)

POINTER = "current"
LOCK_FILE = "write.lock"
CATALOG = "catalog.sqlite"
CATALOG_BACKUP = "catalog.backup.sqlite"
CHROMA = "chroma"
BM25 = "bm25.npz"
#: The BM25 file of indexes built before the ``.npz`` format.
LEGACY_BM25 = "bm25.json"
_FOLDER_PREFIX = "index-"
#: What an index folder holds (beside the Chroma folder): deleted with the folder it is in.
_INDEX_FILES = (
    CATALOG,
    f"{CATALOG}-wal",
    f"{CATALOG}-shm",
    f"{CATALOG}-journal",
    CATALOG_BACKUP,
    BM25,
    LEGACY_BM25,
)
WAITING = "waiting for another ingest of this index…"


def live_folder(home: Path) -> Path:
    """The folder of the live index (the home itself for a home made before ``current``)."""
    try:
        name = (home / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return home
    return home / name if name else home


def index_exists(home: Path) -> bool:
    return (live_folder(home) / CATALOG).exists()


def new_folder(home: Path) -> Path:
    """An empty folder for an index being built beside the live one."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = home / f"{_FOLDER_PREFIX}{stamp}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    return folder


def switch(home: Path, folder: Path) -> Path:
    """Make ``folder`` the live index in one atomic rename; return the folder it replaced.

    The old folder is left in place (a reader may still hold it open); ``discard`` it."""
    previous = live_folder(home)
    tmp = home / f"{POINTER}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(folder.name)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, home / POINTER)
    _fsync_dir(home)
    return previous


def discard(home: Path, folder: Path) -> None:
    """Delete an index folder that is not live (for the home itself: only the index files)."""
    if folder == live_folder(home):
        raise ValueError(f"{folder} is the live index")
    if folder != home:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for name in _INDEX_FILES:
        (home / name).unlink(missing_ok=True)
    shutil.rmtree(home / CHROMA, ignore_errors=True)


def leftovers(home: Path) -> list[Path]:
    """Index folders no pointer names: builds a killed rebuild left behind."""
    live = live_folder(home)
    if not home.exists():
        return []
    return sorted(
        p for p in home.iterdir() if p.is_dir() and p.name.startswith(_FOLDER_PREFIX) and p != live
    )


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteLock:
    """An exclusive, re-entrant lock on a home for one whole write (``flock`` on
    ``HOME/write.lock``): one writer per home at a time, across processes and threads.

    The kernel drops the lock when its holder dies, so a killed writer never blocks the next.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self._file: IO[str] | None = None
        self._depth = 0
        self._owner: int | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        """True in the thread that holds the lock."""
        return self._depth > 0 and self._owner == threading.get_ident()

    def acquire(self, wait: bool = True) -> None:
        """Take the lock; when another writer holds it, wait (saying so once) or, with
        ``wait=False``, raise ``IndexBusy``."""
        if self.held:
            self._depth += 1
            return
        self._guard.acquire()  # other threads of this process queue here
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            fh = (self.home / LOCK_FILE).open("a+", encoding="utf-8")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if not wait:
                    fh.close()
                    raise IndexBusy(
                        f"another ingest of the index under {self.home} is running: wait for "
                        "it to finish, or run again without --no-wait to wait"
                    ) from exc
                log.warning(WAITING)
                fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
        except BaseException:
            self._guard.release()
            raise
        self._file, self._depth, self._owner = fh, 1, threading.get_ident()

    def release(self) -> None:
        if not self.held:
            raise RuntimeError("the write lock is not held by this thread")
        self._depth -= 1
        if self._depth:
            return
        fh, self._file, self._owner = self._file, None, None
        assert fh is not None
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
        self._guard.release()
