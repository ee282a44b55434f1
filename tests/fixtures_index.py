"""Session fixtures with real indexes, for the assistant tests (load with ``pytest_plugins``).

- ``hash_home``: a small Markdown document about AIGC indexed with the hashing embedder
  (real pypdf-free reading, real chunker, real Chroma and BM25; about 3 s). For chain and CLI
  tests that need retrieval but not a model.
- ``whitepaper_home``: the bundled white paper indexed with the real e5 model by the real
  ``whitepaper ingest`` in a subprocess (25 s on an idle machine, minutes on a busy one);
  ``injection_home``: a copy of it with :func:`pdf_factory.make_injection_pdf` added.
- ``e5_assistant``: one in-process ``Assistant`` over ``whitepaper_home`` for the whole session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.chain import Assistant
from ui.settings import Settings

HASH_EMBEDDING = "hash:64"

#: A three-page document in the white paper's manner; "\f" separates pages, and section 一
#: runs over pages 1 and 2.
HASH_DOC = """# AIGC 测试文档

## 一、发展历程

AIGC 的发展大致可以分为三个阶段：早期萌芽阶段、沉淀积累阶段和快速发展阶段。\
早期萌芽阶段受限于当时的科技水平，AIGC 仅限于小范围实验。\
1950 年，艾伦·图灵在论文《计算机器与智能》中提出了著名的图灵测试。
\f
1957 年，第一支由计算机创作的音乐作品《依利亚克组曲》完成。\
2018 年，人工智能生成的画作在佳士得拍卖行以 43.25 万美元成交。

## 二、技术体系

2014 年，一种新的博弈学习范式伴随着生成对抗网络[3]被提出。\
生成对抗网络由一个生成器和一个判别器组成。\
判别器致力于不断寻找生成数据和真实数据的不同。\
2012 年，卷积神经网络 AlexNet[1]在 ImageNet 竞赛中一举夺魁[29]。\
扩散模型的训练代价很高，需要大量算力。
\f
## 三、治理

AIGC 暴露出版权纠纷、虚假信息传播等问题。\
白皮书建议从政府、行业、企业、社会等层面推进 AIGC 的治理。\
深度合成内容应当进行显著标识，防止公众混淆。
"""


def _clean_settings(**fields: object) -> Settings:
    """Settings from the given fields and defaults only (no WHITEPAPER_* of the shell)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("WHITEPAPER_"):
                mp.delenv(key)
        return Settings(**fields)  # type: ignore[arg-type]


def _whitepaper_cli() -> str:
    beside = Path(sys.executable).parent / "whitepaper"
    return str(beside) if beside.exists() else "whitepaper"


def run_ingest(home: Path, *paths: Path, embedding: str = "e5") -> None:
    """``whitepaper ingest`` in a subprocess (so Chroma's files are closed when it returns)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHITEPAPER_")}
    env |= {"WHITEPAPER_HOME": str(home), "WHITEPAPER_EMBEDDING": embedding}
    done = subprocess.run(
        [_whitepaper_cli(), "ingest", "--no-progress", *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="session")
def hash_doc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hash-doc") / "aigc-test.md"
    path.write_text(HASH_DOC, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def hash_home(tmp_path_factory: pytest.TempPathFactory, hash_doc: Path) -> Settings:
    """Settings of an index of :data:`HASH_DOC` built in-process with the hashing embedder.

    Small chunks, so one section spans several chunks that overlap by one sentence.
    """
    from ingest.embeddings import HashingEmbeddings
    from ingest.pipeline import Ingestor

    settings = _clean_settings(
        home=tmp_path_factory.mktemp("hash-home"),
        embedding=HASH_EMBEDDING,
        chroma_url=None,
        mode="extractive",
        chunk_target=60,
        chunk_max=90,
    )
    report = Ingestor(settings, HashingEmbeddings()).ingest([hash_doc])
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def whitepaper_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled white paper indexed with e5; never opened, only copied."""
    home = tmp_path_factory.mktemp("whitepaper-template")
    run_ingest(home)
    return home


@pytest.fixture(scope="session")
def whitepaper_home(tmp_path_factory: pytest.TempPathFactory, whitepaper_template: Path) -> Path:
    """A WHITEPAPER_HOME holding the real e5 index of the bundled white paper."""
    home = tmp_path_factory.mktemp("whitepaper") / "home"
    shutil.copytree(whitepaper_template, home)
    return home


@pytest.fixture(scope="session")
def injection_home(tmp_path_factory: pytest.TempPathFactory, whitepaper_template: Path) -> Path:
    """The white paper plus a PDF that hides a prompt injection, indexed with e5."""
    from pdf_factory import make_injection_pdf

    home = tmp_path_factory.mktemp("injection") / "home"
    shutil.copytree(whitepaper_template, home)
    pdf = make_injection_pdf(tmp_path_factory.mktemp("injection-pdf") / "notes.pdf")
    run_ingest(home, pdf)
    return home


def e5_settings(home: Path, **fields: object) -> Settings:
    """Settings for an e5 index under ``home`` (shell WHITEPAPER_* ignored)."""
    defaults: dict[str, object] = {"mode": "extractive", "chroma_url": None, "embedding": "e5"}
    return _clean_settings(home=home, **(defaults | fields))


@pytest.fixture(scope="session")
def e5_assistant(whitepaper_home: Path) -> Iterator[Assistant]:
    """One assistant over the real e5 index for the session (extractive default, local if any)."""
    from assistant.factory import build_assistant

    assistant = build_assistant(e5_settings(whitepaper_home))
    yield assistant
    assistant.index.close()
