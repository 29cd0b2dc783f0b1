"""The API's contract checked against what the tests receive.

`Recorder` keeps every response of the app that any test receives through httpx (TestClient,
httpx.stream, the openai client, the Python client), whole or as far as it was read.
`Contract` checks one against the live /openapi.json: its status must be documented for its
operation, its body must match the schema documented for that status and media type (JSON
bodies with jsonschema; each event of a text/event-stream and each line of a JSON Lines body
against the `itemSchema`), and it must carry the headers documented for its status
(Retry-After, WWW-Authenticate).
"""

import importlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from jsonschema import Draft202012Validator

# Only the app's own answers are checked: every one carries these headers (a model server
# the app talks to answers on the same /v1 paths, without them).
OURS = "x-content-type-options"


@dataclass(frozen=True)
class Received:
    """One response as a test received it."""

    method: str
    path: str
    status: int
    headers: httpx.Headers
    body: bytes


class Contract:
    """The operations of an OpenAPI document, to check responses against."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), path)
            for path in doc["paths"]
        ]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """(operationId, operation) documented for the request, or None outside the API."""
        matching = [t for pattern, t in self.routes if pattern.match(path)]
        # A literal path (/api/articles/bulk) before a template that also matches it.
        for template in sorted(matching, key=lambda t: (t.count("{"), t)):
            found = self.doc["paths"][template].get(method.lower())
            if found:
                return found["operationId"], found
        return (matching[0], {}) if matching else None

    def problems(self, got: Received) -> list[str]:
        """What in the response the document does not say (empty when it matches)."""
        located = self.operation(got.method, got.path)
        if located is None:
            return []
        op_id, operation = located
        where = f"{got.method} {got.path} ({op_id}) {got.status}"
        if not operation:
            return [f"{where}: the method is not documented"]
        response = operation["responses"].get(str(got.status))
        if response is None:
            return [f"{where}: status not documented ({sorted(operation['responses'])})"]
        found = [f"{where}: {p}" for p in self.body_problems(response, got)]
        for header in response.get("headers", {}):
            if header.lower() not in got.headers:
                found.append(f"{where}: no {header} header")
        return found

    def body_problems(self, response: dict[str, Any], got: Received) -> list[str]:
        content = response.get("content", {})
        kind = got.headers.get("content-type", "").split(";")[0].strip()
        if not content:
            return [] if not got.body else [f"a body ({kind}) where none is documented"]
        if kind not in content:
            return [f"{kind!r} is not documented ({sorted(content)})"]
        media = content[kind]
        if "itemSchema" in media:
            items = sse_events(got.body) if kind == "text/event-stream" else json_lines(got.body)
            return [p for item in items for p in self.item_problems(media["itemSchema"], item)]
        if not kind.endswith("json"):  # text/plain and the like: the schema is a string
            value: Any = got.body.decode("utf-8", "replace")
        else:
            try:
                value = json.loads(got.body)
            except ValueError:
                return ["the body is not JSON"]
        return self.schema_problems(media.get("schema", {}), value)

    def schema_problems(self, schema: dict[str, Any], value: Any) -> list[str]:
        validator = Draft202012Validator({**schema, "components": self.doc["components"]})
        return [
            f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message[:300]}"
            for e in validator.iter_errors(value)
        ]

    def item_problems(self, schema: dict[str, Any], item: dict[str, str]) -> list[str]:
        """An event (`{"event", "data"}`) or JSON line (`{"data"}`) against an itemSchema:
        it must match one of its branches."""
        branches = schema.get("oneOf", [schema])
        for branch in branches:
            if not self._branch_problems(branch, item):
                return []
        return [f"stream item {json.dumps(item)[:300]} matches no documented item"]

    def _branch_problems(self, branch: dict[str, Any], item: dict[str, str]) -> list[str]:
        if "$ref" in branch:
            return self.schema_problems(branch, _json_or_none(item["data"]))
        properties = branch.get("properties", {})
        event = properties.get("event", {})
        if "const" in event and item.get("event") != event["const"]:
            return ["another event"]
        data = properties.get("data", {})
        if "const" in data:
            return [] if item["data"] == data["const"] else ["another constant"]
        if "contentSchema" in data:
            value = _json_or_none(item["data"])
            return (
                ["not JSON"]
                if value is None
                else self.schema_problems(data["contentSchema"], value)
            )
        return []


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def sse_events(body: bytes) -> Iterator[dict[str, str]]:
    """The complete events of a text/event-stream body; comments are skipped, and an event
    cut off by the end of what was read is dropped."""
    text = body.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    blocks = text.split("\n\n")
    for block in blocks[:-1]:
        event: dict[str, str] = {}
        data = []
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                data.append(value)
            elif field == "event":
                event["event"] = value
        if data:
            yield {**event, "data": "\n".join(data)}


def json_lines(body: bytes) -> Iterator[dict[str, str]]:
    """Each complete line of a JSON Lines body, as an item."""
    lines = body.decode("utf-8", "replace").split("\n")
    for line in lines[:-1]:
        if line.strip():
            yield {"data": line}


def _tee(base: type) -> type:
    """A response stream class of one HTTP library that hands what was read to `done` when
    it is closed (httpx and httpx2 each check for their own SyncByteStream)."""

    class Tee(base):  # type: ignore[misc,valid-type]
        def __init__(self, inner: Any, done: Callable[[bytes], None]) -> None:
            self.inner, self.done = inner, done
            self.parts: list[bytes] = []
            self.closed = False

        def __iter__(self) -> Iterator[bytes]:
            for part in self.inner:
                self.parts.append(part)
                yield part

        def close(self) -> None:
            if not self.closed:
                self.closed = True
                self.inner.close()
                self.done(b"".join(self.parts))

    return Tee


class Recorder:
    """Records the app's responses that pass through `Client.send` of httpx, and of httpx2
    (which Starlette's TestClient and the openai client use)."""

    def __init__(self) -> None:
        self.received: list[Received] = []

    def install(self, patch: Any) -> None:
        """Wrap each library's Client.send (patch: a pytest MonkeyPatch)."""
        for name in ("httpx", "httpx2"):
            try:
                library = importlib.import_module(name)
            except ImportError:
                continue
            self._wrap(library, patch)

    def _wrap(self, library: Any, patch: Any) -> None:
        original = library.Client.send
        tee = _tee(library.SyncByteStream)
        recorder = self

        def send(client: Any, request: Any, **kwargs: Any) -> Any:
            streamed = kwargs.pop("stream", False)
            response = original(client, request, stream=True, **kwargs)
            if OURS in response.headers:
                response.stream = tee(response.stream, recorder.keeper(request, response))
            if not streamed:
                try:
                    response.read()
                finally:
                    response.close()
            return response

        patch.setattr(library.Client, "send", send)

    def keeper(self, request: Any, response: Any) -> Callable[[bytes], None]:
        def keep(body: bytes) -> None:
            headers = httpx.Headers(list(response.headers.multi_items()))
            self.received.append(
                Received(request.method, request.url.path, response.status_code, headers, body)
            )

        return keep
