"""The language model behind generated answers: one LangChain chat model, however it is served.

The openai backend talks to any OpenAI-compatible endpoint through langchain-openai. The
local backend starts llama-cpp-python's OpenAI-compatible server on loopback with the
bundled SmolLM2 GGUF (`service.local_model`) and talks to it the same way, so both backends
share one client, one deadline and one failure path.

    ServiceError (service.errors)
    ├── BackendError        the configured model cannot be set up: refused at startup
    └── LLMError            a call gave no usable text; callers answer extractively instead
        ├── LLMUnavailable  connection refused, HTTP error or a malformed response
        └── LLMTimeout      no complete answer within the deadline
"""

import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from service.errors import ServiceError
from service.settings import Settings

if TYPE_CHECKING:
    from service.local_model import LocalServer

log = logging.getLogger(__name__)
_END = object()


class BackendError(ServiceError):
    """The configured answer backend cannot be set up."""


class LLMError(ServiceError):
    """A model call gave no usable answer."""


class LLMUnavailable(LLMError):
    """The model endpoint refused, failed or answered with something unreadable."""


class LLMTimeout(LLMError):
    """The model did not finish within the deadline."""


def chat_model(
    base_url: str,
    model: str,
    api_key: SecretStr,
    *,
    timeout: float,
    retries: int,
    max_tokens: int,
    temperature: float,
) -> ChatOpenAI:
    """A chat model for an OpenAI-compatible endpoint, with bounded time, retries and length."""
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=api_key,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        max_retries=retries,
        temperature=temperature,
        # langchain-openai sends only `max_completion_tokens`, which llama.cpp's and other
        # servers ignore (they then write until the context is full), so the classic field
        # is sent instead.
        extra_body={"max_tokens": max_tokens},
    )


def stream_text(
    model: BaseChatModel, messages: Sequence[BaseMessage], timeout: float, max_pieces: int
) -> Iterator[str]:
    """The model's answer piece by piece; LLMTimeout past `timeout` seconds, never a hang.

    The call runs in a worker thread so that a server that stops answering mid-stream is
    abandoned at the deadline; the worker stops reading at its next piece.
    """
    pieces: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(target=_pump, args=(model, messages, pieces, stop), daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout
    try:
        for _ in range(max_pieces):
            try:
                item = pieces.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise LLMTimeout(
                    f"the model gave no complete answer within {timeout:g} s"
                ) from None
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise _translate(item) from item
            yield str(item)
    finally:
        stop.set()


def complete(
    model: BaseChatModel, messages: Sequence[BaseMessage], timeout: float, max_pieces: int
) -> str:
    """The model's whole answer (see `stream_text`)."""
    return "".join(stream_text(model, messages, timeout, max_pieces))


def _pump(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    out: queue.Queue[object],
    stop: threading.Event,
) -> None:
    try:
        for chunk in model.stream(list(messages)):
            if stop.is_set():
                return
            if isinstance(chunk.content, str) and chunk.content:
                out.put(chunk.content)
        out.put(_END)
    # Handed to the consumer, which reports it and answers extractively: any failure of a
    # model that returns garbage must become a fallback, not a lost worker thread.
    except Exception as exc:
        out.put(exc)


def _translate(exc: BaseException) -> LLMError:
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return LLMTimeout(f"the model endpoint timed out: {exc}")
    if isinstance(exc, openai.APIError | httpx.HTTPError):
        return LLMUnavailable(f"the model endpoint failed: {exc}")
    log.warning("unreadable model response", exc_info=exc)
    return LLMUnavailable(
        f"the model endpoint answered with something unreadable ({type(exc).__name__})"
    )


class ChatBackend:
    """The chat model of the configured backend, and the local server behind it if any."""

    def __init__(self, model: BaseChatModel, server: "LocalServer | None" = None) -> None:
        self.model = model
        self.server = server

    def close(self) -> None:
        """Stop the local server, if this backend started one."""
        if self.server is not None:
            self.server.stop()


def open_backend(settings: Settings) -> ChatBackend:
    """The openai backend's client, or the local model's server started and its client."""
    # Imported here: the local model's module builds on this one.
    from service.local_model import LOCAL_MODEL_NAME, LocalServer, bundled_gguf

    server = None
    base_url, model = settings.llm_base_url, settings.llm_model
    if settings.answer_backend == "local":
        path = settings.local_model or bundled_gguf()
        server = LocalServer(path, settings.context_tokens, settings.local_threads)
        server.start(settings.local_start_timeout)
        base_url, model = server.base_url, LOCAL_MODEL_NAME
    if not (base_url and model):
        raise BackendError("the openai backend needs RAG_LLM_BASE_URL and RAG_LLM_MODEL")
    client = chat_model(
        base_url,
        model,
        settings.llm_api_key,
        timeout=settings.llm_timeout,
        retries=settings.llm_retries,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
    )
    return ChatBackend(client, server)
