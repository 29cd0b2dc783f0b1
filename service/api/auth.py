"""Who may do what: API keys with scopes, and each caller's rate limit.

`RAG_API_KEYS` (or the file `RAG_API_KEYS_FILE`; read by `service.keys`) lists
`name:key:scopes`, scopes joined by `+`:

    ask     ask, search, stream, /v1, and read articles
    write   add, replace and delete articles
    admin   read /metrics

Unset, the service is open (one warning at start-up). Set, every `/api/*`, `/v1/*` and
`/metrics` request needs `Authorization: Bearer <key>`: none or an unknown key is a 401
with `WWW-Authenticate`, a key without the route's scope a 403. Keys are compared in
constant time and never logged; the key's name is (as `caller`).
"""

import hmac
import logging
from collections.abc import Callable, Sequence

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.middleware import refuse
from service.api.ratelimit import RateLimiter
from service.keys import ApiKey

log = logging.getLogger(__name__)
# The statuses every guarded route may answer besides its own.
GUARDED = (401, 403, 429)


class Gate:
    """Checks a request's key against a route's scope, then counts it against its caller's
    rate limit; the caller's name is kept on `request.state.caller` for the logs."""

    def __init__(self, keys: Sequence[ApiKey], limiter: RateLimiter | None) -> None:
        self.keys = list(keys)
        self.limiter = limiter

    def check(self, request: Request, scope: str, count: bool = True) -> str:
        """The caller's name; HTTPException 401, 403 or 429 (when `count`ed) otherwise."""
        caller = self._caller(request, scope)
        request.state.caller = caller
        if self.limiter is not None and count:
            wait = self.limiter.hit(caller)
            if wait is not None:
                raise HTTPException(
                    429,
                    f"too many requests from {caller}: RAG_RATE_LIMIT allows no more now; "
                    f"try again in {wait:.0f} s",
                    headers={"Retry-After": str(int(wait + 0.999))},
                )
        return caller

    def _caller(self, request: Request, scope: str) -> str:
        if not self.keys:
            return request.client.host if request.client else "unknown"
        given = request.headers.get("authorization", "")
        kind, _, token = given.partition(" ")
        key = self._find(token.strip()) if kind.lower() == "bearer" else None
        if key is None:
            raise HTTPException(
                401,
                "an API key is needed: send `Authorization: Bearer <key>`"
                if not given
                else "unknown API key",
                headers={"WWW-Authenticate": 'Bearer realm="newsrag"'},
            )
        if scope not in key.scopes:
            request.state.caller = key.name  # the refusal is logged under its name
            raise HTTPException(
                403, f"the key {key.name!r} may not {_DOING[scope]} (scope {scope!r})"
            )
        return key.name

    def _find(self, token: str) -> ApiKey | None:
        """The key matching the token; every key is compared, each in constant time."""
        found = None
        for key in self.keys:
            if hmac.compare_digest(key.secret.encode(), token.encode()):
                found = key
        return found


_DOING = {"ask": "ask or read", "write": "add, replace or delete articles", "admin": "read metrics"}


def scope_of(method: str, path: str) -> str | None:
    """The scope a request needs, from its method and path alone (None: none); each route
    names its scope as a dependency too, which checks the same."""
    if path == "/metrics":
        return "admin"
    if path.startswith("/api/articles") and method in ("POST", "PUT", "DELETE"):
        return "write"
    if path.startswith(("/api/", "/v1/")):
        return "ask"
    return None


class KeysFirst:
    """Checks a request's key, scope and rate limit from its headers, before a byte of its
    body is read: a caller without a key can neither hold a connection sending a body for
    RAG_BODY_TIMEOUT nor have one parsed (a malformed body once got 422, not 401, and went
    uncounted by the rate limit)."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app, self.gate = app, gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        needed = scope_of(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if needed is not None:
            request = Request(scope)
            try:
                if self.gate.limiter is None:
                    self.gate.check(request, needed)
                else:  # the limiter's counters are a file or a server
                    await run_in_threadpool(self.gate.check, request, needed)
            except HTTPException as exc:
                await refuse(scope, send, exc.status_code, str(exc.detail), exc.headers)
                return
            request.state.checked = needed
        await self.app(scope, receive, send)


def requires(scope: str) -> Callable[[Request], str]:
    """A dependency: the request's caller, allowed `scope` (see `Gate.check`; counted once,
    by `KeysFirst` when it checked the request)."""

    def dependency(request: Request) -> str:
        gate: Gate = request.app.state.gate
        checked = getattr(request.state, "checked", None)
        return gate.check(request, scope, count=checked is None)

    dependency.__name__ = f"requires_{scope}"
    return dependency
