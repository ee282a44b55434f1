"""One writer per home: real ``whitepaper ingest`` processes side by side on one index, the
``--no-wait`` error, first writers on a fresh home, the UI library beside a CLI writer, and
readers that see another process's writes without reopening."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pdf_factory as pf
import pytest
from processes import StderrWatch, progress_at_least

from ingest.embeddings import make_embeddings
from ingest.home import WAITING
from ingest.index import Index
from ingest.model import META_CONTENT_HASH
from ui.settings import Settings

HOLD_LOCK = """
import sys, time
from pathlib import Path
from ingest.home import WriteLock
lock = WriteLock(Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
if sys.argv[2] == "stdin":
    sys.stdin.readline()  # held until the test says so
else:
    time.sleep(float(sys.argv[2]))
"""


def note(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def catalog_vs_store(home: Path) -> dict[str, Any]:
    """Per document: the chunks the catalog promises and the chunks the store holds; and the
    chunks of no catalogued version."""
    settings = Settings(home=home, embedding="hash:64")
    index = Index(settings, make_embeddings(settings.embedding))
    try:
        per_doc = {}
        for doc in index.documents():
            got = index.collection.get(where={META_CONTENT_HASH: doc.content_hash}, include=[])
            per_doc[doc.doc_id] = (doc.n_chunks, len(got["ids"]))
        stored = index.collection.count()
        orphans = stored - sum(have for _, have in per_doc.values())
        return {"documents": per_doc, "orphans": orphans}
    finally:
        index.close()


@pytest.mark.slow
def test_writers_beside_a_large_ingest_wait_and_lose_nothing(cli, tmp_path):
    """A 300-page PDF is being embedded; four small ingests start beside it. Every writer
    succeeds, the later ones say they wait, and the store holds exactly what the catalog says."""
    large = pf.make_large_pdf(tmp_path / "docs" / "large.pdf", n_pages=300)
    smalls = [
        note(
            tmp_path / "docs",
            f"small{i}.md",
            f"# 小文档 {i}\n\n第 {i} 号笔记：编号 QX-{1040 + i}。\n",
        )
        for i in range(4)
    ]
    big = cli.popen("ingest", str(large), env={"WHITEPAPER_EMBED_BATCH": "4"})
    watch = StderrWatch(big)
    watch.wait_for(progress_at_least("embedding", 20))
    others = [cli.popen("ingest", "--no-progress", str(p)) for p in smalls]
    watches = [StderrWatch(p) for p in others]
    assert big.wait(timeout=600) == 0, watch.text[-2000:]
    for process, w in zip(others, watches, strict=True):
        assert process.wait(timeout=600) == 0, w.text[-2000:]
    waited = sum(WAITING in w.text for w in watches)
    assert waited >= 1, "a writer started during the large ingest must have waited"
    assert all(w.text.count(WAITING) <= 1 for w in watches), "it says so once"

    seen = catalog_vs_store(cli.home)
    print(json.dumps(seen, ensure_ascii=False))
    assert set(seen["documents"]) == {"large.pdf", *(p.name for p in smalls)}
    for doc_id, (promised, stored) in seen["documents"].items():
        assert promised == stored > 0, doc_id
    assert seen["orphans"] == 0
    doctor = cli.run("doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert json.loads(doctor.stdout)["healthy"]


def test_two_first_writers_on_a_fresh_home_both_succeed(cli, tmp_path):
    docs = [
        note(tmp_path / "docs", f"n{i}.md", f"# 笔记 {i}\n\n第 {i} 条记录的内容。\n")
        for i in range(3)
    ]
    processes = [cli.popen("ingest", "--no-progress", str(p)) for p in docs]
    watches = [StderrWatch(p) for p in processes]
    for process, w in zip(processes, watches, strict=True):
        assert process.wait(timeout=300) == 0, w.text[-2000:]
        assert "Traceback" not in w.text
    seen = catalog_vs_store(cli.home)
    assert seen == {"documents": {p.name: (1, 1) for p in docs}, "orphans": 0}
    assert len(list(cli.home.glob("index-*"))) == 1, "one index folder, no half-made second one"


def test_no_wait_is_one_line_and_waiting_is_said_once(cli, tmp_path):
    path = note(tmp_path / "docs", "a.md", "# 甲\n\n甲文档的内容。\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(cli.home), "stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = cli.run("ingest", "--no-wait", "--no-progress", str(path))
        assert busy.returncode == 1
        lines = busy.stderr.strip().splitlines()
        assert len(lines) == 1 and "another ingest" in lines[0] and "--no-wait" in lines[0]
        removing = cli.run("remove", "--no-wait", "a.md")
        assert removing.returncode == 1

        # The lock is released only once the waiting writer has said that it waits, so the
        # test does not depend on how fast a loaded machine starts a process.
        waiting = cli.popen("ingest", "--no-progress", str(path))
        watch = StderrWatch(waiting)
        watch.wait_for(lambda text: WAITING in text)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("release\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert waiting.wait(timeout=300) == 0, watch.text
    assert watch.text.count(WAITING) == 1
    assert "new a.md" in watch.text


def test_garbage_collection_needs_the_write_lock(hash_settings, tmp_path):
    path = note(tmp_path, "a.md", "# 甲\n\n甲文档的内容。\n")
    index = Index(hash_settings, make_embeddings(hash_settings.embedding), create=True)
    from ingest.pipeline import Ingestor

    Ingestor(hash_settings, index.embeddings, index).ingest([path])
    with pytest.raises(RuntimeError, match="write lock"):
        index.collect_garbage()
    with index.writing():
        assert index.collect_garbage() == 0
    index.close()


def test_a_reader_sees_a_cli_ingest_and_a_rebuild_without_reopening(cli, tmp_path):
    first = note(tmp_path / "docs", "a.md", "# 甲\n\n甲文档讲的是生成式模型的训练数据。\n")
    assert cli.run("ingest", "--no-progress", str(first)).returncode == 0
    settings = Settings(home=cli.home, embedding="hash:64")
    reader = Index(settings, make_embeddings(settings.embedding))
    text = "QX-1042 项目是一个用于验证并发写入的测试项目。"
    vector = reader.embeddings.embed_query(text)
    assert [h.chunk.doc_id for h in reader.dense_search(vector, k=5)] == ["a.md"]
    _ = reader.bm25()

    qx = note(tmp_path / "docs", "qx.md", f"# QX\n\n{text}\n")
    assert cli.run("ingest", "--no-progress", str(qx)).returncode == 0
    assert {d.doc_id for d in reader.documents()} == {"a.md", "qx.md"}
    assert reader.dense_search(vector, k=5)[0].chunk.doc_id == "qx.md"
    assert any(i.startswith(reader.document("qx.md").content_hash[:16]) for i in reader.bm25().ids)

    old_folder = reader.folder
    rebuilt = cli.run("ingest", "--rebuild", "--no-progress")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert reader.dense_search(vector, k=5)[0].chunk.doc_id == "qx.md"
    assert reader.folder != old_folder and not old_folder.exists()
    reader.close()


def test_a_ui_upload_waits_for_a_cli_writer(tmp_path, clean_env):
    from assistant.factory import build_assistant
    from ingest.embeddings import HashingEmbeddings
    from ingest.pipeline import Ingestor
    from ui.library import Library

    home = tmp_path / "home"
    settings = Settings(home=home, embedding="hash:64", chroma_url=None, mode="extractive")
    seed = pf.make_cjk_pdf(tmp_path / "seed" / "seed.pdf", [pf.aigc_lines(10)])
    assert not Ingestor(settings, HashingEmbeddings()).ingest([seed]).failed
    assistant = build_assistant(settings, embeddings=HashingEmbeddings())
    upload = pf.make_cjk_pdf(tmp_path / "up" / "upload.pdf", [pf.aigc_lines(10, 20)])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(home), "2"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    result = Library(assistant).add(upload, "upload.pdf")
    assert time.monotonic() - started > 1.0, "the upload waited for the other writer"
    holder.wait(timeout=30)
    assert result.ok, result.message
    assert {d.doc_id for d in assistant.index.documents()} == {"seed.pdf", "upload.pdf"}
    assistant.index.close()
