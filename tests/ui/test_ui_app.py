"""ui.app: the Blocks served for real (in-process, loopback) and driven with gradio_client.

The "local" generator here blocks until released, standing in for a long LLM generation, so
the queue layout can be checked: one local generation at a time, the next local request
waits in the queue with its position, and extractive answers do not wait at all.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from assistant.chain import Assistant
from assistant.extractive import ExtractiveGenerator
from assistant.fakes import FakeJudge
from assistant.followup import RuleRewriter
from assistant.retrieval import HybridSearcher
from assistant.types import GenerationRequest
from ingest.embeddings import HashingEmbeddings
from ingest.index import Index
from ui import app
from ui.app import UiConfigError, build_ui, launch, ui_auth
from ui.settings import Settings

gradio_client = pytest.importorskip("gradio_client")
pytest_plugins = ["fixtures_index"]
pytestmark = [  # pandas deprecations inside Gradio's queue statistics
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

GAN = "生成对抗网络由一个生成器和一个判别器组成。"


class BlockingGenerator:
    """A "local" generator that holds its (only) slot until released."""

    mode = "local"
    rewriter = RuleRewriter()
    translator = None

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.release = threading.Event()

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.started.release()
        assert self.release.wait(60), "never released"
        yield f"{GAN}【1】"


class BrokenGenerator:
    """An "openai" endpoint that fails mid-answer."""

    mode = "openai"
    rewriter = RuleRewriter()
    translator = None

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        yield "生成"
        raise RuntimeError("the endpoint hung up")


@dataclass(frozen=True)
class Served:
    url: str
    local: BlockingGenerator
    demo: Any
    assistant: Assistant


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(
    hash_home: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, BlockingGenerator, Any]]:
    settings = hash_home.model_copy(update={"home": tmp_path_factory.mktemp("ui-home")})
    embeddings = HashingEmbeddings()
    index = Index(hash_home, embeddings)
    local = BlockingGenerator()
    assistant = Assistant(
        settings,
        index,
        HybridSearcher(index, embeddings, hash_home.retrieval),
        FakeJudge(),
        {
            "extractive": lambda: ExtractiveGenerator(embeddings),
            "local": lambda: local,
            "openai": BrokenGenerator,
        },
        default_mode="extractive",
    )
    demo = build_ui(assistant)
    port = free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield Served(f"http://127.0.0.1:{port}/", local, demo, assistant)
    finally:
        local.release.set()
        demo.close()
        index.close()


def client(url: str) -> Any:
    return gradio_client.Client(url, verbose=False, download_files=False, analytics_enabled=False)


def test_binds_loopback_without_a_share_link(served: Served) -> None:
    assert served.demo.server_name == "127.0.0.1" and not served.demo.share


def test_each_mode_has_its_own_event_and_concurrency_group(served: Served) -> None:
    groups = {
        fn.api_name: (fn.concurrency_id, fn.concurrency_limit)
        for fn in served.demo.fns.values()
        if fn.api_name and fn.api_name.startswith("ask_")
    }
    assert groups == {
        "ask_extractive": ("answer-extractive", app.CONCURRENCY["extractive"]),
        "ask_local": ("answer-local", 1),
        "ask_openai": ("answer-openai", app.CONCURRENCY["openai"]),
    }


def test_extractive_answers_do_not_wait_behind_a_local_generation(
    served: Served,
) -> None:
    url, local = served.url, served.local
    first = client(url).submit("生成对抗网络由哪几部分组成？", 3, False, "", api_name="/ask_local")
    assert local.started.acquire(timeout=60), "the local generation never started"
    second = client(url).submit("判别器做什么？", 3, False, "", api_name="/ask_local")
    deadline = time.monotonic() + 30
    while (status := second.status()).code != gradio_client.utils.Status.IN_QUEUE:
        assert time.monotonic() < deadline, f"the second local request is {status.code}"
        time.sleep(0.1)
    assert status.rank is not None  # a place in the queue the page shows

    started = time.monotonic()
    outputs = client(url).predict(
        "生成对抗网络由哪几部分组成？", 3, False, "", api_name="/ask_extractive"
    )
    assert time.monotonic() - started < 30
    answer = outputs[-1]
    assert answer["mode"] == "extractive" and answer["citations"]
    assert not first.done() and second.status().code == gradio_client.utils.Status.IN_QUEUE

    local.release.set()
    assert first.result(timeout=60)[-1]["mode"] == "local"
    assert second.result(timeout=60)[-1]["mode"] == "local"


def test_a_login_is_required_when_configured(served: Served, hash_home: Settings) -> None:
    settings = hash_home.model_copy(update={"ui_user": "reader", "ui_password": SecretStr("pw")})
    demo = build_ui(served.assistant)
    port = free_port()
    launch(demo, settings, port=port, prevent_thread_lock=True, quiet=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(ValueError, match="login"):
            client(url)
        logged_in = gradio_client.Client(
            url, auth=("reader", "pw"), verbose=False, download_files=False, analytics_enabled=False
        )
        outputs = logged_in.predict(
            "生成对抗网络由哪几部分组成？", 3, False, "", api_name="/ask_extractive"
        )
        assert outputs[-1]["citations"]
    finally:
        demo.close()


def test_a_failing_backend_shows_an_error_where_the_answer_was(served: Served) -> None:
    outputs = client(served.url).predict(
        "生成对抗网络由哪几部分组成？", 3, False, "", api_name="/ask_openai"
    )
    question, live = outputs[0], outputs[1]
    assert question == "生成对抗网络由哪几部分组成？"  # put back for another try
    assert 'role="alert"' in live and "answering failed: the endpoint hung up" in live


def test_login_comes_from_both_settings(hash_home: Settings) -> None:
    assert ui_auth(hash_home.model_copy(update={"ui_user": None, "ui_password": None}).ui) is None
    both = hash_home.model_copy(update={"ui_user": "reader", "ui_password": SecretStr("pw")})
    assert ui_auth(both.ui) == ("reader", "pw")
    with pytest.raises(UiConfigError, match="WHITEPAPER_UI_USER is not set"):
        ui_auth(hash_home.model_copy(update={"ui_user": None, "ui_password": SecretStr("pw")}).ui)


def test_the_page_script_never_writes_markup() -> None:
    script = (app.STATIC / "transcript.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_the_ui_in_extractive_mode_builds_no_local_model(
    hash_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local model is installed (pretended) but the mode is extractive: building the UI
    and its warm-up construct nothing of the local model."""
    from assistant import factory
    from assistant.llm import local
    from ui.handlers import Warmup

    built: list[str] = []

    def record(*args: Any, **kwargs: Any) -> Any:
        built.append("local model")
        raise AssertionError("the local model was constructed")

    monkeypatch.setattr(factory, "_local_available", lambda: True)
    monkeypatch.setattr(local, "LlamaRuntime", record)
    monkeypatch.setattr(local, "make_local_chat_model", record)
    a = factory.build_assistant(hash_home.model_copy(update={"mode": "extractive"}))
    try:
        warmup = Warmup(a)
        demo = build_ui(a, warmup=warmup)
        warmup.run()
        assert "local" in a.modes and not warmup.busy
        assert built == []
        demo.close()
    finally:
        a.index.close()
