"""Measuring tools of the benchmark: summaries, timers, memory, child processes, a Chroma server.

Nothing here knows the assistant; the sections (``eval.bench.sections``) decide what to
measure. Wall time is paired with CPU time where that helps tell "slow" from "descheduled".
:class:`StageClock` times the stages of a real call at the public methods of its parts, so no
stage is timed by re-implementing the code that calls it.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.bench.figures import Profile

MIB = 1024 * 1024


# -- timers ----------------------------------------------------------------------------------


@dataclass
class Timing:
    """Wall and CPU seconds of one timed block (CPU: this process, all threads)."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Timing]:
    """``with timed() as t: ...`` then ``t.wall`` and ``t.cpu`` in seconds."""
    timing = Timing()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        yield timing
    finally:
        timing.wall = time.perf_counter() - wall0
        timing.cpu = time.process_time() - cpu0


def load_average() -> float:
    """The 1-minute load average (how busy the shared machine was)."""
    return round(os.getloadavg()[0], 2)


# -- memory ----------------------------------------------------------------------------------


def _status_field(pid: int | str, name: str) -> int | None:
    """A ``/proc/<pid>/status`` memory field in bytes (Linux), or None."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def peak_rss(pid: int | str = "self") -> int | None:
    """Peak resident memory (VmHWM) of a live process in bytes."""
    value = _status_field(pid, "VmHWM")
    if value is None and pid == "self":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return value


def current_rss(pid: int | str = "self") -> int | None:
    """Resident memory (VmRSS) of a live process in bytes."""
    return _status_field(pid, "VmRSS")


def mib(value: int | None) -> float | None:
    return None if value is None else round(value / MIB, 1)


# -- child processes -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildRun:
    """One child process: when its first output byte came, when it ended, its peak memory."""

    argv: tuple[str, ...]
    returncode: int
    first_output_s: float | None
    exit_s: float
    peak_rss_bytes: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:
        return (
            f"ChildRun({self.argv[-1][:30]!r}, rc={self.returncode}, "
            f"first={self.first_output_s}, peak={mib(self.peak_rss_bytes)} MiB)"
        )


# Linux keeps a process's ru_maxrss across fork+exec: a child spawned by this (large) process
# would report at least this process's peak. A small launcher that forks the real command
# starts it with a fresh high-water mark and reports the command's own ru_maxrss.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_child(
    argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 900
) -> ChildRun:
    """Start a process, time its first stdout byte and its exit, and read its peak RSS.

    The clock starts just before the process is spawned, so interpreter start and imports
    count (plus the launcher's own start, about 20 ms). Peak RSS is the command's own
    ``ru_maxrss``, read through :data:`_LAUNCHER`.
    """
    import tempfile

    with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as report:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, report.name, *argv],
            env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        err_chunks: list[bytes] = []
        stderr = proc.stderr
        reader = threading.Thread(target=lambda: err_chunks.append(stderr.read()), daemon=True)
        reader.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            first = proc.stdout.read(1)
            first_s = time.perf_counter() - started if first else None
            rest = proc.stdout.read()
            proc.wait()
            exit_s = time.perf_counter() - started
        finally:
            timer.cancel()
        reader.join(timeout=10)
        maxrss_kb = report.read().strip()
    return ChildRun(
        argv=tuple(argv),
        returncode=proc.returncode,
        first_output_s=first_s,
        exit_s=exit_s,
        peak_rss_bytes=int(maxrss_kb) * 1024 if maxrss_kb else 0,
        stdout=(first + rest).decode("utf-8", "replace"),
        stderr=b"".join(err_chunks).decode("utf-8", "replace"),
    )


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    """Poll ``url`` until it answers 200; the seconds waited. Fails if the process dies."""
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process exited with {proc.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"no HTTP 200 from {url} within {timeout:.0f} s")


@dataclass(frozen=True)
class ServedRun:
    """A server process measured from spawn to its first HTTP 200."""

    ready_s: float
    peak_rss_bytes: int | None
    rss_bytes: int | None


def time_to_http_ok(
    argv: Sequence[str],
    url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
    log_path: Path | None = None,
) -> ServedRun:
    """Spawn a server, time it to the first HTTP 200 on ``url``, read its memory, stop it."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: stopping it stops what it started
    )
    try:
        wait_for_http(url, proc, timeout)
        ready = time.perf_counter() - started
        return ServedRun(ready, peak_rss(proc.pid), current_rss(proc.pid))
    finally:
        stop_process_group(proc)
        if log_path:
            log.close()  # type: ignore[union-attr]


