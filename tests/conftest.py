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
from tests.contract import Contract, Recorder

ROOT = Path(__file__).resolve().parent.parent
# The app answers only the hosts of RAG_ALLOWED_HOSTS, by default localhost and 127.0.0.1.
LOCAL = "http://localhost"
SEEDS = ROOT / "seeds"


def live_contract() -> Contract:
    """The contract as the app serves it at /openapi.json (no lifespan: nothing loads)."""
    plain = TestClient(create_app(Settings()), base_url=LOCAL)
    return Contract(plain.get("/openapi.json").json())


@pytest.fixture(scope="session", autouse=True)
def received() -> Iterator[Recorder]:
    """Every response of the app that a test receives, checked at the end of the run
    against /openapi.json (tests/contract.py): a mismatch fails the run."""
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as patch:
        recorder.install(patch)
        yield recorder
    contract = live_contract()
    problems = sorted({p for got in recorder.received for p in contract.problems(got)})
    assert not problems, (
        f"{len(problems)} responses the tests received differ from /openapi.json:\n"
        + "\n".join(problems)
    )


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 model, loaded once for the whole run."""
    return Embedder()


@pytest.fixture
def encoded(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every text the real model reads from here on (the embedder's memory emptied first)."""
    seen: list[str] = []
    model = embedder._model
    real = model.encode

    def counted(texts: list[str], **kwargs: object) -> object:
        seen.extend(texts)
        return real(texts, **kwargs)

    embedder._cache.clear()
    embedder._tokens.clear()
    monkeypatch.setattr(model, "encode", counted)
    yield seen
    embedder._cache.clear()
    embedder._tokens.clear()


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
