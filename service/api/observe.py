"""What the operator sees of each request: an id on the response and on every log line,
its count and time by route (`service.metrics`), and its deadline (`RAG_REQUEST_TIMEOUT`),
which the answering code keeps (`service.answering.deadline`)."""

import asyncio
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.logs import request_id
from service.answering.deadline import deadline
from service.answering.errors import AnswerTimeout
from service.metrics import REQUEST_SECONDS, REQUESTS

log = logging.getLogger("service.requests")
T = TypeVar("T")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContext:
    """Gives each request an id (the caller's `X-Request-ID` when it is sane), puts it on the
    response and on every log line, sets its deadline, and counts and times it by route.
    (Each request runs in its own task, so the context variables need no resetting, and the
    500 handler, which runs outside every middleware, still reads the id.)"""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        current = given if _GIVEN_ID.match(given) else uuid.uuid4().hex
        request_id.set(current)
        deadline.set(time.monotonic() + self.timeout)
        started = time.perf_counter()

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", current.encode()),
                ]
                route = _route(scope)
                took = time.perf_counter() - started
                REQUESTS.labels(route, scope["method"], str(message["status"])).inc()
                REQUEST_SECONDS.labels(route).observe(took)
                # One line a request: who (the key's name, never the key), what, how it went.
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": message["status"],
                        "ms": round(took * 1000, 1),
                        "caller": scope.get("state", {}).get("caller"),
                    },
                )
            await send(message)

        await self.app(scope, receive, tagged)


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


async def within_deadline(func: Callable[..., T], *args: Any) -> T:
    """Blocking work run in the thread pool; AnswerTimeout (504) when the request's deadline
    passes first. The work itself stops at its next step (`service.answering.deadline`)."""
    end = deadline.get()
    left = None if end is None else max(0.0, end - time.monotonic())
    try:
        return await asyncio.wait_for(run_in_threadpool(func, *args), left)
    except TimeoutError:
        raise AnswerTimeout(
            "the answer took longer than RAG_REQUEST_TIMEOUT allows; ask again, or narrower"
        ) from None
