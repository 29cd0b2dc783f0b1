"""Who may do what, bounded work, and what the operator sees (issue 14).

With `RAG_API_KEYS` set, every route is called with no key, an unknown key, and a key of
each scope; the 401/403/success matrix is printed and checked. Then: rate limits shared by
two apps on one counter file (as workers share it), the request deadline, `/metrics`,
`X-Request-ID`, and logs that name the caller but never hold a key.
"""

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from pydantic import SecretStr

from index.build import sync
from index.embed import Embedder
from index.logs import JsonFormatter
from index.store import open_store
from service.answering.deadline import deadline
from service.answering.errors import AnswerTimeout
from service.api.admission import Abandoned, Work
from service.api.app import create_app
from service.api.sse import keep_alive
from service.settings import Settings
from tests.conftest import LOCAL, SEEDS, make_settings

SECRETS = {
    "ask": "ask-key-0123456789abcdef",
    "write": "write-key-0123456789abcdef",
    "admin": "admin-key-0123456789abcdef",
    "all": "all-key-0123456789abcdef",
}
KEYS = SecretStr(
    ",".join(
        [
            f"asker:{SECRETS['ask']}:ask",
            f"writer:{SECRETS['write']}:write",
            f"operator:{SECRETS['admin']}:admin",
            f"owner:{SECRETS['all']}:ask+write+admin",
        ]
    )
)
CALLERS = {"none": None, "unknown": "not-a-key-0123456789abcdef", **SECRETS}
FLEET = "Where is the Russian Baltic Fleet based?"
TEXT = "The ferry from Baltiysk to Kaliningrad was cancelled on Tuesday because of ice, {}."
SEED_ID = "001_225de647bfb3e4f3"


def bearer(secret: str | None) -> dict[str, str]:
    return {} if secret is None else {"authorization": f"Bearer {secret}"}


# Each route: its scope (None: open) and a call that should succeed when allowed.
Call = Callable[[TestClient, dict[str, str], int], httpx.Response]


def _delete(client: TestClient, headers: dict[str, str], n: int) -> httpx.Response:
    owner = bearer(SECRETS["all"])
    client.put(f"/api/articles/doomed-{n}", json={"text": TEXT.format(n)}, headers=owner)
    return client.delete(f"/api/articles/doomed-{n}", headers=headers)


