"""Calls to the language model behind generated answers: one LangChain chat model for any
OpenAI-compatible endpoint, streamed with a deadline, its failures turned into `LLMError`
(`service.answering.errors`) so that callers answer extractively instead.
"""

import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from service.answering.errors import LLMError, LLMTimeout, LLMUnavailable

log = logging.getLogger(__name__)
_END = object()


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
        # The timeout type of the HTTP library the installed openai builds on (httpx2 today,
        # whose releases since 2.17 refuse an httpx.Timeout), never httpx's own.
        timeout=openai.Timeout(timeout, connect=min(timeout, 5.0)),
        max_retries=retries,
        temperature=temperature,
        # langchain-openai sends only `max_completion_tokens`, which llama.cpp's and other
        # servers ignore (they then write until the context is full), so the classic field
        # is sent instead.
        extra_body={"max_tokens": max_tokens},
    )


def stream_text(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    timeout: float,
    max_pieces: int,
    options: dict[str, Any] | None = None,
) -> Iterator[str]:
    """The model's answer piece by piece; LLMTimeout past `timeout` seconds, never a hang.
    `options` go with the call (temperature, stop, extra_body).

    The call runs in a worker thread so that a server that stops answering mid-stream is
    abandoned at the deadline; the worker stops reading at its next piece.
    """
    pieces: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(
        target=_pump, args=(model, messages, pieces, stop, options or {}), daemon=True
    )
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
    options: dict[str, Any],
) -> None:
    try:
        for chunk in model.stream(list(messages), **options):
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
