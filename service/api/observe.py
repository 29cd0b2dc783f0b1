"""What the operator sees: a request id on every response and log line, and Prometheus
metrics (`GET /metrics`, scope admin).

Metrics live in this process's registry, or, when several workers serve
(`PROMETHEUS_MULTIPROC_DIR`, set by `service.api.server`), in files every worker writes
and /metrics sums.
"""

import os
import re
import time
import uuid

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.logs import request_id

_GIVEN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "newsrag_requests_total",
    "HTTP requests by route, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "newsrag_request_seconds",
    "Time to the response's first byte, by route.",
    ["route"],
    buckets=_SECONDS,
)
RETRIEVAL_SECONDS = Histogram(
    "newsrag_retrieval_seconds", "Time to find the passages of a question.", buckets=_SECONDS
)
ANSWER_SECONDS = Histogram(
    "newsrag_answer_seconds", "Time from the passages to the final answer.", buckets=_SECONDS
)
LLM_SECONDS = Histogram(
    "newsrag_llm_seconds", "Time the language model took for one answer.", buckets=_SECONDS
)
ANSWERS = Counter(
    "newsrag_answers_total",
    "Answers by how they were made (extractive, generated, fallback) and whether refused.",
    ["mode", "refused"],
)
INDEX_ARTICLES = Gauge("newsrag_index_articles", "Articles in the index.", multiprocess_mode="max")
INDEX_CHUNKS = Gauge("newsrag_index_chunks", "Chunks in the index.", multiprocess_mode="max")


class RequestIds:
    """Gives each request an id (the caller's `X-Request-ID` when it is sane), puts it on the
    response and on every log line, and counts and times the request by route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        current = given if _GIVEN_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(current)
        started = time.perf_counter()

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", current.encode()),
                ]
                route = _route(scope)
                REQUESTS.labels(route, scope["method"], str(message["status"])).inc()
                REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            request_id.reset(token)


def _route(scope: Scope) -> str:
    """The route's path template (`/api/articles/{article_id}`), so labels stay few."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, summed over the workers when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
