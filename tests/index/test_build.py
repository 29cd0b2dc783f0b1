"""Incremental indexing against a real Chroma store in a temp dir."""

from pathlib import Path

import numpy as np
import pytest

import index.records
from index.build import sync
from index.embed import Embedder
from index.store import Store, connect
from tests.conftest import make_settings


def open_store(settings) -> Store:  # type: ignore[no-untyped-def]
    return Store(connect(settings), settings.collection)


def test_sync_indexes_seeds_with_chunk_metadata(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    report = sync(settings, store, embedder)
    assert sorted(report.added) == ["000_a171cb6fbc5efeab.txt", "001_225de647bfb3e4f3.txt"]
    ids = {a.article_id for a in store.list_articles()}
    assert ids == {
        "000_a171cb6fbc5efeab",
        *(f"000_a171cb6fbc5efeab-{i}" for i in (2, 3, 4)),
        "001_225de647bfb3e4f3",
    }
    got = store.chunks.get(include=["metadatas", "documents"])
    for meta, doc in zip(got["metadatas"] or [], got["documents"] or [], strict=True):
        article = store.article(str(meta["article_id"]))
        assert article is not None
        assert article.text[int(meta["start"]) : int(meta["end"])] == doc
        assert meta["source"] == article.source and meta["title"] == article.title
        assert isinstance(meta["chunk"], int)


def test_sync_unchanged_seeds_writes_nothing(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    sync(settings, store, embedder)
    before = store.counts()
    report = sync(settings, open_store(settings), embedder)
    assert not report.changed and report.chunks_written == 0 and report.unchanged == 2
    assert open_store(settings).counts() == before


def test_sync_edited_file_replaces_its_chunks(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    sync(settings, store, embedder)
    path = seeds_copy / "001_225de647bfb3e4f3.txt"
    path.write_text(
        "The harbour of Zelenogradsk froze solid for the first time in a century, officials said on Monday.\n",
        encoding="utf-8",
    )
    report = sync(settings, store, embedder)
    assert report.replaced == ["001_225de647bfb3e4f3.txt"]
    got = store.chunks.get(where={"source": "001_225de647bfb3e4f3.txt"}, include=["documents"])
    assert got["documents"] == [
        "The harbour of Zelenogradsk froze solid for the first time in a century, officials said on Monday."
    ]
    assert not any(
        "Baltiysk" in h.text for h in store.query(embedder.encode_one("Baltiysk Baltic Fleet"), 20)
    )


def test_sync_deleted_file_loses_its_chunks(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    sync(settings, store, embedder)
    (seeds_copy / "000_a171cb6fbc5efeab.txt").unlink()
    report = sync(settings, store, embedder)
    assert report.deleted == ["000_a171cb6fbc5efeab.txt"]
    assert {a.source for a in store.list_articles()} == {"001_225de647bfb3e4f3.txt"}
    assert store.chunks.get(where={"source": "000_a171cb6fbc5efeab.txt"})["ids"] == []


def test_sync_unreadable_files_skipped_rest_indexed(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    (seeds_copy / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (seeds_copy / "latin1.txt").write_bytes("Caf\xe9 in M\xfcnchen".encode("latin-1"))
    (seeds_copy / "empty.md").write_text("   \n\n", encoding="utf-8")
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    report = sync(settings, store, embedder)
    assert set(report.skipped) == {"binary.txt", "latin1.txt", "empty.md"}
    assert "binary" in report.skipped["binary.txt"] and "UTF-8" in report.skipped["latin1.txt"]
    assert len(report.added) == 2 and store.counts()[0] == 5


def test_sync_manifest_metadata_reaches_articles(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    (seeds_copy / "articles.toml").write_text(
        '["001_225de647bfb3e4f3.txt"]\ntitle = "Kaliningrad explained"\npublished = "2025-12-20"\n',
        encoding="utf-8",
    )
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    sync(settings, store, embedder)
    article = store.article("001_225de647bfb3e4f3")
    assert article is not None and article.title == "Kaliningrad explained"
    assert article.published == "2025-12-20" and article.publisher is None


def test_sync_html_article_extracted_to_main_text(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    body = " ".join(
        [
            "The lighthouse keeper of Pillau logged a record number of storms this winter, the port authority said."
        ]
        * 3
    )
    (seeds_copy / "storm.html").write_text(
        f"<html><head><title>Storms</title></head><body><nav>Home | News | Sport</nav>"
        f"<article><h1>Storm season</h1><p>{body}</p></article><footer>Subscribe</footer></body></html>",
        encoding="utf-8",
    )
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    report = sync(settings, store, embedder)
    assert "storm.html" in report.added
    article = store.article("storm")
    assert article is not None and "lighthouse keeper of Pillau" in article.text
    assert "Home | News" not in article.text and "Subscribe" not in article.text


def test_sync_html_page_metadata_fills_what_manifest_leaves_out(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    body = "The ferry to Oster Island returned to its winter timetable on Sunday, the harbour office said."
    (seeds_copy / "ferry.html").write_text(
        '<html><head><title>Ferry | Courier</title><meta property="og:title" content="Ferry back on winter times">'
        '<link rel="canonical" href="https://courier.example/ferry">'
        '<meta property="article:published_time" content="2025-11-20"></head>'
        f"<body><article><h1>Ferry back on winter times</h1><p>{body}</p></article></body></html>",
        encoding="utf-8",
    )
    with (seeds_copy / "articles.toml").open("a", encoding="utf-8") as manifest:
        manifest.write('\n["ferry.html"]\npublished = "2025-11-21"\n')
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    sync(settings, store, embedder)
    article = store.article("ferry")
    assert article is not None
    assert article.title == "Ferry back on winter times"
    assert article.url == "https://courier.example/ferry"
    assert article.published == "2025-11-21"  # the manifest's date wins


def test_sync_two_files_with_one_stem_indexes_the_rest(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    text = "The harbour of Port Veltrano reopened on Monday after a storm closed it for a week."
    (seeds_copy / "dup.txt").write_text(text, encoding="utf-8")
    (seeds_copy / "dup.md").write_text(text + " Fishing boats returned.", encoding="utf-8")
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    report = sync(settings, store, embedder)
    assert len(report.skipped) == 1
    ((skipped, reason),) = report.skipped.items()
    other = ({"dup.txt", "dup.md"} - {skipped}).pop()
    assert other in reason
    assert store.counts()[0] == 6  # the five seed articles and one of the two
    again = sync(settings, store, embedder)  # the same file wins the next time
    assert set(again.skipped) == {skipped} and not again.changed


TEASER_PAGE = (
    "The harbour of Port Veltrano reopened on Monday after a storm closed it for a week. "
    "Forty trawlers returned to the northern quay within hours, the harbour master said.\n\n"
    "Tram depot opens\n\n"
    "The city opened its new tram depot on Tuesday, with room for forty trams and a "
    "workshop that repairs their wheels overnight.\n\n"
    "Keep reading"
)


def test_sync_teaser_skips_the_id_of_another_seed_file(tmp_path: Path, embedder: Embedder) -> None:
    """`report.txt`'s teaser once took the id `report-2`, the article of `report-2.txt`."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "report-2.txt").write_text(
        "The orchestra of Lorvik played its last concert of the season on Sunday night.",
        encoding="utf-8",
    )
    (seeds / "report.txt").write_text(TEASER_PAGE, encoding="utf-8")
    settings = make_settings(seeds, tmp_path / "data")
    store = open_store(settings)
    sync(settings, store, embedder)
    other = store.article("report-2")
    assert other is not None and other.source == "report-2.txt" and "Lorvik" in other.text
    teaser = store.article("report-3")
    assert teaser is not None and teaser.source == "report.txt" and "tram" in teaser.text


def test_reads_of_every_row_go_in_pages(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(seeds_copy, tmp_path / "data")
    store = open_store(settings)
    sync(settings, store, embedder)
    articles, chunks = store.counts()
    monkeypatch.setattr(index.records, "PAGE", 2)  # five articles, a dozen chunks: many pages
    ids = [a.article_id for a in store.list_articles()]
    assert len(ids) == len(set(ids)) == articles == 5
    assert sorted(r.article_id for r in store.records()) == sorted(ids)
    assert sorted(r.article_id for r in store.records_by_id([*ids, "unknown"])) == sorted(ids)
    assert store.sweep(grace=0) == 0 and store.counts() == (articles, chunks)


def test_sweep_reads_more_chunks_than_one_sqlite_statement_may_name(tmp_path: Path) -> None:
    # Chroma names every row a read found in one SQLite statement (at most 32,766 names):
    # at 100,000 chunks the sweep at the end of an index build failed with "too many SQL
    # variables". 33,000 orphan chunks (no article names their version) must all go.
    store = open_store(make_settings(tmp_path / "seeds", tmp_path / "data"))
    total, step = 33_000, 5_000
    for start in range(0, total, step):
        ids = [f"orphan-{i}" for i in range(start, min(total, start + step))]
        store.chunks.upsert(
            ids=ids,
            embeddings=np.ones((len(ids), 2), dtype=np.float32),
            documents=["text"] * len(ids),
            metadatas=[{"article_id": "gone", "version": "1", "written_at": 0.0}] * len(ids),
        )
    assert store.sweep(grace=0) == total
    assert store.counts() == (0, 0)
