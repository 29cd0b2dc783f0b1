"""/v1/chat/completions and /v1/models through the official openai client, with the service
itself answering from a real model server (llama-cpp-python on the bundled SmolLM2)."""

from collections.abc import Iterator

import openai
import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from index.embed import Embedder
from service.answering.chat import ChatBackend
from service.api.app import create_app
from service.settings import Settings
from tests.llm_servers import llama_server, openai_settings, serve

FLEET = "Where is the Russian Baltic Fleet based?"
FIELDS = {"n", "article_id", "title", "source", "quote", "start", "end", "score"}


@pytest.fixture(scope="module")
def newsrag(seeded_settings: Settings, embedder: Embedder) -> Iterator[openai.OpenAI]:
    """An openai client talking to the service, which talks to a real model server."""
    with llama_server() as server:
        app = create_app(openai_settings(seeded_settings, server), embedder)
        with serve(app) as url:
            yield openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)


def test_models_lists_newsrag(newsrag: openai.OpenAI) -> None:
    assert [m.id for m in newsrag.models.list()] == ["newsrag"]


def test_chat_completion_carries_citations(newsrag: openai.OpenAI) -> None:
    completion = newsrag.chat.completions.create(
        model="newsrag",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": FLEET}],
    )
    answer = completion.choices[0].message.content or ""
    extra = completion.model_extra or {}
    citations = extra["citations"]
    assert extra["mode"] in ("generated", "fallback")
    assert citations and set(citations[0]) == FIELDS
    assert citations[0]["article_id"] == "001_225de647bfb3e4f3"
    assert all(f"[{c['n']}]" in answer for c in citations)
    assert completion.usage is not None and completion.usage.prompt_tokens > 100


def test_chat_completion_stream_ends_with_citations(newsrag: openai.OpenAI) -> None:
    stream = newsrag.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": FLEET}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    citations = (final.model_extra or {})["citations"]
    assert citations and set(citations[0]) == FIELDS
    assert all(f"[{c['n']}]" in text for c in citations)
    assert all("citations" not in (c.model_extra or {}) for c in chunks[:-1])


def test_chat_completion_history_makes_a_follow_up(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    # SmolLM2's rewrites are too erratic to test against: a fake model rewrites, then answers.
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage("Which air defence system has Russia deployed in the exclave?"),
                AIMessage("Russia has deployed S-400 air defense systems in the exclave. [1]"),
            ]
        )
    )
    with serve(create_app(seeded_settings, embedder, chat=ChatBackend(model))) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)
        completion = client.chat.completions.create(
            model="newsrag",
            messages=[
                {"role": "user", "content": "What is Kaliningrad?"},
                {"role": "assistant", "content": "A small Russian exclave on the Baltic Sea. [1]"},
                {"role": "user", "content": "Which air defence system is deployed there?"},
            ],
        )
    assert completion.choices[0].message.content == (
        "Russia has deployed S-400 air defense systems in the exclave. [1]"
    )
    citations = (completion.model_extra or {})["citations"]
    assert "S-400" in citations[0]["quote"]


def test_chat_completion_without_user_message_is_rejected(newsrag: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        newsrag.chat.completions.create(
            model="newsrag", messages=[{"role": "system", "content": "Hi."}]
        )


COMPLETIONS = "/v1/chat/completions"


def test_chat_completion_oversized_history_rejected(client: TestClient) -> None:
    turn = "Kaliningrad " * 700  # 8,400 characters: over the 8,000 of an /api/ask turn
    messages = [
        {"role": "user", "content": turn},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": FLEET},
    ]
    response = client.post(COMPLETIONS, json={"messages": messages})
    assert response.status_code == 400
    assert "8000" in response.json()["error"]["message"]


def test_chat_completion_oversized_list_content_rejected(client: TestClient) -> None:
    parts = [{"type": "text", "text": "Kaliningrad " * 100}] * 10
    messages = [{"role": "user", "content": parts}, {"role": "user", "content": FLEET}]
    assert client.post(COMPLETIONS, json={"messages": messages}).status_code == 400


def test_chat_completion_lone_surrogate_rejected(client: TestClient) -> None:
    body = b'{"messages": [{"role": "user", "content": "Where is \\ud800 the fleet?"}]}'
    response = client.post(COMPLETIONS, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages.0.content"


def test_chat_completion_stream_must_be_a_boolean(client: TestClient) -> None:
    body = {"messages": [{"role": "user", "content": FLEET}], "stream": "yes"}
    response = client.post(COMPLETIONS, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "stream"
