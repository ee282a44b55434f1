"""``whitepaper ingest / remove / stats / chunks`` as a user runs them: bad inputs, shapes of
the JSON output, help texts, a 1,000-page PDF, SIGKILL in the middle of an ingest, and one
real run with the e5 model."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pdf_factory as pf
import pytest
from processes import StderrWatch, progress_at_least

from ingest.chunker import Chunker
from ingest.embeddings import HashingEmbeddings
from ingest.pipeline import Ingestor
from ui.settings import Settings

# -- helpers ---------------------------------------------------------------------------------


def snapshot(cli) -> tuple[Any, list[str]]:
    """What a user can see of an index: ``stats --json`` and the chunk ids."""
    stats = cli.invoke("stats", "--json")
    chunks = cli.invoke("chunks", "--json")
    assert stats.exit_code == 0 and chunks.exit_code == 0, stats.output + chunks.output
    return json.loads(stats.stdout), [c["id"] for c in json.loads(chunks.stdout)]


def failed_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("failed: ")]


def small_pdf(path: Path, start: int = 0) -> Path:
    return pf.make_cjk_pdf(
        path, [pf.aigc_lines(10, start), pf.aigc_lines(10, start + 3)], footer_numbers=True
    )


def bad_input(folder: Path, name: str) -> Path:
    """Make the bad input ``name`` of :data:`BAD_INPUTS` in ``folder`` (missing: not made)."""
    folder.mkdir(exist_ok=True)
    return BAD_INPUTS[name][0](folder / name)


@pytest.fixture
def indexed(cli, tmp_path):
    """The CLI on an index that already holds one good document."""
    done = cli.invoke("ingest", "--no-progress", str(small_pdf(tmp_path / "good.pdf")))
    assert done.exit_code == 0, done.output
    return cli


BAD_INPUTS: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    # name: (how to make it, what is wrong, what to do)
    "missing.pdf": (lambda p: p, "no such file or folder", "check the path"),
    "empty-folder": (
        lambda p: (p.mkdir(), p)[1],
        "folder holds no PDF",
        "give a folder with documents",
    ),
    "empty.pdf": (pf.make_empty_file, "the file is empty (0 bytes)", "re-export or re-download"),
    "html.pdf": (pf.make_not_a_pdf, "not a PDF (no %PDF- header)", "download or export the real"),
    "truncated.pdf": (pf.make_truncated_pdf, "truncated or corrupted", "re-download it or repair"),
    "encrypted.pdf": (pf.make_encrypted_pdf, "password-protected", "save an unencrypted copy"),
    "scanned.pdf": (pf.make_image_only_pdf, "no text layer", "run OCR first"),
}


# -- bad inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_a_bad_input_is_one_clear_line_and_leaves_the_index_alone(indexed, tmp_path, name):
    _, problem, remedy = BAD_INPUTS[name]
    bad = bad_input(tmp_path / "inputs", name)
    before = snapshot(indexed)

    result = indexed.invoke("ingest", "--no-progress", str(bad))

    assert result.exit_code == 1
    [line] = failed_lines(result.stdout)
    assert name in line and problem in line and remedy in line, line
    assert snapshot(indexed) == before


@pytest.mark.parametrize("name", ["empty.pdf", "encrypted.pdf", "scanned.pdf"])
def test_good_files_in_the_same_batch_still_ingest(indexed, tmp_path, name):
    problem = BAD_INPUTS[name][1]
    bad = bad_input(tmp_path / "inputs", name)
    other = small_pdf(tmp_path / "other.pdf", start=5)

    result = indexed.invoke("ingest", "--no-progress", "--json", str(bad), str(other))

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["new"], report["failed"], report["unchanged"]) == (1, 1, 0)
    [failure] = [f for f in report["files"] if f["status"] == "failed"]
    assert problem in failure["error"]
    assert [line for line in result.stderr.splitlines() if line.startswith("Error: ")] == [
        f"Error: {failure['error']}"
    ]
    stats, _ = snapshot(indexed)
    assert [d["doc_id"] for d in stats["documents"]] == ["good.pdf", "other.pdf"]


def test_the_whole_bad_batch_through_the_real_console_script(cli, tmp_path):
    paths = [bad_input(tmp_path / "inputs", name) for name in BAD_INPUTS]
    good = small_pdf(tmp_path / "good.pdf")

    done = cli.run("ingest", "--no-progress", *map(str, paths), str(good))

    assert done.returncode == 1
    failures = failed_lines(done.stdout)
    assert len(failures) == len(BAD_INPUTS)
    for name, line in zip(BAD_INPUTS, failures, strict=True):
        assert name in line
    assert done.stdout.startswith("1 document(s), 2 pages")
    assert "Traceback" not in done.stderr
    assert [d["doc_id"] for d in cli.json("stats")["documents"]] == ["good.pdf"]


def test_stats_and_chunks_without_an_index_say_to_ingest_first(cli):
    for command in ("stats", "chunks"):
        result = cli.invoke(command)
        assert result.exit_code == 1
        assert (
            "no index under" in result.stderr and "run `whitepaper ingest` first" in result.stderr
        )


def test_another_embedding_than_the_index_was_built_with(indexed, tmp_path):
    result = indexed.invoke("stats", env={"WHITEPAPER_EMBEDDING": "hash:32"})
    assert result.exit_code == 1
    assert "'hash:64'" in result.stderr and "ingest --rebuild" in result.stderr

    # --rebuild re-embeds every document into a new index beside the old one, then switches.
    good = tmp_path / "good.pdf"
    done = indexed.run(
        "ingest", "--rebuild", "--json", "--no-progress", str(good),
        env={"WHITEPAPER_EMBEDDING": "hash:32"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["new"], report["unchanged"], report["documents"]) == (1, 1, 2)
    assert [d["source"] for d in report["rebuilt"]] == ["file"]
    stats = indexed.invoke("stats", "--json", env={"WHITEPAPER_EMBEDDING": "hash:32"})
    assert json.loads(stats.stdout)["embedding"] == "hash:32"


def test_remove_through_the_cli(indexed, tmp_path):
    other = small_pdf(tmp_path / "other.pdf", start=4)
    assert indexed.invoke("ingest", "--no-progress", str(other)).exit_code == 0

    result = indexed.invoke("remove", "good.pdf", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["doc_id"] == "good.pdf"
    stats, ids = snapshot(indexed)
    assert [d["doc_id"] for d in stats["documents"]] == ["other.pdf"]
    assert len(ids) == stats["documents"][0]["chunks"]

    again = indexed.invoke("remove", "good.pdf")
    assert again.exit_code == 1
    assert "no document 'good.pdf'" in again.stderr and "other.pdf" in again.stderr


def test_chunks_of_an_unknown_document_is_an_error(indexed):
    result = indexed.invoke("chunks", "--doc", "nope.pdf")
    assert result.exit_code == 1
    assert "no document 'nope.pdf'" in result.stderr


# -- output shapes and help ------------------------------------------------------------------


@pytest.fixture
def bundled_index(cli):
    result = cli.invoke("ingest", "--no-progress", "--json")
    assert result.exit_code == 0, result.output
    return cli, json.loads(result.stdout)


def test_ingest_json_summary(bundled_index):
    _, report = bundled_index
    assert {k: report[k] for k in ("documents", "pages", "chunks", "new", "failed")} == {
        "documents": 1,
        "pages": 55,
        "chunks": 126,
        "new": 1,
        "failed": 0,
    }
    [file] = report["files"]
    assert file["doc_id"] == "aigc-whitepaper-2022.pdf" and file["status"] == "new"
    assert file["embedded"] == 126 and file["error"] is None


def test_stats_json_shape(bundled_index):
    cli, _ = bundled_index
    stats = json.loads(cli.invoke("stats", "--json").stdout)
    assert stats["home"] == str(cli.home)
    assert stats["embedding"] == "hash:64"
    assert Path(stats["index"]).parent == cli.home
    assert stats["chroma"] == str(Path(stats["index"]) / "chroma")
    assert stats["stored_chunks"] == 126
    [doc] = stats["documents"]
    assert set(doc) == {
        "doc_id", "title", "source_file", "content_hash", "pages", "chunks", "page_labels"
    }  # fmt: skip
    assert doc["title"] == "人工智能生成内容（AIGC）白皮书"
    assert (doc["pages"], doc["chunks"]) == (55, 126)
    assert doc["page_labels"] == ["i", *map(str, range(1, 55))]

    text = cli.invoke("stats").stdout
    assert (
        "aigc-whitepaper-2022.pdf: 人工智能生成内容（AIGC）白皮书 — 55 pages (i–54), 126 chunks"
        in text
    )


def test_chunks_json_shape(bundled_index):
    cli, _ = bundled_index
    chunks = json.loads(cli.invoke("chunks", "--doc", "aigc-whitepaper-2022.pdf", "--json").stdout)
    assert len(chunks) == 126
    assert set(chunks[0]) == {
        "id", "doc_id", "title", "index", "pages", "page_indices", "section", "start", "end",
        "footnotes", "text",
    }  # fmt: skip
    assert [c["index"] for c in chunks] == list(range(126))
    assert all(re.fullmatch(r"[0-9a-f]{16}-\d{5}", c["id"]) for c in chunks)
    with_note = [c for c in chunks if any(n.startswith("[2] ") for n in c["footnotes"])]
    assert [c["pages"] for c in with_note] == [["8"]]
    assert "学习范式和网络结构" in with_note[0]["text"]
    assert with_note[0]["section"][-1] == "（一）AIGC 技术升级步入深化阶段"

    text = cli.invoke("chunks").stdout
    assert text.startswith(f"── {chunks[0]['id']}  p.i  前  言\n")


@pytest.mark.parametrize("command", ["ingest", "remove", "stats", "chunks"])
def test_help_shows_an_example(cli, command):
    result = cli.invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"whitepaper {command}" in result.stdout


def test_keep_headers_keeps_the_running_header(cli, tmp_path):
    pages = [pf.aigc_lines(10, k) for k in range(4)]
    path = pf.make_cjk_pdf(tmp_path / "h.pdf", pages, header="星河年度报告", footer_numbers=True)
    assert cli.invoke("ingest", "--no-progress", "--keep-headers", str(path)).exit_code == 0
    text = "\n".join(c["text"] for c in json.loads(cli.invoke("chunks", "--json").stdout))
    assert text.count("星河年度报告") == 4


def test_keep_headers_on_an_already_ingested_file_re_cleans_it(cli, tmp_path):
    pages = [pf.aigc_lines(10, k) for k in range(4)]
    path = pf.make_cjk_pdf(tmp_path / "h.pdf", pages, header="星河年度报告", footer_numbers=True)
    assert cli.invoke("ingest", "--no-progress", str(path)).exit_code == 0
    assert cli.invoke("ingest", "--no-progress", "--keep-headers", str(path)).exit_code == 0
    text = "\n".join(c["text"] for c in json.loads(cli.invoke("chunks", "--json").stdout))
    assert "星河年度报告" in text


# -- a 1,000-page PDF: memory stays bounded ---------------------------------------------------

RSS_LIMIT_MB = 1536


@pytest.mark.slow
def _vm_hwm_kb(pid: int) -> int:
    """Peak resident memory of a live process (kB), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0


