"""``whitepaper ingest --rebuild``: every catalogued document comes back (from its file, or from
the catalog's pages when the file is gone), the index is built beside the live one, and a
rebuild killed midway leaves the old index answering."""

from __future__ import annotations

import json
import sqlite3

import pdf_factory as pf
import pytest
from processes import StderrWatch, progress_at_least

from ingest.home import live_folder


def documents(cli) -> dict[str, int]:
    stats = cli.json("stats")
    return {d["doc_id"]: d["chunks"] for d in stats["documents"]}


@pytest.fixture
def library_home(cli, tmp_path):
    """A home with a PDF, two notes (one of whose files is then deleted) and an upload."""
    docs = tmp_path / "docs"
    pdf = pf.make_cjk_pdf(docs / "report.pdf", [pf.aigc_lines(12, k) for k in range(3)])
    kept = docs / "kept.md"
    kept.write_text("# 保留\n\n这份笔记的文件一直都在。\n", encoding="utf-8")
    gone = docs / "gone.txt"
    gone.write_text("这份笔记的文件后来被删除了，但目录里还留着它的页面文本。\n", encoding="utf-8")
    done = cli.run("ingest", "--no-progress", str(pdf), str(kept), str(gone))
    assert done.returncode == 0, done.stderr
    gone.unlink()
    return cli


def test_a_rebuild_keeps_every_document_and_says_where_each_came_from(library_home):
    cli = library_home
    before = documents(cli)
    old = live_folder(cli.home)
    done = cli.run("ingest", "--rebuild", "--json", "--no-progress")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    sources = {d["doc_id"]: d["source"] for d in report["rebuilt"]}
    assert sources == {"report.pdf": "file", "kept.md": "file", "gone.txt": "pages"}
    assert documents(cli) == before
    assert live_folder(cli.home) != old and not old.exists()
    text = cli.run("ingest", "--rebuild", "--no-progress")
    assert "gone.txt: from the catalog's pages" in text.stdout
    answer = cli.run("ask", "--mode", "extractive", "--json", "哪份笔记的文件后来被删除了？")
    assert answer.returncode == 0, answer.stderr
    assert any(c["doc_id"] == "gone.txt" for c in json.loads(answer.stdout)["citations"])


def test_another_embedding_rebuilds_the_whole_library(library_home):
    cli = library_home
    before = documents(cli)
    other = {"WHITEPAPER_EMBEDDING": "hash:32"}
    refused = cli.run("stats", env=other)
    assert refused.returncode == 1 and "ingest --rebuild" in refused.stderr
    assert "nothing is lost" in refused.stderr
    done = cli.run("ingest", "--rebuild", "--no-progress", env=other)
    assert done.returncode == 0, done.stderr
    stats = json.loads(cli.run("stats", "--json", env=other).stdout)
    assert stats["embedding"] == "hash:32"
    assert {d["doc_id"]: d["chunks"] for d in stats["documents"]} == before


def test_another_pipeline_version_rebuilds_on_the_next_ingest(library_home, tmp_path):
    cli = library_home
    before = documents(cli)
    with sqlite3.connect(live_folder(cli.home) / "catalog.sqlite") as db:
        db.execute("UPDATE meta SET value='0' WHERE key='pipeline'")
    extra = tmp_path / "docs" / "new.md"
    extra.write_text("# 新\n\n新加入的笔记。\n", encoding="utf-8")
    done = cli.run("ingest", "--no-progress", str(extra))
    assert done.returncode == 0, done.stderr
    assert "pipeline version 0" in done.stderr and "rebuilt 3 catalogued" in done.stdout
    assert documents(cli) == before | {"new.md": 1}


@pytest.mark.slow
def test_a_killed_rebuild_leaves_the_old_index_answering(cli, tmp_path):
    large = pf.make_large_pdf(tmp_path / "docs" / "large.pdf", n_pages=200)
    small = tmp_path / "docs" / "small.md"
    small.write_text("# 小\n\nQX-1042 项目是一个测试项目。\n", encoding="utf-8")
    assert cli.run("ingest", "--no-progress", str(large), str(small)).returncode == 0
    before = documents(cli)
    live = live_folder(cli.home)

    process = cli.popen("ingest", "--rebuild", env={"WHITEPAPER_EMBED_BATCH": "2"})
    watch = StderrWatch(process)
    try:
        watch.wait_for(progress_at_least("embedding", 20))
    finally:
        process.kill()
        process.wait()
    assert live_folder(cli.home) == live
    assert len(list(cli.home.glob("index-*"))) == 2, "the unfinished build is left beside"
    assert documents(cli) == before
    answer = cli.run("ask", "--mode", "extractive", "QX-1042 项目是什么？")
    assert answer.returncode == 0 and "QX-1042" in answer.stdout, answer.stderr
    assert json.loads(cli.run("doctor", "--json").stdout)["healthy"]

    again = cli.run("ingest", "--no-progress", str(small))
    assert again.returncode == 0 and "did not finish" in again.stderr
    assert list(cli.home.glob("index-*")) == [live]
