"""The process environment: set by the entry points, never by importing a module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ingest.environment import OFFLINE_DEFAULTS, prepare_environment

ROOT = Path(__file__).resolve().parents[2]


def test_prepare_environment_sets_the_offline_defaults_and_keeps_the_users() -> None:
    env = {"HF_HUB_OFFLINE": "0"}
    prepare_environment(env)
    assert env == {
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }


def test_importing_the_packages_changes_no_environment_variable() -> None:
    modules = [
        "ingest.embeddings",
        "ingest.index",
        "ingest.pipeline",
        "assistant.factory",
        "assistant.retrieval",
        "ui.handlers",
        "ui.library",
        "ui.cli",
        "eval.bench.run",
    ]
    probe = (
        "import importlib, json, os, sys\n"
        "before = dict(os.environ)\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps({k: v for k, v in os.environ.items() if before.get(k) != v}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_DEFAULTS}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {}


def test_the_cli_entry_point_prepares_the_environment() -> None:
    probe = (
        "import os, sys\n"
        "from click.testing import CliRunner\n"
        "from ui.cli import main\n"
        "CliRunner().invoke(main, ['stats', '--json'])\n"
        "print(os.environ.get('HF_HUB_OFFLINE'), os.environ.get('ANONYMIZED_TELEMETRY'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_DEFAULTS}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().splitlines()[-1] == "1 False"
