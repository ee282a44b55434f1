"""The local chat model: a LangChain ``BaseChatModel`` over ``llama_cpp.Llama``.

:class:`LlamaRuntime` owns the one loaded ``Llama`` (loaded lazily, or warmed in the background)
and the lock that lets one generation or judgement run at a time. :class:`ChatLlamaCpp` and
:class:`assistant.llm.judge.LlamaSupportJudge` share a runtime, so the 1 GB model sits in memory
once.

KV-cache reuse: ``Llama`` keeps the tokens of the last prompt and, on the next call, re-evaluates
only the part after the longest common prefix. Any other prompt in between (a translation, a
judge call) replaces that prefix, so the runtime also keeps the KV state of each system prompt
(:class:`assistant.llm.prefix.PrefixStates`) and writes it back before a chat call that starts
with it: the system prompt is evaluated once per process.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from assistant.llm.model_file import INSTALL_HINT, Progress, ensure_local_model
from assistant.llm.prefix import PrefixStates, PromptStats, common_prefix, system_prefix_tokens
from assistant.settings import GenerationSettings
from ingest.errors import ModelUnavailable

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = [
    "DEFAULT_N_BATCH",
    "ChatLlamaCpp",
    "LlamaRuntime",
    "amx_in_build",
    "llama_model_params",
    "make_local_chat_model",
]

#: Prompt-processing batch (llama.cpp's default). 256 and 512 measured the same within 2%
#: (CPU time for a 1,355-token Chinese prompt, 2 threads); beyond 512 the physical batch is capped.
DEFAULT_N_BATCH = 512

_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


class LlamaRuntime:
    """One lazily loaded ``llama_cpp.Llama`` and the lock serialising its use.

    Construction is cheap: the GGUF is joined (first time only) and loaded on the first
    :meth:`session` or :meth:`warm_up`. Thread-safe: one generation/judgement at a time; callers
    queue on the lock.

    ``cpu_extra_buffers`` (llama.cpp's weight-repacking buffers, AMX among them): ``None`` means
    off when the llama.cpp build contains the AMX kernels, on otherwise. See
    :func:`amx_in_build` for why.
    """

    def __init__(
        self,
        settings: GenerationSettings,
        *,
        model_path: Path | None = None,
        n_batch: int = DEFAULT_N_BATCH,
        cpu_extra_buffers: bool | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.n_batch = n_batch
        self.cpu_extra_buffers = cpu_extra_buffers
        self.load_seconds: float | None = None
        self._model_path = model_path
        self._progress = progress
        self._llama: Llama | None = None
        self._lock = threading.Lock()
        self.prefixes = PrefixStates()
        self._prefix_formatter: tuple[Any, Any] | None = None
        #: Tokens of the last chat prompt and how many of them were evaluated (not reused).
        self.last_prompt: PromptStats | None = None
        #: Prompt tokens evaluated so far by every call (answers, and the judge's yes/no
        #: questions before and after them): a bench reads the difference per question.
        self.evaluated_tokens = 0

    @property
    def loaded(self) -> bool:
        """True once the model is in memory (never blocks)."""
        return self._llama is not None

    @property
    def model_path(self) -> Path | None:
        """The GGUF path once known (given, or after joining)."""
        return self._model_path

    def warm_up(self) -> None:
        """Join (if needed) and load the model now; idempotent. Run it in a thread for a UI."""
        with self.session():
            pass

    @contextlib.contextmanager
    def session(self) -> Iterator[Llama]:
        """Hold the model for one call: ``with runtime.session() as llm: ...``.

        Blocks while another thread generates. Do not nest sessions (a plain lock).
        """
        with self._lock:
            if self._llama is None:
                self._llama = self._load()
            yield self._llama

    def close(self) -> None:
        """Free the model (waits for a running call). A later session loads it again."""
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None
                self.prefixes = PrefixStates()
                self._prefix_formatter = None
                self.last_prompt = None

    def prepare_prompt(self, llm: Llama, messages: list[Any]) -> PromptStats | None:
        """Before a chat call inside a session: put its system prompt's KV state in place.

        Returns (and keeps in :attr:`last_prompt`) how many tokens the prompt has and how many
        of them the call will not evaluate; None if the model has no chat template.
        """
        formatters = self.chat_formatters(llm)
        if formatters is None:
            return None
        whole_formatter, prefix_formatter = formatters
        outcome, evaluated_now = None, 0
        if self.settings.llm_keep_system_state:
            prefix = system_prefix_tokens(llm, prefix_formatter, messages)
            if prefix:
                outcome = self.prefixes.ensure(llm, prefix)
                evaluated_now = len(prefix) if outcome == "evaluated" else 0
        rendered = whole_formatter(messages=messages)
        tokens = llm.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
        # generate() re-evaluates at least the last token, as here.
        cached = min(common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens), len(tokens) - 1)
        stats = PromptStats(len(tokens), max(0, cached - evaluated_now), outcome)
        self.last_prompt = stats
        self.evaluated_tokens += stats.evaluated
        return stats

    def chat_formatters(self, llm: Llama) -> tuple[Any, Any] | None:
        """The GGUF's chat template as ``Jinja2ChatFormatter`` s: (whole prompt with the
        generation prompt, system turn only). None if the model has no template."""
        if self._prefix_formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                return None
            eos = llm.detokenize([llm.token_eos()]).decode("utf-8", "replace")
            bos = llm.detokenize([llm.token_bos()]).decode("utf-8", "replace")
            self._prefix_formatter = (
                Jinja2ChatFormatter(template, eos, bos),
                Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=False),
            )
        return self._prefix_formatter

    def _load(self) -> Llama:
        if "llama_cpp" not in sys.modules:
            # llama.cpp's OpenMP threads spin at every barrier by default. When the cores are
            # shared (other processes, the UI, e5) a descheduled spinner stalls the rest: measured
            # here generation fell from ~5 to 0.5 tokens/s. Sleeping waiters avoid that. Read by
            # libgomp once, when llama_cpp loads it; an explicit user setting wins.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelUnavailable(
                f"the llama.cpp runtime (llama-cpp-python) is not installed; {INSTALL_HINT}"
            ) from exc
        if self._model_path is None:
            self._model_path = ensure_local_model(self.settings, progress=self._progress)
        started = time.perf_counter()
        threads = max(1, self.settings.llm_threads)
        extra = self.cpu_extra_buffers
        if extra is None:
            extra = not amx_in_build()
        try:
            with llama_model_params(use_extra_bufts=extra):
                llama = Llama(
                    model_path=str(self._model_path),
                    n_ctx=self.settings.llm_ctx,
                    n_batch=self.n_batch,
                    n_threads=threads,
                    # Default is every CPU of the machine; on shared boxes keep to our share.
                    n_threads_batch=threads,
                    flash_attn=self.settings.llm_flash_attn,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelUnavailable(
                f"cannot load the local model {self._model_path}: {exc}; "
                f"delete it to have it joined again, or reinstall with {INSTALL_HINT}"
            ) from exc
        self.load_seconds = time.perf_counter() - started
        return llama


class ChatLlamaCpp(BaseChatModel):
    """LangChain chat model over the local llama.cpp runtime; deterministic by default.

    Build it with :func:`make_local_chat_model`. Streams token by token; the chat template
    (ChatML for Qwen) comes from the GGUF. ``stop`` sequences and per-call ``temperature`` /
    ``max_tokens`` overrides are honoured.
    """

    runtime: LlamaRuntime = Field(exclude=True)
    temperature: float = 0.0
    max_tokens: int = 320
    top_p: float = 0.95
    repeat_penalty: float = 1.0
    stop: list[str] | None = None
    #: A system prompt to evaluate at :meth:`warm_up`, so the first question finds its state.
    warm_system_prompt: str | None = None
    #: Calls may pass ``grammar=`` (GBNF text) to constrain what the sampler may write.
    accepts_grammar: bool = True

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        path = self.runtime.model_path
        return {
            "model": path.name if path else "local-gguf",
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    @property
    def loaded(self) -> bool:
        """True once the model is in memory."""
        return self.runtime.loaded

    def warm_up(self) -> None:
        """Load the model now, and evaluate :attr:`warm_system_prompt` (a UI's background
        thread: the first question then pays for neither)."""
        self.runtime.warm_up()
        if self.warm_system_prompt and self.runtime.settings.llm_keep_system_state:
            with self.runtime.session() as llm:
                system = [{"role": "system", "content": self.warm_system_prompt}]
                self.runtime.prepare_prompt(llm, system)

    # --- LangChain hooks ---------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        params = self._call_params(stop, kwargs)
        llama_messages = _to_llama_messages(messages)
        with self.runtime.session() as llm:
            self.runtime.prepare_prompt(llm, llama_messages)
            response: Any = llm.create_chat_completion(
                messages=llama_messages, stream=False, **params
            )
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            response_metadata={
                "finish_reason": choice.get("finish_reason"),
                "model_name": self._identifying_params["model"],
            },
            usage_metadata=_usage(usage),
        )
        return ChatResult(
            generations=[ChatGeneration(message=message)], llm_output={"usage": usage}
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        params = self._call_params(stop, kwargs)
        llama_messages = _to_llama_messages(messages)

        def produce(emit: Callable[[Any], None], cancelled: threading.Event) -> None:
            with self.runtime.session() as llm:
                self.runtime.prepare_prompt(llm, llama_messages)
                stream: Any = llm.create_chat_completion(
                    messages=llama_messages, stream=True, **params
                )
                for part in stream:
                    if cancelled.is_set():
                        stream.close()
                        return
                    emit(part)

        for part in _in_background(produce):
            choice = part["choices"][0]
            text = choice.get("delta", {}).get("content") or ""
            finish = choice.get("finish_reason")
            if not text and finish is None:
                continue  # the role-only opening delta
            metadata = {"finish_reason": finish} if finish else {}
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(content=text, response_metadata=metadata)
            )
            if run_manager is not None and text:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    def _call_params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        unknown = set(kwargs) - {"temperature", "max_tokens", "top_p", "repeat_penalty", "grammar"}
        if unknown:
            raise TypeError(f"ChatLlamaCpp does not accept {sorted(unknown)}")
        kwargs = dict(kwargs)
        if kwargs.get("grammar") is not None:
            kwargs["grammar"] = _grammar(kwargs["grammar"])
        params: dict[str, Any] = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
            **kwargs,
        }
        params["stop"] = list(stop if stop is not None else (self.stop or []))
        return params


def make_local_chat_model(
    settings: GenerationSettings,
    *,
    runtime: LlamaRuntime | None = None,
    warm_system_prompt: str | None = None,
) -> ChatLlamaCpp:
    """The local chat model for ``settings`` (cheap: nothing is joined or loaded yet)."""
    return ChatLlamaCpp(
        runtime=runtime or LlamaRuntime(settings),
        max_tokens=settings.llm_max_tokens,
        warm_system_prompt=warm_system_prompt,
    )


# --- helpers ---------------------------------------------------------------------------------


def amx_in_build() -> bool:
    """True if the installed llama.cpp was compiled with its AMX int8 kernels.

    llama-cpp-python builds with ``-march=native``; on Sapphire-Rapids-class CPUs that compiles
    the AMX matmul, which then segfaults on the first decode of Q4_K_M weights (seen here in
    ``ggml_backend_amx_mul_mat``; upstream ggml-org/llama.cpp#20824, unfixed). The AMX kernels
    are only reached through llama.cpp's "extra" weight buffers, so the runtime turns those off.
    """
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return "AMX_INT8 = 1" in info


_PARAMS_LOCK = threading.Lock()


@contextlib.contextmanager
def llama_model_params(*, use_extra_bufts: bool) -> Iterator[None]:
    """Make every ``Llama(...)`` built inside this block load with ``use_extra_bufts`` set.

    ``Llama.__init__`` exposes no such argument; it takes its model params from
    ``llama_cpp.llama_cpp.llama_model_default_params()``, which is wrapped for the duration.
    Also usable around ``runpy.run_module("llama_cpp.server")`` to start the OpenAI-compatible
    server on CPUs where the AMX kernels crash (see :func:`amx_in_build`).
    """
    import llama_cpp.llama_cpp as low

    with _PARAMS_LOCK:
        original = low.llama_model_default_params

        def patched() -> Any:
            params = original()
            params.use_extra_bufts = use_extra_bufts
            return params

        low.llama_model_default_params = patched
        try:
            yield
        finally:
            low.llama_model_default_params = original


@functools.lru_cache(maxsize=32)
def _grammar(text: str) -> Any:
    """A parsed GBNF grammar (parsed once per text: the same passages' numbers recur)."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


def _to_llama_messages(messages: list[BaseMessage]) -> list[Any]:
    """OpenAI-style message dicts as ``create_chat_completion`` takes them."""
    out: list[Any] = []
    for message in messages:
        if isinstance(message, ChatMessage):
            role = message.role
        elif isinstance(message, SystemMessage | HumanMessage | AIMessage):
            role = _ROLES[message.type]
        else:
            raise ValueError(f"ChatLlamaCpp cannot send a {type(message).__name__}")
        out.append({"role": role, "content": message.text})
    return out


def _usage(usage: dict[str, Any]) -> UsageMetadata | None:
    if not usage:
        return None
    return UsageMetadata(
        input_tokens=usage.get("prompt_tokens", 0),
        output_tokens=usage.get("completion_tokens", 0),
        total_tokens=usage.get("total_tokens", 0),
    )


_DONE = object()


def _in_background(
    produce: Callable[[Callable[[Any], None], threading.Event], None],
) -> Iterator[Any]:
    """Run ``produce(emit, cancelled)`` in a thread and yield what it emits.

    Generation runs in its own thread that holds the model lock, so the lock is released when
    generation ends even if the consumer pauses mid-stream — for example to judge a sentence
    with the same model, which then just waits for the answer to finish instead of deadlocking.
    Closing this iterator early cancels generation at the next token.
    """
    items: queue.SimpleQueue[Any] = queue.SimpleQueue()
    cancelled = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            produce(items.put, cancelled)
        except BaseException as exc:
            failure.append(exc)
        finally:
            items.put(_DONE)

    thread = threading.Thread(target=run, name="llama-cpp-stream", daemon=True)
    thread.start()
    try:
        while (item := items.get()) is not _DONE:
            yield item
        if failure:
            raise failure[0]
    finally:
        cancelled.set()
