"""The benchmark (``eval/bench``): tiny sizes, the hashing embedder, a scripted chat model.

These tests check that every path of ``whitepaper bench`` runs and writes what it promises;
the figures themselves come from ``make bench`` on the real models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from assistant.chain import Assistant
from assistant.fakes import ScriptedChatModel
from assistant.generators import ChatGenerator
from eval.bench import measure, run, synthetic
from eval.bench.tutorial import RAG_PROMPT, TutorialPipeline, load_pdf_pages
from ingest.embeddings import HashingEmbeddings
from ingest.settings import BUNDLED_PDF, Settings

HASH = "hash:64"


# -- measure ---------------------------------------------------------------------------------


def test_summaries_are_median_min_max_and_percentiles():
    assert measure.summarize([3.0, 1.0, None, 2.0]) == {
        "median": 2.0,
        "min": 1.0,
        "max": 3.0,
        "n": 3,
    }
    assert measure.summarize([None])["n"] == 0
    stats = measure.latency_stats([float(v) for v in range(1, 101)])
    assert stats["p50"] == 50.5 and stats["p95"] == pytest.approx(95.05) and stats["count"] == 100
    assert measure.percentile([], 50) is None


def test_a_child_reports_its_own_peak_memory_not_ours():
    ballast = bytearray(150 * 1024 * 1024)  # this process is now larger than the child
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    script = "import sys; b = bytearray(40 * 2**20); b[::4096] = b'x' * len(b[::4096]); "
    script += "print('ready', flush=True); sys.exit(3)"
    child = measure.run_child([sys.executable, "-c", script])
    assert child.returncode == 3
    assert child.stdout.strip() == "ready"
    assert child.first_output_s is not None and child.first_output_s <= child.exit_s
    assert 40 * measure.MIB < child.peak_rss_bytes < 140 * measure.MIB
    del ballast


# -- synthetic corpus ------------------------------------------------------------------------


def test_the_synthetic_corpus_varies_numbers_and_names_and_keeps_pages(tmp_path):
    paths = synthetic.build_corpus(tmp_path / "a", 57)
    assert [len(PdfReader(p).pages) for p in paths] == [55, 2]
    again = synthetic.build_corpus(tmp_path / "b", 57)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again], "deterministic"

    original = PdfReader(BUNDLED_PDF).pages[4].extract_text()
    varied = PdfReader(paths[0]).pages[4].extract_text()
    assert "中国信息通信研究院" in original and "中国信息通信研究院" not in varied
    assert "AIGC 发展历程" in varied, "the rest of the text is kept"
    first, second = (PdfReader(p).pages[1].extract_text() for p in paths)
    assert "1950" in PdfReader(BUNDLED_PDF).pages[1].extract_text()
    assert "1950" not in first and first != second, "each document has its own numbers"


def test_a_line_keeps_single_digits_and_replaces_names_whole():
    import random

    names = {"京东": "甲乙科技", "京东探索研究院": "丙丁研究院"}
    line = synthetic.vary_line(
        "京东探索研究院与京东在 2022 年发布 3 项成果", random.Random(1), names
    )
    assert line.startswith("丙丁研究院与甲乙科技在 ")
    assert " 3 项成果" in line and "2022" not in line


# -- the tutorial pipeline -------------------------------------------------------------------


def test_the_tutorial_pipeline_loads_pages_splits_retrieves_and_prompts(tmp_path):
    pages = load_pdf_pages(BUNDLED_PDF)
    assert len(pages) == 55 and pages[1].metadata["page"] == 1
    chat = ScriptedChatModel(rules=[("", "AIGC 的发展分为三个阶段。")])
    tutorial = TutorialPipeline(HashingEmbeddings(64), tmp_path / "t", chat_model=chat)
    done = tutorial.ingest(BUNDLED_PDF)
    assert done.pages == 55 and done.chunks > 55
    assert all(len(c.page_content) <= 500 for c in tutorial.split(pages))

    answer = tutorial.answer("AIGC 的发展分为哪几个阶段？")
    assert len(answer.passages) == 5
    assert answer.text == "AIGC 的发展分为三个阶段。"
    assert answer.first_token_ms is not None and answer.first_token_ms <= answer.total_ms
    prompt = chat.prompt_texts()[0]
    assert prompt.startswith("human: " + RAG_PROMPT.split("{question}")[0])
    assert answer.passages[0] in prompt


# -- the command -----------------------------------------------------------------------------


def _scripted_local(monkeypatch: pytest.MonkeyPatch) -> ScriptedChatModel:
    """Make the local mode available with a scripted model instead of the GGUF."""
    chat = ScriptedChatModel(
        rules=[
            ("翻译成中文", "AIGC 的问题"),
            ("You are an assistant for question-answering", "A tutorial answer."),
            ("", "AIGC 是人工智能生成内容。【1】"),
        ]
    )
    real_build = run.build_assistant

    def build(settings: Settings, **kwargs: object) -> Assistant:
        base = real_build(settings, **kwargs)  # type: ignore[arg-type]
        factories = {
            "extractive": lambda: base.generator("extractive"),
            "local": lambda: ChatGenerator(chat, mode="local"),
        }
        return Assistant(settings, base.index, base.searcher, base.judge, factories)

    monkeypatch.setattr(run, "build_assistant", build)
    monkeypatch.setattr("assistant.llm.model_file.local_model_available", lambda: True)
    return chat


def test_bench_writes_results_and_a_table_and_merges_later_runs(cli, tmp_path, monkeypatch):
    chat = _scripted_local(monkeypatch)
    out = tmp_path / "bench"
    stale = out / "profiles" / "local.txt"  # a profile of an earlier run that missed
    stale.parent.mkdir(parents=True)
    stale.write_text("old", encoding="utf-8")
    args = ["--runs", "1", "--queries", "4", "--answers", "2", "--llm-questions", "2"]
    done = cli.invoke(
        "bench",
        "--only",
        "ingest,quality,retrieval,extractive,local",
        *args,
        "--no-profile",
        "--out",
        str(out),
        "--json",
    )
    assert done.exit_code == 0, done.output
    results = json.loads(done.output)
    sections = results["sections"]
    assert set(sections) == {"ingest", "quality", "retrieval", "extractive", "local"}
    assert all(s["status"] == "ok" for s in sections.values()), sections
    assert sections["ingest"]["pages"] == 55 and sections["ingest"]["reingest_embedded"] == 0
    assert sections["quality"]["items"] == 138
    assert sections["retrieval"]["queries"] == 4
    assert sections["local"]["ours_total"]["p50"]["n"] == 1
    assert any("You are an assistant" in p for p in chat.prompt_texts())
    assert not stale.exists(), "the scripted model meets the targets: no profile is left"
    assert sections["local"]["model_rates"] is None  # not a llama.cpp model
    targets = {t["key"]: t for t in results["targets"]}
    assert targets["ui_cold_start"]["met"] is None
    assert targets["quality_hit@5"]["met"] in (True, False)

    table = (out / "results.md").read_text(encoding="utf-8")
    assert "| hit@5 (dev set, 138 answerable) |" in table
    assert "## Targets" in table and "local LLM first token" in table
    assert json.loads((out / "results.json").read_text(encoding="utf-8")) == results

    again = cli.invoke("bench", "--only", "retrieval", *args, "--out", str(out))
    assert again.exit_code == 0, again.output
    merged = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(merged["sections"]) == set(sections), "the other sections are kept"
    assert merged["sections"]["retrieval"]["meta"] != sections["retrieval"]["meta"]
    # Profiles are on by default, met target or not: the path's slowest stage is named.
    assert (out / "profiles" / "retrieval.txt").read_text(encoding="utf-8").strip()
    row = next(t for t in merged["targets"] if t["key"] == "retrieval_p50")
    assert row["profile"] and row["slowest_stage"]
    assert "([profile](profiles/retrieval.txt))" in (out / "results.md").read_text("utf-8")


def test_bench_measures_cold_starts_in_new_processes(cli, tmp_path):
    out = tmp_path / "bench"
    done = cli.invoke(
        "bench",
        "--only",
        "cold",
        "--runs",
        "1",
        "--llm-questions",
        "0",
        "--out",
        str(out),
        "--json",
        env={"WHITEPAPER_LLM_THREADS": "1"},
    )
    assert done.exit_code == 0, done.output
    modes = json.loads(done.output)["sections"]["cold"]["modes"]
    first = modes["extractive, first ask"]
    assert first["failures"] == [] and first["answer_s"]["n"] == 1
    assert 50 < first["peak_rss_mib"]["median"] < 1024


def test_bench_rejects_an_unknown_section(cli, tmp_path):
    done = cli.invoke("bench", "--only", "ingest,speed", "--out", str(tmp_path))
    assert done.exit_code == 1
    assert "unknown bench section(s) speed" in done.output
    assert not (tmp_path / "results.json").exists()


def test_targets_say_by_how_much_they_are_met_or_missed():
    results = {
        "sections": {
            "retrieval": {
                "ours": {"p50": {"median": 30.0}},
                "queries": 200,
                "stages_ms": {"embed_query": 20.0, "dense_search": 6.0, "whole_search": 30.0},
            },
            "extractive": {"warm": {"p50": {"median": 45.0}}},
            "quality": {
                "ours": {"hit@5": 0.8, "mrr": 0.6},
                "tutorial": {"hit@5": 0.7, "mrr": 0.65},
            },
        }
    }
    targets = {t.key: t for t in run.check_targets(results)}
    assert targets["retrieval_p50"].met is False
    assert targets["retrieval_p50"].margin == "missed by 5 ms (+20%)"
    assert targets["retrieval_p50"].slowest_stage == "embed_query (20.0 ms)"
    assert targets["extractive_p50"].met is True and targets["extractive_p50"].margin == (
        "met, 25% under"
    )
    assert targets["quality_hit@5"].met is True and targets["quality_mrr"].met is False
    assert targets["local_total_p50"].met is None
    page = run.render_markdown(run.merge_results(None, {"format": 1, **results}))
    assert "| retrieval p50, warm (200 queries, zh+en) | ≤ 25 ms | 30 ms | ❌ |" in page


def test_sections_and_pages_parse_with_clear_errors():
    assert run.parse_sections(None) == run.DEFAULT_SECTIONS
    assert run.parse_sections(None, scale=True)[-1] == "scale"
    assert run.parse_sections("quality,ingest") == ("ingest", "quality")
    assert run.parse_pages("2000,55,500") == (55, 500, 2000)
    with pytest.raises(run.BenchError, match="page counts"):
        run.parse_pages("many")
    assert isinstance(run.console_script("whitepaper"), str)
    assert Path(run.DEFAULT_SET).exists()
