"""End-to-end fixtures: the real ``whitepaper ui`` on a free loopback port over the real e5
index, and Debian's Chromium driven by Playwright (never a downloaded browser).

The test modules load ``fixtures_index`` (``pytest_plugins``) for ``whitepaper_template``, the
white paper indexed once per session by ``whitepaper ingest``. Screenshots of every step go
to ``test-artifacts/screenshots/`` (gitignored).
"""

from __future__ import annotations

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
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Answers on a busy 2-core machine can take a while; nothing here waits longer than this.
ANSWER_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class UiServer:
    url: str
    home: Path
    startup_seconds: float
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _whitepaper() -> str:
    beside = Path(sys.executable).parent / "whitepaper"
    return str(beside) if beside.exists() else "whitepaper"


@pytest.fixture(scope="session")
def ui_server(
    tmp_path_factory: pytest.TempPathFactory, whitepaper_template: Path
) -> Iterator[UiServer]:
    """``whitepaper ui --port FREE`` in extractive mode over a copy of the e5 index."""
    home = tmp_path_factory.mktemp("e2e") / "home"
    shutil.copytree(whitepaper_template, home)
    port = _free_port()
    log = home.parent / "ui.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHITEPAPER_")}
    env |= {
        "WHITEPAPER_HOME": str(home),
        "WHITEPAPER_MODE": "extractive",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [_whitepaper(), "ui", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=home.parent,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        seconds = _wait_until_served(url, process, log, started, timeout=120)
        yield UiServer(url=url, home=home, startup_seconds=seconds, log=log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_served(
    url: str, process: subprocess.Popen[bytes], log: Path, started: float, timeout: float
) -> float:
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(
                f"whitepaper ui exited with {process.returncode}:\n"
                f"{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"whitepaper ui did not serve {url} within {timeout} s")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless (``make system-deps`` installs it)."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run `make system-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """One browser tab on the UI, with what it saw: dialogs and requests that left loopback."""

    page: Any
    server: UiServer
    dialogs: list[str]
    outside_requests: list[str]

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def ask(self, question: str, exchanges_before: int = 0) -> Any:
        """Type a question, press Enter, wait for its answer; returns the exchange element."""
        box = self.page.locator("#wp-question textarea")
        # Enter clicks the visible ask button (ENTER_PRESSES_ASK); on a starved machine it
        # renders after the box, and an Enter before it exists is silently lost.
        self.page.locator("button.wp-ask:visible").first.wait_for(timeout=60_000)
        box.fill(question)
        box.press("Enter")
        exchange = self.page.locator("#wp-transcript .wp-exchange").nth(exchanges_before)
        exchange.wait_for(timeout=ANSWER_TIMEOUT_MS)
        return exchange


@pytest.fixture
def visit(browser: Any, ui_server: UiServer) -> Iterator[Visit]:
    """A fresh tab (own session) on the served UI, ready for a question."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    seen = Visit(page, ui_server, [], [])

    def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(request: Any) -> None:
        host = urlparse(request.url).hostname
        if host not in (None, "127.0.0.1", "localhost") and not request.url.startswith("data:"):
            seen.outside_requests.append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.goto(ui_server.url, wait_until="domcontentloaded")
    page.locator("#wp-question textarea").wait_for(timeout=60_000)
    yield seen
    context.close()
    assert not seen.outside_requests, f"the page fetched from outside: {seen.outside_requests}"
