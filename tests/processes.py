"""Watching a child process's stderr (progress bars, log lines) from a test."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Callable


class StderrWatch:
    """Collects a child's stderr in a thread, so a test can wait for a moment in its run."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._data = b""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        while chunk := os.read(self.process.stderr.fileno(), 65536):
            with self._lock:
                self._data += chunk

    @property
    def text(self) -> str:
        with self._lock:
            return self._data.decode(errors="replace")

    def wait_for(self, moment: Callable[[str], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if moment(self.text):
                return
            if self.process.poll() is not None:
                self._thread.join(5)
                if moment(self.text):
                    return
                raise AssertionError(f"the run ended before the moment came:\n{self.text[-2000:]}")
            time.sleep(0.005)
        raise AssertionError(f"the moment did not come in {timeout} s:\n{self.text[-2000:]}")


def progress_at_least(stage: str, done: int) -> Callable[[str], bool]:
    """A tqdm bar of ``stage`` (as the CLI draws it on stderr) shows at least ``done``."""
    pattern = re.compile(rf"{stage}:[^\r\n]*?\|\s*(\d+)/(\d+)")

    def reached(text: str) -> bool:
        return any(int(m.group(1)) >= done for m in pattern.finditer(text))

    return reached
