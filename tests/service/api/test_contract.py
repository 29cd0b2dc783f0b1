"""Every response each operation documents is received here and matches /openapi.json; and
every documented (operation, status) has a case, so nothing is documented unseen.

Every other test's responses are checked too, at the end of the run (`tests/conftest.py`)."""

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from index.build import sync
from index.embed import Embedder
from index.store import open_store
from service.api.app import create_app
from service.api.routes import openai as openai_routes
from service.settings import Settings
from tests.conftest import LOCAL, live_contract, make_settings
from tests.contract import Contract, Received, Recorder

FLEET = {"question": "Where is the Russian Baltic Fleet based?"}
CHAT = {"model": "newsrag", "messages": [{"role": "user", "content": FLEET["question"]}]}
TINY = "The lighthouse of Cape Orrin was repainted white and red in the spring, the keeper said."


KEYS = {"ask": "reader-key-0123456789", "write": "writer-key-0123456789"}
ADMIN = "admin-key-0123456789ab"
GUARD = {
    "api_keys": SecretStr(
        f"reader:{KEYS['ask']}:ask,writer:{KEYS['write']}:write,ops:{ADMIN}:admin"
    )
}


class Apps:
    """The apps the cases talk to."""

    def __init__(
        self,
        seeded: TestClient,
        writable: TestClient,
        down: TestClient,
        guarded: TestClient,
        limited: TestClient,
        slow: TestClient,
    ) -> None:
        self.seeded, self.writable, self.down = seeded, writable, down
        # Keys set; one request an hour; no time at all to answer.
        self.guarded, self.limited, self.slow = guarded, limited, slow
        # No lifespan: the middleware answers, and a route that needs its parts fails (500).
        small = {"max_body_bytes": 1024, "max_article_bytes": 1024, "max_bulk_bytes": 1024}
        bare = create_app(Settings(body_timeout=0.5, **small))
        self.bare = TestClient(bare, base_url=LOCAL, raise_server_exceptions=False)
        self.bare_app: FastAPI = bare


@pytest.fixture(scope="module")
def apps(
    client: TestClient, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Apps]:
    root = tmp_path_factory.mktemp("contract")
    (root / "seeds").mkdir()
    (root / "seeds" / "tiny.txt").write_text(TINY, encoding="utf-8")
    settings = make_settings(root / "seeds", root / "data")
    sync(settings, open_store(settings), embedder)
    down = make_settings(root / "seeds", root / "down", chroma_mode="http", chroma_port=9)

    def app(**change: Any) -> TestClient:
        return TestClient(create_app(settings.model_copy(update=change), embedder), base_url=LOCAL)

    with (
        TestClient(create_app(settings, embedder), base_url=LOCAL) as writable,
        TestClient(create_app(down, embedder), base_url=LOCAL) as unreachable,
        app(**GUARD) as guarded,
        app(rate_limit="1/hour", data_dir=root / "limited") as limited,
        app(request_timeout=1e-6) as slow,
    ):
        yield Apps(client, writable, unreachable, guarded, limited, slow)


@pytest.fixture(scope="module")
def contract() -> Contract:
    return live_contract()


Call = Callable[[Apps], Any]
OPERATIONS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "health": ("GET", "/health", {}),
    "ask": ("POST", "/api/ask", {"json": FLEET}),
    "ask_stream": ("POST", "/api/ask/stream", {"json": FLEET}),
    "search": ("POST", "/api/search", {"json": {"query": "Baltic Fleet"}}),
    "list_articles": ("GET", "/api/articles", {}),
    "add_article": ("POST", "/api/articles", {"json": {"text": TINY}}),
    "read_article": ("GET", "/api/articles/001_225de647bfb3e4f3", {}),
    "replace_article": ("PUT", "/api/articles/cape-orrin", {"json": {"text": TINY}}),
    "delete_article": ("DELETE", "/api/articles/gone", {}),
    "add_articles_bulk": ("POST", "/api/articles/bulk", {"content": json.dumps({"text": TINY})}),
    "list_models": ("GET", "/v1/models", {}),
    "retrieve_model": ("GET", "/v1/models/newsrag", {}),
    "create_chat_completion": ("POST", "/v1/chat/completions", {"json": CHAT}),
    "read_metrics": ("GET", "/metrics", {}),
}
SCOPE = {
    "add_article": "write",
    "replace_article": "write",
    "delete_article": "write",
    "add_articles_bulk": "write",
    "read_metrics": "admin",
}
OPEN = ("health",)  # reachable without a key


