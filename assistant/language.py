"""Which language a question (or an answer sentence) is written in."""

from __future__ import annotations

import re

from assistant.types import Language

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> Language:
    """Chinese when the text has CJK ideographs not outnumbered 2:1 by Latin letters.

    So "什么是GAN？" is Chinese, while an English question quoting one Chinese term stays English.
    """
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return "zh" if cjk > 0 and cjk * 2 >= latin else "en"


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
