"""The index on a real Chroma server (``chroma run``) through ``WHITEPAPER_CHROMA_URL``."""

from __future__ import annotations

import json

import pdf_factory as pf
import pytest

from ingest.embeddings import make_embeddings
from ingest.index import Index
from ui.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def server_cli(cli, chroma_server, request):
    """The CLI on a fresh home whose chunks live on the shared server, one collection per test."""
    collection = "t-" + request.node.name.replace("_", "-")[-50:].strip("-")
    cli.env |= {"WHITEPAPER_CHROMA_URL": chroma_server.url, "WHITEPAPER_COLLECTION": collection}
    return cli


def server_index(cli) -> Index:
    settings = Settings(
        home=cli.home,
        embedding=cli.env["WHITEPAPER_EMBEDDING"],
        chroma_url=cli.env["WHITEPAPER_CHROMA_URL"],
        collection=cli.env["WHITEPAPER_COLLECTION"],
    )
    return Index(settings, make_embeddings(settings.embedding))


def test_ingest_and_query_through_the_server(server_cli, tmp_path):
    pages = [pf.aigc_lines(10, k) for k in range(3)]
    pages[1].insert(4, "量子计算与区块链的结合是本页独有的话题。")
    path = pf.make_cjk_pdf(tmp_path / "server.pdf", pages, header="服务器测试", footer_numbers=True)

    done = server_cli.run("ingest", "--json", "--no-progress", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 1
    assert not (server_cli.home / "chroma").exists(), "nothing stored in the embedded Chroma"
    stats = server_cli.json("stats")
    assert stats["chroma"] == server_cli.env["WHITEPAPER_CHROMA_URL"]

    index = server_index(server_cli)
    chunks = index.chunks()
    assert [c.id for c in chunks] == [c["id"] for c in server_cli.json("chunks")]
    assert index.collection.count() == len(chunks)

    query = "量子计算与区块链的结合"
    hits = index.dense_search(index.embeddings.embed_query(query), k=3)
    assert "量子计算" in hits[0].chunk.text
    assert "2" in hits[0].chunk.page_labels
    assert index.bm25().search(query, k=1)[0][0] == hits[0].chunk.id

    again = server_cli.run("ingest", "--json", "--no-progress", str(path))
    assert json.loads(again.stdout)["embedded"] == 0


def test_remove_and_rebuild_on_the_server(server_cli, tmp_path):
    a = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(10)], footer_numbers=True)
    b = pf.make_cjk_pdf(tmp_path / "b.pdf", [pf.aigc_lines(10, 4)], footer_numbers=True)
    assert server_cli.run("ingest", "--no-progress", str(a), str(b)).returncode == 0

    assert server_cli.run("remove", "a.pdf").returncode == 0
    index = server_index(server_cli)
    assert {c.doc_id for c in index.chunks()} == {"b.pdf"}
    assert index.collection.count() == len(index.chunks())

    rebuilt = server_cli.run("ingest", "--rebuild", "--json", "--no-progress", str(a))
    assert rebuilt.returncode == 0, rebuilt.stderr
    fresh = server_index(server_cli)
    assert {c.doc_id for c in fresh.chunks()} == {"a.pdf", "b.pdf"}, "the library is kept"
    assert fresh.collection.count() == len(fresh.chunks())
    assert fresh.collection_name != index.collection_name, "built beside, in its own collection"
    names = {c.name for c in fresh._client.list_collections()}
    assert index.collection_name not in names, "the old collection was dropped"


def test_an_unreachable_server_is_one_clear_line(cli, tmp_path):
    path = pf.make_cjk_pdf(tmp_path / "a.pdf", [pf.aigc_lines(10)], footer_numbers=True)
    done = cli.run(
        "ingest", "--no-progress", str(path), env={"WHITEPAPER_CHROMA_URL": "http://127.0.0.1:9"}
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1
    assert "cannot reach the Chroma server at http://127.0.0.1:9" in errors[0]
    assert "chroma run" in errors[0]
