"""``results.md``: the Markdown page of the bench results that the README links to.

:func:`render_markdown` is the one renderer: it reads :class:`BenchResults` only, so a page
can be regenerated from any results file without measuring again.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from eval.bench.results import (
    BenchResults,
    ColdSection,
    ExtractiveSection,
    IngestSection,
    LatencyByLanguage,
    LocalSample,
    LocalSection,
    QualitySection,
    RetrievalSection,
    RunMeta,
    ScaleSection,
    SectionRun,
    ServerSection,
    Summary,
    TargetCheck,
    UiSection,
    ratio,
)
from ingest.text import detect_language


def fig(summary: Summary | float | int | None, digits: int = 1, unit: str = "") -> str:
    """``median [min–max]`` of a summary (the range only for several runs), a number, or —."""
    if isinstance(summary, Summary):
        if summary.median is None:
            return "—"
        text = f"{summary.median:.{digits}f}{unit}"
        if summary.n > 1 and summary.min is not None and summary.max is not None:
            text += f" [{summary.min:.{digits}f}–{summary.max:.{digits}f}]"
        return text
    if isinstance(summary, int | float):
        return f"{summary:.{digits}f}{unit}"
    return "—"


def times(a: Summary | float | None, b: Summary | float | None, digits: int = 2) -> str:
    """``a / b`` of two figures (medians of summaries) as ``1.23×``, or —."""
    am = a.median if isinstance(a, Summary) else a
    bm = b.median if isinstance(b, Summary) else b
    r = ratio(am, bm)
    return "—" if r is None else f"{r:.{digits}f}×"


def render_markdown(results: BenchResults) -> str:
    """The results as the Markdown page the README links to."""
    lines = ["# Benchmark: whitepaper-assistant beside the tutorial pipeline", ""]
    lines += _header(results)
    lines += _comparison(results)
    lines += _targets(results.targets)
    lines += _ingest(results)
    lines += _latency(results)
    lines += _cold(results)
    lines += _server(results)
    lines += _scale(results)
    lines += _notes(results)
    return "\n".join(lines).rstrip() + "\n"


def _run_line(run: RunMeta, names: list[str]) -> str:
    return (
        f"Run {run.started} ({', '.join(names)}) · {run.git.describe()} · {run.cpus} CPUs, shared "
        f"(1-min load {run.load_start} at start, {run.load_end} at end) · Python {run.python} · "
        f"embedding `{run.settings.get('embedding')}` · {run.seconds / 60:.1f} min."
    )


def _header(results: BenchResults) -> list[str]:
    lines = []
    for run in results.runs:
        names = [s.name for s in results.sections if s.meta.run == run.started]
        lines += [_run_line(run, names), ""]
        if run.git.changes:
            lines += [
                "Uncommitted changes in the tree of that run (`git status --porcelain`): "
                + ", ".join(f"`{c}`" for c in run.git.changes)
                + ".",
                "",
            ]
    lines += [
        "Each timed figure is the **median of the runs [min–max]**; a latency is the p50 (or "
        "p95) within one run. Ours and the tutorial are measured side by side in the same "
        "process, alternating, so their ratio is steadier than either figure on a shared "
        "machine. Regenerate with `make bench` (`whitepaper bench`).",
        "",
    ]
    return lines


def _comparison(results: BenchResults) -> list[str]:
    rows = [
        "## Ours beside the tutorial pipeline",
        "",
        "| | ours | tutorial | ours / tutorial |",
        "|---|---:|---:|---:|",
    ]
    quality = results.get(QualitySection)
    if quality is not None:
        rows += _compare_quality(quality)
    ingest = results.get(IngestSection)
    if ingest is not None:
        tut = ingest.tutorial
        rows.append(
            f"| ingest of the {ingest.pages}-page PDF (s) | {fig(ingest.seconds)} | "
            f"{tut.seconds:.1f} (1 run) | {times(ingest.seconds, tut.seconds)} |"
        )
        rows.append(
            f"| chunks | {ingest.chunks} | {tut.chunks} | {times(ingest.chunks, tut.chunks)} |"
        )
    retrieval = results.get(RetrievalSection)
    if retrieval is not None:
        lat = retrieval.latency
        for p, ours, base, r in (
            ("p50", lat.subject.all.p50, lat.baseline.all.p50, lat.ratio_p50),
            ("p95", lat.subject.all.p95, lat.baseline.all.p95, lat.ratio_p95),
        ):
            rows.append(f"| retrieval {p} (ms) | {fig(ours)} | {fig(base)} | {fig(r, 2, '×')} |")
    local = results.get(LocalSection)
    if local is not None:
        mine, theirs = local.ours, local.tutorial
        rows.append(
            f"| local LLM first token p50 (ms) | {fig(mine.first_token.p50, 0)} | "
            f"{fig(theirs.first_token.p50, 0)} | {fig(local.ratio_first_token_p50, 2, '×')} |"
        )
        rows.append(
            f"| local LLM total p50 (ms) | {fig(mine.total.p50, 0)} | "
            f"{fig(theirs.total.p50, 0)} | {fig(local.ratio_total_p50, 2, '×')} |"
        )
    elif (run := results.section("local")) is not None:
        rows.append(f"| local LLM | {run.status}: {run.reason} | | |")
    return [*rows, ""]


def _compare_quality(quality: QualitySection) -> list[str]:
    q = quality.overall
    rows = []
    for label, o, t in (
        ("hit@5", q.ours.hit_at_5, q.tutorial.hit_at_5),
        ("MRR", q.ours.mrr, q.tutorial.mrr),
        ("hit@1", q.ours.hit_at_1, q.tutorial.hit_at_1),
    ):
        rows.append(
            f"| {label} (dev set, {q.items} answerable) | {fig(o, 3)} | {fig(t, 3)} | "
            f"{times(o, t)} |"
        )
    o, t = q.ours.context_chars, q.tutorial.context_chars
    rows.append(f"| characters in the 5 passages | {fig(o, 0)} | {fig(t, 0)} | {times(o, t)} |")
    o, t = q.ours.hit_at_5, q.tutorial_same_context_hit
    rows.append(
        f"| hit, tutorial given as many characters as ours "
        f"({fig(q.tutorial_same_context_chunks)} chunks) | {fig(o, 3)} | {fig(t, 3)} | "
        f"{times(o, t)} |"
    )
    return rows


def _targets(targets: tuple[TargetCheck, ...]) -> list[str]:
    rows = [
        "## Targets",
        "",
        "| target | limit | measured | met? | margin | slowest stage |",
        "|---|---|---:|:-:|---|---|",
    ]
    for t in targets:
        met = {True: "✅", False: "❌", None: "—"}[t.met]
        value = "—" if t.value is None else f"{t.value:g} {t.unit}".strip()
        stage = t.slowest_stage or ""
        if t.profile:
            stage += f" ([profile](profiles/{Path(t.profile).name}))"
        rows.append(f"| {t.label} | {t.limit} | {value} | {met} | {t.margin} | {stage} |")
    return [*rows, ""]


def _ingest(results: BenchResults) -> list[str]:
    ing = results.get(IngestSection)
    if ing is None:
        return _missing("Ingest", results.section("ingest"))
    tut = ing.tutorial
    return [
        "## Ingest",
        "",
        f"`{ing.pdf}`: {ing.pages} pages, {ing.chunks} chunks; a fresh index each run.",
        "",
        "| | ours | tutorial (1 run) |",
        "|---|---:|---:|",
        f"| whole ingest (s) | {fig(ing.seconds)} | {tut.seconds:.1f} |",
        f"| pages/s | {fig(ing.pages_per_s, 2)} | {tut.pages_per_s:.2f} |",
        f"| chunks/s | {fig(ing.chunks_per_s, 2)} | {tut.chunks_per_s:.2f} |",
        f"| embedding the same chunk texts alone (s) | {fig(ing.embed_alone_seconds)} | "
        f"{tut.embed_seconds:.1f} (inside its ingest) |",
        f"| ingest / embedding alone (wall) | {fig(ing.ratio_to_embedding, 3, '×')} | "
        f"{fig(tut.ratio_to_embedding, 3, '×')} |",
        f"| ingest / embedding alone (CPU time) | {fig(ing.cpu_ratio_to_embedding, 3, '×')} | |",
        f"| ingest minus its own embedding time (s) | {fig(ing.non_embedding_seconds, 2)} | |",
        f"| unchanged re-ingest (s) | {fig(ing.reingest_seconds, 3)} "
        f"({ing.reingest_embedded} chunks embedded) | |",
        "",
    ]


def _latency_rows(label: str, lat: LatencyByLanguage, base: LatencyByLanguage, n: int) -> list[str]:
    rows = []
    for suffix, ours, tut in (
        (f"all {n}", lat.all, base.all),
        ("Chinese", lat.zh, base.zh),
        ("English", lat.en, base.en),
    ):
        rows.append(
            f"| {label}, {suffix} | {fig(ours.p50)} | {fig(ours.p95)} | {fig(tut.p50)} | "
            f"{fig(tut.p95)} |"
        )
    return rows


def _latency(results: BenchResults) -> list[str]:
    rows = [
        "## Warm latency (ms)",
        "",
        "| | p50 | p95 | tutorial p50 | tutorial p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    ret = results.get(RetrievalSection)
    if ret is not None:
        rows += _latency_rows("retrieval", ret.latency.subject, ret.latency.baseline, ret.queries)
    ext = results.get(ExtractiveSection)
    if ext is not None:
        first = ext.first_ask.latency
        rows.append(
            f"| extractive answer, warm ({ext.questions} questions) | {fig(ext.warm.p50)} | "
            f"{fig(ext.warm.p95)} | | |"
        )
        rows.append(
            f"| extractive answer, first ask (1 run) | {fig(first.p50)} | {fig(first.p95)} | | |"
        )
    loc = results.get(LocalSection)
    if loc is not None:
        for label, o, t in (
            ("first token", loc.ours.first_token, loc.tutorial.first_token),
            ("total", loc.ours.total, loc.tutorial.total),
        ):
            rows.append(
                f"| local LLM {label} ({loc.questions} questions) | {fig(o.p50, 0)} | "
                f"{fig(o.p95, 0)} | {fig(t.p50, 0)} | {fig(t.p95, 0)} |"
            )
        rows += [
            "",
            "| local LLM answer prompt, tokens (mean) | ours | tutorial |",
            "|---|---:|---:|",
            f"| whole prompt | {fig(loc.ours.prompt_tokens, 0)} | "
            f"{fig(loc.tutorial.prompt_tokens, 0)} |",
            "| evaluated per question (yes/no, answer, checks) | "
            f"{fig(loc.ours.evaluated_tokens, 0)} | "
            f"{fig(loc.tutorial.evaluated_tokens, 0)} |",
        ]
        rows += _language_gap(loc)
        rates = loc.model_rates
        if rates is not None:
            rows += [
                "",
                f"The model itself here ({rates.threads} threads, flash attention "
                f"{'on' if rates.flash_attn else 'off'}): prompt evaluation "
                f"{rates.prompt_tokens_per_s} tokens/s ({rates.prompt_tokens}-token prompt), "
                f"generation {rates.generation_tokens_per_s} tokens/s. A prompt of N new tokens "
                "cannot give its first token before N divided by the first rate.",
            ]
    if ret is not None:
        st = ret.stages_ms
        parts = [
            ("embed query", st.embed_query),
            ("dense search", st.dense_search),
            ("BM25 index lookup", st.bm25_lookup),
            ("BM25 search", st.bm25_search),
            ("fetch BM25-only chunks", st.fetch_chunks),
            ("whole search", st.whole_search),
            ("rest", st.rest),
        ]
        rows += [
            "",
            "Retrieval stages, median ms of one query: "
            + ", ".join(f"{name} {ms:.1f}" for name, ms in parts if ms is not None)
            + ".",
        ]
    return [*rows, ""]


def _cold(results: BenchResults) -> list[str]:
    rows = [
        "## Cold start and memory",
        "",
        "| | process start → answer (s) | peak RSS (MiB) |",
        "|---|---:|---:|",
    ]
    cold = results.get(ColdSection)
    if cold is not None:
        for name, m in cold.modes.items():
            rows.append(
                f"| `whitepaper ask`, {name} | {fig(m.answer_s, 2)} | {fig(m.peak_rss_mib, 0)} |"
            )
        for name, why in cold.not_run.items():
            rows.append(f"| `whitepaper ask`, {name} | {why} | |")
    ui = results.get(UiSection)
    if ui is not None:
        rows.append(
            f"| `whitepaper ui` → HTTP 200 | {fig(ui.ready_s, 2)} | "
            f"{fig(ui.peak_rss_at_ready_mib, 0)} (at ready) |"
        )
    elif (run := results.section("ui")) is not None:
        rows.append(f"| `whitepaper ui` | {run.status}: {run.reason} | |")
    return [*rows, ""]


def _server(results: BenchResults) -> list[str]:
    srv = results.get(ServerSection)
    if srv is None:
        return _missing("Chroma server", results.section("server"))
    r, e, i = srv.retrieval, srv.extractive_warm, srv.ingest
    return [
        "## Embedded Chroma vs a Chroma server (`WHITEPAPER_CHROMA_URL`)",
        "",
        "| | embedded | server | server / embedded |",
        "|---|---:|---:|---:|",
        f"| retrieval p50 (ms) | {fig(r.baseline.all.p50)} | {fig(r.subject.all.p50)} | "
        f"{times(r.subject.all.p50, r.baseline.all.p50)} |",
        f"| retrieval p95 (ms) | {fig(r.baseline.all.p95)} | {fig(r.subject.all.p95)} | "
        f"{times(r.subject.all.p95, r.baseline.all.p95)} |",
        f"| extractive answer p50, warm (ms) | {fig(e.baseline.all.p50)} | "
        f"{fig(e.subject.all.p50)} | {times(e.subject.all.p50, e.baseline.all.p50)} |",
        f"| ingest minus embedding (s) | see Ingest | {fig(i.non_embedding_seconds, 2)} | |",
        f"| whole ingest (s) | see Ingest | {fig(i.seconds)} | |",
        f"| unchanged re-ingest (s) | see Ingest | {fig(i.reingest_seconds, 3)} | |",
        f"| cold `whitepaper ask`, extractive (s) | see above | "
        f"{fig(srv.cold_extractive.answer_s, 2)} | |",
        f"| client peak RSS (MiB) | see above | {fig(srv.cold_extractive.peak_rss_mib, 0)} | |",
        f"| server process peak RSS (MiB) | — | {srv.server_peak_rss_mib} | |",
        "",
    ]


def _scale(results: BenchResults) -> list[str]:
    scale = results.get(ScaleSection)
    run = results.section("scale")
    if run is None:
        return ["## Scale", "", "Not run (`whitepaper bench --scale --only scale`).", ""]
    if scale is None:
        return _missing("Scale", run)
    rows = [
        f"## Scale: synthetic corpus (`eval/bench/synthetic.py`), embedding `{scale.embedding}`",
        "",
        "| pages | documents | chunks | ingest (s) | ms/page | ms/page, further pages "
        "| ms/page without embedding | peak RSS (MiB) | retrieval p50 / p95 (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in scale.points:
        rows.append(
            f"| {p.pages} | {p.documents} | {p.chunks} | {p.ingest_s:.1f} | "
            f"{p.per_page_ms:.1f} | {fig(p.marginal_per_page_ms)} | "
            f"{p.non_embedding_per_page_ms:.1f} | {fig(p.peak_rss_mib, 0)} | "
            f"{fig(p.retrieval.p50)} / {fig(p.retrieval.p95)} |"
        )
    rows += [
        "",
        "ms/page, further pages: the cost of the pages added since the previous size (fixed "
        "costs such as opening Chroma and loading jieba weigh on the smallest corpus). "
        "One run per size.",
    ]
    return [*rows, ""]


def _missing(title: str, run: SectionRun | None) -> list[str]:
    if run is None:
        return [f"## {title}", "", "Not run.", ""]
    return [f"## {title}", "", f"{run.status}: {run.reason}", ""]


def _notes(results: BenchResults) -> list[str]:
    rows = ["## How it was measured", ""]
    for run in results.sections:
        note = getattr(run.result, "note", None)
        if note:
            m = run.meta
            rows.append(
                f"- **{run.name}** ({m.seconds} s, load {m.load_before}→{m.load_after}): {note}"
            )
    described = dict.fromkeys(r.tutorial for r in results.runs if r.tutorial)
    for text in described:
        rows.append(f"- **tutorial**: {text}")
    return [*rows, ""]


def _language_gap(loc: LocalSection) -> list[str]:
    """Ours, Chinese beside English questions (the first run's samples): the median first
    token and whole answer of each, and the difference."""
    by: dict[str, list[LocalSample]] = {"zh": [], "en": []}
    for sample in loc.samples:
        if sample.who == "ours" and sample.first_token_ms is not None:
            by[detect_language(sample.question)].append(sample)
    if not by["zh"] or not by["en"]:
        return []

    def med(values: list[float]) -> float:
        return float(statistics.median(values))

    rows = ["", "| ours, first run (answered questions) | Chinese | English | English − Chinese |"]
    rows.append("|---|---:|---:|---:|")
    for label, key in (("first token p50 (ms)", "first_token_ms"), ("total p50 (ms)", "total_ms")):
        zh = med([getattr(x, key) for x in by["zh"]])
        en = med([getattr(x, key) for x in by["en"]])
        rows.append(
            f"| {label} | {zh:.0f} ({len(by['zh'])}) | {en:.0f} ({len(by['en'])}) | "
            f"{en - zh:+.0f} |"
        )
    return rows
