"""What the UI does, as plain functions and small classes that tests call without a browser.

``ui.app`` wires these to Gradio components; nothing here imports Gradio. A chat session is
an immutable value (``ChatSession``) that each handler returns anew, so a handler's effect is
in what it returns.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.chain import Assistant, Final, Passages, Standalone, Status, Token
from assistant.types import Answer, Turn
from ingest.errors import WhitepaperError
from ui import render
from ui.feedback import FeedbackRecord, FeedbackStore, Verdict

log = logging.getLogger(__name__)

#: Re-render the streaming answer at most this often (LLM modes yield one piece per token).
STREAM_RENDER_INTERVAL_S = 0.08


@dataclass(frozen=True)
class Exchange:
    """One finished question and answer of a chat, with its rendered HTML."""

    id: str
    question: str
    history: tuple[Turn, ...]
    answer: Answer
    html: str
    copy_text: str
    doc_id: str | None = None
    verdict: Verdict | None = None

    def __repr__(self) -> str:
        return f"Exchange({self.id!r}, question={self.question[:30]!r}, verdict={self.verdict})"


@dataclass(frozen=True)
class ChatSession:
    """The conversation of one browser tab."""

    exchanges: tuple[Exchange, ...] = ()

    def history(self) -> list[Turn]:
        """The turns the assistant sees for the next question."""
        turns: list[Turn] = []
        for ex in self.exchanges:
            turns += [Turn("user", ex.question), Turn("assistant", ex.answer.text)]
        return turns

    def find(self, exchange_id: str) -> Exchange | None:
        return next((ex for ex in self.exchanges if ex.id == exchange_id), None)

    def added(self, exchange: Exchange) -> ChatSession:
        return ChatSession((*self.exchanges, exchange))

    def rated(self, exchange_id: str, verdict: Verdict) -> ChatSession:
        return ChatSession(
            tuple(
                replace(ex, verdict=verdict) if ex.id == exchange_id else ex
                for ex in self.exchanges
            )
        )


@dataclass(frozen=True)
class AskOptions:
    """The reader's settings for one question."""

    mode: str
    top_k: int | None = None
    strict: bool | None = None
    doc_id: str | None = None


@dataclass(frozen=True)
class ChatView:
    """One step of answering, as the UI shows it. ``None`` fields leave a component as is."""

    live: str
    transcript: str | None = None
    session: ChatSession | None = None
    question: str | None = None
    answer: dict[str, Any] | None = None


def render_transcript(session: ChatSession, notice: str | None = None) -> str:
    if not session.exchanges:
        return render.render_welcome(notice)
    return "".join(
        render.render_exchange(ex.id, ex.question, ex.html, ex.copy_text, ex.verdict)
        for ex in session.exchanges
    )


#: The live status line between the model's last token and the checked answer.
STATUS_NOTES = {
    "checking": "Checking each sentence against its passage… · 正在核对引用…",
    "quoting": "The model's answer did not hold up; quoting the passages… · 改为引用原文…",
    "translating": "Translating the quoted passages… · 正在翻译引用的原文…",
}


