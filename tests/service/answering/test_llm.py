"""The chat model built against the installed openai and langchain-openai: a fresh install that
resolved newer releases once refused our timeout at start-up (httpx2 2.17 refuses an
httpx.Timeout), so the model is built here exactly as the app builds it, and used."""

import time

import openai
import pytest
from pydantic import SecretStr

from service.answering.errors import LLMTimeout
from service.answering.llm import chat_model, complete
from tests.llm_servers import silent_endpoint


def build(base_url: str, timeout: float) -> object:
    return chat_model(
        base_url,
        "any-model",
        SecretStr("not-a-key"),
        timeout=timeout,
        retries=0,
        max_tokens=16,
        temperature=0.0,
    )


def test_chat_model_builds_with_the_installed_client() -> None:
    model = build("http://127.0.0.1:9/v1", timeout=30.0)
    client = model.root_client  # type: ignore[attr-defined]
    assert isinstance(client, openai.OpenAI)
    assert isinstance(client.timeout, openai.Timeout)
    assert (client.timeout.read, client.timeout.connect) == (30.0, 5.0)


def test_chat_model_timeout_bounds_a_silent_server() -> None:
    """The timeout the client was given is the one it keeps: a server that never answers
    ends the call in about that time, as LLMTimeout."""
    with silent_endpoint() as url:
        model = build(url, timeout=2.0)
        started = time.monotonic()
        with pytest.raises(LLMTimeout):
            # The call's own deadline is far off: only the client's timeout can end it soon.
            complete(model, [("user", "hello")], timeout=60.0, max_pieces=8)  # type: ignore[arg-type, list-item]
    assert time.monotonic() - started < 10
