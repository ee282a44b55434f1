"""The Gradio web UI: ``build_ui(assistant)`` returns the Blocks, ``serve`` runs them.

The UI is a thin layer: the handlers are the plain functions of ``ui.handlers``,
``ui.library`` and ``ui.feedback``; the HTML comes from ``ui.render``.

Queue and concurrency. Every mode has its own Ask button and event, and each event has its
own ``concurrency_id``: ``answer-local`` runs one generation at a time (one loaded model),
``answer-openai`` and ``answer-extractive`` run a few at once. A reader waiting for the local
model sees their place in Gradio's queue, while extractive answers, in their own group, never
wait behind an LLM generation. The mode selector only decides which Ask button is shown (and
which one Enter presses). Library changes run one at a time in their own group; cheap events
(ratings, new chat, the status poll) bypass the queue.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.chain import Assistant
from ingest.environment import prepare_environment
from ingest.errors import WhitepaperError
from ui import render
from ui.feedback import FeedbackStore, feedback_path
from ui.handlers import (
    AskOptions,
    ChatSession,
    Warmup,
    comment_on_answer,
    doc_choices,
    initial_mode,
    rate_answer,
    render_transcript,
    stream_answer,
    waiting_note,
)
from ui.library import MAX_UPLOAD_BYTES, Library
from ui.settings import Settings, UISettings

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
#: Answers computed at once per mode. One local model instance: one generation at a time.
CONCURRENCY = {"extractive": 4, "local": 1, "openai": 4}
#: Requests that may wait in the queue before new ones are turned away.
QUEUE_MAX = 128
#: A chat idle this long is forgotten on the server (its page still shows it).
SESSION_TTL_S = 12 * 3600
EXAMPLES = [
    "AIGC 的发展分为哪几个阶段？",
    "白皮书在治理层面指出 AIGC 暴露出了哪些问题？",
    "AIGC 在哪些行业得到了应用？",
    "What are the main technologies behind AIGC?",
    "What recommendations does the white paper give for governing AIGC?",
]
MODE_LABELS = {
    "extractive": "extractive — quotes the passages, instant",
    "local": "local — Qwen2.5 1.5B on this machine, streams",
    "openai": "openai — the configured endpoint",
}
ENTER_PRESSES_ASK = """() => {
  const visible = Array.from(document.querySelectorAll("button.wp-ask"))
    .find((b) => b.offsetParent !== null);
  if (visible) visible.click();
}"""


class UiConfigError(WhitepaperError):
    """The UI settings are inconsistent (e.g. a login user without a password)."""


def ui_auth(settings: UISettings) -> tuple[str, str] | None:
    """The login from WHITEPAPER_UI_USER / WHITEPAPER_UI_PASSWORD, if both are set."""
    user = settings.user or None
    password = settings.password.get_secret_value() if settings.password else None
    if user and password:
        return user, password
    if user or password:
        missing = "WHITEPAPER_UI_PASSWORD" if user else "WHITEPAPER_UI_USER"
        raise UiConfigError(
            f"{missing} is not set: set both WHITEPAPER_UI_USER and WHITEPAPER_UI_PASSWORD to "
            "require a login, or neither"
        )
    return None


def build_ui(
    assistant: Assistant,
    *,
    warmup: Warmup | None = None,
    feedback: FeedbackStore | None = None,
    library: Library | None = None,
) -> gr.Blocks:
    """The Blocks of the web UI over ``assistant`` (queue configured; not launched)."""
    feedback = feedback or FeedbackStore(feedback_path(assistant.settings.store.home))
    library = library or Library(assistant)
    modes = assistant.modes
    mode0 = initial_mode(assistant, warmup)

    def status_html() -> str:
        lines = (
            warmup.status_lines() if warmup else ([assistant.notice] if assistant.notice else [])
        )
        return render.render_status(lines, busy=bool(warmup and warmup.busy))

    with gr.Blocks(
        title="AIGC 白皮书助手 · White paper assistant",
        analytics_enabled=False,
        delete_cache=(3600, 3600),
    ) as demo:
        session = gr.State(ChatSession(), time_to_live=SESSION_TTL_S)
        pending_feedback = gr.State(None)
        mode_touched = gr.State(False)

        gr.HTML(
            '<div class="wp-header"><h1>人工智能生成内容（AIGC）白皮书 · Ask the white paper</h1>'
            "<p>Every answer cites the passages it rests on · 每个回答都注明出处，可逐条核对</p>"
            "</div>"
        )
        status = gr.HTML(status_html(), elem_id="wp-status")
        with gr.Tabs():
            with gr.Tab("Chat · 问答", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    transcript = gr.HTML(
                        render_transcript(ChatSession(), assistant.notice),
                        elem_id="wp-transcript",
                        js_on_load=(STATIC / "transcript.js").read_text(encoding="utf-8"),
                    )
                    live = gr.HTML("", elem_id="wp-live", min_height=0)
                    with gr.Group(visible=False, elem_id="wp-comment") as comment_box:
                        comment = gr.Textbox(
                            label="Optional comment on your rating · 补充说明（可选）",
                            placeholder="What was wrong or missing?",
                            lines=2,
                            max_length=2000,
                        )
                        send_comment = gr.Button("Send comment · 提交", size="sm")
                    comment_note = gr.HTML("", elem_id="wp-comment-note")
                    with gr.Row(equal_height=True):
                        question = gr.Textbox(
                            show_label=False,
                            scale=6,
                            lines=1,
                            max_lines=4,
                            max_length=1000,
                            elem_id="wp-question",
                            autofocus=True,
                            placeholder="Ask about the white paper · 请输入问题，"
                            "例如：AIGC 的发展分为哪几个阶段？",
                        )
                        ask_buttons = {
                            m: gr.Button(
                                "Ask · 提问",
                                variant="primary",
                                scale=1,
                                min_width=110,
                                visible=m == mode0,
                                elem_classes=["wp-ask"],
                                elem_id=f"wp-ask-{m}",
                            )
                            for m in modes
                        }
                    with gr.Row():
                        new_chat = gr.Button("New chat · 新对话", size="sm", elem_id="wp-new-chat")
                    gr.Examples(
                        [[q] for q in EXAMPLES], inputs=[question], label="Examples · 示例问题"
                    )
                with gr.Column(scale=1, min_width=260):
                    gr.Markdown("### Settings · 设置")
                    mode = gr.Radio(
                        [(MODE_LABELS.get(m, m), m) for m in modes],
                        value=mode0,
                        label="Mode · 模式",
                        elem_id="wp-mode",
                    )
                    top_k = gr.Slider(
                        1,
                        10,
                        value=assistant.settings.retrieval.top_k,
                        step=1,
                        label="Passages to retrieve · 检索段落数",
                        elem_id="wp-top-k",
                    )
                    strict = gr.Checkbox(
                        value=assistant.settings.generation.strict is not False,
                        label="Strict verification: drop unsupported sentences · 严格核验",
                        elem_id="wp-strict",
                    )
                    doc = gr.Dropdown(
                        doc_choices(assistant),
                        value="",
                        label="Answer from · 限定文档",
                        elem_id="wp-doc",
                    )
            with gr.Tab("Library · 文档库", id="library"):
                library_table = gr.HTML(
                    render.render_library(library.documents()), elem_id="wp-library"
                )
                upload = gr.File(
                    label="Add a PDF · 上传 PDF",
                    file_types=[".pdf"],
                    type="filepath",
                    elem_id="wp-upload",
                )
                upload_status = gr.HTML("", elem_id="wp-upload-status")
                with gr.Row(equal_height=False):
                    remove_choice = gr.Dropdown(
                        _doc_ids(library),
                        label="Remove a document · 移除文档",
                        elem_id="wp-remove-choice",
                        scale=3,
                    )
                    remove_button = gr.Button(
                        "Remove · 移除", variant="stop", scale=1, size="md", elem_id="wp-remove"
                    )
        answer_json = gr.JSON(visible=False)
        timer = gr.Timer(2.0, active=bool(warmup and warmup.busy))

        # -- asking: one event (and concurrency group) per mode -----------------------------
        for m, button in ask_buttons.items():
            button.click(
                _answer_handler(assistant, m, warmup),
                inputs=[question, top_k, strict, doc, session],
                outputs=[question, live, transcript, session, answer_json],
                concurrency_limit=CONCURRENCY.get(m, 1),
                concurrency_id=f"answer-{m}",
                api_name=f"ask_{m}",
                show_progress_on=[live],
            )
        question.submit(None, js=ENTER_PRESSES_ASK)

        def show_mode_button(selected: str) -> list[Any]:
            return [gr.update(visible=m == selected) for m in ask_buttons]

        mode.change(
            show_mode_button,
            inputs=mode,
            outputs=list(ask_buttons.values()),
            queue=False,
            api_visibility="private",
        )
        mode.input(lambda: True, outputs=mode_touched, queue=False, api_visibility="private")

        # -- feedback ------------------------------------------------------------------------
        def on_transcript_click(chat: ChatSession, evt: gr.EventData) -> tuple[Any, ...]:
            data = getattr(evt, "_data", None) or {}
            if data.get("action") != "feedback":
                return (gr.skip(),) * 6
            outcome = rate_answer(
                feedback, chat, str(data.get("exchange")), str(data.get("verdict"))
            )
            record_id = outcome.record.id if outcome.record else None
            return (
                outcome.session,
                outcome.transcript,
                gr.update(visible=bool(record_id)),
                "",
                record_id,
                render.render_message(outcome.message, ok=bool(record_id)),
            )

        transcript.click(
            on_transcript_click,
            inputs=[session],
            outputs=[session, transcript, comment_box, comment, pending_feedback, comment_note],
            queue=False,
            api_visibility="private",
        )

        def on_comment(feedback_id: str | None, text: str) -> tuple[Any, ...]:
            note = comment_on_answer(feedback, feedback_id, text)
            return (
                gr.update(visible=not note.ok),
                "" if note.ok else gr.skip(),
                render.render_message(note.message, ok=note.ok),
            )

        send_comment.click(
            on_comment,
            inputs=[pending_feedback, comment],
            outputs=[comment_box, comment, comment_note],
            queue=False,
            api_visibility="private",
        )
        comment.submit(
            on_comment,
            inputs=[pending_feedback, comment],
            outputs=[comment_box, comment, comment_note],
            queue=False,
            api_visibility="private",
        )

        def on_new_chat() -> tuple[Any, ...]:
            fresh = ChatSession()
            return (
                fresh,
                render_transcript(fresh, assistant.notice),
                "",
                gr.update(visible=False),
                None,
                "",
                None,
            )

        new_chat.click(
            on_new_chat,
            outputs=[
                session,
                transcript,
                live,
                comment_box,
                pending_feedback,
                comment_note,
                answer_json,
            ],
            queue=False,
            api_visibility="private",
        )

        # -- library -------------------------------------------------------------------------
        def library_views(message: str = "", ok: bool = True) -> tuple[Any, ...]:
            choices = doc_choices(assistant)
            known = {value for _, value in choices}
            return (
                render.render_message(message, ok=ok) if message else "",
                render.render_library(library.documents()),
                gr.update(choices=choices),
                gr.update(choices=_doc_ids(library), value=None),
                known,
            )

        def on_upload(
            path: str | None,
            selected_doc: str,
            progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio injects progress)
        ) -> tuple[Any, ...]:
            if not path:
                return (gr.skip(),) * 5

            def report(stage: str, done: int, total: int) -> None:
                label = "reading pages" if stage == "pages" else "embedding chunks"
                progress((done, max(total, 1)), desc=label, unit=stage)

            result = library.add(Path(path), Path(path).name, report)
            Path(path).unlink(missing_ok=True)  # the upload's temporary copy
            views = library_views(result.message, result.ok)
            return (*views[:2], _keep_doc(views[2], selected_doc, views[4]), views[3], None)

        upload.upload(
            on_upload,
            inputs=[upload, doc],
            outputs=[upload_status, library_table, doc, remove_choice, upload],
            concurrency_limit=1,
            concurrency_id="library",
            api_name="upload",
        )

        def on_remove(doc_id: str | None, selected_doc: str) -> tuple[Any, ...]:
            if not doc_id:
                return (
                    render.render_message("Choose a document to remove.", ok=False),
                    gr.skip(),
                    gr.skip(),
                    gr.skip(),
                )
            result = library.remove(doc_id)
            views = library_views(result.message, result.ok)
            return (*views[:2], _keep_doc(views[2], selected_doc, views[4]), views[3])

        remove_button.click(
            on_remove,
            inputs=[remove_choice, doc],
            outputs=[upload_status, library_table, doc, remove_choice],
            concurrency_limit=1,
            concurrency_id="library",
            api_name="remove",
        )

        # -- page load and the model status poll ---------------------------------------------
        def on_load() -> tuple[Any, ...]:
            views = library_views()
            return (status_html(), views[1], views[2], views[3])

        demo.load(
            on_load,
            outputs=[status, library_table, doc, remove_choice],
            queue=False,
            api_visibility="private",
        )

        def on_tick(touched: bool, current: str) -> tuple[Any, ...]:
            switch: Any = gr.skip()
            if (
                warmup is not None
                and warmup.local_ready
                and not touched
                and assistant.default_mode == "local"
                and current != "local"
            ):
                switch = gr.update(value="local")
            busy = bool(warmup and warmup.busy)
            return status_html(), gr.Timer(active=busy), switch

        timer.tick(
            on_tick,
            inputs=[mode_touched, mode],
            outputs=[status, timer, mode],
            queue=False,
            api_visibility="private",
        )

    demo.queue(max_size=QUEUE_MAX, default_concurrency_limit=1)
    return demo


def _answer_handler(
    assistant: Assistant, mode: str, warmup: Warmup | None
) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """The Gradio function answering in one mode (one per concurrency group)."""

    def answer(
        question: str, top_k: float, strict: bool, doc_id: str | None, chat: ChatSession
    ) -> Iterator[tuple[Any, ...]]:
        options = AskOptions(
            mode=mode,
            top_k=int(top_k) if top_k else None,
            strict=bool(strict),
            doc_id=doc_id or None,
        )
        views = stream_answer(
            assistant,
            chat or ChatSession(),
            question or "",
            options,
            waiting_note=waiting_note(mode, warmup),
        )
        try:
            for view in views:
                yield (
                    gr.skip() if view.question is None else view.question,
                    view.live,
                    gr.skip() if view.transcript is None else view.transcript,
                    gr.skip() if view.session is None else view.session,
                    gr.skip() if view.answer is None else view.answer,
                )
        except Exception as exc:  # a bug or a broken backend: say so where the answer was
            log.exception("answering %r in %s mode failed", question, mode)
            failed = render.render_error(question, f"answering failed: {exc}")
            yield question, failed, gr.skip(), gr.skip(), gr.skip()

    answer.__name__ = f"ask_{mode}"
    return answer


def _doc_ids(library: Library) -> list[str]:
    return [d.doc_id for d in library.documents()]


def _keep_doc(update: Any, selected: str, known: set[str]) -> Any:
    """The document filter keeps its value unless that document is gone."""
    if selected and selected not in known:
        update["value"] = ""
    return update


def theme() -> gr.themes.Base:
    """Gradio's default look with local fonts only (no font is fetched from the web)."""
    return gr.themes.Default(
        font=[
            "Noto Sans CJK SC",
            "WenQuanYi Zen Hei",
            "PingFang SC",
            "Microsoft YaHei",
            "system-ui",
            "sans-serif",
        ],
        font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"],
    )


def launch(
    demo: gr.Blocks,
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
) -> Any:
    """Serve the Blocks: loopback by default, never a share link, login if configured."""
    return demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=ui_auth(settings.ui),
        auth_message="Log in to the white paper assistant",
        max_file_size=MAX_UPLOAD_BYTES,
        show_error=True,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        run_history=False,  # it offers syncing runs to a Hugging Face bucket
        footer_links=["api", "settings"],
        theme=theme(),
        css=(STATIC / "app.css").read_text(encoding="utf-8"),
    )


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Open the index, serve the UI, then warm the models up in the background."""
    from assistant.factory import build_assistant

    ui_auth(settings.ui)  # fail before anything starts
    prepare_environment()
    # Gradio keeps uploads in its cache folder: keep that under the index home too.
    os.environ["GRADIO_TEMP_DIR"] = str((settings.home / "ui-uploads").resolve())
    assistant = build_assistant(settings)
    assistant.check_store()  # a damaged store: one line naming it, before serving
    warmup = Warmup(assistant)
    demo = build_ui(assistant, warmup=warmup)
    launch(demo, settings, host=host, port=port, prevent_thread_lock=True)
    warmup.start()
    try:
        demo.block_thread()
    finally:
        demo.close()
