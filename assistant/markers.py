"""Citations by construction: a llama.cpp grammar (GBNF) that lets the model write only cited
sentences, or the fixed refusal.

Asking a small model to end every sentence with 【n】 is a hope: on questions written apart from
the project one answer in five carried no marker at all. With :func:`citation_grammar` the
sampler cannot end a sentence without one, and cannot write a number that names no passage:

* a sentence is text without sentence-ending punctuation, closed by one or more markers and an
  optional full stop (``……【1】。``), or by a full stop and then the markers (``……。【1】``);
* a marker is 【n】 for an n of the passages the prompt numbered, and nothing else, at most
  ``MAX_MARKS`` of them after a sentence (a small model otherwise repeats 【1】 until it runs
  out of tokens); the brackets 【】 and [] cannot appear inside a sentence (the paper's own
  reference numbers, "AlexNet[1]", read as citations when copied);
* an English answer (``language="en"``) holds no Chinese characters or full-width punctuation:
  the reader asked in English, and a small model left free drifts into copying the Chinese
  evidence mid-sentence;
* a full stop inside a sentence is allowed only before a letter or a digit (``43.25``,
  ``e.g.``, ``U.S.``), so an English sentence cannot end without its marker either. Before
  any other character it would leave a model that has written "…)." and wants to stop a vast
  choice of odd characters: seen wandering through invisible byte tokens to the token limit
  (16 s) instead of writing its 【n】;
* the whole answer may instead be exactly one of the refusal sentences.

:func:`translation_grammar` binds a translation of ``k`` quotes: exactly ``k`` English
sentences, the i-th ending with 【i】, so translation i can be checked against quote i.

Whether a cited sentence says what its passage says is the support checker's job; the grammar
only makes sure there is a claim-to-passage link to check.
"""

from __future__ import annotations

from collections.abc import Iterable

from assistant.types import REFUSAL, Language

__all__ = ["MAX_MARKS", "citation_grammar", "translation_grammar"]

MAX_MARKS = 3
_END = "。！？!?."
# Square brackets too: the white paper numbers its references "AlexNet[1]", and a model that
# copies or imitates them writes an ASCII "[1]" the reader takes for a citation.
_NEVER_IN_BODY = "【】\\[\\]\\n\\r" + _END
# Curly quotes (a small model pads with them when it cannot copy Chinese), CJK symbols and
# punctuation, CJK ideographs, full-width forms.
_CJK = "\\u2018-\\u201f\\u3000-\\u303f\\u3400-\\u4dbf\\u4e00-\\u9fff\\uff00-\\uffef"


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def citation_grammar(
    numbers: Iterable[int],
    refusals: Iterable[str] = REFUSAL.values(),
    language: Language | None = None,
) -> str:
    """The GBNF grammar of an answer citing only ``numbers``, in ``language`` when it is
    English (see the module docstring).

    Raises:
        ValueError: With no passage number (there is nothing to cite).
    """
    allowed = sorted(set(numbers))
    if not allowed:
        raise ValueError("a citation grammar needs at least one passage number")
    index = " | ".join(_literal(str(n)) for n in allowed)
    never = _NEVER_IN_BODY + (_CJK if language == "en" else "")
    refusal = " | ".join(_literal(text) for text in refusals)
    return "\n".join(
        [
            "root ::= refusal | answer",
            f"refusal ::= {refusal}",
            "answer ::= sentence (gap? sentence)*",
            'gap ::= " " | "\\n"',
            "sentence ::= body (stop marks | marks stop?)",
            *_body_rules(never),
            "marks ::= mark" + " mark?" * (MAX_MARKS - 1),
            f'mark ::= "【" ({index}) "】"',
        ]
    )


def translation_grammar(count: int) -> str:
    """The GBNF grammar of ``count`` English sentences (no Chinese character, no bracket), the
    i-th closed by 【i】 (see the module docstring).

    Raises:
        ValueError: With no sentence to translate.
    """
    if count < 1:
        raise ValueError("a translation grammar needs at least one sentence")
    never = _NEVER_IN_BODY + _CJK
    rules = ["root ::= " + " gap ".join(f"t{i}" for i in range(1, count + 1))]
    rules += [f't{i} ::= body (stop "【{i}】" | "【{i}】" stop?)' for i in range(1, count + 1)]
    rules += ['gap ::= " " | "\\n"', *_body_rules(never)]
    return "\n".join(rules)


def _body_rules(never: str) -> list[str]:
    """A sentence's text (no character of ``never``; a full stop only before a letter or a
    digit) and the stop that may end it."""
    return [
        "body ::= char+",
        f'char ::= [^{never}] | "." [0-9A-Za-z]',
        f"stop ::= [{_END}]",
    ]
