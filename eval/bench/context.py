"""What the sections share: the fixtures of one run (indexes, the tutorial, the assistant) and
the helpers they time with.

:class:`BenchContext` builds each fixture on first use, untimed: a section asks for
``ctx.assistant()`` or ``ctx.tutorial()`` and gets the one every section uses. The ingest
section, which builds both while timing them, hands them over (:meth:`BenchContext.use_index`,
:meth:`BenchContext.use_tutorial`) so they are not built twice.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.embeddings import Embeddings

from assistant.chain import Assistant
from assistant.factory import build_assistant
from assistant.settings import AssistantSettings
from assistant.types import Turn
from eval.bench import measure
from eval.bench.config import BenchConfig, BenchError
from eval.bench.measure import timed
from eval.bench.results import Latency, PairRun, Profile, RunLatency, TutorialIngest
from eval.bench.tutorial import TutorialPipeline
from eval.dataset import EvalItem
from eval.runner import select_subset
from ingest.index import Index
from ingest.pipeline import Ingestor, IngestReport
from ingest.text import detect_language

log = logging.getLogger(__name__)

X = TypeVar("X")


class NotRun(Exception):
    """A section that cannot run here: ``status`` is ``skipped`` (as asked) or ``unavailable``."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class BenchContext:
    """The settings, config, embedder and eval items of one run, and its lazily built fixtures."""

    def __init__(
        self,
        settings: AssistantSettings,
        config: BenchConfig,
        work: Path,
        embeddings: Embeddings,
        items: Sequence[EvalItem],
    ) -> None:
        self.settings = settings
        self.config = config
        self.work = work
        self.embeddings = embeddings
        self.items = list(items)
        self._home: Path | None = None
        self._tutorial: TutorialPipeline | None = None
        self._tutorial_ingest: TutorialIngest | None = None
        self._assistant: Assistant | None = None
        self._warm = False

    def home_settings(self, home: Path, **update: Any) -> AssistantSettings:
        """The run's settings for an embedded index in ``home`` (plus ``update``)."""
        fields = {"home": home, "chroma_url": None, "collection": "whitepaper"} | update
        return self.settings.model_copy(update=fields)

    def warm_up(self) -> None:
        """Load the embedding model, jieba and Chroma before anything is timed."""
        if self._warm:
            return
        import chromadb  # noqa: F401

        from ingest.text import tokenize

        self.embeddings.embed_documents(["预热：人工智能生成内容。"])
        self.embeddings.embed_query("预热")
        tokenize("人工智能生成内容预热")
        self._warm = True

    def ingest(
        self, home: Path, settings: AssistantSettings | None = None
    ) -> tuple[Index, IngestReport]:
        """A fresh index of the config's PDF in ``home`` (left open for the caller)."""
        settings = settings or self.home_settings(home)
        index = Index(settings, self.embeddings, create=True)
        report = Ingestor(settings, self.embeddings, index).ingest([self.config.pdf])
        if report.failed:
            index.close()
            raise BenchError(f"cannot ingest {self.config.pdf}: {report.failed[0].error}")
        return index, report

    def use_index(self, home: Path) -> None:
        """Adopt an index of the PDF that a section built (the home of :meth:`our_home`)."""
        self._home = home

    def our_home(self) -> Path:
        """The home of our index of the PDF, ingested untimed if no section built one."""
        if self._home is None:
            self.warm_up()
            home = self.work / "ours"
            self.ingest(home)[0].close()
            self._home = home
        return self._home

    def build_tutorial(self) -> tuple[TutorialPipeline, TutorialIngest]:
        """A new tutorial pipeline over the PDF, timed; the run uses it from now on."""
        tutorial = TutorialPipeline(self.embeddings, self.work / "tutorial")
        with timed() as t:
            done = tutorial.ingest(self.config.pdf)
        figures = TutorialIngest(
            pages=done.pages,
            chunks=done.chunks,
            seconds=round(t.wall, 3),
            cpu_seconds=round(t.cpu, 3),
            embed_seconds=round(done.embed_seconds, 3),
            pages_per_s=round(done.pages / t.wall, 3),
            chunks_per_s=round(done.chunks / t.wall, 3),
            ratio_to_embedding=round(t.wall / done.embed_seconds, 3)
            if done.embed_seconds
            else None,
        )
        self._tutorial, self._tutorial_ingest = tutorial, figures
        return tutorial, figures

    def tutorial(self) -> TutorialPipeline:
        """The tutorial pipeline over the PDF, built (and its ingest timed) on first use."""
        if self._tutorial is None:
            self.warm_up()
            self.build_tutorial()
        assert self._tutorial is not None
        return self._tutorial

    def assistant(self) -> Assistant:
        """Our assistant over :meth:`our_home`, with the run's embedder."""
        if self._assistant is None:
            settings = self.home_settings(self.our_home())
            self._assistant = build_assistant(
                settings, embeddings=self.embeddings, index=Index(settings, self.embeddings)
            )
        return self._assistant

    def forget_queries(self) -> None:
        """Empty the embedder's memo of recent queries, so each query is embedded anew.

        The benchmark times new questions: a memo hit would time a dictionary lookup instead
        of the query embedding every new question pays. The e5 wrapper has no public way to
        empty it, so its attribute is cleared here (any other embedder has none).
        """
        forget_queries(self.embeddings)

    def profile_loop(
        self, name: str, stages: Mapping[str, str], calls: Sequence[Callable[[], Any]]
    ) -> Profile:
        """Profile ``calls`` (each with a new query embedding) into the profile ``name``."""
        log.info("bench: profiling %s (%d calls)", name, len(calls))
        with measure.profiled(self.config.profile_path(name), stages) as got:
            for call in calls:
                self.forget_queries()
                call()
        return got[0]

    def should_profile(self, *missed: bool) -> bool:
        """Profile when every path is profiled, or when this path missed a target."""
        return self.config.profile_all or any(missed)


