"""Section ``ui``: ``whitepaper ui`` in a new process, from spawn to HTTP 200 on its page."""

from __future__ import annotations

import importlib.util
import logging
import signal
import subprocess
import sys
from collections.abc import Mapping

from eval.bench import measure
from eval.bench.context import BenchContext, NotRun, child_env, console_script, copy_home
from eval.bench.measure import mib
from eval.bench.results import Profile, Summary, UiSection
from eval.bench.targets import limit

log = logging.getLogger(__name__)

PROFILES = ("cold-ui",)

#: Function -> stage, for naming the slowest stage of the profile. ``_find_and_load`` is the
#: frame importlib gives every import (not a name of ours): the imports stage.
STAGES = {
    "_find_and_load": "imports",
    "build_assistant": "open the index, build the assistant",
    "build_ui": "build the Gradio Blocks",
    "launch": "start the web server",
    "block_thread": "serving (after ready)",
}

NOTE = (
    "`whitepaper ui` in a new process, from spawn to HTTP 200 on its page; the models warm up in "
    "the background after that"
)


def run(ctx: BenchContext) -> UiSection:
    if importlib.util.find_spec("ui.app") is None:
        raise NotRun("unavailable", "ui/app.py does not exist")
    home = copy_home(ctx.our_home(), ctx.work / "cold-home")
    exe = console_script("whitepaper")
    env = child_env(ctx.settings, home)
    served = []
    for r in range(ctx.config.runs):
        port = measure.free_port()
        log.info("bench: UI cold start run %d/%d", r + 1, ctx.config.runs)
        served.append(
            measure.time_to_http_ok(
                [exe, "ui", "--port", str(port)],
                f"http://127.0.0.1:{port}/",
                env,
                timeout=300,
                log_path=ctx.work / f"ui-{r}.log",
            )
        )
    ready = Summary.of([s.ready_s for s in served])
    missed = (ready.median or 0) > limit("ui_cold_start")
    return UiSection(
        ready_s=ready,
        peak_rss_at_ready_mib=Summary.of([mib(s.peak_rss_bytes) for s in served], digits=1),
        note=NOTE,
        profile=_profile(ctx, exe, env) if ctx.should_profile(missed) else None,
    )


def _profile(ctx: BenchContext, exe: str, env: Mapping[str, str]) -> Profile | None:
    """Run ``whitepaper ui`` under pyinstrument until its page answers, then stop it (SIGINT)."""
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    log.info("bench: profiling the UI cold start")
    port = measure.free_port()
    session_path = ctx.work / "ui.pyisession"
    argv = [sys.executable, "-m", "pyinstrument", "-r", "session", "-o", str(session_path)]
    proc = subprocess.Popen(
        [*argv, exe, "ui", "--port", str(port)],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    ready = 0.0
    try:
        ready = measure.wait_for_http(f"http://127.0.0.1:{port}/", proc, 300)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    except (subprocess.TimeoutExpired, RuntimeError, TimeoutError):
        measure.stop_process_group(proc)
    finally:
        measure.stop_process_group(proc)
    if not session_path.exists():
        log.warning("bench: pyinstrument wrote no session (the UI did not stop on SIGINT)")
        return None
    session = Session.load(str(session_path))
    out_path = ctx.config.profile_path("cold-ui")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(ConsoleRenderer(unicode=True, color=False).render(session), "utf-8")
    root = session.root_frame()
    stages = measure.stage_times(root, STAGES) if root is not None else {}
    stages.pop("serving (after ready)", None)
    return Profile.of(str(out_path), ready, stages)
