"""Labelled (passage, sentence) pairs read from JSONL, for ``whitepaper verify`` and the eval."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.errors import WhitepaperError


class PairsError(WhitepaperError):
    """A pairs file that cannot be read (the message names the line)."""


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """(passage, sentence) pairs from a JSONL file; one-line errors name the bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise PairsError(
            f"{path}: no such file: give a JSONL file of passage/sentence pairs"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PairsError(f"{path}: cannot read it ({exc}): give a UTF-8 JSONL file") from None
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PairsError(f"{path}:{number}: not valid JSON ({exc.msg}): fix the line") from None
        if not isinstance(item, dict):
            raise PairsError(f'{path}:{number}: not a JSON object: write {{"passage", "sentence"}}')
        for key in ("passage", "sentence"):
            if not isinstance(item.get(key), str):
                raise PairsError(f"{path}:{number}: missing or non-text field {key!r}")
        pairs.append((item["passage"], item["sentence"]))
    if not pairs:
        raise PairsError(f"{path}: no pairs in the file: one JSON object per line")
    return pairs