def test_a_1000_page_pdf_ingests_with_bounded_memory(cli, tmp_path, record_property):
    path = pf.make_large_pdf(tmp_path / "big.pdf")
    out = tmp_path / "report.json"
    with out.open("wb") as fh:
        process = cli.popen("ingest", "--json", "--no-progress", str(path), stdout=fh)
        # The child's own high-water mark from /proc (ru_maxrss of a child forked from this
        # pytest process would report pytest's own peak when that is higher).
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(process.pid))
            time.sleep(0.02)
    assert process.stderr is not None
    assert process.returncode == 0, process.stderr.read().decode()
    assert peak_kb > 0, "could not read the child's VmHWM"
    peak_mb = peak_kb / 1024
    record_property("peak_rss_mb", round(peak_mb))
    print(f"1,000-page ingest: peak RSS {peak_mb:.0f} MB")

    report = json.loads(out.read_text(encoding="utf-8"))
    assert (report["pages"], report["failed"]) == (1000, 0)
    assert report["chunks"] == report["embedded"] > 1000
    assert peak_mb < RSS_LIMIT_MB
    stats = cli.invoke("stats", "--json")
    [doc] = json.loads(stats.stdout)["documents"]
    assert doc["page_labels"] == [str(n) for n in range(1, 1001)]


