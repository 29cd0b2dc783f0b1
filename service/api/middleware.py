"""ASGI middleware of the app: security headers on every response, the Host header checked,
and request bodies read within a deadline and a size limit before anything parses them.
Refusals are JSON in the shape of the route's other errors (`error_models`).

Both are plain ASGI (not `BaseHTTPMiddleware`) so that streamed responses pass through
untouched.
"""

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.error_models import error_body

# The page loads nothing from elsewhere and never evaluates strings as code.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = {"content-security-policy": PAGE_CSP, "x-content-type-options": "nosniff"}


class SecurityHeaders:
    """Adds the page's Content-Security-Policy (unless a route set its own) and nosniff."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode())
                    for k, v in SECURITY_HEADERS.items()
                    if k.encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class AllowedHosts:
    """Answers only requests whose Host is one of `hosts` (`*` allows any): a page on
    another site cannot reach the service through a name of its own (DNS rebinding). The
    refusal is a 400 with a sentence, as Starlette's TrustedHostMiddleware's is not."""

    def __init__(self, app: ASGIApp, hosts: Sequence[str]) -> None:
        self.app = app
        self.any = "*" in hosts
        self.hosts = {host_and_port(h) for h in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.any:
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("host", "")
        name, port = host_and_port(given)
        if (name, None) in self.hosts or (name, port) in self.hosts:
            await self.app(scope, receive, send)
            return
        detail = f"this service does not answer to the host {given!r} (RAG_ALLOWED_HOSTS)"
        await refuse(scope, send, 400, detail)


def host_and_port(value: str) -> tuple[str, str | None]:
    """A Host header, or an entry of RAG_ALLOWED_HOSTS, as (name, port or None), the name in
    lower case and an IPv6 literal without its brackets: `[::1]:8000` is ("::1", "8000"),
    `localhost` ("localhost", None). An entry with a port allows only that port (the
    port was once compared as part of the name, so such an entry never matched)."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return name, rest.removeprefix(":") or None
    if value.count(":") == 1:
        name, _, port = value.partition(":")
        return name, port or None
    return value, None  # a name, or a bare IPv6 address


@dataclass(frozen=True)
class Limit:
    """The largest body of requests of one method whose path starts with `prefix`."""

    method: str
    prefix: str
    max_bytes: int
    setting: str


class BodyLimits:
    """A request body must arrive whole within `timeout` seconds (408) and weigh at most its
    route's limit (413, refused from its Content-Length before a byte is read when it says
    so; the first matching `Limit`, else `default`). The body is then handed to the app as
    one message."""

    def __init__(
        self, app: ASGIApp, limits: Sequence[Limit], default: Limit, timeout: float
    ) -> None:
        self.app = app
        self.limits = list(limits)
        self.default = default
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = next(
            (
                rule
                for rule in self.limits
                if rule.method == scope["method"] and scope["path"].startswith(rule.prefix)
            ),
            self.default,
        )
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit.max_bytes:
            await refuse(scope, send, 413, _too_large(limit))
            return
        body = await self.read(scope, receive, send, limit)
        if body is None:
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def read(self, scope: Scope, receive: Receive, send: Send, limit: Limit) -> bytes | None:
        """The whole body, or None once a refusal was sent (or the client left)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        parts, size = [], 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                detail = f"the request body did not arrive within {self.timeout:g} s"
                await refuse(scope, send, 408, detail)
                return None
            if message["type"] == "http.disconnect":
                return None
            size += len(message.get("body", b""))
            if size > limit.max_bytes:
                await refuse(scope, send, 413, _too_large(limit))
                return None
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(parts)


async def refuse(
    scope: Scope, send: Send, status: int, detail: str, extra: Mapping[str, str] | None = None
) -> None:
    """A JSON error that also closes the connection: the rest of the body is not read."""
    content = json.dumps(error_body(scope.get("path", "/"), status, detail)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
        *((k.lower().encode(), v.encode()) for k, v in (extra or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _too_large(limit: Limit) -> str:
    return f"the request body is larger than {limit.max_bytes} bytes ({limit.setting})"
