from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from pydantic import Field

from assistant.fakes import ScriptedChatModel
from assistant.generators import ChatGenerator
from assistant.markers import citation_grammar
from assistant.types import REFUSAL, GenerationRequest, Passage


def _passage(number: int) -> Passage:
    return Passage(
        number=number,
        chunk_ids=(f"c{number}",),
        doc_id="d",
        title="t",
        content_hash="h",
        text="生成对抗网络由生成器和判别器组成。",
        start=0,
        end=17,
        page_labels=("1",),
        page_indices=(1,),
        section_path=("一",),
        score=1.0,
    )


def test_the_grammar_allows_only_the_given_numbers_and_the_refusals() -> None:
    grammar = citation_grammar([3, 1, 3])
    mark = next(line for line in grammar.splitlines() if line.startswith("mark ::="))
    assert re.findall(r'"(\d+)"', mark) == ["1", "3"]
    assert all(f'"{text}"' in grammar for text in REFUSAL.values())
    # A sentence cannot hold a bracket of its own nor end without its marker.
    assert "【】" in grammar.split("char ::=")[1].splitlines()[0]
    with pytest.raises(ValueError, match="at least one passage"):
        citation_grammar([])


def test_llama_cpp_parses_the_grammar() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    llama_cpp.LlamaGrammar.from_string(citation_grammar([1, 2, 5]), verbose=False)


class _GrammarModel(ScriptedChatModel):
    accepts_grammar: bool = True
    seen: list[dict[str, Any]] = Field(default_factory=list)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: Any = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        self.seen.append(kwargs)
        yield from super()._stream(messages, stop, run_manager, **kwargs)


def _request(numbers: list[int]) -> GenerationRequest:
    return GenerationRequest("问题？", "问题？", "zh", tuple(_passage(n) for n in numbers))


def test_a_model_that_takes_a_grammar_gets_the_one_for_its_passages() -> None:
    model = _GrammarModel(replies=["生成对抗网络由生成器和判别器组成。【2】"], seen=[])
    text = "".join(ChatGenerator(model, mode="local").stream(_request([1, 2])))
    assert text.endswith("【2】")
    (kwargs,) = model.seen
    assert kwargs["grammar"] == citation_grammar([1, 2])


def test_another_model_is_asked_by_the_prompt_alone() -> None:
    model = ScriptedChatModel(replies=["生成对抗网络由生成器和判别器组成。【1】"])
    assert "".join(ChatGenerator(model, mode="openai").stream(_request([1]))).endswith("【1】")
