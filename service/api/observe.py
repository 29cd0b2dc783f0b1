"""What the operator sees of each request: an id on the response and on every log line,
its count and time by route (`service.metrics`), its deadline (`RAG_REQUEST_TIMEOUT`),
which the answering code keeps (`service.answering.deadline`), and the worker's admission
queue (`service.api.admission`)."""

import logging
import os
import re
import time
import uuid

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.logs import request_id
from service.answering.deadline import deadline
from service.api.admission import Work, current_work
from service.metrics import REQUEST_SECONDS, REQUESTS

log = logging.getLogger("service.requests")
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContext:
    """Gives each request an id (the caller's `X-Request-ID` when it is sane), puts it on the
    response and on every log line, sets its deadline, and counts and times it by route.
    (Each request runs in its own task, so the context variables need no resetting, and the
    500 handler, which runs outside every middleware, still reads the id.)"""

    def __init__(self, app: ASGIApp, timeout: float, work: Work | None = None) -> None:
        self.app = app
        self.timeout = timeout
        self.work = work

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        current = given if _GIVEN_ID.match(given) else uuid.uuid4().hex
        request_id.set(current)
        deadline.set(time.monotonic() + self.timeout)
        current_work.set(self.work)
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
