"""The ``whitepaper`` console script: one command per user task, ``--json`` for scripts.

It is an edge: it builds the settings, calls the library, and turns the library's domain
errors into one-line messages with a non-zero exit. The commands live in :mod:`ui.commands`,
one module per group; this module holds the click group and the console entry point.
"""

from __future__ import annotations

import logging
import sys

import click

from ingest.environment import prepare_environment
from ui.commands.ask import ask, chat
from ui.commands.bench import bench
from ui.commands.eval import (
    eval_checker,
    eval_command,
    eval_sufficiency,
    eval_tune,
    validate_set,
    verify,
)
from ui.commands.index import chunks, doctor, ingest, remove, stats
from ui.commands.web import feedback_group, ui_command
from ui.settings import Settings


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="whitepaper: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "chromadb", "urllib3", "jieba", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Ask the AIGC white paper (or your own documents) and check every cited passage.

    \b
    Examples:
      whitepaper ingest                      # index the bundled white paper
      whitepaper ask "AIGC 的发展分为哪几个阶段？"
      whitepaper stats --json
    """
    _setup_logging(verbose)
    prepare_environment()
    ctx.obj = Settings()


for _command in (
    ingest,
    remove,
    stats,
    doctor,
    chunks,
    ask,
    chat,
    eval_command,
    validate_set,
    ui_command,
    feedback_group,
    bench,
    verify,
    eval_checker,
    eval_tune,
    eval_sufficiency,
):
    main.add_command(_command)
