"""The BM25 keyword index on its own, and kept in step with Chroma by the indexer."""

import json
from pathlib import Path

import pytest

from index.build import sync
from index.embed import Embedder
from index.keyword import KeywordIndex, postings_for
from index.settings import Settings
from index.store import Store, connect, open_store

HARBOUR = (
    "The harbour master of Port Veltrano counted forty trawlers in the quarantine basin this "
    "week, the largest number since the zorbulite spill closed the northern quay in spring."
)
CHEESE = (
    "Cheese makers in the valley raised their prices by twelve percent after a dry summer "
    "left the pastures brown and the dairy herds short of fresh grass for months."
)
RAIL = (
    "The regional railway will run night trains to the coast from June, the operator said, "
    "after passenger numbers on the evening services doubled over the last two years."
)


def _index(folder: Path) -> KeywordIndex:
    keyword = KeywordIndex(folder)
    keyword.add("h.txt", "d1", postings_for(["h:0"], [HARBOUR], "h.txt", "h", 20220610, "Harbour"))
    keyword.add("c.txt", "d2", postings_for(["c:0"], [CHEESE], "c.txt", "c", 20210101, "Cheese"))
    keyword.add("r.txt", "d3", postings_for(["r:0"], [RAIL], "r.txt", "r", None, "Trains"))
    return keyword


def test_keyword_search_finds_rare_term(tmp_path: Path) -> None:
    hits = _index(tmp_path).search("zorbulite spill", 3)
    assert [h.chunk_id for h in hits] == ["h:0"]
    assert hits[0].score > 0


def test_keyword_search_window_leaves_out_other_days_and_undated(tmp_path: Path) -> None:
    keyword = _index(tmp_path)
    assert keyword.search("prices twelve percent", 3, days=(20220101, 20221231)) == []
    assert [h.chunk_id for h in keyword.search("prices", 3, days=(20200101, 20211231))] == ["c:0"]
    assert keyword.search("night trains coast", 3, days=(0, 99991231)) == []


def test_keyword_search_stop_words_only_finds_nothing(tmp_path: Path) -> None:
    assert _index(tmp_path).search("the of and", 3) == []


def test_keyword_delete_source_forgets_its_chunks(tmp_path: Path) -> None:
    keyword = _index(tmp_path)
    keyword.delete_source("h.txt")
    assert keyword.search("zorbulite", 3) == []
    assert "h.txt" not in keyword.digests()
    assert KeywordIndex(tmp_path).chunk_ids() == {"c:0", "r:0"}


def test_keyword_reader_sees_writes_of_another_instance(tmp_path: Path) -> None:
    reader = _index(tmp_path)
    writer = KeywordIndex(tmp_path)
    writer.delete_source("c.txt")
    writer.add(
        "n.txt",
        "d4",
        postings_for(["n:0"], ["A quokka parade filled the square."], "n.txt", "n", None),
    )
    assert [h.chunk_id for h in reader.search("quokka parade", 3)] == ["n:0"]
    assert reader.search("cheese", 3) == []


def test_keyword_save_stores_matrices_that_a_reader_loads(tmp_path: Path) -> None:
    _index(tmp_path).save()
    stamp = json.loads((tmp_path / "bm25" / "stamp.json").read_text())
    assert sorted(stamp["ids"]) == ["c:0", "h:0", "r:0"]
    assert [h.chunk_id for h in KeywordIndex(tmp_path).search("zorbulite", 3)] == ["h:0"]


def test_keyword_save_compacts_a_log_of_mostly_deletions(tmp_path: Path) -> None:
    keyword = _index(tmp_path)
    for n in range(80):
        keyword.delete_source("c.txt")
        keyword.add("c.txt", f"d{n}", postings_for(["c:0"], [CHEESE], "c.txt", "c", 20210101))
    keyword.save()
    lines = (tmp_path / "postings.jsonl").read_text().splitlines()
    assert len(lines) == 6
    assert KeywordIndex(tmp_path).digests()["c.txt"] == "d79"


def test_keyword_fingerprint_is_shared_by_copies(tmp_path: Path) -> None:
    keyword = _index(tmp_path)
    keyword.add("h2.txt", "d5", postings_for(["h2:0"], [HARBOUR], "h2.txt", "h2", None, "Harbour"))
    assert keyword.fingerprint("h") == keyword.fingerprint("h2")
    assert not keyword.fingerprint("h") & keyword.fingerprint("c")


# -- in step with Chroma ----------------------------------------------------------------------


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "harbour.txt").write_text(HARBOUR + "\n\n" + RAIL, encoding="utf-8")
    (seeds / "cheese.txt").write_text(CHEESE, encoding="utf-8")
    (seeds / "articles.toml").write_text(
        '["cheese.txt"]\npublished = "2021-03-04"\n', encoding="utf-8"
    )
    return Settings(
        seeds_dir=seeds,
        data_dir=tmp_path / "data",
        progress=False,
        chunk_tokens=40,
        chunk_overlap=0,
    )


def _in_step(store: Store) -> set[str]:
    """The chunk ids, after checking that Chroma and the keyword index hold the same."""
    assert store.keyword is not None
    dense = set(store.chunks.get(include=[])["ids"])
    assert store.keyword.chunk_ids() == dense
    assert store.keyword.digests() == store.digests_in_vectors()
    return dense


def test_sync_keeps_keyword_index_in_step_on_add_replace_delete(
    settings: Settings, embedder: Embedder
) -> None:
    store = open_store(settings)
    sync(settings, store, embedder)
    assert {i.split(":")[0] for i in _in_step(store)} == {"harbour", "cheese"}
    (settings.seeds_dir / "harbour.txt").write_text(RAIL, encoding="utf-8")
    (settings.seeds_dir / "cheese.txt").unlink()
    (settings.seeds_dir / "new.txt").write_text(
        CHEESE.replace("Cheese", "Butter"), encoding="utf-8"
    )
    report = sync(settings, store, embedder)
    assert (report.replaced, report.deleted, report.added) == (
        ["harbour.txt"],
        ["cheese.txt"],
        ["new.txt"],
    )
    assert {i.split(":")[0] for i in _in_step(store)} == {"harbour", "new"}
    assert store.keyword is not None
    assert store.keyword.search("zorbulite", 5) == []
    assert [h.chunk_id.split(":")[0] for h in store.keyword.search("butter", 5)] == ["new"]


def test_sync_rewrites_a_source_missing_from_the_keyword_index(
    settings: Settings, embedder: Embedder
) -> None:
    store = open_store(settings)
    sync(settings, store, embedder)
    assert store.keyword is not None
    store.keyword.delete_source("cheese.txt")
    report = sync(settings, store, embedder)
    assert report.replaced == ["cheese.txt"] and report.unchanged == 1
    _in_step(store)


def test_open_store_rebuilds_keyword_index_for_chunks_written_without_it(
    settings: Settings, embedder: Embedder
) -> None:
    sync(settings, Store(connect(settings), settings.collection), embedder)
    store = open_store(settings)
    ids = _in_step(store)
    assert len(ids) >= 2
    assert store.keyword is not None
    day = {p.chunk_id: p.day for p in [store.keyword._postings[i] for i in ids]}
    assert {d for i, d in day.items() if i.startswith("cheese")} == {20210304}