def stream_answer(
    assistant: Assistant,
    session: ChatSession,
    question: str,
    options: AskOptions,
    *,
    waiting_note: str | None = None,
) -> Iterator[ChatView]:
    """Answer ``question`` in ``session``: the live view while it streams, then the transcript.

    The first view clears the question box. A question the assistant refuses to take
    (empty, too long, unknown mode...) ends in an error view that puts the question back.
    """
    history = session.history()
    text = ""
    standalone: str | None = None
    status = waiting_note or "Searching the document… · 正在检索…"
    yield ChatView(live=render.render_streaming(question, "", status=status), question="")
    last_render = 0.0
    try:
        for event in assistant.stream(
            question,
            history,
            mode=options.mode,
            strict=options.strict,
            doc_id=options.doc_id,
            top_k=options.top_k,
        ):
            if isinstance(event, Standalone):
                standalone = event.question
                yield ChatView(
                    live=render.render_streaming(question, "", standalone=standalone, status=status)
                )
            elif isinstance(event, Passages):
                status = f"Writing from {len(event.passages)} passages… · 正在作答…"
                yield ChatView(
                    live=render.render_streaming(question, "", standalone=standalone, status=status)
                )
            elif isinstance(event, Status):
                status = STATUS_NOTES[event.stage]
                if event.stage != "checking":
                    text = ""  # the model's text did not hold: not shown as if it were the answer
                yield ChatView(
                    live=render.render_streaming(
                        question, text, standalone=standalone, status=status
                    )
                )
            elif isinstance(event, Token):
                text += event.text
                now = time.monotonic()
                if now - last_render >= STREAM_RENDER_INTERVAL_S:
                    last_render = now
                    yield ChatView(
                        live=render.render_streaming(
                            question, text, standalone=standalone, status=status
                        )
                    )
            elif isinstance(event, Final):
                answer = event.answer
                exchange = _exchange(assistant, question, history, answer, options.doc_id)
                done = session.added(exchange)
                yield ChatView(
                    live="",
                    transcript=render_transcript(done),
                    session=done,
                    answer=answer_summary(answer),
                )
                return
    except WhitepaperError as exc:
        yield ChatView(live=render.render_error(question, str(exc)), question=question)


def _exchange(
    assistant: Assistant, question: str, history: list[Turn], answer: Answer, doc_id: str | None
) -> Exchange:
    exchange_id = uuid.uuid4().hex[:12]
    html = render.render_answer(answer, exchange_id, assistant.page_text)
    return Exchange(
        exchange_id, question, tuple(history), answer, html, render.answer_as_text(answer), doc_id
    )


def answer_summary(answer: Answer) -> dict[str, Any]:
    """The answer's checkable facts without the passages (what API clients read)."""
    return {
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "text": answer.text,
        "refused": answer.refused,
        "mode": answer.mode,
        "citations": [c.to_json() for c in answer.citations],
        "unsupported": [s.text for s in answer.sentences if not s.supported],
        "nearest_sections": list(answer.nearest_sections),
        "timings": {
            "retrieve_ms": answer.timings.retrieve_ms,
            "first_token_ms": answer.timings.first_token_ms,
            "total_ms": answer.timings.total_ms,
        },
    }


# -- feedback -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackOutcome:
    session: ChatSession
    transcript: str
    record: FeedbackRecord | None
    message: str


def rate_answer(
    store: FeedbackStore, session: ChatSession, exchange_id: str, verdict: str
) -> FeedbackOutcome:
    """Record 👍/👎 on one answer of the session (a new rating replaces the old one)."""
    exchange = session.find(exchange_id)
    if exchange is None or verdict not in ("up", "down"):
        return FeedbackOutcome(
            session, render_transcript(session), None, "That answer is no longer in this chat."
        )
    vote: Verdict = "up" if verdict == "up" else "down"
    record = store.rate(
        exchange.id, exchange.answer, exchange.history, vote, doc_id=exchange.doc_id
    )
    rated = session.rated(exchange.id, vote)
    return FeedbackOutcome(
        rated,
        render_transcript(rated),
        record,
        "Thanks! Add a comment below if you like · 可在下方补充说明",
    )


@dataclass(frozen=True)
class Note:
    """A one-line result for the reader."""

    ok: bool
    message: str


def comment_on_answer(store: FeedbackStore, feedback_id: str | None, comment: str) -> Note:
    """Attach the optional comment to the last rating."""
    if not feedback_id:
        return Note(False, "Rate an answer with 👍 or 👎 first.")
    if not comment.strip():
        return Note(False, "The comment is empty.")
    if store.comment(feedback_id, comment) is None:
        return Note(False, "That rating was not found.")
    return Note(True, "Comment saved · 已保存")


# -- background warm-up ---------------------------------------------------------------------