def stop_process_group(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """SIGTERM the process's own group (started with ``start_new_session``), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- a Chroma server -------------------------------------------------------------------------


@dataclass
class ChromaServer:
    """A ``chroma run`` on loopback that this benchmark started (see :func:`chroma_server`)."""

    url: str
    path: Path
    process: subprocess.Popen[bytes]
    startup_s: float

    def peak_rss(self) -> int | None:
        return peak_rss(self.process.pid)


@contextmanager
def chroma_server(chroma: str, path: Path, timeout: float = 90) -> Iterator[ChromaServer]:
    """Start ``chroma run --path PATH`` on a free loopback port; stop it on exit."""
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    log = (path.parent / f"{path.name}.log").open("wb")
    started = time.perf_counter()
    process = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/v2/heartbeat", process, timeout)
        yield ChromaServer(url, path, process, time.perf_counter() - started)
    finally:
        stop_process_group(process)
        log.close()


# -- profiles --------------------------------------------------------------------------------


@contextmanager
def profiled(
    out: Path, stages: Mapping[str, str], interval: float = 0.001
) -> Iterator[list[Profile]]:
    """Profile the block with pyinstrument; write a text report to ``out``.

    ``stages`` maps public function names (``"Class.method"`` or ``"function"``) to stage
    names; the time of the outermost frame of each function is added to its stage (nested calls
    are not counted twice), the rest is "other".
    The yielded list receives the :class:`Profile` when the block ends.
    """
    from pyinstrument import Profiler

    holder: list[Profile] = []
    profiler = Profiler(interval=interval)
    profiler.start()
    try:
        yield holder
    finally:
        session = profiler.stop()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(profiler.output_text(unicode=True, color=False, show_all=False), "utf-8")
        root = session.root_frame()
        total = float(root.time) if root is not None else 0.0
        found = stage_times(root, stages) if root is not None else {}
        found["other"] = max(0.0, total - sum(found.values()))
        holder.append(Profile.of(str(out), total, found))


def stage_times(frame: Any, stages: Mapping[str, str]) -> dict[str, float]:
    """Seconds per stage in a pyinstrument frame tree (outermost matching frame counts)."""
    out: dict[str, float] = {}

    def walk(node: Any) -> None:
        qualified = f"{node.class_name}.{node.function}" if node.class_name else node.function
        stage = stages.get(qualified) or stages.get(node.function)
        if stage is not None:
            out[stage] = out.get(stage, 0.0) + float(node.time)
            return
        for child in node.children:
            walk(child)

    walk(frame)
    return out


# -- stage timing at public methods ----------------------------------------------------------


class StageClock:
    """Milliseconds spent in named public methods of the parts a real call uses.

    ``clock.wrap(index, {"dense_search": "dense_search"})`` returns a stand-in that forwards
    everything to ``index`` and adds the time of each ``dense_search`` call to that stage;
    ``returns`` wraps what a method returns (``{"bm25": {"search": "bm25_search"}}``). Hand the
    stand-ins to the real object's constructor, call it, then :meth:`lap` per call.
    """

    def __init__(self) -> None:
        self._lap: dict[str, float] = {}
        self.laps: list[dict[str, float]] = []

    def wrap(
        self,
        target: Any,
        methods: Mapping[str, str],
        returns: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Any:
        return _Timed(target, self, methods, returns or {})

    def add(self, stage: str, ms: float) -> None:
        self._lap[stage] = self._lap.get(stage, 0.0) + ms

    def lap(self, **extra: float) -> dict[str, float]:
        """Close one call: its stage times (plus ``extra`` figures) are kept in :attr:`laps`."""
        done = self._lap | extra
        self.laps.append(done)
        self._lap = {}
        return done


class _Timed:
    def __init__(
        self,
        target: Any,
        clock: StageClock,
        methods: Mapping[str, str],
        returns: Mapping[str, Mapping[str, str]],
    ) -> None:
        self._target, self._clock = target, clock
        self._methods, self._returns = methods, returns

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        stage, inner = self._methods.get(name), self._returns.get(name)
        if stage is None and inner is None:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            out = attr(*args, **kwargs)
            if stage is not None:
                self._clock.add(stage, (time.perf_counter() - started) * 1000)
            return self._clock.wrap(out, inner) if inner else out

        return call
