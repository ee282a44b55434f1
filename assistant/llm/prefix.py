"""Saved KV states of prompt prefixes, so a system prompt is evaluated once per process.

``Llama`` already reuses the longest common prefix with the *previous* prompt. Any other call in
between (an English question's translation, a follow-up condensation, a support judgement)
replaces that prefix, and the next answer pays for the ~200-token system prompt again (about
1.3 s on two cores). :class:`PrefixStates` keeps a copy of the KV cells of a few such prefixes
(llama.cpp's per-sequence state, ~27 KiB per token for the 1.5B model) and writes them back
before the call instead of evaluating them again.
"""

from __future__ import annotations

import ctypes
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = ["PrefixStates", "PromptStats", "common_prefix", "system_prefix_tokens"]

log = logging.getLogger(__name__)

#: The sequence llama-cpp-python's ``Llama`` evaluates into.
_SEQ = 0

Outcome = Literal["kept", "restored", "evaluated"]


@dataclass(frozen=True)
class PromptStats:
    """One chat prompt: its length in tokens and how many the call did not have to evaluate."""

    tokens: int
    #: Tokens whose KV cells were already there (kept from the last call, or restored).
    reused: int
    #: What happened to the system prompt's state: kept, restored, evaluated (None: no system).
    system_prefix: Outcome | None

    @property
    def evaluated(self) -> int:
        """Prompt tokens the call evaluates (the system prompt counts when evaluated now)."""
        return self.tokens - self.reused


@dataclass(frozen=True)
class _State:
    tokens: tuple[int, ...]
    data: bytes

    def __repr__(self) -> str:
        return f"_State(tokens={len(self.tokens)}, bytes={len(self.data)})"


class PrefixStates:
    """A small LRU of KV states keyed by the prefix's tokens. Use under the runtime's lock."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._states: OrderedDict[tuple[int, ...], _State] = OrderedDict()
        self.counts: dict[Outcome, int] = {"kept": 0, "restored": 0, "evaluated": 0}

    def __len__(self) -> int:
        return len(self._states)

    def ensure(self, llm: Llama, tokens: Sequence[int]) -> Outcome:
        """Leave ``llm``'s context holding exactly ``tokens`` as its start, cheapest way first.

        ``kept``: already there (the previous prompt began the same way); ``restored``: the
        saved state was written back; ``evaluated``: computed now and saved for next time.
        Either way ``llm.generate`` then finds the prefix and evaluates only what follows.
        """
        key = tuple(tokens)
        if not key:
            return "kept"
        outcome: Outcome
        if llm.n_tokens >= len(key) and tuple(llm.input_ids[: len(key)].tolist()) == key:
            outcome = "kept"
        elif key in self._states and self._restore(llm, self._states[key]):
            outcome = "restored"
        else:
            llm.n_tokens = 0  # eval() drops every KV cell from n_tokens on
            llm.eval(list(key))
            self._save(llm, key)
            outcome = "evaluated"
        if key in self._states:
            self._states.move_to_end(key)
        elif outcome == "kept":
            self._save(llm, key)
        self.counts[outcome] += 1
        log.debug("prompt prefix of %d tokens %s", len(key), outcome)
        return outcome

    def _save(self, llm: Llama, key: tuple[int, ...]) -> None:
        """Save the KV cells of ``key`` (the context must hold it at positions 0..len-1)."""
        import llama_cpp

        extra = llm.n_tokens - len(key)
        if extra > 0:
            # Only the prefix is wanted; the cells after it belong to the last prompt.
            llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), _SEQ, len(key), -1)
            llm.n_tokens = len(key)
        size = llama_cpp.llama_state_seq_get_size(llm.ctx, _SEQ)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(llm.ctx, buffer, size, _SEQ)
        if written == 0:
            log.debug("llama.cpp returned no state for a prefix of %d tokens", len(key))
            return
        self._states[key] = _State(key, bytes(buffer)[:written])
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)

    @staticmethod
    def _restore(llm: Llama, state: _State) -> bool:
        import llama_cpp

        size = len(state.data)
        buffer = (ctypes.c_uint8 * size).from_buffer_copy(state.data)
        if llama_cpp.llama_state_seq_set_data(llm.ctx, buffer, size, _SEQ) == 0:
            log.debug("llama.cpp refused a saved prefix state; evaluating it again")
            return False
        n = len(state.tokens)
        llm.input_ids[:n] = state.tokens
        llm.n_tokens = n
        return True


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the longest common prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def system_prefix_tokens(llm: Llama, formatter: Any, messages: Sequence[Any]) -> list[int]:
    """The tokens of ``messages``' leading system message as the chat template renders it.

    ``formatter`` is a ``Jinja2ChatFormatter`` without the generation prompt. For ChatML
    templates the system turn ends in a special token, so these tokens are exactly the start
    of the whole prompt's tokens. Empty when the first message is not a system message.
    """
    if not messages or messages[0].get("role") != "system":
        return []
    rendered = formatter(messages=[messages[0]])
    return llm.tokenize(
        rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
    )
