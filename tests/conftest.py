"""Shared fixtures: an isolated environment, the ``whitepaper`` CLI, a real Chroma server.

Every test runs offline: the model libraries are told so before anything imports them, and
``WHITEPAPER_*`` variables of the developer's shell never leak into a test that asks for
``clean_env`` (all CLI and index fixtures do).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ingest.environment import prepare_environment
from ingest.model import CleanDocument
from ingest.settings import BUNDLED_PDF
from ui.settings import Settings

prepare_environment()  # the test session's entry point: before any model library is imported

#: The fast, deterministic embedder the index tests use (no model at all).
HASH_EMBEDDING = "hash:64"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite the golden files under tests/golden/ from the current output.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite golden files instead of comparing."""
    return bool(request.config.getoption("--update-golden"))


def _executable(name: str) -> str:
    """A console script of the project venv (next to the running Python), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise FileNotFoundError(f"the {name!r} console script is not installed: run make install")
    return found


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every ``WHITEPAPER_*`` variable, so only what a test sets applies."""
    for key in list(os.environ):
        if key.startswith("WHITEPAPER_"):
            monkeypatch.delenv(key)


@pytest.fixture
def hash_settings(tmp_path: Path, clean_env: None) -> Settings:
    """Settings for a fresh index under ``tmp_path`` with the hashing embedder."""
    return Settings(home=tmp_path / "home", embedding=HASH_EMBEDDING, chroma_url=None)


@dataclass
class Cli:
    """Runs ``whitepaper`` against one index home: as a subprocess, or in-process (CliRunner)."""

    home: Path
    env: dict[str, str]

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """The real console script in a subprocess (exit codes, streams, memory as shipped)."""
        return subprocess.run(
            [_executable("whitepaper"), *args],
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(
        self, *args: str, env: dict[str, str] | None = None, stdout: Any = subprocess.PIPE
    ) -> subprocess.Popen[bytes]:
        """Start ``whitepaper`` without waiting; stderr is a pipe (progress bars, log lines)."""
        return subprocess.Popen(
            [_executable("whitepaper"), *args],
            env={**os.environ, **self.env, **(env or {})},
            stdout=stdout,
            stderr=subprocess.PIPE,
        )

    def invoke(self, *args: str, env: dict[str, str] | None = None) -> Any:
        """The click command in this process: fast, for the many small error-path checks."""
        from click.testing import CliRunner

        from ui.cli import main

        return CliRunner().invoke(main, list(args), env={**self.env, **(env or {})})

    def json(self, *args: str) -> Any:
        """Run a ``--json`` command in a subprocess and parse its output; it must succeed."""
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def cli(tmp_path: Path, clean_env: None) -> Cli:
    """The ``whitepaper`` CLI on a fresh home under ``tmp_path``, hashing embeddings."""
    home = tmp_path / "home"
    return Cli(
        home=home, env={"WHITEPAPER_HOME": str(home), "WHITEPAPER_EMBEDDING": HASH_EMBEDDING}
    )


@pytest.fixture(scope="session")
def bundled_document(tmp_path_factory: pytest.TempPathFactory) -> CleanDocument:
    """The bundled white paper read and cleaned as ``whitepaper ingest`` does (real pypdf)."""
    from ingest.embeddings import HashingEmbeddings
    from ingest.loaders import inspect
    from ingest.pipeline import Ingestor

    settings = Settings(
        home=tmp_path_factory.mktemp("read-home"), embedding=HASH_EMBEDDING, strip_headers=True
    )
    return Ingestor(settings, HashingEmbeddings()).read(inspect(BUNDLED_PDF))


# -- a real Chroma server --------------------------------------------------------------------


@dataclass(frozen=True)
class ChromaServer:
    url: str
    path: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """A real ``chroma run`` on a free loopback port, stopped at the end of the session."""
    chroma = _executable("chroma")
    path = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    log = (path.parent / "chroma-server.log").open("wb")
    process = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_heartbeat(url, process, timeout=60)
        yield ChromaServer(url=url, path=path)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_heartbeat(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no heartbeat from {url} after {timeout} s")
