"""Commands that answer questions: ask (one question) and chat (a terminal conversation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ingest.errors import WhitepaperError
from ui.commands.common import MODE, emit, user_errors
from ui.settings import Settings


def _load_history(path: Path | None) -> list[Any]:
    from assistant.types import Turn

    if path is None:
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(
            f"cannot read the history file {path}: {exc}: give a JSON list of "
            '{"role": "user"|"assistant", "content": "..."} objects'
        ) from exc
    if not isinstance(raw, list) or not all(
        isinstance(t, dict)
        and t.get("role") in ("user", "assistant")
        and isinstance(t.get("content"), str)
        for t in raw
    ):
        raise click.ClickException(
            f"{path}: the history must be a JSON list of "
            '{"role": "user"|"assistant", "content": "..."} objects'
        )
    return [Turn(t["role"], t["content"]) for t in raw]


def _print_answer(answer: Any) -> None:
    """The checked answer, what was searched, flags, citations, timings."""
    click.echo(answer.text)
    if answer.standalone_question != answer.question:
        click.echo(click.style(f"(searched as: {answer.standalone_question})", dim=True))
    for s in answer.sentences:
        if not s.supported:
            click.echo(click.style(f"⚠ unsupported: {s.text}", fg="yellow"))
    for text in answer.removed_sentences:
        click.echo(click.style(f"✗ removed, not supported by the passages: {text}", fg="yellow"))
    # A quote cited by several sentences (a computation cites the quotes it reads) is shown once.
    for c in {(c.marker, c.quote): c for c in answer.citations}.values():
        click.echo(f"【{c.marker}】 {c.title} p.{c.page_label} · {c.section}")
        click.echo(click.style(f"     “{c.quote}”", dim=True))
    t = answer.timings
    first = f"{t.first_token_ms:.0f} ms" if t.first_token_ms is not None else "-"
    click.echo(
        click.style(
            f"[{answer.mode}] retrieve {t.retrieve_ms:.0f} ms · first token {first} · total "
            f"{t.total_ms:.0f} ms",
            dim=True,
        )
    )


@click.command()
@click.argument("question")
@click.option("--mode", type=MODE, default=None, help="Generator (default: local if installed).")
@click.option(
    "--history",
    "history_file",
    type=click.Path(path_type=Path),
    default=None,
    help='JSON list of {"role", "content"} turns before this question.',
)
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Remove sentences no passage supports (default: on in the LLM modes).",
)
@click.option(
    "--verify",
    type=click.Choice(["checker", "model"]),
    default="checker",
    help="Citation check: the support checker (default) or the local model alone as judge.",
)
@click.option("--doc", default=None, help="Only search this document.")
@click.option("--top-k", type=int, default=None, help="Passages to retrieve.")
@click.option("--json", "as_json", is_flag=True, help="Print the structured result as JSON.")
@click.pass_obj
def ask(
    settings: Settings,
    question: str,
    mode: str | None,
    history_file: Path | None,
    strict: bool | None,
    verify: str,
    doc: str | None,
    top_k: int | None,
    as_json: bool,
) -> None:
    """Answer one question with checked citations.

    \b
    Examples:
      whitepaper ask "AIGC 的发展分为哪几个阶段？"
      whitepaper ask "What about its cost?" --history turns.json --json
      whitepaper ask "AIGC 面临哪些问题？" --mode extractive --strict
    """
    from assistant.chain import Final, Status, Token
    from assistant.factory import build_assistant

    history = _load_history(history_file)
    with user_errors():
        assistant = build_assistant(settings)
        if assistant.notice and not as_json:
            click.echo(click.style(f"note: {assistant.notice}", dim=True), err=True)
        streamed = False
        answer = None
        for event in assistant.stream(
            question, history, mode=mode, strict=strict, doc_id=doc, top_k=top_k, verify=verify
        ):
            if (
                isinstance(event, Token)
                and not as_json
                and (mode or assistant.default_mode) != "extractive"
            ):
                click.echo(event.text, nl=False)
                streamed = True
            elif isinstance(event, Status) and streamed:
                _echo_status(event.stage)
            elif isinstance(event, Final):
                answer = event.answer
    assert answer is not None
    if as_json:
        emit(True, answer.to_json(), "")
        return
    if streamed:
        click.echo("\n" + click.style("── checked ──", dim=True))
    _print_answer(answer)


@click.command()
@click.option("--mode", type=MODE, default=None, help="Generator (default: local if installed).")
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Remove sentences no passage supports (default: on in the LLM modes).",
)
@click.pass_obj
def chat(settings: Settings, mode: str | None, strict: bool | None) -> None:
    """A terminal conversation with history and streamed answers (Ctrl-D to quit).

    \b
    Example:
      whitepaper chat --mode extractive
    """
    from assistant.chain import Final, Status, Token
    from assistant.factory import build_assistant
    from assistant.types import Turn

    with user_errors():
        assistant = build_assistant(settings)
    if assistant.notice:
        click.echo(click.style(f"note: {assistant.notice}", dim=True))
    click.echo("Ask about the white paper (Ctrl-D to quit, /new for a new conversation).")
    history: list[Turn] = []
    while True:
        try:
            question = click.prompt("你", prompt_suffix="> ")
        except (EOFError, click.Abort):
            click.echo()
            return
        if question.strip() == "/new":
            history = []
            continue
        try:
            answer = None
            for event in assistant.stream(question, history, mode=mode, strict=strict):
                if isinstance(event, Token):
                    click.echo(event.text, nl=False)
                elif isinstance(event, Status):
                    _echo_status(event.stage)
                elif isinstance(event, Final):
                    answer = event.answer
            click.echo()
        except WhitepaperError as exc:
            click.echo(click.style(f"Error: {exc}", fg="red"))
            continue
        assert answer is not None
        click.echo(click.style("── checked ──", dim=True))
        _print_answer(answer)
        history += [Turn("user", question), Turn("assistant", answer.text)]


def _echo_status(stage: str) -> None:
    """A dim line when the streamed text is not going to be the answer (the stages a reader
    would otherwise wait through in silence)."""
    notes = {
        "quoting": "(the model's answer did not hold up; quoting the passages…)",
        "translating": "(translating the quoted passages…)",
    }
    if stage in notes:
        click.echo("\n" + click.style(notes[stage], dim=True), nl=False)