# -- SIGKILL in the middle of an ingest -------------------------------------------------------

#: Prints what readers of the index see, run in its own process after the writer is dead.
PROBE = """
import json, sys
from ingest.embeddings import make_embeddings
from ingest.index import Index
from ui.settings import Settings
settings = Settings()
index = Index(settings, make_embeddings(settings.embedding))
chunks = index.chunks()
vector = index.embeddings.embed_query(chunks[0].text)
print(json.dumps({
    "ids": [c.id for c in chunks],
    "hashes": index.active_hashes(),
    "stored": index.collection.count(),
    "bm25": index.bm25().ids,
    "dense": [h.chunk.id for h in index.dense_search(vector, k=200)],
}))
"""


def switched(text: str) -> bool:
    return "is now garbage" in text


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> dict[str, Any]:
    """An index holding v1 of report.pdf (a template copied per test), v2 and both id lists."""
    root = tmp_path_factory.mktemp("crash")
    v1 = pf.make_large_pdf(root / "v1" / "report.pdf", n_pages=60)
    v2 = pf.make_large_pdf(root / "v2" / "report.pdf", n_pages=72)
    home = root / "template-home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WHITEPAPER_")},
        "WHITEPAPER_HOME": str(home),
        "WHITEPAPER_EMBEDDING": "hash:64",
    }
    target = root / "docs" / "report.pdf"
    target.parent.mkdir()
    shutil.copy(v1, target)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "whitepaper"), "ingest", "--no-progress", str(target)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    settings = Settings(home=root / "scratch", embedding="hash:64")
    ingestor = Ingestor(settings, HashingEmbeddings())
    ids = {
        name: [c.id for c in Chunker().chunk(ingestor.read(ingestor.source(path)))]
        for name, path in (("v1", v1), ("v2", v2))
    }
    assert not set(ids["v1"]) & set(ids["v2"])
    return {"home": home, "v2": v2, "ids": ids, "hashes": {"v1": ingestor.source(v1).content_hash}}