def forget_queries(embeddings: Embeddings) -> None:
    """See :meth:`BenchContext.forget_queries`."""
    memo = getattr(embeddings, "_queries", None)
    if isinstance(memo, dict):
        memo.clear()


# -- question sets ---------------------------------------------------------------------------


def retrieval_queries(items: Sequence[EvalItem], n: int) -> list[tuple[str, str]]:
    """``n`` queries (text, language): the dev set's questions and follow-up openers, cycled."""
    texts = list(
        dict.fromkeys(
            [i.question for i in items]
            + [t.content for i in items for t in i.history if t.role == "user"]
        )
    )
    out = [texts[k % len(texts)] for k in range(n)] if texts else []
    return [(q, detect_language(q)) for q in out]


def answer_items(items: Sequence[EvalItem], n: int) -> list[EvalItem]:
    """A fixed type-stratified sample (all five types, both languages) for answer timings."""
    return select_subset(items, n, seed=0)


def llm_items(items: Sequence[EvalItem], n: int) -> list[EvalItem]:
    """``n`` answerable single-turn questions, about 70% Chinese and 30% English, spread out."""
    pool = [i for i in items if i.answerable and not i.history]
    zh = [i for i in pool if detect_language(i.question) == "zh"]
    en = [i for i in pool if detect_language(i.question) == "en"]
    n_en = min(len(en), round(n * 0.3))
    n_zh = min(len(zh), n - n_en)

    def spread(pool: list[EvalItem], k: int) -> list[EvalItem]:
        return [pool[(j * len(pool)) // k] for j in range(k)] if k else []

    chosen = spread(zh, n_zh) + spread(en, n_en)
    order = {item.id: k for k, item in enumerate(items)}
    return sorted(chosen, key=lambda i: order[i.id])


def turns(item: EvalItem) -> list[Turn]:
    """The item's conversation history as assistant turns."""
    return [Turn(t.role, t.content) for t in item.history]


def languages(texts: Iterable[str]) -> dict[str, int]:
    """How many of ``texts`` are in each language."""
    out: dict[str, int] = {}
    for text in texts:
        lang = detect_language(text)
        out[lang] = out.get(lang, 0) + 1
    return out


# -- timing two paths side by side -----------------------------------------------------------


def time_pair(
    ctx: BenchContext,
    inputs: Sequence[tuple[X, str]],
    subject: Callable[[X], Any],
    baseline: Callable[[X], Any],
    run: int,
) -> PairRun:
    """Time both calls on every (input, language); which goes first alternates per input."""
    times: dict[str, list[float]] = {"subject": [], "baseline": []}
    calls = {"subject": subject, "baseline": baseline}
    for k, (value, _) in enumerate(inputs):
        order = ("subject", "baseline") if (k + run) % 2 == 0 else ("baseline", "subject")
        for name in order:
            ctx.forget_queries()
            started = time.perf_counter()
            calls[name](value)
            times[name].append((time.perf_counter() - started) * 1000)
    langs = [lang for _, lang in inputs]
    return PairRun(by_language(times["subject"], langs), by_language(times["baseline"], langs))


def by_language(samples_ms: Sequence[float], langs: Sequence[str]) -> RunLatency:
    """One run's latencies, all and split by the language of each input."""

    def only(lang: str) -> Latency:
        return Latency.of([v for v, lg in zip(samples_ms, langs, strict=True) if lg == lang])

    return RunLatency(Latency.of(samples_ms), only("zh"), only("en"))


# -- child processes -------------------------------------------------------------------------


def copy_home(source: Path, target: Path) -> Path:
    """A copy of an index home for child processes (so they never touch the one in use)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("sentence_vectors.sqlite*"))
    return target


def child_env(settings: AssistantSettings, home: Path) -> dict[str, str]:
    """The environment of a ``whitepaper`` child process on ``home`` with the run's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHITEPAPER_")}
    env |= {
        "WHITEPAPER_HOME": str(home),
        "WHITEPAPER_EMBEDDING": settings.embedding,
        "WHITEPAPER_MODEL_CACHE": str(settings.model_cache),
        "WHITEPAPER_LLM_THREADS": str(settings.llm_threads),
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    if settings.embed_threads is not None:
        env["WHITEPAPER_EMBED_THREADS"] = str(settings.embed_threads)
    return env


def console_script(name: str) -> str:
    """A console script of this environment (beside the running Python), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise BenchError(f"the {name!r} command is not installed: run `make install`")
    return found


def mean(values: Iterable[float]) -> float | None:
    """The mean rounded to 4 digits, or None for no values."""
    kept = list(values)
    return round(sum(kept) / len(kept), 4) if kept else None
