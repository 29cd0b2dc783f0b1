"""POST /api/ask/stream: typed Server-Sent Events in order, with every backend, and a fallback
when the model server dies mid-request."""

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from index.embed import Embedder
from index.errors import StoreUnavailable
from index.retrieve import Retriever
from service.answering.chat import ChatBackend
from service.api.app import create_app
from service.settings import Settings
from tests.conftest import LOCAL
from tests.llm_servers import llama_server, openai_settings, serve

STREAM = "/api/ask/stream"
FLEET = "Where is the Russian Baltic Fleet based?"


def parse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event type, data) pairs of a text/event-stream."""
    kind = None
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind:
            yield kind, json.loads(line.removeprefix("data: "))
            kind = None


def collect(client: TestClient, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    with client.stream("POST", STREAM, json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(parse(response.iter_lines()))


def assert_well_formed(events: list[tuple[str, dict[str, Any]]]) -> None:
    kinds = [k for k, _ in events]
    assert kinds[0] == "retrieval" and kinds[-2:] == ["citations", "done"], kinds
    assert set(kinds[1:-2]) <= {"delta"}
    retrieval, citations = events[0][1], events[-2][1]
    assert retrieval["passages"] and {"article_id", "quote", "start", "end", "score"} <= set(
        retrieval["passages"][0]
    )
    assert "".join(d["text"] for k, d in events if k == "delta") == citations["answer"]


class GatedModel(GenericFakeChatModel):
    """A fake model that waits for the test's go-ahead before writing."""

    gate: Any = None

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self.gate.wait(30)
        yield from super()._stream(*args, **kwargs)


def test_ask_stream_extractive_events_in_order_match_ask(client: TestClient) -> None:
    events = collect(client, {"question": FLEET})
    assert [k for k, _ in events] == ["retrieval", "delta", "citations", "done"]
    assert_well_formed(events)
    asked = client.post("/api/ask", json={"question": FLEET}).json()
    citations = events[2][1]
    assert citations["citations"] == asked["citations"] and citations["answer"] == asked["answer"]
    assert events[3][1] == {"mode": "extractive", "usage": None}
    assert asked["usage"] is None


def test_ask_stream_extractive_unanswerable_is_refused(client: TestClient) -> None:
    events = collect(client, {"question": "Who won the 2022 FIFA World Cup?"})
    citations = dict(events)["citations"]
    assert citations["answerable"] is False and citations["citations"] == []
    assert citations["reason"]


def test_ask_stream_store_failure_sends_error_event(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("the Chroma store failed: connection refused")

    monkeypatch.setattr(Retriever, "search", down)
    events = collect(client, {"question": FLEET})
    assert events == [("error", {"detail": "the Chroma store failed: connection refused"})]


def test_ask_stream_sends_retrieval_before_the_model_starts(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    gate = threading.Event()
    model = GatedModel(
        messages=iter([AIMessage("The fleet's home base is Baltiysk. [1]")]), gate=gate
    )
    app = create_app(seeded_settings, embedder, chat=ChatBackend(model))
    with (
        serve(app) as url,
        httpx.stream("POST", url + STREAM, json={"question": FLEET}, timeout=60) as r,
    ):
        events = parse(r.iter_lines())
        started = time.monotonic()
        first = next(events)
        assert first[0] == "retrieval" and time.monotonic() - started < 25
        gate.set()
        rest = [first, *events]
    assert_well_formed(rest)
    assert rest[-1][1]["mode"] == "generated"
    assert rest[-2][1]["answer"] == "The fleet's home base is Baltiysk. [1]"


def test_ask_stream_real_model_server_streams_checked_answer(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    with llama_server() as server:
        app = create_app(openai_settings(seeded_settings, server), embedder)
        with TestClient(app, base_url=LOCAL) as client:
            events = collect(client, {"question": FLEET})
    assert_well_formed(events)
    done = events[-1][1]
    assert done["mode"] in ("generated", "fallback") and done["usage"]["prompt_tokens"] > 100
    assert events[-2][1]["citations"][0]["article_id"] == "001_225de647bfb3e4f3"


def test_ask_stream_model_server_killed_mid_request_falls_back(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    with llama_server() as server:
        settings = openai_settings(seeded_settings, server, llm_timeout=20.0, llm_retries=1)
        with serve(create_app(settings, embedder)) as url:
            started = time.monotonic()
            with httpx.stream("POST", url + STREAM, json={"question": FLEET}, timeout=60) as r:
                events = parse(r.iter_lines())
                first = next(events)
                assert server.pid is not None
                os.kill(server.pid, signal.SIGKILL)
                rest = [first, *events]
            elapsed = time.monotonic() - started
    assert_well_formed(rest)
    assert rest[-1][1]["mode"] == "fallback" and rest[-2][1]["reason"]
    assert "Baltiysk" in rest[-2][1]["answer"]
    assert elapsed < 20.0 + 15


def test_ask_stream_pings_while_the_model_works(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    gate = threading.Event()
    model = GatedModel(
        messages=iter([AIMessage("The fleet's home base is Baltiysk. [1]")]), gate=gate
    )
    settings = seeded_settings.model_copy(update={"sse_ping": 0.2})
    app = create_app(settings, embedder, chat=ChatBackend(model))
    with (
        serve(app) as url,
        httpx.stream("POST", url + STREAM, json={"question": FLEET}, timeout=60) as r,
    ):
        lines = r.iter_lines()
        seen = []
        for line in lines:
            seen.append(line)
            if line.startswith(":") and any(s.startswith("event: retrieval") for s in seen):
                break
        gate.set()
        rest = list(parse(iter([*seen, *lines])))
    assert ": ping" in seen
    assert_well_formed(rest)
