"""`index.repair`: a store whose vector index files a killed process left damaged is found,
reported as such (503 material, never a 500 trace), and rebuilt from what SQLite holds, with
nothing lost: seed articles, articles added over HTTP, their versions and the marker.

The damage is made by hand (the header of the HNSW files overwritten), because a SIGKILL
lands inside Chroma's file writes only now and then. Chroma writes those files once a
thousand vectors have come since the last time, so the store here holds over a thousand
articles (short notices added over HTTP); `tests/test_faults.py` kills real
indexing runs and relies on the same repair when it does."""

import sqlite3
from pathlib import Path

import chromadb
import numpy as np
import pytest

from index.__main__ import main
from index.build import sync
from index.chroma import embedded_folder, persistent_client
from index.embed import Embedder
from index.errors import StoreUnavailable
from index.ingest import Ingest, Submission
from index.repair import heal, probe, read_rows
from index.store import open_store
from tests.conftest import make_settings

UPLOAD = (
    "Harbour pilots in Tallinn began a two-day strike on Tuesday over night-shift rosters. "
    "The port authority said 14 ferries were delayed and cargo ships waited at anchor. "
    "Union leaders said talks with the authority would resume on Thursday morning."
)


def notice(n: int) -> str:
    """A short made-up article of one chunk."""
    towns = ["Arden", "Belmor", "Cask", "Dovey", "Elling", "Farrow", "Gisby", "Holm"]
    return (
        f"Road notice {n}: the {towns[n % 8]} bypass closes for resurfacing on day {n % 28 + 1}. "
        f"Diversions are signed, and buses on route {n} stop at the old market instead."
    )


def damage(folder: Path, collection: str, part: str = "header.bin", size: int = 40) -> None:
    """Overwrite the start of one of a collection's HNSW files (its header unless told),
    as a write cut short can leave it."""
    collection_id = str(
        persistent_client(folder).get_collection(collection, embedding_function=None).id
    )
    # Clients made from here on load the store from disk, as a fresh process would (the
    # clients already made keep the copy they loaded).
    chromadb.api.shared_system_client.SharedSystemClient.clear_system_cache()
    _, segments, _ = read_rows(folder, collection_id)
    for segment in segments:
        with (folder / segment / part).open("r+b") as damaged:
            damaged.write(b"\xff" * size)


def test_probe_survives_damage_that_crashes_chroma(tmp_path: Path) -> None:
    """Some damage makes Chroma's vector index crash the process (a segmentation fault in
    `query`, seen after a kill): the probe runs in a child, so the damage is reported, not
    suffered, and the collections after it are still asked."""
    folder = tmp_path / "chroma"
    client = persistent_client(folder)
    rng = np.random.default_rng(7)
    names = ["aaa-crash", "bbb-error", "ccc-sound"]
    for name in names:
        collection = client.create_collection(name, embedding_function=None)
        for start in range(0, 1500, 500):  # past 1,000 vectors, so the HNSW files exist
            vectors = rng.normal(size=(500, 8)).astype(np.float32)
            collection.add(ids=[f"{n}" for n in range(start, start + 500)], embeddings=vectors)
    damage(folder, "aaa-crash", "data_level0.bin", 64)
    damage(folder, "bbb-error", "header.bin", 64)
    assert probe(folder, names) == {"aaa-crash": False, "bbb-error": False, "ccc-sound": True}


def test_repair_rebuilds_damaged_collections_losing_nothing(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    sync(settings, store, embedder)
    ingest = Ingest(store, embedder, settings, max_bytes=100_000)
    added = ingest.put(Submission(text=UPLOAD, title="Tallinn pilots strike"), replace=False)
    notices = [Submission(text=notice(n), title=f"Notice {n}") for n in range(1000)]
    assert all(not isinstance(r, Exception) for r in ingest.put_many(notices))
    before_records = sorted(store.records(), key=lambda r: r.article_id)
    before_chunks = {h.chunk_id: h for h in store.chunks_of(before_records)}
    question = embedder.encode(["How many ferries were delayed by the pilots' strike?"])[0]
    before_top = store.query(question, 3)[0].chunk_id
    generation = store.generation()
    folder = embedded_folder(settings)

    damage(folder, settings.collection)
    damage(folder, f"{settings.collection}-articles")
    broken = open_store(settings)
    with pytest.raises(StoreUnavailable, match=r"damaged.*python -m index repair"):
        broken.query(question, 3)

    repaired = heal(folder, embedder)
    chromadb.api.shared_system_client.SharedSystemClient.clear_system_cache()
    print(f"repaired {repaired}")
    assert repaired == [settings.collection, f"{settings.collection}-articles"]
    assert heal(folder, embedder) == []  # sound now: a second look repairs nothing

    store = open_store(settings)
    records = sorted(store.records(), key=lambda r: r.article_id)
    assert records == before_records
    chunks = {h.chunk_id: h for h in store.chunks_of(records)}
    assert chunks == before_chunks
    assert store.generation() == generation
    assert store.query(question, 3)[0].chunk_id == before_top
    assert before_chunks[before_top].article_id == added.article_id
    article = store.article(added.article_id)
    assert article is not None and article.text == UPLOAD
    # The vectors written back are the ones the chunks were written with.
    ids = sorted(chunks)
    _, vectors = store.chunks_by_id(ids)
    fresh = embedder.encode([chunks[i].text for i in ids])
    assert np.allclose(vectors, fresh, atol=1e-4)
    # No folder of the damaged index is left behind.
    with sqlite3.connect(folder / "chroma.sqlite3") as db:
        segments = {row[0] for row in db.execute("SELECT id FROM segments")}
    assert {p.name for p in folder.iterdir() if p.is_dir()} <= segments

    # The command line: `repair` names what it repaired; `build` repairs on its own first.
    capsys.readouterr()
    damage(folder, f"{settings.collection}-articles")
    assert main(["repair"]) == 0
    assert capsys.readouterr().out.strip() == f"repaired {settings.collection}-articles"
    chromadb.api.shared_system_client.SharedSystemClient.clear_system_cache()
    damage(folder, settings.collection)
    assert main(["build"]) == 0
    out = capsys.readouterr().out
    assert "0 added" in out and "2 unchanged" in out and "1006 articles" in out, out


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, seeds_copy: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_SEEDS_DIR", str(seeds_copy))
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAG_PROGRESS", "false")


def test_a_killed_repair_is_finished_or_started_again(tmp_path: Path, embedder: Embedder) -> None:
    """A repair killed before its staging collection was complete leaves it to be dropped;
    killed after (the damaged collection already deleted), it is swapped in by the next run."""
    folder = tmp_path / "chroma"
    client = persistent_client(folder)
    vector = np.ones((1, 4), dtype=np.float32)
    half = client.create_collection(
        "news.repair", metadata={"repair_complete": False}, embedding_function=None
    )
    half.add(ids=["a"], embeddings=vector, documents=["half"])
    client.create_collection("news", embedding_function=None).add(
        ids=["a"], embeddings=vector, documents=["kept"]
    )
    done = client.create_collection(
        "news-articles.repair", metadata={"repair_complete": True}, embedding_function=None
    )
    done.add(ids=["b"], embeddings=vector, documents=["swapped in"])

    assert heal(folder, embedder) == []
    names = sorted(c.name for c in client.list_collections())
    assert names == ["news", "news-articles"]
    assert client.get_collection("news", embedding_function=None).get()["documents"] == ["kept"]
    assert client.get_collection("news-articles", embedding_function=None).get()["documents"] == [
        "swapped in"
    ]
