"""`NewsRAG`: the service's routes as typed Python calls, over HTTP or in process.

The responses are the client's own pydantic models (`newsrag_client.models`), and the
service's error statuses are raised as the exceptions of `newsrag_client.errors`.
"""

import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from newsrag_client.errors import (
    BY_STATUS,
    APIError,
    ServerError,
    StreamFailed,
    Unavailable,
    Unreachable,
)
from newsrag_client.models import (
    ArticleDetail,
    ArticleSummary,
    ArticleWritten,
    AskResponse,
    CitationsEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Health,
    RetrievalEvent,
    SearchResponse,
    StreamEvent,
)

_EVENTS: dict[str, type[StreamEvent]] = {
    "retrieval": RetrievalEvent,
    "delta": DeltaEvent,
    "citations": CitationsEvent,
    "done": DoneEvent,
}


def _transport_errors() -> tuple[type[Exception], ...]:
    """The connection failures of httpx, and of httpx2 (which TestClient uses) when present."""
    found: list[type[Exception]] = [httpx.TransportError]
    with suppress(ImportError):
        found.append(importlib.import_module("httpx2").TransportError)
    return tuple(found)


TRANSPORT_ERRORS = _transport_errors()


class NewsRAG:
    """A client of one News RAG service."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        http: Any = None,
        timeout: float = 120.0,
    ) -> None:
        """`http`: an httpx-style client to use instead (Starlette's TestClient, or an
        httpx.Client with a transport or settings of your own); its base URL is used."""
        self.http: Any = http or httpx.Client(base_url=base_url, timeout=timeout)

    @classmethod
    @contextmanager
    def in_process(cls, app: Any) -> Iterator["NewsRAG"]:
        """A client of an app in this process (started and stopped with its lifespan)."""
        from starlette.testclient import TestClient

        with TestClient(app, base_url="http://localhost") as http:
            yield cls(http=http)

    def __enter__(self) -> "NewsRAG":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        history: Sequence[tuple[str, str]] = (),
        since: date | None = None,
        until: date | None = None,
        min_confidence: float | None = None,
    ) -> AskResponse:
        """An answer with its citations and confidence (POST /api/ask); below
        `min_confidence` (the service's default without it) the answer is a refusal."""
        body = _question(question, top_k, history, since, until, min_confidence)
        return AskResponse.model_validate(self._call("POST", "/api/ask", json=body).json())

    def stream(
        self,
        question: str,
        *,
        top_k: int | None = None,
        history: Sequence[tuple[str, str]] = (),
        since: date | None = None,
        until: date | None = None,
        min_confidence: float | None = None,
    ) -> Iterator[StreamEvent]:
        """The answer's events as they come (POST /api/ask/stream): RetrievalEvent, then
        DeltaEvent pieces, then CitationsEvent and DoneEvent. An `error` event raises
        StreamFailed."""
        body = _question(question, top_k, history, since, until, min_confidence)
        try:
            with self.http.stream("POST", "/api/ask/stream", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for(response)
                for kind, data in _events(response.iter_lines()):
                    if kind == "error":
                        raise StreamFailed(ErrorEvent.model_validate_json(data).detail)
                    if kind in _EVENTS:
                        yield _EVENTS[kind].model_validate_json(data)
        except TRANSPORT_ERRORS as exc:
            raise Unreachable(f"the service could not be reached: {exc}") from exc

    def search(
        self,
        query: str,
        *,
        top_k: int | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> SearchResponse:
        """Passages ranked for the query (POST /api/search)."""
        body = _drop_none({"query": query, "top_k": top_k, **_window(since, until)})
        return SearchResponse.model_validate(self._call("POST", "/api/search", json=body).json())

    def add_article(
        self,
        text: str | None = None,
        *,
        file: Path | bytes | None = None,
        filename: str | None = None,
        replace: bool = False,
        **meta: str | date | None,
    ) -> ArticleWritten:
        """Add an article (POST /api/articles): its `text`, or a `file` (a path, or bytes
        with a `filename`) read as the seeds folder reads one. `meta`: title, published,
        url, publisher, id. With `replace`, PUT /api/articles/{id} (an `id` is needed)."""
        fields = {k: v.isoformat() if isinstance(v, date) else v for k, v in meta.items()}
        fields = _drop_none(fields)
        method, path = "POST", "/api/articles"
        if replace:
            method, path = "PUT", f"/api/articles/{fields['id']}"
        if file is None:
            response = self._call(method, path, json={"text": text, **fields})
        else:
            data = file.read_bytes() if isinstance(file, Path) else file
            name = filename or (file.name if isinstance(file, Path) else "article.txt")
            response = self._call(method, path, files={"file": (name, data)}, data=fields)
        return ArticleWritten.model_validate(response.json())

    def delete_article(self, article_id: str) -> None:
        """Delete an article added over HTTP (DELETE /api/articles/{id})."""
        self._call("DELETE", f"/api/articles/{article_id}")

    def article(self, article_id: str) -> ArticleDetail:
        """An article with its cleaned text, where citations' start/end point."""
        return ArticleDetail.model_validate(self._call("GET", f"/api/articles/{article_id}").json())

    def articles(self, *, page_size: int = 1000) -> list[ArticleSummary]:
        """Every indexed article's metadata, read a page at a time (GET /api/articles,
        following its `Link: <…>; rel="next"` header)."""
        found: list[ArticleSummary] = []
        path: str | None = f"/api/articles?limit={page_size}"
        while path is not None:
            response = self._call("GET", path)
            found += [ArticleSummary.model_validate(a) for a in response.json()]
            path = _next_page(response.headers.get("link"))
        return found

    def health(self) -> Health:
        """Readiness and what the index holds; Unavailable (503) when not ready."""
        return Health.model_validate(self._call("GET", "/health").json())

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except TRANSPORT_ERRORS as exc:
            raise Unreachable(f"the service could not be reached: {exc}") from exc
        _raise_for(response)
        return response


def _question(
    question: str,
    top_k: int | None,
    history: Sequence[tuple[str, str]],
    since: date | None,
    until: date | None,
    min_confidence: float | None = None,
) -> dict[str, Any]:
    turns = [{"role": role, "content": content} for role, content in history]
    body = {
        "question": question,
        "top_k": top_k,
        "history": turns or None,
        "min_confidence": min_confidence,
    }
    return _drop_none({**body, **_window(since, until)})


def _window(since: date | None, until: date | None) -> dict[str, str | None]:
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _next_page(link: str | None) -> str | None:
    """The target of a `Link` header's rel="next", or None on the last page."""
    for part in (link or "").split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", ""):
            return target.strip().removeprefix("<").removesuffix(">")
    return None


def _raise_for(response: Any) -> None:
    """The service's error status as its exception."""
    status = int(response.status_code)
    if status < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    error = body["error"] if isinstance(body.get("error"), dict) else {}
    detail = str(body.get("detail") or error.get("message") or response.text or status)
    if status == 503:
        retry = response.headers.get("retry-after")
        raise Unavailable(status, detail, float(retry) if retry else None)
    kind = BY_STATUS.get(status, ServerError if status >= 500 else APIError)
    raise kind(status, detail, body.get("errors"))


def _events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event type, data) of a text/event-stream; comments (pings) are skipped."""
    kind, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield kind, "\n".join(data)
            kind, data = "message", list[str]()
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))


__all__ = ["NewsRAG", "StreamEvent"]
