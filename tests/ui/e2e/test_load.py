"""Load on the real ``whitepaper ui``: simultaneous users through Gradio's queue (gradio_client
in threads, on loopback). Figures (requests, errors, queue wait, p50/p95 latency per mode) are
printed and written to test-artifacts/load-<mode>.json.

The local-LLM load test is opt-in: ``UI_LOAD_LOCAL=1 pytest tests/ui/e2e/test_load.py -m llm``.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import pytest

pytest_plugins = ["fixtures_index"]
gradio_client = pytest.importorskip("gradio_client")

FIRST_QUESTIONS = [
    "AIGC 的发展分为哪几个阶段？",
    "白皮书在治理层面指出 AIGC 暴露出了哪些问题？",
    "AIGC 在哪些行业得到了应用？",
    "什么是数字孪生？",
    "生成对抗网络是什么时候提出的？",
    "虚拟数字人有哪些应用？",
    "What are the main technologies behind AIGC?",
    "What does the white paper recommend to governments?",
]
RUNNING = (
    gradio_client.utils.Status.PROCESSING,
    gradio_client.utils.Status.ITERATING,
    gradio_client.utils.Status.FINISHED,
)
FOLLOW_UPS = ["第一个阶段是什么？", "它面临哪些风险？", "那在电商领域呢？", "What about its risks?"]


@dataclass(frozen=True)
class Sample:
    user: int
    question: str
    mode: str
    seconds: float
    ok: bool
    error: str = ""
    wait_seconds: float = 0.0  # in Gradio's queue, before the answer started


def valid(output: Any, mode: str) -> str:
    """Why an API result is not a valid checked answer ("" when it is)."""
    answer = output[-1] if isinstance(output, list | tuple) and output else None
    if not isinstance(answer, dict):
        return f"no answer in the output: {str(output)[:200]}"
    if answer.get("mode") != mode:
        return f"answered in mode {answer.get('mode')!r}"
    if not answer.get("text"):
        return "empty answer"
    if not answer.get("refused") and not answer.get("citations"):
        return "an answer without citations"
    return ""


def run_users(url: str, mode: str, questions: list[list[str]], deadline_s: float) -> list[Sample]:
    """Each user (one gradio_client session) asks its questions in turn; all start together."""
    samples: list[Sample] = []
    lock = threading.Lock()
    start = threading.Barrier(len(questions))
    ends_at = time.monotonic() + deadline_s

    def user(number: int, asks: list[str]) -> None:
        try:
            client = gradio_client.Client(
                url, verbose=False, download_files=False, analytics_enabled=False
            )
        except Exception as exc:
            with lock:
                samples.append(Sample(number, "(connect)", mode, 0.0, False, repr(exc)))
            start.abort()
            return
        start.wait()
        for question in asks:
            began = time.monotonic()
            waited: float | None = None
            error = ""
            try:
                job = client.submit(question, 5, False, "", api_name=f"/ask_{mode}")
                while not job.done():
                    if waited is None and job.status().code in RUNNING:
                        waited = time.monotonic() - began
                    if time.monotonic() > ends_at:
                        raise TimeoutError(f"no answer within the {deadline_s:.0f} s bound")
                    time.sleep(0.05)
                error = valid(job.result(timeout=5), mode)
            except Exception as exc:
                error = repr(exc)
            with lock:
                elapsed = time.monotonic() - began
                samples.append(
                    Sample(
                        number,
                        question,
                        mode,
                        elapsed,
                        not error,
                        error,
                        elapsed if waited is None else waited,
                    )
                )

    threads = [
        threading.Thread(target=user, args=(i, asks), daemon=True)
        for i, asks in enumerate(questions)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(deadline_s + 30)
    return samples


def figures(samples: list[Sample], wall_seconds: float) -> dict[str, Any]:
    by_mode: dict[str, Any] = {}
    for mode in sorted({s.mode for s in samples}):
        mine = [s for s in samples if s.mode == mode]
        times = sorted(s.seconds for s in mine if s.ok)
        cuts = statistics.quantiles(times, n=20, method="inclusive") if len(times) > 1 else times
        by_mode[mode] = {
            "requests": len(mine),
            "errors": sum(not s.ok for s in mine),
            "queue_wait_p50_s": round(statistics.median(s.wait_seconds for s in mine), 2),
            "queue_wait_max_s": round(max(s.wait_seconds for s in mine), 2),
            "p50_s": round(statistics.median(times), 2) if times else None,
            "p95_s": round(cuts[18] if len(cuts) > 18 else max(times, default=0.0), 2),
            "max_s": round(max(times, default=0.0), 2),
        }
    return {
        "wall_seconds": round(wall_seconds, 1),
        "modes": by_mode,
        "failures": [asdict(s) for s in samples if not s.ok][:20],
    }


def save(name: str, report: dict[str, Any]) -> None:
    from conftest import ARTIFACTS  # tests/ui/e2e/conftest.py

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"load-{name}.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    print(f"\nload ({name}):", json.dumps(report["modes"], ensure_ascii=False))


@pytest.mark.slow
def test_twenty_users_get_valid_extractive_answers_within_a_minute(ui_server: Any) -> None:
    users = 20
    questions = [
        [FIRST_QUESTIONS[i % len(FIRST_QUESTIONS)], FOLLOW_UPS[i % len(FOLLOW_UPS)]]
        for i in range(users)
    ]
    began = time.monotonic()
    samples = run_users(ui_server.url, "extractive", questions, deadline_s=60)
    report = figures(samples, time.monotonic() - began)
    save("extractive", report)
    assert len(samples) == users * 2
    assert report["modes"]["extractive"]["errors"] == 0, report["failures"]
    assert report["wall_seconds"] <= 60


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.skipif(
    os.environ.get("UI_LOAD_LOCAL") != "1",
    reason="minutes of both cores with the local LLM: run with UI_LOAD_LOCAL=1",
)
def test_local_generations_queue_one_at_a_time_while_extractive_answers_pass(
    ui_server: Any,
) -> None:
    """Three readers ask the local model at once; extractive readers arrive meanwhile."""
    local_questions = [[q] for q in FIRST_QUESTIONS[:3]]
    extractive_questions = [[q] for q in FIRST_QUESTIONS[3:6]]
    samples: list[Sample] = []
    began = time.monotonic()
    local = threading.Thread(
        target=lambda: samples.extend(
            run_users(ui_server.url, "local", local_questions, deadline_s=900)
        )
    )
    local.start()
    time.sleep(10)  # the local requests are in: one generating, two waiting
    samples.extend(run_users(ui_server.url, "extractive", extractive_questions, deadline_s=120))
    extractive_done = time.monotonic() - began
    local.join(960)
    report = figures(samples, time.monotonic() - began)
    save("local", report)
    local_fig, extractive_fig = report["modes"]["local"], report["modes"]["extractive"]
    assert local_fig["errors"] == 0 and extractive_fig["errors"] == 0, report["failures"]
    waits = sorted(s.wait_seconds for s in samples if s.mode == "local")
    assert waits[-2] > 10  # one generation at a time: the others waited in the queue
    assert extractive_done < min(s.seconds for s in samples if s.mode == "local") + 10
