"""ui.handlers without a browser: streaming views, follow-ups, errors, ratings, warm-up.

The assistant is the real chain over the small hash-embedded index of ``fixtures_index``,
with the real extractive generator and a scripted "local" generator.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.chain import Assistant
from assistant.extractive import ExtractiveGenerator
from assistant.fakes import FakeGenerator, FakeJudge
from assistant.followup import RuleRewriter
from assistant.retrieval import HybridSearcher
from assistant.types import Generator
from ingest.embeddings import HashingEmbeddings
from ingest.index import Index
from ui import handlers, render
from ui.feedback import FeedbackStore
from ui.handlers import AskOptions, ChatSession, ChatView, Warmup, stream_answer
from ui.settings import Settings

pytest_plugins = ["fixtures_index"]

GAN = "生成对抗网络由一个生成器和一个判别器组成。"
SCRIPTED = f"{GAN}【1】AIGC 将在 2030 年取代所有作者。【1】"


class FakeChatModel:
    """What the warm-up needs of a local chat model: ``warm_up`` and ``loaded``."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.loaded = False

    def warm_up(self) -> None:
        self.release.wait(10)
        self.loaded = True


class FakeLocal(FakeGenerator):
    def __init__(self, *answers: str) -> None:
        super().__init__(*answers, mode="local", chunk_chars=3)
        self.chat_model = FakeChatModel()


@contextmanager
def local_assistant(settings: Settings, answer: str) -> Iterator[Assistant]:
    """An assistant over the hashed test library whose local model writes ``answer``."""
    embeddings = HashingEmbeddings()
    index = Index(settings, embeddings)
    local = FakeLocal(answer)
    factories: dict[str, Any] = {
        "extractive": lambda: ExtractiveGenerator(embeddings),
        "local": lambda: local,
    }
    searcher = HybridSearcher(index, embeddings, settings.retrieval)
    try:
        yield Assistant(settings, index, searcher, FakeJudge(), factories, default_mode="local")
    finally:
        index.close()


@pytest.fixture(scope="module")
def assistant(hash_home: Settings) -> Iterator[Assistant]:
    with local_assistant(hash_home, SCRIPTED) as a:
        yield a


@pytest.fixture(autouse=True)
def every_piece_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "STREAM_RENDER_INTERVAL_S", 0.0)


def ask(
    assistant: Assistant,
    question: str,
    session: ChatSession | None = None,
    mode: str = "local",
    **options: Any,
) -> list[ChatView]:
    return list(
        stream_answer(
            assistant, session or ChatSession(), question, AskOptions(mode=mode, **options)
        )
    )


def test_views_clear_the_box_stream_the_text_then_move_the_answer_to_the_transcript(
    assistant: Assistant,
) -> None:
    views = ask(assistant, "生成对抗网络由哪几部分组成？")
    first, last = views[0], views[-1]
    assert first.question == "" and "生成对抗网络由哪几部分组成？" in first.live
    assert first.transcript is None and first.session is None
    streamed = [v.live for v in views if "wp-live-text" in v.live]
    assert len(streamed) >= 5  # one view per scripted piece
    assert "生成对抗网" in streamed[0] and "【1】" in streamed[-1]
    assert last.live == "" and last.session is not None and last.transcript is not None
    [exchange] = last.session.exchanges
    assert f'id="wp-ex-{exchange.id}"' in last.transcript
    assert f'id="wp-card-{exchange.id}-1"' in last.transcript
    # Strict by default in a model mode: the invented 2030 claim is removed, shown marked.
    assert 'class="wp-removed"' in last.transcript
    assert "AIGC 将在 2030 年取代所有作者。" in last.transcript
    assert last.answer is not None and last.answer["mode"] == "local"
    assert last.answer["unsupported"] == []
    assert last.answer["citations"][0]["marker"] == 1


def test_a_model_answer_that_does_not_hold_is_not_left_on_screen_as_the_answer(
    hash_home: Settings,
) -> None:
    with local_assistant(hash_home, "月球是由奶酪构成的【1】。") as a:
        views = ask(a, "生成对抗网络由哪几部分组成？")
    notes = [render.esc(handlers.STATUS_NOTES[stage]) for stage in ("checking", "quoting")]
    shown = [next(k for k, v in enumerate(views) if note in v.live) for note in notes]
    assert shown[0] < shown[1]
    assert "奶酪" in views[shown[0]].live  # the model's text while it is checked
    assert all("奶酪" not in v.live for v in views[shown[1] :])  # gone once it failed
    assert views[-1].answer is not None and views[-1].answer["citations"]


