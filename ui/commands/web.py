"""Commands of the web UI: ui (serve it) and feedback export (its 👎 answers to eval candidates)."""

from __future__ import annotations

from pathlib import Path

import click

from ui.commands.common import emit, user_errors
from ui.settings import Settings


@click.command("ui")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind; 0.0.0.0 exposes the UI to your network.",
)
@click.option("--port", type=int, default=7860, show_default=True, help="Port to listen on.")
@click.pass_obj
def ui_command(settings: Settings, host: str, port: int) -> None:
    """Start the web UI: chat with checked citations, the library, feedback.

    Binds to 127.0.0.1 unless --host says otherwise; never creates a share link. Set
    WHITEPAPER_UI_USER and WHITEPAPER_UI_PASSWORD to require a login.

    \b
    Examples:
      whitepaper ui
      whitepaper ui --port 8080
      WHITEPAPER_UI_USER=me WHITEPAPER_UI_PASSWORD=... whitepaper ui --host 0.0.0.0
    """
    from ui.app import serve

    with user_errors():
        serve(settings, host=host, port=port)


@click.group("feedback")
def feedback_group() -> None:
    """Reader feedback from the web UI (👍/👎 lines in WHITEPAPER_HOME/feedback.jsonl)."""


@feedback_group.command("export")
@click.option(
    "--to-eval",
    "to_eval",
    type=click.Path(path_type=Path),
    required=True,
    help="JSONL file to write the eval-set candidates to.",
)
@click.option("--append", is_flag=True, help="Add to an existing file (skipping ids in it).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def feedback_export(settings: Settings, to_eval: Path, append: bool, as_json: bool) -> None:
    """Turn the 👎 answers into eval-set candidates (evidence left for a person to fill in).

    \b
    Example:
      whitepaper feedback export --to-eval eval/sets/candidates.jsonl
    """
    from ui.feedback import FeedbackStore, export_eval_candidates, feedback_path

    with user_errors():
        result = export_eval_candidates(
            FeedbackStore(feedback_path(settings.home)), to_eval, append=append
        )
    payload = {"written": result.written, "skipped": result.skipped, "path": str(result.path)}
    text = f"wrote {result.written} candidate(s) to {result.path}" + (
        f" ({result.skipped} already there)" if result.skipped else ""
    )
    emit(as_json, payload, text + "; fill in reference_answer, evidence and key_facts")