@pytest.fixture
def v1_index(cli, versions, tmp_path):
    """A copy of the v1 index; the document file now holds v2."""
    shutil.copytree(versions["home"], cli.home)
    target = tmp_path / "docs" / "report.pdf"
    target.parent.mkdir()
    shutil.copy(versions["v2"], target)
    return cli, target


def probe(cli) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, **cli.env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_one_version(seen: dict[str, Any], ids: list[str]) -> None:
    """Readers see exactly this version: no mix, no duplicates, every reader agrees."""
    assert seen["ids"] == ids
    assert sorted(seen["bm25"]) == sorted(ids)
    assert seen["dense"] and set(seen["dense"]) <= set(ids)
    assert len(seen["dense"]) == len(set(seen["dense"]))


def kill_at(cli, target: Path, moment: Callable[[str], bool], env: dict[str, str]) -> str:
    process = cli.popen("ingest", str(target), env=env, stdout=subprocess.DEVNULL)
    watch = StderrWatch(process)
    try:
        watch.wait_for(moment)
    finally:
        process.kill()  # SIGKILL: no cleanup handler runs
        process.wait()
    return watch.text


CRASH_MOMENTS = {
    "reading pages": (progress_at_least("pages", 10), {}),
    "after 10 embedding batches": (
        progress_at_least("embedding", 10),
        {"WHITEPAPER_EMBED_BATCH": "1"},
    ),
    "right after the catalog switch": (switched, {}),
}


@pytest.mark.slow
@pytest.mark.parametrize("moment", list(CRASH_MOMENTS))
def test_sigkill_leaves_one_whole_version_and_the_next_run_finishes(v1_index, versions, moment):
    cli, target = v1_index
    when, env = CRASH_MOMENTS[moment]
    ids = versions["ids"]

    log = kill_at(cli, target, when, env)

    seen = probe(cli)
    if moment == "right after the catalog switch":
        assert_one_version(seen, ids["v2"])
    else:
        assert "is now garbage" not in log
        assert seen["hashes"] == [versions["hashes"]["v1"]]
        assert_one_version(seen, ids["v1"])
    if moment == "after 10 embedding batches":
        assert seen["stored"] >= len(ids["v1"]) + 10, "v2 chunks written before the kill"

    finish = cli.run("ingest", "--json", "--no-progress", str(target))
    assert finish.returncode == 0, finish.stderr
    report = json.loads(finish.stdout)
    if moment == "right after the catalog switch":
        assert (report["unchanged"], report["embedded"]) == (1, 0)
    else:
        assert report["replaced"] == 1
        written = seen["stored"] - len(ids["v1"])
        assert report["embedded"] == len(ids["v2"]) - written
    after = probe(cli)
    assert_one_version(after, ids["v2"])
    assert after["stored"] == len(ids["v2"]), "the replaced version's chunks are all deleted"


# -- the real e5 model, once -----------------------------------------------------------------


@pytest.mark.slow
def test_the_bundled_pdf_with_the_real_e5_model(cli):
    env = {"WHITEPAPER_EMBEDDING": "e5"}
    first = cli.run("ingest", "--json", "--no-progress", env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["pages"], report["chunks"], report["embedded"]) == (55, 126, 126)

    again = cli.run("ingest", "--json", "--no-progress", env=env)
    assert json.loads(again.stdout)["unchanged"] == 1
    assert json.loads(again.stdout)["embedded"] == 0

    from ingest.embeddings import make_embeddings
    from ingest.index import Index

    settings = Settings(home=cli.home, embedding="e5")
    index = Index(settings, make_embeddings("e5"))
    for question in ("AIGC 的发展分为哪几个阶段？", "What are the stages of AIGC development?"):
        hits = index.dense_search(index.embeddings.embed_query(question), k=5)
        assert any("早期萌芽" in hit.chunk.text for hit in hits), question
    mismatch = cli.run("stats")  # hash:64 configured, e5 recorded
    assert mismatch.returncode == 1 and "'e5'" in mismatch.stderr
