"""The store under other processes' writes: rows being deleted are skipped, Chroma's passing
conflicts are retried, and damage is reported only when a probe confirms it."""

from collections.abc import Iterator
from typing import Any

import chromadb
import pytest

from index.build import sync
from index.chroma import PassingConflict
from index.embed import Embedder
from index.errors import StoreUnavailable
from index.store import Store, open_store
from tests.conftest import make_settings

CONFLICT = "Error executing plan: Internal error: Error finding id"
DAMAGE = "Error in compaction: Failed to apply logs to the hnsw segment writer"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Store:
    root = tmp_path_factory.mktemp("store")
    seeds = root / "seeds"
    seeds.mkdir()
    for n, place in enumerate(("Orvane", "Lorvik", "Kell Hill")):
        (seeds / f"a{n}.txt").write_text(
            f"The harbour of {place} reopened on Monday after a storm. Trawlers returned.",
            encoding="utf-8",
        )
    settings = make_settings(seeds, root / "data")
    built = open_store(settings)
    sync(settings, built, embedder)
    return built


class Flaky:
    """A collection whose named calls fail (`failures` times, or always with None; with
    `where_only`, only those filtered by a `where`), or whose rows come back with the first
    one's metadata missing, as during another's delete."""

    def __init__(
        self,
        real: Any,
        calls: set[str],
        message: str = CONFLICT,
        failures: int | None = 2,
        blank: bool = False,
        where_only: bool = False,
    ) -> None:
        self.real, self.calls, self.message = real, calls, message
        self.failures, self.blank, self.where_only = failures, blank, where_only

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)
        if name not in self.calls:
            return method

        def call(**kwargs: Any) -> Any:
            if self.where_only and not kwargs.get("where"):
                return method(**kwargs)
            if self.failures is None or self.failures > 0:
                if self.failures is not None:
                    self.failures -= 1
                if not self.blank:
                    raise chromadb.errors.InternalError(self.message)
            got = method(**kwargs)
            if self.blank:
                metas = got["metadatas"]
                if metas and isinstance(metas[0], list):
                    metas[0][0] = None
                elif metas:
                    metas[0] = None
            return got

        return call


@pytest.fixture
def flaky(store: Store) -> Iterator[Store]:
    real = store.chunks, store.articles
    yield store
    store.chunks, store.articles = real


def vector(store: Store, embedder: Embedder) -> Any:
    return embedder.encode_one("harbour reopened after a storm")


def test_store_rows_being_deleted_are_skipped(flaky: Store, embedder: Embedder) -> None:
    """Chroma returns rows with no metadata while another process deletes them: to_hit once
    failed on them (TypeError: 'NoneType' object is not subscriptable, a 500)."""
    whole = flaky.query(vector(flaky, embedder), 3)
    flaky.chunks = Flaky(flaky.chunks, {"query", "get"}, failures=None, blank=True)
    assert len(flaky.query(vector(flaky, embedder), 3)) == len(whole) - 1
    hits, vectors = flaky.chunks_by_id([h.chunk_id for h in whole])
    assert len(hits) == len(whole) - 1 and len(vectors) == len(hits)
    assert len(flaky.chunks_of(flaky.records())) == len(whole) - 1
    flaky.articles = Flaky(flaky.articles, {"get"}, failures=None, blank=True)
    assert len(flaky.records()) == len(whole) - 1
    assert flaky.article("a0") is None or flaky.article("a0") is not None  # no TypeError


def test_store_passing_conflict_is_retried(flaky: Store, embedder: Embedder) -> None:
    flaky.chunks = Flaky(flaky.chunks, {"query"}, failures=2)
    assert len(flaky.query(vector(flaky, embedder), 3)) == 3


def test_store_lasting_conflict_is_not_called_damage_when_the_probe_passes(
    flaky: Store, embedder: Embedder
) -> None:
    """35 reads were once answered "the vector index is damaged … run python -m index
    repair" during concurrent deletes, and the next search worked."""
    flaky.chunks = Flaky(flaky.chunks, {"get"}, failures=None, where_only=True)
    with pytest.raises(PassingConflict) as refused:
        flaky.chunks_of(flaky.records())
    assert "damaged" not in str(refused.value) and "try again" in str(refused.value)


def test_store_damage_confirmed_by_the_probe_is_reported(flaky: Store, embedder: Embedder) -> None:
    flaky.chunks = Flaky(flaky.chunks, {"query", "count"}, message=DAMAGE, failures=None)
    with pytest.raises(StoreUnavailable, match="damaged") as refused:
        flaky.query(vector(flaky, embedder), 3)
    assert not isinstance(refused.value, PassingConflict)
