"""Readiness: a missing or unreachable index answers 503 with a reason, never a 500."""

from pathlib import Path

from fastapi.testclient import TestClient

from index.embed import Embedder
from service.api.app import create_app
from tests.conftest import LOCAL, make_settings


def test_health_empty_index_is_503(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "seeds").mkdir()
    settings = make_settings(tmp_path / "seeds", tmp_path / "data")
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
        response = client.get("/health")
        assert response.status_code == 503
        assert "make index" in response.json()["detail"]
        asked = client.post("/api/ask", json={"question": "Where is Baltiysk?"})
        assert asked.status_code == 503


def test_health_chroma_server_down_is_503(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(
        tmp_path / "seeds", tmp_path / "data", chroma_mode="http", chroma_port=9
    )
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
        for path in ("/health",):
            response = client.get(path)
            assert response.status_code == 503
            assert "Chroma" in response.json()["detail"]
        response = client.post("/api/ask", json={"question": "Where is Baltiysk?"})
        assert response.status_code == 503
        assert response.headers["retry-after"]
