"""The benchmark (``eval/bench``): tiny sizes, the hashing embedder, a scripted chat model.

These tests check that every path of ``whitepaper bench`` runs and writes what it promises,
that the targets table and the renderer read typed results, and that older results files still
render; the figures themselves come from ``make bench`` on the real models.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from assistant.chain import Assistant
from assistant.fakes import ScriptedChatModel
from assistant.generators import ChatGenerator
from eval.bench import context, measure, run, synthetic, targets
from eval.bench.legacy import from_format_1
from eval.bench.render import render_markdown
from eval.bench.results import (
    BenchResults,
    ExtractiveSection,
    GitState,
    IngestSection,
    Latency,
    QualitySection,
    RetrievalSection,
    RunMeta,
    SectionMeta,
    SectionRun,
    Summary,
    from_json,
    load_results,
    to_json,
)
from eval.bench.tutorial import RAG_PROMPT, TutorialPipeline, load_pdf_pages
from ingest.embeddings import HashingEmbeddings
from ingest.settings import BUNDLED_PDF
from ui.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


# -- figures and stage timing ----------------------------------------------------------------


def test_summaries_are_median_min_max_and_percentiles():
    assert Summary.of([3.0, 1.0, None, 2.0]) == Summary(2.0, 1.0, 3.0, 3)
    assert Summary.of([None]).n == 0
    stats = Latency.of([float(v) for v in range(1, 101)])
    assert stats.p50 == 50.5 and stats.p95 == pytest.approx(95.05) and stats.count == 100
    assert Latency.of([]).p50 is None


def test_the_stage_clock_times_public_methods_of_the_real_parts():
    class Store:
        def lookup(self) -> Store:
            return self

        def search(self, q: str) -> str:
            return q.upper()

        size = 3

    clock = measure.StageClock()
    store = clock.wrap(Store(), {"lookup": "lookup"}, returns={"lookup": {"search": "search"}})
    assert store.lookup().search("a") == "A" and store.size == 3
    lap = clock.lap(whole=1.0)
    assert set(lap) == {"lookup", "search", "whole"} and all(v >= 0 for v in lap.values())
    assert clock.lap() == {} and len(clock.laps) == 2


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


def test_the_tutorial_pipeline_runs_langchains_loader_store_and_prompt(tmp_path):
    pages = load_pdf_pages(BUNDLED_PDF)
    assert len(pages) == 55 and pages[1].metadata["page"] == 1
    assert pages[1].page_content.rstrip() == PdfReader(BUNDLED_PDF).pages[1].extract_text().rstrip()
    chat = ScriptedChatModel(rules=[("", "AIGC 的发展分为三个阶段。")])
    tutorial = TutorialPipeline(HashingEmbeddings(64), tmp_path / "t", chat_model=chat)
    done = tutorial.ingest(BUNDLED_PDF)
    assert done.pages == 55 and done.chunks > 55 and 0 < done.embed_seconds <= done.seconds
    assert all(len(c.page_content) <= 500 for c in tutorial.split(pages))
    assert (tmp_path / "t" / "chroma.sqlite3").exists(), "langchain-chroma persisted it"

    answer = tutorial.answer("AIGC 的发展分为哪几个阶段？")
    assert len(answer.passages) == 5 and len(tutorial.retrieve("AIGC", k=7)) == 7
    assert answer.text == "AIGC 的发展分为三个阶段。"
    assert answer.first_token_ms is not None and answer.first_token_ms <= answer.total_ms
    prompt = chat.prompt_texts()[0]
    assert prompt.startswith("human: " + RAG_PROMPT.split("{question}")[0])
    assert answer.passages[0] in prompt


# -- typed results, targets, the renderer ----------------------------------------------------


def _meta(started: str = "2026-01-01T00:00:00+00:00", git: GitState | None = None) -> RunMeta:
    return RunMeta(
        started=started,
        seconds=60.0,
        load_start=1.0,
        load_end=1.2,
        cpus=2,
        machine="x86_64",
        python="3.11",
        packages={},
        git=git or GitState("abc123", False),
        peak_rss_of_bench_mib=300.0,
        settings={"embedding": "e5"},
        config={},
        tutorial="the tutorial",
    )


def _ok(name: str, result: object, run_started: str = "2026-01-01T00:00:00+00:00") -> SectionRun:
    return SectionRun(name, "ok", SectionMeta(run_started, run_started, 1.0, 1.0, 1.0), result)  # type: ignore[arg-type]


def _results_of_a_small_run() -> BenchResults:
    """A real results file of a tiny run (the CLI test below writes one the same way)."""
    data = json.loads((ROOT / "bench" / "results.json").read_text("utf-8"))
    return load_results(data)


def test_targets_are_one_table_of_unique_rows_each_read_from_typed_results():
    keys = [t.key for t in targets.TARGETS]
    assert len(keys) == len(set(keys)) == 14
    empty = BenchResults(2, (_meta(),), ())
    assert all(c.met is None and c.margin == "not measured" for c in targets.check_all(empty))
    assert targets.limit("retrieval_p50") == 25.0
    with pytest.raises(KeyError):
        targets.limit("quality_mrr")  # measured against the tutorial, no fixed limit


def test_targets_say_by_how_much_they_are_met_or_missed():
    real = _results_of_a_small_run()
    retrieval = real.get(RetrievalSection)
    extractive = real.get(ExtractiveSection)
    quality = real.get(QualitySection)
    ingest = real.get(IngestSection)
    assert retrieval and extractive and quality and ingest
    p50 = replace(retrieval.latency.subject.all.p50, median=30.0)
    subject = replace(
        retrieval.latency.subject, all=replace(retrieval.latency.subject.all, p50=p50)
    )
    retrieval = replace(retrieval, latency=replace(retrieval.latency, subject=subject))
    extractive = replace(
        extractive, warm=replace(extractive.warm, p50=Summary(45.0, 44.0, 46.0, 3))
    )
    ingest = replace(ingest, reingest_embedded=3)
    results = BenchResults(
        2,
        (_meta(),),
        (
            _ok("ingest", ingest),
            _ok("quality", quality),
            _ok("retrieval", retrieval),
            _ok("extractive", extractive),
        ),
    )
    got = {c.key: c for c in targets.check_all(results)}
    assert got["retrieval_p50"].met is False
    assert got["retrieval_p50"].margin == "missed by 5 ms (+20%)"
    assert got["retrieval_p50"].label == "retrieval p50, warm (200 queries, zh+en)"
    assert got["retrieval_p50"].slowest_stage == retrieval.profile.slowest_stage  # type: ignore[union-attr]
    assert got["extractive_p50"].met is True and got["extractive_p50"].margin == "met, 25% under"
    assert got["reingest"].met is False and got["reingest"].margin == "re-embedded 3 chunks"
    ours, tut = quality.overall.ours.hit_at_5, quality.overall.tutorial.hit_at_5
    assert got["quality_hit@5"].met is (ours > tut)  # type: ignore[operator]
    assert got["quality_hit@5"].limit == f"> {tut:.3f} (tutorial)"
    assert got["local_total_p50"].met is None
    checked = replace(results, targets=tuple(got.values()))
    lines = run.console_lines(checked)
    assert (
        "✗ retrieval p50, warm (200 queries, zh+en): 30 ms (≤ 25 ms; missed by 5 ms (+20%))"
        in lines
    )
    assert f"✓ hit@5 ahead of the tutorial (dev set, 138 answerable): {ours:g} (" in lines[9]
    page = render_markdown(checked)
    assert "| retrieval p50, warm (200 queries, zh+en) | ≤ 25 ms | 30 ms | ❌ |" in page
    assert "## Scale\n\nNot run" in page and "| retrieval p50 (ms) | 30.0 [" in page


def test_results_round_trip_through_json_and_render_the_same_page():
    real = _results_of_a_small_run()
    again = load_results(json.loads(json.dumps(to_json(real))))
    assert again == real
    assert render_markdown(again) == render_markdown(real)
    assert (ROOT / "bench" / "results.md").read_text("utf-8") == render_markdown(real), (
        "bench/results.md is the renderer's page of bench/results.json"
    )


def test_a_format_1_file_converts_and_says_its_files_were_not_recorded():
    summary = {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    meta = {
        "started": "2026-01-01T00:00:00+00:00",
        "seconds": 10.0,
        "load_start": 1.0,
        "load_end": 1.0,
        "cpus": 2,
        "machine": "x86_64",
        "python": "3.11",
        "git": {"commit": "09da0205c028", "dirty": True},
        "config": {"sections": ["ui"]},
    }
    section_meta = {"at": "x", "seconds": 1.0, "load_before": 1.0, "load_after": 1.0}
    old = {
        "format": 1,
        "meta": meta,
        "sections": {
            "ui": {"ready_s": summary, "peak_rss_at_ready_mib": summary, "note": "n"}
            | {"status": "ok", "meta": section_meta},
            "local": {"status": "unavailable", "reason": "no model", "meta": section_meta},
        },
    }
    results = load_results(old)
    assert results.runs[0].git == GitState("09da0205c028", True)
    assert "uncommitted changes (files not recorded)" in results.runs[0].git.describe()
    checks = {c.key: c for c in results.targets}
    assert checks["ui_cold_start"].value == 2.0 and checks["ui_cold_start"].met is True
    page = render_markdown(results)
    assert "| `whitepaper ui` → HTTP 200 | 2.00 [1.00–3.00] |" in page
    assert "| local LLM | unavailable: no model | | |" in page
    assert from_format_1(old) == results


def test_the_tree_state_lists_the_changed_files(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a")
    clean = run.git_state(tmp_path)
    assert clean.dirty is False and clean.changes == () and "clean tree" in clean.describe()
    (tmp_path / "a.py").write_text("x = 2\n")
    dirty = run.git_state(tmp_path)
    assert dirty.dirty is True and dirty.changes == (" M a.py",)
    page = render_markdown(BenchResults(2, (_meta(git=dirty),), ()))
    assert "with uncommitted changes in 1 file(s)" in page and "` M a.py`" in page
    assert run.git_state(tmp_path / "nowhere") == GitState(None, None)


def test_merging_keeps_earlier_sections_with_their_own_run():
    real = _results_of_a_small_run()
    quality = real.get(QualitySection)
    old = BenchResults(2, (_meta("old"),), (_ok("quality", quality, "old"),))
    new = BenchResults(2, (_meta("new"),), (_ok("retrieval", real.get(RetrievalSection), "new"),))
    merged = run.merge_results(old, new)
    assert [s.name for s in merged.sections] == ["quality", "retrieval"]
    assert [r.started for r in merged.runs] == ["new", "old"]
    replaced = run.merge_results(
        merged, BenchResults(2, (_meta("newer"),), (_ok("quality", quality, "newer"),))
    )
    assert [r.started for r in replaced.runs] == ["newer", "new"], (
        "a run no section uses is dropped"
    )
    assert from_json(BenchResults, to_json(replaced)) == replaced


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
    real_build = context.build_assistant

    def build(settings: Settings, **kwargs: object) -> Assistant:
        base = real_build(settings, **kwargs)  # type: ignore[arg-type]
        factories = {
            "extractive": lambda: base.generator("extractive"),
            "local": lambda: ChatGenerator(chat, mode="local"),
        }
        return Assistant(settings, base.index, base.searcher, base.judge, factories)

    monkeypatch.setattr(context, "build_assistant", build)
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
    results = load_results(json.loads(done.output))
    assert [s.name for s in results.sections] == [
        "ingest",
        "quality",
        "retrieval",
        "extractive",
        "local",
    ]
    assert all(s.ok for s in results.sections), results.sections
    assert results.runs[0].git.commit and results.runs[0].tutorial
    ingest = results.get(IngestSection)
    assert ingest and ingest.pages == 55 and ingest.reingest_embedded == 0
    assert ingest.tutorial.chunks > 55
    quality = results.get(QualitySection)
    assert quality and quality.overall.items == 138
    retrieval = results.get(RetrievalSection)
    assert retrieval and retrieval.queries == 4
    stages = retrieval.stages_ms
    assert 0 < stages.embed_query <= stages.whole_search and stages.dense_search > 0
    assert stages.bm25_search > 0 and stages.rest >= 0
    local = results.section("local")
    assert local and local.ok and local.result.ours.total.p50.n == 1  # type: ignore[union-attr]
    assert local.result.model_rates is None  # type: ignore[union-attr]  # not a llama.cpp model
    assert any("You are an assistant" in p for p in chat.prompt_texts())
    assert not stale.exists(), "the scripted model meets the targets: no profile is left"
    checks = {t.key: t for t in results.targets}
    assert checks["ui_cold_start"].met is None
    assert checks["quality_hit@5"].met in (True, False)

    table = (out / "results.md").read_text(encoding="utf-8")
    assert table == render_markdown(results)
    assert "| hit@5 (dev set, 138 answerable) |" in table
    assert "## Targets" in table and "local LLM first token" in table

    again = cli.invoke("bench", "--only", "retrieval", *args, "--out", str(out))
    assert again.exit_code == 0, again.output
    assert "retrieval p50, warm (4 queries, zh+en)" in again.output
    merged = load_results(json.loads((out / "results.json").read_text(encoding="utf-8")))
    assert [s.name for s in merged.sections] == [s.name for s in results.sections]
    assert len(merged.runs) == 2 and merged.section("retrieval").meta.run == merged.runs[0].started  # type: ignore[union-attr]
    # Profiles are on by default, met target or not: the path's slowest stage is named.
    assert (out / "profiles" / "retrieval.txt").read_text(encoding="utf-8").strip()
    row = next(t for t in merged.targets if t.key == "retrieval_p50")
    assert row.profile and row.slowest_stage
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
    cold = load_results(json.loads(done.output)).section("cold")
    assert cold and cold.ok
    first = cold.result.modes["extractive, first ask"]  # type: ignore[union-attr]
    assert first.failures == () and first.answer_s.n == 1
    assert 50 < (first.peak_rss_mib.median or 0) < 1024
    assert cold.result.not_run == {"local": "skipped (--llm-questions 0)"}  # type: ignore[union-attr]


def test_bench_rejects_an_unknown_section(cli, tmp_path):
    done = cli.invoke("bench", "--only", "ingest,speed", "--out", str(tmp_path))
    assert done.exit_code == 1
    assert "unknown bench section(s) speed" in done.output
    assert not (tmp_path / "results.json").exists()


def test_sections_and_pages_parse_with_clear_errors():
    assert run.parse_sections(None) == run.DEFAULT_SECTIONS
    assert run.parse_sections(None, scale=True)[-1] == "scale"
    assert run.parse_sections("quality,ingest") == ("ingest", "quality")
    assert run.parse_pages("2000,55,500") == (55, 500, 2000)
    with pytest.raises(run.BenchError, match="page counts"):
        run.parse_pages("many")
    assert isinstance(context.console_script("whitepaper"), str)
