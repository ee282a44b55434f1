"""``whitepaper doctor``: a damaged catalog or store is one line naming the file and the fix in
every command, the doctor finds it, and ``--repair`` heals it without losing a document."""

from __future__ import annotations

import json
import os
import sqlite3

import pdf_factory as pf
import pytest

from ingest.embeddings import make_embeddings
from ingest.home import live_folder
from ingest.index import Index
from ui.settings import Settings

QUESTION = "QX-1042 项目是什么？"


@pytest.fixture
def home(cli, tmp_path):
    """A home with a PDF and a note, and what ``stats`` said of it."""
    pdf = pf.make_cjk_pdf(
        tmp_path / "docs" / "report.pdf", [pf.aigc_lines(12, k) for k in range(3)]
    )
    note = tmp_path / "docs" / "qx.md"
    note.write_text("# QX\n\nQX-1042 项目是一个测试项目，用于验证并发写入。\n", encoding="utf-8")
    done = cli.run("ingest", "--no-progress", str(pdf), str(note))
    assert done.returncode == 0, done.stderr
    (tmp_path / "docs" / "other.md").write_text("# 另一份\n\n另一份笔记。\n", encoding="utf-8")
    return cli, cli.json("stats")["documents"]


def commands(cli) -> dict[str, list[str]]:
    return {
        "stats": ["stats"],
        "chunks": ["chunks"],
        "ask": ["ask", "--mode", "extractive", QUESTION],
        "ingest": ["ingest", "--no-progress", str(cli.home.parent / "docs" / "other.md")],
        "remove": ["remove", "qx.md"],
    }


def assert_one_line_naming(cli, damaged: str) -> None:
    for name, args in commands(cli).items():
        done = cli.run(*args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1, (name, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, name
        errors = [line for line in lines if line.startswith("Error:")]
        assert len(errors) == 1, (name, done.stderr)
        assert damaged in errors[0] and "whitepaper doctor --repair" in errors[0], name


def assert_answers(cli, before) -> None:
    assert cli.json("stats")["documents"] == before
    answer = cli.run("ask", "--mode", "extractive", QUESTION)
    assert answer.returncode == 0 and "QX-1042" in answer.stdout, answer.stderr
    report = cli.json("doctor")
    assert report["healthy"] and report["findings"] == []


def test_a_healthy_index(home):
    cli, before = home
    report = cli.json("doctor")
    assert report["healthy"] and report["documents"] == 2
    assert report["chunks"] == sum(d["chunks"] for d in before)


def test_a_truncated_catalog_is_restored_from_its_backup(home):
    cli, before = home
    catalog = live_folder(cli.home) / "catalog.sqlite"
    assert (catalog.parent / "catalog.backup.sqlite").exists()
    with catalog.open("r+b") as fh:
        fh.truncate(os.path.getsize(catalog) // 3)
    assert_one_line_naming(cli, str(catalog))

    found = cli.run("doctor", "--json")
    assert found.returncode == 1
    [finding] = json.loads(found.stdout)["findings"]
    assert finding["part"] == "catalog" and finding["file"] == str(catalog)

    repaired = cli.run("doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "restored the catalog from catalog.backup.sqlite" in repaired.stdout
    assert_answers(cli, before)


def test_without_a_backup_the_catalog_comes_back_from_the_store(home):
    cli, before = home
    folder = live_folder(cli.home)
    (folder / "catalog.backup.sqlite").unlink()
    (folder / "catalog.sqlite").write_bytes(b"not a database at all" * 100)
    assert_one_line_naming(cli, str(folder / "catalog.sqlite"))

    repaired = cli.run("doctor", "--repair", "--json")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "from the" in json.loads(repaired.stdout)["repairs"][0]
    after = cli.json("stats")["documents"]
    assert {d["doc_id"]: d["chunks"] for d in after} == {d["doc_id"]: d["chunks"] for d in before}
    answer = cli.run("ask", "--mode", "extractive", QUESTION)
    assert answer.returncode == 0 and "QX-1042" in answer.stdout, answer.stderr


def test_an_overwritten_store_is_rebuilt_from_the_catalog(home):
    cli, before = home
    store = live_folder(cli.home) / "chroma" / "chroma.sqlite3"
    store.write_bytes(os.urandom(64 * 1024))
    assert_one_line_naming(cli, str(store))

    done = cli.run("doctor")
    assert done.returncode == 1 and str(store) in done.stdout
    repaired = cli.run("doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "rebuilt the store" in repaired.stdout
    assert_answers(cli, before)


def test_missing_chunks_strays_and_a_stale_bm25_file_are_found_and_fixed(home, tmp_path):
    cli, before = home
    settings = Settings(home=cli.home, embedding="hash:64")
    index = Index(settings, make_embeddings(settings.embedding))
    ids = index.collection.get(include=[], limit=2)["ids"]
    stray = index.chunks()[0]
    index.collection.delete(ids=ids[:1])
    meta = stray.to_metadata() | {"content_hash": "0" * 64}
    index.collection.upsert(
        ids=["stray-1"], documents=[stray.text], metadatas=[meta], embeddings=[[0.1] * 64]
    )
    index.bm25_path.unlink()
    index.close()

    report = cli.run("doctor", "--json")
    assert report.returncode == 1
    problems = [f["problem"] for f in json.loads(report.stdout)["findings"]]
    assert any("chunks stored" in p for p in problems)
    assert any("no catalogued document version" in p for p in problems)
    assert any("missing" in p for p in problems)
    repaired = cli.run("doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert_answers(cli, before)


def test_a_catalog_without_its_tables_is_damage_not_an_empty_index(home):
    cli, _ = home
    catalog = live_folder(cli.home) / "catalog.sqlite"
    for suffix in ("", "-wal", "-shm"):
        path = catalog.with_name(catalog.name + suffix)
        if path.exists():
            path.unlink()
    sqlite3.connect(catalog).close()  # an empty, valid SQLite file
    done = cli.run("stats")
    assert done.returncode == 1 and "doctor --repair" in done.stderr
