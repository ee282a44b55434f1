"""What every command shares: domain errors as one-line messages, JSON or text output, and the
generator choice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ingest.errors import WhitepaperError


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn domain errors into one line and exit 1 (click prints 'Error: ...')."""
    try:
        yield
    except WhitepaperError as exc:
        raise click.ClickException(str(exc)) from exc


def emit(as_json: bool, payload: Any, text: str) -> None:
    """Print ``payload`` as indented JSON with --json, else ``text``."""
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2) if as_json else text)


#: The generators a command can be asked to use.
MODE = click.Choice(["extractive", "local", "openai"])
