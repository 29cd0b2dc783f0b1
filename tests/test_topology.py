"""The docker-compose topology without Docker: a real `chroma run` server on 127.0.0.1, the
index written to it over HTTP, and the app answering from it; and the compose file itself
checked against the Compose JSON Schema."""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml
from fastapi.testclient import TestClient

from index.build import sync
from index.embed import Embedder
from index.store import open_store
from service.api.app import create_app
from tests.conftest import LOCAL, ROOT, SEEDS, make_settings

SCHEMA = ROOT.parent / "shared" / "schemas" / "compose-spec.json"
CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_chroma(port: int, path: Path) -> subprocess.Popen[bytes]:
    """`chroma run` on 127.0.0.1:port, returned once its heartbeat answers (60 s at most)."""
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.terminate()
    pytest.fail("chroma run did not start within 60 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real Chroma server on a free loopback port, stopped after the module."""
    port = free_port()
    proc = start_chroma(port, tmp_path_factory.mktemp("chroma-server"))
    try:
        yield port
    finally:
        stop(proc)


def test_compose_file_matches_compose_schema() -> None:
    assert SCHEMA.exists(), f"the Compose schema is read from {SCHEMA}, beside the repository"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    jsonschema.validate(compose, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert {"chroma", "app"} <= set(compose["services"])
    assert compose["services"]["app"]["environment"]["RAG_CHROMA_MODE"] == "http"


def test_topology_app_answers_from_chroma_server(
    chroma_server: int, tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(
        SEEDS, tmp_path / "data", chroma_mode="http", chroma_port=chroma_server
    )
    report = sync(settings, open_store(settings), embedder)
    assert report.chunks_written > 0
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
        assert client.get("/health").json()["articles"] == 5
        body = client.post(
            "/api/ask", json={"question": "Where is the Russian Baltic Fleet based?"}
        ).json()
        assert "Baltiysk" in body["answer"]
        assert body["citations"][0]["source"] == "001_225de647bfb3e4f3.txt"


def test_topology_chroma_server_stopped_gives_503(tmp_path: Path, embedder: Embedder) -> None:
    port = free_port()
    proc = start_chroma(port, tmp_path / "chroma")
    try:
        settings = make_settings(SEEDS, tmp_path / "data", chroma_mode="http", chroma_port=port)
        sync(settings, open_store(settings), embedder)
        with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
            assert client.get("/health").status_code == 200
            stop(proc)
            started = time.monotonic()
            response = client.post("/api/ask", json={"question": "Where is Baltiysk?"})
            assert response.status_code == 503
            assert "Chroma" in response.json()["detail"]
            assert time.monotonic() - started < 30
    finally:
        stop(proc)