ROUTES: dict[str, tuple[str | None, Call]] = {
    "GET /health": (None, lambda c, h, n: c.get("/health", headers=h)),
    "POST /api/ask": (
        "ask",
        lambda c, h, n: c.post("/api/ask", json={"question": FLEET}, headers=h),
    ),
    "POST /api/ask/stream": (
        "ask",
        lambda c, h, n: c.post("/api/ask/stream", json={"question": FLEET}, headers=h),
    ),
    "POST /api/search": (
        "ask",
        lambda c, h, n: c.post("/api/search", json={"query": "Baltic Fleet"}, headers=h),
    ),
    "GET /api/articles": ("ask", lambda c, h, n: c.get("/api/articles", headers=h)),
    "GET /api/articles/{id}": ("ask", lambda c, h, n: c.get(f"/api/articles/{SEED_ID}", headers=h)),
    "POST /api/articles": (
        "write",
        lambda c, h, n: c.post("/api/articles", json={"text": TEXT.format(f"post {n}")}, headers=h),
    ),
    "PUT /api/articles/{id}": (
        "write",
        lambda c, h, n: c.put(f"/api/articles/put-{n}", json={"text": TEXT.format(n)}, headers=h),
    ),
    "DELETE /api/articles/{id}": ("write", _delete),
    "POST /api/articles/bulk": (
        "write",
        lambda c, h, n: c.post(
            "/api/articles/bulk",
            content=json.dumps({"id": f"bulk-{n}", "text": TEXT.format(f"bulk {n}")}),
            headers=h,
        ),
    ),
    "GET /v1/models": ("ask", lambda c, h, n: c.get("/v1/models", headers=h)),
    "GET /v1/models/newsrag": ("ask", lambda c, h, n: c.get("/v1/models/newsrag", headers=h)),
    "POST /v1/chat/completions": (
        "ask",
        lambda c, h, n: c.post(
            "/v1/chat/completions",
            json={"model": "newsrag", "messages": [{"role": "user", "content": FLEET}]},
            headers=h,
        ),
    ),
    "GET /metrics": ("admin", lambda c, h, n: c.get("/metrics", headers=h)),
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    settings = make_settings(SEEDS, tmp_path_factory.mktemp("security"))
    sync(settings, open_store(settings), embedder)
    return settings


@pytest.fixture(scope="module")
def guarded(indexed: Settings, embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(
        create_app(indexed.model_copy(update={"api_keys": KEYS}), embedder), base_url=LOCAL
    ) as client:
        yield client


def expected(scope: str | None, caller: str) -> str:
    if scope is None:
        return "ok"
    if caller in ("none", "unknown"):
        return "401"
    allowed = caller == "all" or caller == scope
    return "ok" if allowed else "403"


def test_keys_matrix_every_route_and_scope(guarded: TestClient) -> None:
    rows, wrong = [], []
    for n, (route, (scope, call)) in enumerate(ROUTES.items()):
        seen = []
        for m, (caller, secret) in enumerate(CALLERS.items()):
            response = call(guarded, bearer(secret), 100 * n + m)
            got = "ok" if response.status_code < 300 else str(response.status_code)
            seen.append(f"{caller}={response.status_code}")
            if got != expected(scope, caller):
                wrong.append(f"{route} with {caller}: {response.status_code} {response.text[:200]}")
            if response.status_code == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
                body = response.json()
                assert body.get("detail") or body["error"]["message"]
        rows.append(f"{route:28} {scope or 'open':6} " + " ".join(seen))
    print("route, scope, status by caller:\n" + "\n".join(rows))
    assert not wrong, "\n".join(wrong)


def test_keys_401_and_403_say_what_to_do(guarded: TestClient) -> None:
    none = guarded.post("/api/ask", json={"question": FLEET})
    assert none.status_code == 401
    assert "Authorization: Bearer" in none.json()["detail"]
    unknown = guarded.post("/api/ask", json={"question": FLEET}, headers=bearer("x" * 20))
    assert unknown.json()["detail"] == "unknown API key"
    refused = guarded.delete("/api/articles/anything", headers=bearer(SECRETS["ask"]))
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "the key 'asker' may not add, replace or delete articles (scope 'write')"
    )
    # The OpenAI clients read their own envelope.
    v1 = guarded.get("/v1/models")
    assert v1.status_code == 401 and v1.json()["error"]["message"]


def test_keys_never_logged_and_the_caller_named(
    guarded: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for caller in ("ask", "write", "all"):
            guarded.post("/api/ask", json={"question": FLEET}, headers=bearer(SECRETS[caller]))
        guarded.get("/api/articles", headers=bearer(CALLERS["unknown"]))
    logged = "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    for secret in CALLERS.values():
        assert secret is None or secret not in logged
    callers = [getattr(r, "caller", None) for r in caplog.records if r.getMessage() == "request"]
    print(f"access log callers: {callers}")
    assert {"asker", "writer", "owner"} <= set(callers)


def test_keys_from_a_file(indexed: Settings, embedder: Embedder, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"# readers\nfilereader:{SECRETS['ask']}:ask\n", encoding="utf-8")
    settings = indexed.model_copy(update={"api_keys_file": keys})
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
        assert client.get("/api/articles").status_code == 401
        assert client.get("/api/articles", headers=bearer(SECRETS["ask"])).status_code == 200


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("reader:short:ask", "at least 16 characters"),
        ("reader:0123456789abcdefgh:read", "scopes are ask, write and admin"),
        ("reader-0123456789abcdefgh", "name:key:scopes"),
    ],
)
def test_keys_misconfigured_stop_the_start_with_a_reason(given: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Settings(api_keys=SecretStr(given))


@pytest.mark.parametrize("route", ["/api/ask", "/api/search", "/v1/chat/completions"])
def test_keys_checked_before_the_body_is_parsed(
    indexed: Settings, embedder: Embedder, route: str
) -> None:
    """No key and a malformed body: 401 (it was 422, and not counted by the rate limit)."""
    settings = indexed.model_copy(
        update={"api_keys": KEYS, "rate_limit": "2/hour", "rate_limit_storage": "memory://"}
    )
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
        kind = {"content-type": "application/json"}
        assert client.post(route, content=b"{not json", headers=kind).status_code == 401
        asker = {**kind, **bearer(SECRETS["ask"])}
        malformed = [client.post(route, content=b"{not json", headers=asker) for _ in range(3)]
    assert [r.status_code for r in malformed][2] == 429  # malformed requests count too
    assert malformed[0].status_code in (400, 422)


def test_v1_needs_a_key_and_is_rate_limited_as_the_readme_says(
    indexed: Settings, embedder: Embedder
) -> None:
    settings = indexed.model_copy(
        update={"api_keys": KEYS, "rate_limit": "1/hour", "rate_limit_storage": "memory://"}
    )
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
        assert client.get("/v1/models").status_code == 401
        statuses = [
            client.get("/v1/models", headers=bearer(SECRETS["ask"])).status_code for _ in range(2)
        ]
    assert statuses == [200, 429]
    api = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text(encoding="utf-8")
    section = api[api.index("## OpenAI-compatible") : api.index("## Python client")]
    assert "no key to check" not in section and "no rate limit" not in section
    assert "401" in section and "429" in section


@pytest.mark.parametrize(
    ("allowed", "host"),
    [("localhost:18904", "localhost:18904"), ("[::1]", "[::1]:8000"), ("::1", "[::1]")],
)
def test_allowed_hosts_entries_with_a_port_or_ipv6_match(
    indexed: Settings, embedder: Embedder, allowed: str, host: str
) -> None:
    """Such entries could never match: every request got 400."""
    settings = indexed.model_copy(update={"allowed_hosts": [allowed]})
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
        assert client.get("/health", headers={"host": host}).status_code == 200
        assert client.get("/health", headers={"host": "evil.example"}).status_code == 400
        if ":" in allowed and not allowed.startswith("["):  # the port is part of the entry
            assert client.get("/health", headers={"host": "localhost:9"}).status_code == 400


# ---- Rate limits ---------------------------------------------------------------------


def test_rate_limit_429_with_retry_after_shared_by_workers(
    indexed: Settings, embedder: Embedder
) -> None:
    """Two apps on one counter file (as two workers of one machine): the limit holds for
    both together, per caller; a caller over it gets 429 with Retry-After."""
    # The counters live in data_dir (ratelimit.sqlite3), beside the index.
    settings = indexed.model_copy(update={"api_keys": KEYS, "rate_limit": "3/hour"})
    with (
        TestClient(create_app(settings, embedder), base_url=LOCAL) as one,
        TestClient(create_app(settings, embedder), base_url=LOCAL) as two,
    ):
        asker = bearer(SECRETS["ask"])
        statuses = [
            worker.get("/api/articles", headers=asker).status_code
            for worker in (one, two, one, two)
        ]
        other = two.get("/api/articles", headers=bearer(SECRETS["all"])).status_code
        refused = one.get("/api/articles", headers=asker)
    print(f"asker over two workers: {statuses}, then {refused.status_code}; owner: {other}")
    assert statuses == [200, 200, 200, 429]
    assert other == 200
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 0 < wait <= 3600
    assert "RAG_RATE_LIMIT" in refused.json()["detail"]


def test_rate_limit_open_service_counts_by_address(indexed: Settings, embedder: Embedder) -> None:
    settings = indexed.model_copy(update={"rate_limit": "2/hour"})
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
        statuses = [client.get("/v1/models").status_code for _ in range(3)]
        health = client.get("/health").status_code
    assert statuses == [200, 200, 429]
    assert health == 200  # health checks are never limited


# ---- Deadline, request ids, metrics --------------------------------------------------


def test_deadline_504_with_reason_and_the_worker_is_free(
    indexed: Settings, embedder: Embedder
) -> None:
    slow = indexed.model_copy(update={"request_timeout": 0.001})
    with TestClient(create_app(slow, embedder), base_url=LOCAL) as client:
        started = time.monotonic()
        late = client.post("/api/ask", json={"question": FLEET})
        took = time.monotonic() - started
        health = client.get("/health")
    print(f"504 after {took:.2f} s: {late.json()['detail']}")
    assert late.status_code == 504
    assert "RAG_REQUEST_TIMEOUT" in late.json()["detail"]
    assert health.status_code == 200


class Formatted(logging.Handler):
    """Keeps each record as the service's JSON formatter writes it, when it is logged."""

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self.lines = lines
        self.formatter = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_request_id_echoed_made_and_on_every_log_line(
    guarded: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    given = guarded.get("/health", headers={"x-request-id": "trace-42.a"})
    assert given.headers["x-request-id"] == "trace-42.a"
    made = {guarded.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(made) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", m) for m in made)
    odd = guarded.get("/health", headers={"x-request-id": "two words\twith a tab"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])
    # Errors carry it too.
    refused = guarded.get("/api/articles", headers={"x-request-id": "trace-43"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "trace-43"

    lines: list[dict[str, Any]] = []
    handler = Formatted(lines)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with caplog.at_level(logging.DEBUG):
            guarded.post(
                "/api/ask",
                json={"question": FLEET},
                headers={**bearer(SECRETS["ask"]), "x-request-id": "trace-44"},
            )
    finally:
        root.removeHandler(handler)
    lines = [line for line in lines if line["logger"] != "httpx2"]  # the test's client
    print(f"{len(lines)} log lines of the request: {sorted({line['logger'] for line in lines})}")
    assert lines and all(line.get("request_id") == "trace-44" for line in lines)


def test_metrics_for_the_operator(guarded: TestClient) -> None:
    owner = bearer(SECRETS["all"])
    guarded.post("/api/ask", json={"question": FLEET}, headers=owner)
    guarded.post("/api/ask", json={"question": "Who won the 1954 World Cup?"}, headers=owner)
    guarded.get("/api/articles/none-such", headers=owner)
    response = guarded.get("/metrics", headers=bearer(SECRETS["admin"]))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    samples = parse_metrics(text)
    asked = samples.get('newsrag_requests_total{method="POST",route="/api/ask",status="200"}', 0)
    missing = samples.get(
        'newsrag_requests_total{method="GET",route="/api/articles/{article_id}",status="404"}', 0
    )
    print(f"asked: {asked}, 404s: {missing}, articles: {samples['newsrag_index_articles']}")
    assert asked >= 2 and missing >= 1
    for histogram in ("retrieval", "answer", "request"):
        assert any(k.startswith(f"newsrag_{histogram}_seconds_bucket") for k in samples)
    assert "# TYPE newsrag_llm_seconds histogram" in text
    assert samples["newsrag_index_articles"] >= 2 and samples["newsrag_index_chunks"] >= 2
    refused = samples.get('newsrag_answers_total{mode="extractive",refused="yes"}', 0)
    answered = samples.get('newsrag_answers_total{mode="extractive",refused="no"}', 0)
    assert refused >= 1 and answered >= 1


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format: `name{labels} value` lines (labels sorted by name)."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        if "{" in name:
            base, labels = name[:-1].split("{", 1)
            parts = sorted(re.findall(r'(\w+="[^"]*")', labels))
            name = base + "{" + ",".join(parts) + "}"
        samples[name] = float(value)
    return samples


# ---- One worker's queue ----------------------------------------------------------------


@contextmanager
def seconds_left(seconds: float) -> Iterator[None]:
    """The request's deadline, `seconds` from now, for the code inside."""
    token = deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        deadline.reset(token)


def test_work_queue_full_is_429_with_retry_after_and_places_come_back() -> None:
    work = Work(running=1, waiting=1)
    first, second = work.admit(), work.admit()
    with pytest.raises(HTTPException) as refused:
        work.admit()
    assert refused.value.status_code == 429
    assert "RAG_MAX_WAITING" in refused.value.detail
    assert int((refused.value.headers or {})["Retry-After"]) >= 1
    with first:
        pass
    second.abandon()  # a client that left before its turn
    third = work.admit()
    with third:
        pass
    third.abandon()  # after its work: nothing more to give back
    assert work.admit() is not None and work.admit() is not None


def test_work_runs_one_at_a_time_and_a_wait_past_the_deadline_is_a_timeout() -> None:
    work = Work(running=1, waiting=4)
    running = work.admit()
    running.__enter__()
    waiting = work.admit()
    try:
        started = time.monotonic()
        with seconds_left(0.2), pytest.raises(AnswerTimeout), waiting:
            pass
        assert time.monotonic() - started >= 0.15
    finally:
        running.__exit__(None, None, None)
    with work.admit():  # the slot and the places came back
        pass


def test_work_refuses_at_once_a_question_the_queue_would_keep_past_its_deadline() -> None:
    work = Work(running=1, waiting=100)
    running = work.admit()  # one answer under way; the pace starts at 1 s an answer
    with seconds_left(0.5), pytest.raises(HTTPException) as refused:
        work.admit()
    assert refused.value.status_code == 429
    assert (refused.value.headers or {})["Retry-After"] == "1"
    with seconds_left(30):  # time enough to wait its turn
        work.admit().abandon()
    running.abandon()


def test_work_counts_the_question_s_own_answer_against_its_deadline() -> None:
    """One answer under way at 1 s an answer and 1.5 s left: the wait (1 s) fits, the wait
    and its own answer (2 s) do not, so 429 now (before, it was let in and ended in 504)."""
    work = Work(running=1, waiting=100)
    running = work.admit()
    try:
        with seconds_left(1.5), pytest.raises(HTTPException) as refused:
            work.admit()
    finally:
        running.abandon()
    assert refused.value.status_code == 429


def test_work_a_stream_whose_turn_never_comes_ends_with_an_error_event() -> None:
    work = Work(running=1, waiting=4)
    running = work.admit()
    running.__enter__()
    waiting = work.admit()  # admitted while there was time; the answer ahead runs long
    try:
        with seconds_left(0.2):
            sent = b"".join(keep_alive(iter([]), 5.0, waiting))
    finally:
        running.__exit__(None, None, None)
    assert b"event: error" in sent and b"RAG_REQUEST_TIMEOUT" in sent
    with work.admit():  # every place came back
        pass


def test_work_a_ticket_abandoned_while_it_waits_never_runs_and_counts_once() -> None:
    """A client that left while its question waited: its place comes back once (the turn
    that came later once gave it back a second time) and its work never runs."""
    work = Work(running=1, waiting=2)
    running = work.admit()
    running.__enter__()
    waiting, ran, refused = work.admit(), [], []

    def wait_then_run() -> None:
        try:
            with waiting:
                ran.append(True)
        except Abandoned:
            refused.append(True)

    thread = threading.Thread(target=wait_then_run)
    thread.start()
    time.sleep(0.1)
    waiting.abandon()
    running.__exit__(None, None, None)
    thread.join(5)
    assert not ran and refused
    places = [work.admit() for _ in range(3)]  # all three places are free, no more
    with pytest.raises(HTTPException):
        work.admit()
    for place in places:
        place.abandon()


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/api/ask", {"question": "Who won?"}),
        ("/api/ask/stream", {"question": "Who won?"}),
        ("/api/search", {"query": "Who won?"}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Who won?"}]}),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "Who won?"}], "stream": True},
        ),
    ],
)
def test_work_every_answering_route_takes_its_place_in_the_queue(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, route: str, body: dict[str, Any]
) -> None:
    """With the worker's queue full, each route that computes an answer or a search is
    refused with 429 and `Retry-After` before it starts (streamed completions once bypassed
    the queue)."""

    def full(self: Work) -> None:
        raise HTTPException(429, "the queue is full (test)", headers={"Retry-After": "3"})

    monkeypatch.setattr(Work, "admit", full)
    response = client.post(route, json=body)
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == "3"
    assert "queue is full" in response.text
