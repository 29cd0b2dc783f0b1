"""Shared fixtures: the real embedding model (loaded once) and real Chroma indexes in temp dirs."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from fastapi.testclient import TestClient

from index.build import sync
from index.embed import Embedder
from index.store import Store, connect
from service.api.app import create_app
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# The app answers only the hosts of RAG_ALLOWED_HOSTS, by default localhost and 127.0.0.1.
LOCAL = "http://localhost"
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 model, loaded once for the whole run."""
    return Embedder()


def make_settings(seeds: Path, data: Path, **overrides: object) -> Settings:
    """Settings for a throwaway index."""
    return Settings(seeds_dir=seeds, data_dir=data, progress=False, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of the seed articles that a test may edit."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def seeded_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """An index of the repository's seeds, built once per run and shared read-only."""
    settings = make_settings(SEEDS, tmp_path_factory.mktemp("seeded-index"))
    sync(settings, Store(connect(settings), settings.collection), embedder)
    return settings


@pytest.fixture(scope="session")
def client(seeded_settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    """The app over the seeded index, started through its lifespan."""
    with TestClient(create_app(seeded_settings, embedder), base_url=LOCAL) as test_client:
        yield test_client
