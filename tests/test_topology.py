"""The docker-compose topology without Docker: a real `chroma run` server on 127.0.0.1, the
index written to it over HTTP, and the app answering from it; and the compose file itself
checked against the Compose JSON Schema."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml
from fastapi.testclient import TestClient

from index.build import sync
from index.embed import Embedder
from index.store import open_store
from service.api.app import create_app
from service.run import start_chroma
from tests.conftest import LOCAL, ROOT, SEEDS, make_settings
from tests.processes import free_port, stop

SCHEMA = ROOT.parent / "shared" / "schemas" / "compose-spec.json"


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real Chroma server on a free loopback port, stopped after the module."""
    port = free_port()
    proc = start_chroma(tmp_path_factory.mktemp("chroma-server"), port)
    try:
        yield port
    finally:
        stop(proc)


def test_compose_file_matches_compose_schema() -> None:
    assert SCHEMA.exists(), f"the Compose schema is read from {SCHEMA}, beside the repository"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    jsonschema.validate(compose, json.loads(SCHEMA.read_text(encoding="utf-8")))
    services = compose["services"]
    assert {"chroma", "indexer", "app"} <= set(services)
    app = services["app"]
    assert app["deploy"]["replicas"] == 2
    assert app["environment"]["RAG_CHROMA_MODE"] == "http"
    assert "localhost" in app["environment"]["RAG_ALLOWED_HOSTS"]
    assert app["depends_on"]["indexer"]["condition"] == "service_completed_successfully"
    assert services["indexer"]["command"] == ["python", "-m", "index"]


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
    proc = start_chroma(tmp_path / "chroma", port)
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