def call(client: TestClient, op: str, **change: Any) -> Any:
    method, path, kwargs = OPERATIONS[op]
    return client.request(
        change.pop("method", method), change.pop("path", path), **(kwargs | change)
    )


def twice(client: TestClient, op: str, **change: Any) -> Any:
    """The same request twice: the second finds the first's article."""
    call(client, op, **change)
    return call(client, op, **change)


def stalled(app: FastAPI, op: str) -> Received:
    """A request whose body never arrives, sent to the app by hand (a test client sends the
    body whole): 408 after RAG_BODY_TIMEOUT."""
    method, path, _ = OPERATIONS[op]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")],
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    headers = httpx.Headers([(k.decode(), v.decode()) for k, v in sent[0]["headers"]])
    return Received(method, path, sent[0]["status"], headers, sent[1]["body"])


def model_fails(apps: Apps, op: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(openai_routes, "_model", broken)
    return call(apps.bare, op)


BODY_OPS = [
    "ask",
    "ask_stream",
    "search",
    "add_article",
    "replace_article",
    "add_articles_bulk",
    "create_chat_completion",
]
CASES: dict[tuple[str, int], Call] = {}


def other_key(op: str) -> dict[str, str]:
    """A key that lacks the operation's scope."""
    wrong = KEYS["write"] if SCOPE.get(op, "ask") == "ask" else KEYS["ask"]
    return {"authorization": f"Bearer {wrong}"}


for op in OPERATIONS:
    CASES[op, 400] = lambda a, op=op: call(a.bare, op, headers={"host": "evil.example"})
    if op != "read_metrics":
        CASES[op, 500] = lambda a, op=op: call(a.bare, op)
    if op not in ("list_models", "retrieve_model", "read_metrics"):
        CASES[op, 503] = lambda a, op=op: call(a.down, op)
    if op not in OPEN:
        CASES[op, 401] = lambda a, op=op: call(a.guarded, op)
        CASES[op, 403] = lambda a, op=op: call(a.guarded, op, headers=other_key(op))
        CASES[op, 429] = lambda a, op=op: twice(a.limited, op)
for op in ("ask", "search", "create_chat_completion", "list_articles"):
    CASES[op, 504] = lambda a, op=op: call(a.slow, op)
for op in BODY_OPS:
    CASES[op, 408] = lambda a, op=op: stalled(a.bare_app, op)
    CASES[op, 413] = lambda a, op=op: call(a.bare, op, content=b" " * 100_000)
for op in ("ask", "ask_stream", "search"):
    CASES[op, 422] = lambda a, op=op: call(a.seeded, op, json={})
    CASES[op, 200] = lambda a, op=op: call(a.seeded, op)
CASES.update(
    {
        ("health", 200): lambda a: call(a.seeded, "health"),
        ("list_articles", 200): lambda a: call(a.seeded, "list_articles"),
        ("list_articles", 422): lambda a: call(
            a.seeded, "list_articles", path="/api/articles?limit=0"
        ),
        ("read_article", 200): lambda a: call(a.seeded, "read_article"),
        ("read_article", 404): lambda a: call(a.seeded, "read_article", path="/api/articles/x"),
        ("add_article", 201): lambda a: call(
            a.writable, "add_article", json={"text": "New " + TINY}
        ),
        ("add_article", 200): lambda a: twice(
            a.writable, "add_article", json={"text": "Old " + TINY}
        ),
        ("add_article", 409): lambda a: call(
            a.writable, "add_article", json={"text": "Other news. " + TINY, "id": "tiny"}
        ),
        ("add_article", 415): lambda a: call(
            a.writable,
            "add_article",
            json=None,
            files={"file": ("a.pdf", b"%PDF", "application/pdf")},
        ),
        ("add_article", 422): lambda a: call(a.writable, "add_article", json={"text": " "}),
        ("replace_article", 201): lambda a: call(
            a.writable, "replace_article", path="/api/articles/r1"
        ),
        ("replace_article", 200): lambda a: twice(
            a.writable, "replace_article", path="/api/articles/r2"
        ),
        ("replace_article", 409): lambda a: call(
            a.writable, "replace_article", path="/api/articles/tiny"
        ),
        ("replace_article", 415): lambda a: call(
            a.writable,
            "replace_article",
            json=None,
            files={"file": ("a.doc", b"x", "application/msword")},
        ),
        ("replace_article", 422): lambda a: call(a.writable, "replace_article", json={"colour": 1}),
        ("delete_article", 204): lambda a: (
            call(a.writable, "replace_article", path="/api/articles/d1") is not None
            and call(a.writable, "delete_article", path="/api/articles/d1")
        ),
        ("delete_article", 404): lambda a: call(
            a.writable, "delete_article", path="/api/articles/none"
        ),
        ("delete_article", 409): lambda a: call(
            a.writable, "delete_article", path="/api/articles/tiny"
        ),
        ("add_articles_bulk", 200): lambda a: call(a.writable, "add_articles_bulk"),
        ("list_models", 200): lambda a: call(a.seeded, "list_models"),
        ("read_metrics", 200): lambda a: call(
            a.guarded, "read_metrics", headers={"authorization": f"Bearer {ADMIN}"}
        ),
        ("retrieve_model", 200): lambda a: call(a.seeded, "retrieve_model"),
        ("retrieve_model", 404): lambda a: call(
            a.seeded, "retrieve_model", path="/v1/models/gpt-4o"
        ),
        ("create_chat_completion", 200): lambda a: call(a.seeded, "create_chat_completion"),
        ("create_chat_completion", 404): lambda a: call(
            a.seeded, "create_chat_completion", json={**CHAT, "model": "gpt-4o"}
        ),
    }
)


def documented(contract: Contract) -> set[tuple[str, int]]:
    return {
        (operation["operationId"], int(status))
        for operations in contract.doc["paths"].values()
        for operation in operations.values()
        for status in operation["responses"]
    }


def test_contract_every_documented_response_has_a_case(contract: Contract) -> None:
    assert documented(contract) == set(CASES)


@pytest.mark.parametrize(("op", "status"), sorted(CASES), ids=lambda v: str(v))
def test_contract_response_matches_openapi(
    apps: Apps,
    contract: Contract,
    received: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    op: str,
    status: int,
) -> None:
    if status == 500 and op in ("list_models", "retrieve_model"):
        got: Any = model_fails(apps, op, monkeypatch)
    else:
        got = CASES[op, status](apps)
    if not isinstance(got, Received):
        assert got.status_code == status, got.text
        got = received.received[-1]
    assert got.status == status
    assert not contract.problems(got)


def test_contract_chat_completion_stream_matches_openapi(
    client: TestClient, contract: Contract, received: Recorder
) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.read()
    got = received.received[-1]
    assert got.status == 200 and got.headers["content-type"].startswith("text/event-stream")
    assert not contract.problems(got)


def test_contract_mismatch_is_found(contract: Contract) -> None:
    wrong = Received(
        "POST",
        "/api/ask",
        422,
        httpx.Headers({"content-type": "application/json"}),
        json.dumps({"detail": [{"loc": ["body"], "msg": "x", "type": "y"}]}).encode(),
    )
    assert contract.problems(wrong)
    teapot = Received("GET", "/health", 418, httpx.Headers(), b"")
    assert contract.problems(teapot)


def test_openapi_operation_ids_are_named(contract: Contract) -> None:
    ids = [o["operationId"] for ops in contract.doc["paths"].values() for o in ops.values()]
    assert "ask" in ids and "create_chat_completion" in ids
    assert not [i for i in ids if "_api_" in i or "_post" in i]


def test_openapi_every_reference_resolves(contract: Contract) -> None:
    """A generated client follows every `$ref`; one naming a missing schema (the article
    routes' JSON body was one, found by the fuzzer) breaks it."""
    text = json.dumps(contract.doc)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    missing = sorted(refs - set(contract.doc["components"]["schemas"]))
    assert refs and not missing, missing
