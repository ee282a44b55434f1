"""What ``whitepaper bench`` measures and how often: the sections and :class:`BenchConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.bench.results import ROOT, SECTION_TYPES, relative
from ingest.errors import WhitepaperError
from ingest.settings import BUNDLED_PDF

DEFAULT_SET = ROOT / "eval" / "sets" / "aigc-dev-v1.jsonl"

#: The sections in run order (the names ``--only`` takes).
SECTIONS = tuple(SECTION_TYPES)
#: Everything but the synthetic scale series (about an hour with e5).
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s != "scale")


class BenchError(WhitepaperError):
    """The benchmark cannot run as asked (unknown section, a failed ingest, a dead server)."""


@dataclass(frozen=True)
class BenchConfig:
    """What to measure and how often."""

    runs: int = 3
    queries: int = 200
    answers: int = 20
    llm_questions: int = 10
    llm_runs: int | None = None  # None: ``runs``
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    scale_pages: tuple[int, ...] = (55, 500, 2000)
    scale_embedding: str | None = None
    pdf: Path = BUNDLED_PDF
    eval_set: Path = DEFAULT_SET
    profiles_dir: Path = Path("bench") / "profiles"
    #: Profile every path; False: only the paths whose target is missed.
    profile_all: bool = True

    @property
    def local_runs(self) -> int:
        return self.llm_runs or self.runs

    def profile_path(self, name: str) -> Path:
        """Where the profile of path ``name`` is written."""
        return self.profiles_dir / f"{name}.txt"

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "queries": self.queries,
            "answers": self.answers,
            "llm_questions": self.llm_questions,
            "llm_runs": self.local_runs,
            "sections": list(self.sections),
            "scale_pages": list(self.scale_pages),
            "scale_embedding": self.scale_embedding,
            "pdf": relative(self.pdf),
            "eval_set": relative(self.eval_set),
            "profile_all": self.profile_all,
        }


def parse_sections(text: str | None, scale: bool = False) -> tuple[str, ...]:
    """``"ingest,quality"`` -> the sections in run order; None -> the defaults (+ scale)."""
    if not text:
        chosen = set(DEFAULT_SECTIONS) | ({"scale"} if scale else set())
    else:
        chosen = {s.strip() for s in text.split(",") if s.strip()}
        unknown = sorted(chosen - set(SECTIONS))
        if unknown:
            raise BenchError(
                f"unknown bench section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}"
            )
        if scale:
            chosen.add("scale")
    return tuple(s for s in SECTIONS if s in chosen)


def parse_pages(text: str) -> tuple[int, ...]:
    """``"55,500,2000"`` -> (55, 500, 2000)."""
    try:
        pages = tuple(sorted({int(p) for p in text.split(",") if p.strip()}))
    except ValueError as exc:
        raise BenchError(f"--scale-pages takes page counts like 55,500,2000, not {text!r}") from exc
    if not pages or pages[0] < 1:
        raise BenchError(f"--scale-pages needs positive page counts, got {text!r}")
    return pages