def test_a_follow_up_shows_the_question_that_was_searched(assistant: Assistant) -> None:
    first = ask(assistant, "生成对抗网络由哪几部分组成？", mode="extractive")[-1].session
    assert first is not None
    views = ask(assistant, "它的判别器做什么？", first, mode="extractive")
    searched = RuleRewriter().condense("它的判别器做什么？", first.history())
    assert searched.startswith("它的判别器做什么？（上文：生成对抗网络")
    assert any(searched in v.live for v in views[1:-1])  # shown while answering
    session = views[-1].session
    assert session is not None and len(session.exchanges) == 2
    assert session.exchanges[1].history == tuple(first.history())
    assert f'检索问题：<span class="wp-standalone-text">{searched}' in str(views[-1].transcript)


def test_extractive_answers_cite_the_index(assistant: Assistant) -> None:
    last = ask(assistant, "AIGC 暴露出哪些问题？", mode="extractive", top_k=2)[-1]
    assert last.answer is not None and last.answer["mode"] == "extractive"
    assert last.answer["citations"] and "mode: extractive" in str(last.transcript)


@pytest.mark.parametrize(
    ("question", "mode", "message"),
    [
        ("   ", "local", "the question is empty"),
        ("？？？", "local", "the question has no words"),
        ("x" * 1001, "local", "the limit is 1,000"),
        ("什么是 AIGC？", "openai", "is not available (available: extractive, local)"),
    ],
)
def test_a_question_that_cannot_be_asked_shows_why_and_is_put_back(
    assistant: Assistant, question: str, mode: str, message: str
) -> None:
    views = ask(assistant, question, mode=mode)
    last = views[-1]
    assert message in last.live and 'role="alert"' in last.live
    assert last.question == question and last.session is None


def test_rating_records_the_answer_and_marks_the_button(
    assistant: Assistant, tmp_path: Path
) -> None:
    store = FeedbackStore(tmp_path / "fb.jsonl")
    first = ask(assistant, "生成对抗网络由哪几部分组成？")[-1].session
    assert first is not None
    session = ask(assistant, "它的判别器做什么？", first)[-1].session
    assert session is not None
    target = session.exchanges[1]
    outcome = handlers.rate_answer(store, session, target.id, "down")
    assert outcome.record is not None and outcome.record.id == target.id
    assert outcome.session.exchanges[1].verdict == "down"
    assert 'data-verdict="down" title="Bad answer" aria-pressed="true"' in outcome.transcript
    [saved] = store.read()
    assert saved.question == "它的判别器做什么？" and saved.verdict == "down"
    assert [t["role"] for t in saved.history] == ["user", "assistant"]
    assert handlers.comment_on_answer(store, target.id, "没回答判别器").ok
    assert store.read()[0].comment == "没回答判别器"
    assert not handlers.comment_on_answer(store, target.id, "  ").ok
    assert handlers.comment_on_answer(store, None, "x").message.startswith("Rate an answer")
    gone = handlers.rate_answer(store, ChatSession(), target.id, "up")
    assert gone.record is None and "no longer in this chat" in gone.message


def test_warmup_loads_the_local_model_in_the_background(assistant: Assistant) -> None:
    warmup = Warmup(assistant)
    model = assistant.generator("local").chat_model  # type: ignore[attr-defined]
    assert handlers.initial_mode(assistant, warmup) == "extractive"  # usable while loading
    assert "still loading" in str(handlers.waiting_note("local", warmup))
    assert handlers.waiting_note("extractive", warmup) is None
    thread = warmup.start()
    try:
        for _ in range(200):
            if warmup._state.local == "loading":
                break
            threading.Event().wait(0.02)
        assert warmup.busy and any("local model is loading" in s for s in warmup.status_lines())
    finally:
        model.release.set()
        thread.join(10)
    assert not warmup.busy and warmup.local_ready
    assert handlers.initial_mode(assistant, warmup) == "local"
    assert any("local model is ready" in s for s in warmup.status_lines())