@dataclass
class _WarmState:
    index: str = "pending"  # pending | ready | failed
    local: str = "absent"  # absent | pending | loading | ready | failed
    error: str = ""
    local_seconds: float | None = None
    lines: list[str] = field(default_factory=list)


class Warmup:
    """Loads the heavy parts in a background thread once the page is served.

    First the embedding model, the Chroma collection and BM25 (so the first question is
    quick), then the local LLM when ``local`` is the assistant's default mode. Until the model
    is in memory the UI answers in extractive mode and says so. In any other default mode the
    local model is not loaded here: it loads the first time a question asks for it.
    """

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        preload = assistant.default_mode == "local" and "local" in assistant.modes
        self._state = _WarmState(local="pending" if preload else "absent")
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> threading.Thread:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="whitepaper-warmup", daemon=True)
            self._thread.start()
        return self._thread

    def run(self) -> None:
        try:
            self.assistant.warm_up()
            self._set(index="ready")
        except Exception as exc:  # reported in the banner; questions will show the error too
            log.warning("warm-up of the index failed: %s", exc)
            self._set(index="failed", error=str(exc))
        if self._state.local != "pending":
            return
        self._set(local="loading")
        started = time.perf_counter()
        try:
            loaded = self.assistant.warm_up_model("local")
        except Exception as exc:
            log.warning("the local model did not load: %s", exc)
            self._set(local="failed", error=str(exc))
            return
        seconds = time.perf_counter() - started
        self._set(local="ready", local_seconds=seconds if loaded else None)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._state, key, value)

    @property
    def loads_local(self) -> bool:
        """Whether this warm-up loads the local model (else its first question does)."""
        return self._state.local != "absent"

    @property
    def local_ready(self) -> bool:
        return self._state.local == "ready" or self.assistant.model_ready("local")

    @property
    def busy(self) -> bool:
        """True while something is still loading (the UI keeps polling)."""
        return self._state.index == "pending" or self._state.local in ("pending", "loading")

    def status_lines(self) -> list[str]:
        """What the banner says about the models."""
        s = self._state
        lines: list[str] = []
        if self.assistant.notice:
            lines.append(self.assistant.notice)
        if s.index == "pending":
            lines.append("Loading the search index… the first answer may take a few seconds.")
        elif s.index == "failed":
            lines.append(f"The search index could not be loaded: {s.error}")
        if s.local in ("pending", "loading") and not self.local_ready:
            lines.append(
                "The local model is loading · 本地模型加载中 — answers use extractive "
                "mode until it is ready."
            )
        elif s.local == "failed":
            lines.append(f"The local model is unavailable ({s.error}); extractive mode answers.")
        elif s.local == "ready" and s.local_seconds is not None:
            lines.append(
                f"The local model is ready (loaded in {s.local_seconds:.0f} s) · 本地模型已就绪"
            )
        return lines


def initial_mode(assistant: Assistant, warmup: Warmup | None) -> str:
    """The mode the UI starts in: the configured default, but extractive while it loads."""
    mode = assistant.default_mode
    if mode == "local" and (warmup is None or not warmup.local_ready):
        return "extractive"
    return mode


def waiting_note(mode: str, warmup: Warmup | None) -> str | None:
    """What a local-mode question says while the model is still loading."""
    if mode == "local" and warmup is not None and not warmup.local_ready:
        if not warmup.loads_local:
            return (
                "The local model loads for this first local question; it takes a while "
                "(or switch to extractive mode) · 本地模型首次加载中，请稍候"
            )
        return (
            "The local model is still loading; your question waits for it (or switch to "
            "extractive mode) · 本地模型加载中，请稍候"
        )
    return None


def doc_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """Choices of the "restrict to one document" dropdown: ("label", doc_id); "" = all."""
    docs = assistant.documents()
    return [("All documents · 全部文档", "")] + [
        (f"{d.title} ({d.doc_id})", d.doc_id) for d in docs
    ]
