"""The synthetic corpus of the scale benchmark: white paper pages with varied numbers and names.

Document ``v`` of the corpus is the 55-page white paper in which every number of two or more
digits is replaced by another of the same length and every company, product or institution
name of :data:`NAMES` by an invented one, both drawn from a generator seeded with ``v``. Pages
keep their layout, running header, printed numbers and footnotes, so the real cleaning and
chunking pipeline sees what it sees in the original. A corpus of ``N`` pages is
``N // 55`` whole documents and the first ``N % 55`` pages of one more.

The PDFs are drawn by ``data/aigc-whitepaper-2022/build_pdf.py`` (reportlab, STSong-Light,
deterministic bytes), imported from its path rather than copied. Same arguments, same files.

Usage::

    python -m eval.bench.synthetic --pages 2000 --out /tmp/corpus
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import random
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "data" / "aigc-whitepaper-2022" / "build_pdf.py"
_MODULE_NAME = "aigc_whitepaper_build_pdf"

#: Names in the white paper that each synthetic document replaces with invented ones.
NAMES = (
    "中国信息通信研究院",
    "京东探索研究院",
    "科大讯飞",
    "新华社",
    "英伟达",
    "百度",
    "腾讯",
    "阿里",
    "京东",
    "微软",
    "谷歌",
    "华为",
    "央视",
    "OpenAI",
    "DeepMind",
    "Roblox",
    "Gucci",
    "Gartner",
    "Meta",
    "IBM",
)
_ZH_SYLLABLES = "星云澜启明曜衡远拓极智航鸿瀚青岚朗睿峰川泽熙宸越"
_ZH_SUFFIXES = ("科技", "智能", "数科", "研究院", "传媒", "集团")
_LATIN_SYLLABLES = ("no", "va", "zen", "tri", "lu", "mar", "qo", "dex", "ra", "vel", "sy", "on")
_NUMBER = re.compile(r"\d{2,}")


def load_build_module() -> ModuleType:
    """Import ``build_pdf.py`` from its path (its folder is not a Python package)."""
    if _MODULE_NAME in sys.modules:
        return sys.modules[_MODULE_NAME]
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, BUILD_SCRIPT)
    if spec is None or spec.loader is None:  # pragma: no cover - a broken checkout
        raise ImportError(f"cannot load {BUILD_SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@functools.cache
def _source_pages() -> list[Any]:
    """The white paper's pages parsed from ``source.txt`` (once per process)."""
    return list(load_build_module().load_pages())


def invented_names(variant: int, seed: int = 0) -> dict[str, str]:
    """A replacement for every name of :data:`NAMES`, fixed for one document variant."""
    rng = random.Random(f"names-{seed}-{variant}")
    out: dict[str, str] = {}
    for name in NAMES:
        if re.search(r"[A-Za-z]", name):
            word = "".join(rng.choice(_LATIN_SYLLABLES) for _ in range(rng.randint(2, 3)))
            out[name] = word.capitalize() + ("AI" if rng.random() < 0.3 else "")
        else:
            stem = "".join(rng.sample(_ZH_SYLLABLES, 2))
            out[name] = stem + rng.choice(_ZH_SUFFIXES)
    return out


def vary_line(line: str, rng: random.Random, names: dict[str, str]) -> str:
    """One body or footnote line with its multi-digit numbers and known names replaced."""
    # Longest names first, so 京东探索研究院 is not half-replaced as 京东.
    for name in sorted(names, key=len, reverse=True):
        if name in line:
            line = line.replace(name, names[name])

    def number(match: re.Match[str]) -> str:
        digits = match.group(0)
        first = str(rng.randint(1, 9))
        return first + "".join(str(rng.randint(0, 9)) for _ in digits[1:])

    return _NUMBER.sub(number, line)


def variant_specs(variant: int, seed: int = 0) -> list[Any]:
    """The drawable pages (``build_pdf.PageSpec``) of document ``variant``."""
    build = load_build_module()
    names = invented_names(variant, seed)
    pages = _source_pages()
    specs = []
    for page, spec in zip(pages, build.page_specs(pages), strict=True):
        rng = random.Random(f"numbers-{seed}-{variant}-{page.index}")
        specs.append(
            build.PageSpec(
                lines=tuple(vary_line(line, rng, names) for line in spec.lines),
                header=spec.header,
                footer=spec.footer,
                footnotes=tuple(vary_line(line, rng, names) for line in spec.footnotes),
            )
        )
    return specs


def build_corpus(out_dir: Path, pages: int, seed: int = 0) -> list[Path]:
    """Write a corpus of ``pages`` pages as PDFs of (at most) 55 pages each; their paths."""
    if pages < 1:
        raise ValueError(f"pages must be at least 1, got {pages}")
    build = load_build_module()
    per_doc = build.EXPECTED_PAGE_COUNT
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    variant = 0
    left = pages
    while left > 0:
        specs = variant_specs(variant, seed)[: min(left, per_doc)]
        path = out_dir / f"synthetic-{variant:03d}.pdf"
        build.render_pdf(
            path,
            specs,
            title=f"{build.TITLE}（合成语料 {variant:03d}）",
            author="whitepaper-assistant eval/bench/synthetic.py",
            subject="synthetic corpus for the scale benchmark",
        )
        paths.append(path)
        left -= len(specs)
        variant += 1
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    paths = build_corpus(args.out, args.pages, args.seed)
    print(f"wrote {len(paths)} PDF(s), {args.pages} pages, to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
