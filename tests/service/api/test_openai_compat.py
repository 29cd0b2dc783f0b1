"""/v1/chat/completions and /v1/models through the official openai client, with the service
itself answering from a real model server (llama-cpp-python on the bundled SmolLM2)."""

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from index.embed import Embedder
from service.answering.chat import ChatBackend
from service.api.app import create_app
from service.settings import Settings
from tests.conftest import make_settings
from tests.llm_servers import llama_server, openai_settings, recording_endpoint, serve

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


@pytest.fixture(scope="module")
def extractive(seeded_settings: Settings, embedder: Embedder) -> Iterator[openai.OpenAI]:
    """An openai client talking to the service with its extractive backend."""
    with serve(create_app(seeded_settings, embedder)) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)


ASK = [{"role": "user", "content": FLEET}]


def test_chat_completion_annotations_point_at_cited_articles(extractive: openai.OpenAI) -> None:
    completion = extractive.chat.completions.create(model="newsrag", messages=ASK)
    message = completion.choices[0].message
    content = message.content or ""
    assert message.annotations
    for note in message.annotations:
        cited = note.url_citation
        assert content[cited.start_index : cited.end_index].startswith("[")
        assert cited.url.endswith("/api/articles/001_225de647bfb3e4f3")
    assert (completion.model_extra or {})["mode"] == "extractive"


def test_chat_completion_stream_usage_only_when_asked(extractive: openai.OpenAI) -> None:
    plain = list(extractive.chat.completions.create(model="newsrag", messages=ASK, stream=True))
    assert all(c.usage is None and "usage" not in c.model_fields_set for c in plain)
    counted = list(
        extractive.chat.completions.create(
            model="newsrag", messages=ASK, stream=True, stream_options={"include_usage": True}
        )
    )
    assert counted[-1].choices == [] and counted[-1].usage is not None
    assert counted[-1].usage.total_tokens == 0  # the extractive backend reads no model
    ending = counted[-2]
    assert ending.choices[0].finish_reason == "stop" and (ending.model_extra or {})["citations"]


def test_chat_completion_newsrag_options_apply(extractive: openai.OpenAI) -> None:
    completion = extractive.chat.completions.create(
        model="newsrag", messages=ASK, extra_body={"newsrag": {"since": "2030-01-01", "top_k": 3}}
    )
    assert (completion.model_extra or {})["citations"] == []
    assert "don't say" in (completion.choices[0].message.content or "")


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"n": 3}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
        ({"extra_body": {"newsrag": {"top_k": 99}}}, "newsrag.top_k"),
    ],
)
def test_chat_completion_unsupported_option_refused(
    extractive: openai.OpenAI, options: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        extractive.chat.completions.create(model="newsrag", messages=ASK, **options)  # type: ignore[call-overload]
    assert refused.value.status_code == 400
    body = refused.value.body
    assert (
        isinstance(body, dict)
        and body["param"] == param
        and body["type"] == "invalid_request_error"
    )
    assert param.split(".")[-1] in body["message"]


def test_chat_completion_unknown_model_not_found(extractive: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        extractive.chat.completions.create(model="gpt-4o", messages=ASK)
    assert isinstance(missing.value.body, dict) and missing.value.body["code"] == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        extractive.models.retrieve("gpt-4o")
    assert extractive.models.retrieve("newsrag").id == "newsrag"


def test_chat_completion_store_down_is_503(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path, tmp_path / "data", chroma_mode="http", chroma_port=9)
    with serve(create_app(settings, embedder)) as url:
        down = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)
        with pytest.raises(openai.InternalServerError) as failed:
            down.chat.completions.create(model="newsrag", messages=ASK)
    assert failed.value.status_code == 503
    assert failed.value.response.headers["retry-after"]


def test_chat_completion_sampling_options_reach_the_model(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    with recording_endpoint() as (endpoint, bodies):
        values = {**seeded_settings.model_dump(), "answer_backend": "openai"}
        values.update(llm_base_url=endpoint, llm_model="recorder", llm_max_tokens=200)
        with serve(create_app(Settings(**values), embedder)) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
            client.chat.completions.create(
                model="newsrag", messages=ASK, temperature=0.7, max_tokens=50, stop=["\n\n"]
            )
            client.chat.completions.create(model="newsrag", messages=ASK, max_tokens=900)
    asked, capped = bodies[-2], bodies[-1]
    assert asked["temperature"] == 0.7 and asked["stop"] == ["\n\n"] and asked["max_tokens"] == 50
    assert capped["temperature"] == 0.1 and capped["max_tokens"] == 200