def test_warmup_reports_a_model_that_fails_to_load(assistant: Assistant) -> None:
    broken: Generator = FakeLocal("x")

    def fail() -> None:
        raise RuntimeError("the GGUF is truncated")

    broken.chat_model.warm_up = fail  # type: ignore[attr-defined]
    a = Assistant(
        assistant.settings,
        assistant.index,
        assistant.searcher,
        assistant.judge,
        {"extractive": lambda: assistant.generator("extractive"), "local": lambda: broken},
        default_mode="local",
    )
    warmup = Warmup(a)
    warmup.run()
    assert not warmup.busy and not warmup.local_ready
    assert any("unavailable (the GGUF is truncated)" in s for s in warmup.status_lines())
    assert handlers.initial_mode(a, warmup) == "extractive"


def test_document_choices_start_with_all_documents(assistant: Assistant) -> None:
    choices = handlers.doc_choices(assistant)
    assert choices[0] == ("All documents · 全部文档", "")
    assert ("AIGC 测试文档 (aigc-test.md)", "aigc-test.md") in choices


# -- the local model loads only when an LLM mode is used -----------------------------------


def _recording_local_model(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pretend the local model is installed; record every construction of its parts."""
    from assistant import factory
    from assistant.fakes import ScriptedChatModel
    from assistant.llm import judge, local

    built: list[str] = []

    class RecordingRuntime:
        def __init__(self, settings: Any, **kwargs: Any) -> None:
            built.append("runtime")

    def chat_model(settings: Any, **kwargs: Any) -> ScriptedChatModel:
        built.append("chat model")
        return ScriptedChatModel(rules=[("", GAN)])

    def model_judge(runtime: Any) -> Any:
        built.append("judge")
        return FakeJudge()

    monkeypatch.setattr(factory, "_local_available", lambda: True)
    monkeypatch.setattr(local, "LlamaRuntime", RecordingRuntime)
    monkeypatch.setattr(local, "make_local_chat_model", chat_model)
    monkeypatch.setattr(judge, "LlamaSupportJudge", model_judge)
    return built


def test_in_extractive_mode_the_ui_never_constructs_the_local_model(
    hash_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.factory import build_assistant

    built = _recording_local_model(monkeypatch)
    a = build_assistant(hash_home.model_copy(update={"mode": "extractive"}))
    try:
        assert a.modes == ["extractive", "local"] and a.default_mode == "extractive"
        warmup = Warmup(a)
        warmup.run()
        assert not warmup.busy and handlers.initial_mode(a, warmup) == "extractive"
        assert not any("local model" in line for line in warmup.status_lines())
        assert "loads for this first local question" in str(handlers.waiting_note("local", warmup))
        views = ask(a, "生成对抗网络由哪几部分组成？", mode="extractive")
        assert views[-1].answer is not None and not views[-1].answer["refused"]
        assert built == [] and not a.model_ready("local")

        # The first local question builds it, once.
        local_views = ask(a, "生成对抗网络由哪几部分组成？", mode="local")
        assert local_views[-1].answer is not None
        assert built.count("runtime") == 1 and built.count("chat model") == 1
        assert a.model_ready("local")
    finally:
        a.index.close()


def test_in_local_mode_the_warm_up_loads_the_local_model(
    hash_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.factory import build_assistant

    built = _recording_local_model(monkeypatch)
    a = build_assistant(hash_home.model_copy(update={"mode": "local"}))
    try:
        warmup = Warmup(a)
        assert built == [] and warmup.busy  # construction is cheap: nothing built yet
        warmup.run()
        assert built == ["runtime", "chat model"] and warmup.local_ready
    finally:
        a.index.close()


# -- what the assistant offers the UI -------------------------------------------------------


def test_the_assistant_warms_up_and_reports_readiness(assistant: Assistant) -> None:
    assistant.warm_up()  # embedder, store and BM25: raises if any cannot be opened
    assert assistant.check_store() > 0
    assert not assistant.warm_up_model("extractive")  # nothing to load
    assert assistant.model_ready("extractive")


def test_the_assistant_lists_its_documents_and_pages(assistant: Assistant) -> None:
    [doc] = assistant.documents()
    assert doc.doc_id == "aigc-test.md"
    label, text, _ = assistant.page_text(doc.content_hash, 0) or ("", "", [])
    assert text and label
    assert assistant.page_text("no-such-version", 0) is None
