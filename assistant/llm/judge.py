"""Support judges backed by a chat LLM: "does this passage support this sentence?".

Both judges ask the same yes/no question and turn the model's first answer token into
P(yes) = P(yes-group) / (P(yes-group) + P(no-group)), which is far better calibrated than parsing
the text answer. :class:`LlamaSupportJudge` reads the next-token logits straight from the llama.cpp
context (``Llama.scores`` stays empty unless ``logits_all=True``, which costs a full vocabulary
projection per prompt token); :class:`OpenAISupportJudge` uses ``top_logprobs`` when the endpoint
returns them and falls back to the text answer (1.0 / 0.0) when it does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.llm.local import ChatLlamaCpp, LlamaRuntime
from assistant.llm.openai_compat import MAX_RETRIES, REQUEST_TIMEOUT_S, endpoint_config
from assistant.llm.prefix import common_prefix
from assistant.settings import GenerationSettings
from ingest.errors import ModelUnavailable
from ingest.text import has_ideograph

if TYPE_CHECKING:
    from llama_cpp import Llama
    from openai import OpenAI

__all__ = [
    "DEFAULT_THRESHOLD",
    "NO_WORDS",
    "YES_WORDS",
    "LlamaSupportJudge",
    "OpenAISupportJudge",
    "answer_messages",
    "judge_messages",
    "p_yes",
]

DEFAULT_THRESHOLD = 0.8
#: First answer tokens counted as "supported" / "not supported" (each a single Qwen token).
YES_WORDS = ("是", "成立", "Yes", "yes", "YES")
NO_WORDS = ("否", "不", "No", "no", "NO")

_SYSTEM = "你是严谨的事实核查员，只依据给出的资料判断陈述是否成立。"


def judge_messages(sentence: str, passage: str) -> list[dict[str, str]]:
    """The yes/no question both judges ask. The passage comes first so that judging several
    sentences against one passage reuses the cached prompt prefix."""
    if has_ideograph(sentence):
        question = f"陈述：{sentence}\n\n根据资料，该陈述是否成立？只回答“是”或“否”。"
    else:
        question = (
            f"Statement: {sentence}\n\n"
            "Based on the passage, is the statement true? Answer only Yes or No."
        )
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": f"资料：\n{passage}\n\n{question}"},
    ]


def answer_messages(question: str, evidence: str) -> list[dict[str, str]]:
    """The yes/no question "do these sentences answer the question?" asked before generation."""
    if has_ideograph(question):
        ask = f"问题：{question}\n\n这些资料是否给出了该问题所问的具体信息？只回答“是”或“否”。"
    else:
        ask = (
            f"Question: {question}\n\n"
            "Do these passages state the specific information the question asks for? "
            "Answer only Yes or No."
        )
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": f"资料：\n{evidence}\n\n{ask}"},
    ]


def p_yes(yes_logits: Sequence[float], no_logits: Sequence[float]) -> float:
    """P(yes) normalised over the yes/no groups, from (log-)probabilities or logits."""
    yes = _logsumexp(yes_logits)
    no = _logsumexp(no_logits)
    if yes == -math.inf and no == -math.inf:
        return 0.0
    return 1.0 / (1.0 + math.exp(min(no - yes, 700.0)))


class LlamaSupportJudge:
    """SupportJudge over the local llama.cpp model, sharing the chat model's runtime and lock.

    Costs one prompt evaluation per pair and no generated token: ~3.3 s of CPU for a
    ~300-character passage (an estimated 1.7 s on 2 idle cores). Sentences judged one after another
    against the same passage reuse its cached prefix and cost only their own tokens.
    """

    name = "local-llm"

    def __init__(self, runtime: LlamaRuntime, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.runtime = runtime
        self.threshold = threshold
        self._token_groups: tuple[list[int], list[int]] | None = None
        self._formatter: Any = None
        self._for: Llama | None = None

    @classmethod
    def from_chat_model(
        cls, chat: ChatLlamaCpp, *, threshold: float = DEFAULT_THRESHOLD
    ) -> LlamaSupportJudge:
        """A judge that uses the same loaded model as ``chat``."""
        return cls(chat.runtime, threshold=threshold)

    def score(self, sentence: str, passage: str) -> float:
        """P(the model answers yes) that ``passage`` supports ``sentence``, in [0, 1]."""
        return self._p_yes(judge_messages(sentence, passage))

    def answer_score(self, question: str, evidence: str) -> float:
        """P(the model answers yes) that ``evidence`` answers ``question`` (sufficiency)."""
        return self._p_yes(answer_messages(question, evidence))

    def _p_yes(self, messages: list[dict[str, str]]) -> float:
        with self.runtime.session() as llm:
            self._prepare(llm)
            formatted = self._formatter(messages=messages)
            tokens = llm.tokenize(
                formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
            )
            logits, evaluated = _next_token_logits(llm, tokens)
            self.runtime.evaluated_tokens += evaluated
            assert self._token_groups is not None
            yes_ids, no_ids = self._token_groups
            return p_yes(logits[yes_ids].tolist(), logits[no_ids].tolist())

    def quote_score(self, sentence: str, quote: str) -> float:
        return self.score(sentence, quote)

    def _prepare(self, llm: Llama) -> None:
        if self._for is llm:
            return
        formatters = self.runtime.chat_formatters(llm)
        if formatters is None:
            raise ModelUnavailable("the local model has no chat template; cannot ask it to judge")
        self._formatter = formatters[0]
        self._token_groups = (_single_tokens(llm, YES_WORDS), _single_tokens(llm, NO_WORDS))
        self._for = llm


class OpenAISupportJudge:
    """SupportJudge through an OpenAI-compatible chat endpoint (settings.openai_*).

    Uses ``logprobs``/``top_logprobs`` of the first answer token when the server provides them;
    otherwise reads the text answer (1.0 for yes, 0.0 for no or anything else).
    """

    name = "openai-llm"

    def __init__(
        self,
        settings: GenerationSettings,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        client: OpenAI | None = None,
        top_logprobs: int = 10,
    ) -> None:
        self.threshold = threshold
        self.top_logprobs = top_logprobs
        self.endpoint = endpoint_config(settings)
        self._client = client
        #: None until the first call finds out whether the endpoint returns logprobs.
        self.logprobs_supported: bool | None = None

    def score(self, sentence: str, passage: str) -> float:
        return self._p_yes(judge_messages(sentence, passage))

    def answer_score(self, question: str, evidence: str) -> float:
        """P(yes) that ``evidence`` answers ``question`` (sufficiency)."""
        return self._p_yes(answer_messages(question, evidence))

    def _p_yes(self, messages: list[dict[str, str]]) -> float:
        if self.logprobs_supported is not False:
            response = self._ask(messages, logprobs=True)
            if response is not None:
                score = _score_from_logprobs(response)
                if score is not None:
                    self.logprobs_supported = True
                    return score
            self.logprobs_supported = False
        response = self._ask(messages, logprobs=False)
        assert response is not None
        return _score_from_text(response.choices[0].message.content or "")

    def quote_score(self, sentence: str, quote: str) -> float:
        return self.score(sentence, quote)

    def _ask(self, messages: list[dict[str, str]], *, logprobs: bool) -> Any:
        import openai

        client = self._get_client()
        extra: dict[str, Any] = (
            {"logprobs": True, "top_logprobs": self.top_logprobs} if logprobs else {}
        )
        try:
            # A server that rejects logprobs answers 4xx/5xx: probe once, without retries.
            probe = client.with_options(max_retries=0) if logprobs else client
            return probe.chat.completions.create(
                model=self.endpoint.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=1 if logprobs else 3,
                temperature=0,
                **extra,
            )
        except openai.APIConnectionError as exc:
            raise ModelUnavailable(
                f"cannot reach the OpenAI-compatible endpoint at {self.endpoint.base_url}: {exc}"
            ) from exc
        except openai.APIStatusError as exc:
            if logprobs and exc.status_code in (400, 422, 500, 501):
                return None  # server rejects logprobs: fall back to the text answer
            raise ModelUnavailable(
                f"the OpenAI-compatible endpoint at {self.endpoint.base_url} refused the judge "
                f"request ({exc.status_code}): {exc.message}"
            ) from exc

    def _get_client(self) -> OpenAI:
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(
                base_url=self.endpoint.base_url,
                api_key=self.endpoint.api_key,
                timeout=REQUEST_TIMEOUT_S,
                max_retries=MAX_RETRIES,
            )
        return self._client


# --- helpers ---------------------------------------------------------------------------------


def _logsumexp(values: Sequence[float]) -> float:
    finite = [v for v in values if v != -math.inf and not math.isnan(v)]
    if not finite:
        return -math.inf
    top = max(finite)
    return top + math.log(sum(math.exp(v - top) for v in finite))


def _single_tokens(llm: Llama, words: Sequence[str]) -> list[int]:
    ids = []
    for word in words:
        tokens = llm.tokenize(word.encode("utf-8"), add_bos=False, special=False)
        if len(tokens) == 1:
            ids.append(tokens[0])
    if not ids:
        raise ModelUnavailable(f"the local model's vocabulary has none of {list(words)} as a token")
    return ids


def _next_token_logits(llm: Llama, tokens: Sequence[int]) -> tuple[np.ndarray, int]:
    """Evaluate ``tokens``; the logits row of the next token (a copy) and how many tokens
    were evaluated (not cached)."""
    import llama_cpp

    evaluated = _eval_suffix(llm, tokens)
    # Only the batch's last position has logits (logits_all=False): row -1.
    row = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(row, shape=(llm.n_vocab(),)).copy(), evaluated


def _eval_suffix(llm: Llama, tokens: Sequence[int]) -> int:
    """Bring the context to exactly ``tokens``, evaluating as little as possible.

    Mirrors ``Llama.generate``'s cache handling: the longest common prefix with the previous
    prompt stays in the KV cache and only the rest is evaluated (at least one token, so the
    logits are fresh). Leaves ``llm`` in the state ``generate`` expects for the next chat call.
    Returns the number of tokens evaluated.
    """
    n_ctx = llm.n_ctx()
    if len(tokens) >= n_ctx:
        raise ValueError(f"judge prompt of {len(tokens)} tokens does not fit the context ({n_ctx})")
    prefix = min(common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens), len(tokens) - 1)
    llm.n_tokens = prefix  # eval() first drops the KV cells from n_tokens on
    llm.eval(tokens[prefix:])
    return len(tokens) - prefix


def _score_from_logprobs(response: Any) -> float | None:
    choice = response.choices[0]
    content = getattr(choice.logprobs, "content", None) if choice.logprobs else None
    if not content:
        return None
    first = content[0]
    candidates = list(first.top_logprobs or []) or [first]
    yes = [c.logprob for c in candidates if c.token.strip() in YES_WORDS]
    no = [c.logprob for c in candidates if c.token.strip() in NO_WORDS]
    if not yes and not no:
        return _score_from_text(first.token)
    return p_yes(yes, no)


def _score_from_text(text: str) -> float:
    answer = text.strip().lstrip("“\"'「").lower()
    if answer.startswith(("是", "成立", "yes")):
        return 1.0
    return 0.0
