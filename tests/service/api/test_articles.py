"""/api/articles: articles fed in over HTTP (add, upload, replace, delete, bulk), the errors
that write nothing, and writes that fail midway."""

import json
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.build import sync
from index.embed import Embedder
from index.errors import StoreUnavailable
from index.store import Store, open_store
from service.api.app import create_app
from service.settings import Settings
from tests.conftest import LOCAL, SEEDS, make_settings

HARBOUR = (
    "The harbour of Port Veltrano reopened on Monday after the zorbulite spill, the harbour "
    "master said. Forty trawlers returned to the northern quay within hours."
)
ARTICLES = "/api/articles"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    root = tmp_path_factory.mktemp("articles")
    shutil.copytree(SEEDS, root / "seeds")
    settings = make_settings(root / "seeds", root / "data", max_article_bytes=20_000)
    sync(settings, open_store(settings), embedder)
    return settings


@pytest.fixture(scope="module")
def client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as test_client:
        yield test_client


def found(client: TestClient, query: str) -> list[str]:
    """Article ids of the search results."""
    response = client.post("/api/search", json={"query": query, "top_k": 5})
    assert response.status_code == 200, response.text
    return [r["article_id"] for r in response.json()["results"]]


def test_add_article_json_created_then_unchanged(client: TestClient) -> None:
    body = {"text": HARBOUR, "title": "Harbour reopens", "published": "2025-11-04"}
    first = client.post(ARTICLES, json=body)
    assert first.status_code == 201, first.text
    written = first.json()
    assert written["status"] == "created" and written["chunks"] >= 1
    assert written["article_id"].startswith("art-")
    assert written["article_id"] in found(client, "zorbulite spill trawlers")
    again = client.post(ARTICLES, json=body)
    assert again.status_code == 200
    assert again.json() | {"chunks": 0} == written | {"status": "unchanged", "chunks": 0}
    stored = client.get(f"{ARTICLES}/{written['article_id']}").json()
    assert (
        stored["source"] == f"api/{written['article_id']}" and stored["published"] == "2025-11-04"
    )


def test_add_article_upload_html_cleaned(client: TestClient) -> None:
    page = (
        "<html><head><title>Quokka parade</title></head><body><nav>Home | News</nav><article>"
        "<h1>Quokka parade fills the square</h1><p>A parade of forty quokkas filled the town "
        "square of Port Veltrano on Sunday, the mayor said, the first since the island's "
        "quokka census began in 1990.</p></article></body></html>"
    )
    files = {"file": ("quokka.html", page.encode(), "text/html")}
    response = client.post(ARTICLES, files=files, data={"id": "quokka-parade"})
    assert response.status_code == 201, response.text
    text = client.get(f"{ARTICLES}/quokka-parade").json()["text"]
    assert "forty quokkas" in text and "<p>" not in text and "Home | News" not in text
    assert "quokka-parade" in found(client, "quokka parade town square")


@pytest.mark.parametrize(
    ("request_kwargs", "status", "needle"),
    [
        ({"json": {"text": ""}}, 422, "text"),
        ({"json": {"text": "  \n\t "}}, 422, "empty"),
        ({"json": {"text": HARBOUR, "colour": "red"}}, 422, "unknown field"),
        ({"json": {"text": HARBOUR, "id": "no spaces allowed"}}, 422, "id"),
        ({"json": {"text": "x " * 12_000}}, 413, "RAG_MAX_ARTICLE_BYTES"),
        ({"files": {"file": ("notes.pdf", b"%PDF-1.4", "application/pdf")}}, 415, ".pdf"),
        ({"files": {"file": ("blank.txt", b"   ", "text/plain")}}, 422, "no article text"),
        ({"files": {"file": ("binary.txt", b"\x00\x01\x02", "text/plain")}}, 422, "binary"),
        (
            {"data": {"title": "no file"}, "files": {"other": ("a.txt", b"x", "text/plain")}},
            422,
            "file",
        ),
    ],
)
def test_add_article_bad_input_writes_nothing(
    client: TestClient, request_kwargs: dict[str, Any], status: int, needle: str
) -> None:
    before = len(client.get(ARTICLES).json())
    response = client.post(ARTICLES, **request_kwargs)
    assert response.status_code == status, response.text
    assert needle in response.json()["detail"]
    assert len(client.get(ARTICLES).json()) == before


def test_add_article_body_over_limit_refused_before_parsing(client: TestClient) -> None:
    response = client.post(
        ARTICLES, content=b"{" + b" " * 200_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_add_article_existing_id_other_content_conflicts(client: TestClient) -> None:
    assert client.post(ARTICLES, json={"text": HARBOUR, "id": "taken"}).status_code in (200, 201)
    response = client.post(
        ARTICLES, json={"text": "Other news entirely, told at length.", "id": "taken"}
    )
    assert response.status_code == 409 and "PUT" in response.json()["detail"]


def test_replace_article_searched_as_new_text_only(client: TestClient) -> None:
    client.put(f"{ARTICLES}/swap", json={"text": "The bakery on Mill Street sells rye bread."})
    new = "The bakery on Mill Street now sells spelt loaves."
    response = client.put(f"{ARTICLES}/swap", json={"text": new})
    assert response.status_code == 200 and response.json()["status"] == "replaced"
    for query in ("spelt loaves bakery", "rye bread"):
        results = client.post("/api/search", json={"query": query, "top_k": 5}).json()["results"]
        assert [r["quote"] for r in results if r["article_id"] == "swap"] == [new]


def test_seed_article_cannot_be_replaced_or_deleted(client: TestClient) -> None:
    seed = "001_225de647bfb3e4f3"
    assert client.put(f"{ARTICLES}/{seed}", json={"text": HARBOUR}).status_code == 409
    response = client.delete(f"{ARTICLES}/{seed}")
    assert response.status_code == 409 and "seeds" in response.json()["detail"]


def test_delete_article_then_not_found_nor_searched(client: TestClient) -> None:
    client.put(
        f"{ARTICLES}/gone", json={"text": "Seventeen pelicans nested on the lighthouse roof."}
    )
    assert "gone" in found(client, "pelicans lighthouse roof")
    assert client.delete(f"{ARTICLES}/gone").status_code == 204
    assert client.get(f"{ARTICLES}/gone").status_code == 404
    assert "gone" not in found(client, "pelicans lighthouse roof")
    answer = client.post("/api/ask", json={"question": "Where did the pelicans nest?"}).json()
    assert all(c["article_id"] != "gone" for c in answer["citations"])
    assert client.delete(f"{ARTICLES}/gone").status_code == 404


def test_bulk_answers_line_by_line(client: TestClient) -> None:
    lines = [
        json.dumps({"text": "The ferry to Oster Island now sails twice a day.", "id": "ferry"}),
        json.dumps({"text": "   "}),
        "not json at all",
        json.dumps({"text": "The ferry to Oster Island now sails twice a day.", "id": "ferry"}),
        json.dumps(
            {"text": "Wind turbines off Cape Dorne produced a record output.", "id": "wind"}
        ),
    ]
    response = client.post(
        f"{ARTICLES}/bulk",
        content="\n".join(lines),
        headers={"content-type": "application/x-ndjson"},
    )
    assert response.status_code == 200
    results = [json.loads(line) for line in response.text.splitlines()]
    assert [r["line"] for r in results] == [1, 2, 3, 4, 5]
    assert [r["code"] for r in results] == [201, 422, 422, 200, 201], results
    assert results[3]["status"] == "unchanged"
    assert {"ferry", "wind"} <= set(found(client, "ferry Oster Island turbines Cape Dorne"))


def test_articles_added_over_http_survive_seed_sync(
    client: TestClient, settings: Settings, embedder: Embedder
) -> None:
    client.put(f"{ARTICLES}/kept", json={"text": "The town choir sang at the harbour festival."})
    report = sync(settings, open_store(settings), embedder)
    assert report.deleted == [] and not report.changed
    assert client.get(f"{ARTICLES}/kept").status_code == 200


def test_store_failure_midway_leaves_no_half_article(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Store._upsert

    def chunks_then_fail(self: Store, collection: Any, rows: list[Any]) -> None:
        if collection is self.articles:
            raise StoreUnavailable("the Chroma store failed: connection reset (test)")
        real(self, collection, rows)

    monkeypatch.setattr(Store, "_upsert", chunks_then_fail)
    text = "Archivists found the lost ferry timetable of 1911 in a cellar."
    response = client.put(f"{ARTICLES}/half", json={"text": text})
    assert response.status_code == 503
    monkeypatch.setattr(Store, "_upsert", real)
    assert client.get(f"{ARTICLES}/half").status_code == 404
    assert "half" not in found(client, "lost ferry timetable 1911 cellar")
    store: Store = client.app.state.components.store()  # type: ignore[attr-defined]
    assert store.sweep(grace=0) >= 1  # the orphan chunks
    assert not store.chunks.get(where={"article_id": "half"})["ids"]


def test_replace_is_seen_whole_old_until_it_commits(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = "The observatory on Kell Hill opened its dome to visitors every Friday night."
    client.put(f"{ARTICLES}/dome", json={"text": old})
    chunks_written, go_on = threading.Event(), threading.Event()
    real = Store._upsert

    def pause_before_commit(self: Store, collection: Any, rows: list[Any]) -> None:
        if collection is self.articles:
            chunks_written.set()
            go_on.wait(30)
        real(self, collection, rows)

    monkeypatch.setattr(Store, "_upsert", pause_before_commit)
    new = "The observatory on Kell Hill closed its dome for repairs until the spring."
    writer = threading.Thread(
        target=client.put, args=(f"{ARTICLES}/dome",), kwargs={"json": {"text": new}}
    )
    writer.start()
    assert chunks_written.wait(30)
    results = client.post(
        "/api/search", json={"query": "observatory Kell Hill dome", "top_k": 5}
    ).json()
    quotes = [r["quote"] for r in results["results"] if r["article_id"] == "dome"]
    assert quotes == [old]  # the new chunks are written, but not yet committed
    go_on.set()
    writer.join(30)
    results = client.post(
        "/api/search", json={"query": "observatory Kell Hill dome", "top_k": 5}
    ).json()
    assert [r["quote"] for r in results["results"] if r["article_id"] == "dome"] == [new]


PAGE_WITH_METADATA = (
    "<html><head><title>Tram depot | Veltrano Courier</title>"
    '<meta property="og:title" content="The tram depot reopens">'
    '<link rel="canonical" href="https://courier.example/tram-depot">'
    '<meta property="article:published_time" content="2025-11-20T08:00:00Z"></head>'
    "<body><article><h1>The tram depot reopens</h1><p>The tram depot of Port Veltrano reopened "
    "on Thursday after a year of repairs, the transport office said, and the first trams left "
    "it at dawn.</p></article></body></html>"
)


def test_add_article_upload_html_takes_page_metadata(client: TestClient) -> None:
    files = {"file": ("depot.html", PAGE_WITH_METADATA.encode(), "text/html")}
    assert client.post(ARTICLES, files=files, data={"id": "depot"}).status_code == 201
    stored = client.get(f"{ARTICLES}/depot").json()
    assert stored["title"] == "The tram depot reopens"
    assert stored["published"] == "2025-11-20"
    assert stored["url"] == "https://courier.example/tram-depot"


def test_add_article_upload_request_metadata_wins_over_page(client: TestClient) -> None:
    files = {"file": ("depot2.html", PAGE_WITH_METADATA.encode(), "text/html")}
    data = {"id": "depot2", "title": "Depot open again", "published": "2025-11-21"}
    assert client.post(ARTICLES, files=files, data=data).status_code == 201
    stored = client.get(f"{ARTICLES}/depot2").json()
    assert (stored["title"], stored["published"]) == ("Depot open again", "2025-11-21")
    assert stored["url"] == "https://courier.example/tram-depot"


TEASER_PAGE = (
    "The harbour of Port Veltrano reopened on Monday after a storm closed it for a week. "
    "Forty trawlers returned to the northern quay within hours, the harbour master said.\n\n"
    "Tram depot opens\n\n"
    "The city opened its new tram depot on Tuesday, with room for forty trams and a "
    "workshop that repairs their wheels overnight.\n\n"
    "Keep reading"
)


def test_add_article_teaser_id_never_replaces_another_article(client: TestClient) -> None:
    """A teaser's id was `<id>-2` even when another article held it, which it replaced
    (and `DELETE` of that article then answered 409)."""
    victim = {"id": "victim-2", "text": HARBOUR.replace("Veltrano", "Orvane")}
    assert client.post(ARTICLES, json=victim).status_code == 201
    page = client.post(ARTICLES, json={"id": "victim", "text": TEASER_PAGE})
    assert page.status_code == 201, page.text
    assert page.json()["articles"] == ["victim", "victim-3"]
    assert "Orvane" in client.get(f"{ARTICLES}/victim-2").json()["text"]
    assert "tram depot" in client.get(f"{ARTICLES}/victim-3").json()["text"]
    assert client.delete(f"{ARTICLES}/victim-2").status_code == 204
    assert client.get(f"{ARTICLES}/victim-3").status_code == 200
    assert client.delete(f"{ARTICLES}/victim").status_code == 204
    assert client.get(f"{ARTICLES}/victim-3").status_code == 404


def bulk(client: TestClient, body: bytes) -> list[dict[str, Any]]:
    response = client.post(
        f"{ARTICLES}/bulk", content=body, headers={"content-type": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.split("\n") if line]


def test_bulk_splits_lines_on_newline_only(client: TestClient) -> None:
    """U+2028, U+2029 and U+0085 are legal unescaped in a JSON string; they once split a
    line in two (two 422s, the article lost, every later line number off by one)."""
    text = "The Orvane ferry\u2028sails at dawn.\u2029It returns at dusk.\u0085Fares are unchanged."
    lines = [
        json.dumps({"id": "separators", "text": text}, ensure_ascii=False),
        json.dumps({"id": "after-separators", "text": "The Orvane bridge reopened on Friday."}),
    ]
    results = bulk(client, "\n".join(lines).encode())
    assert [(r["line"], r["code"]) for r in results] == [(1, 201), (2, 201)], results
    assert client.get(f"{ARTICLES}/separators").json()["text"].endswith("Fares are unchanged.")


def test_bulk_line_not_utf8_refused(client: TestClient) -> None:
    """A line that is not UTF-8 was stored with U+FFFD in place of its bytes."""
    latin = b'{"id": "latin-cafe", "text": "Caf\xe9 Orvane opened on the quay on Monday."}'
    fine = json.dumps({"id": "utf8-cafe", "text": "Café Lorvik opened on the quay."}).encode()
    results = bulk(client, latin + b"\n" + fine)
    assert [(r["line"], r["code"]) for r in results] == [(1, 422), (2, 201)], results
    assert "UTF-8" in results[0]["detail"]
    assert client.get(f"{ARTICLES}/latin-cafe").status_code == 404


def test_list_articles_pages_follow_their_links(client: TestClient) -> None:
    """The list once read every article's whole text in one answer; now it comes a page at a
    time, text unread (lengths are kept with each record)."""
    everything = client.get(ARTICLES).json()
    seen, url = [], f"{ARTICLES}?limit=2"
    while url:
        page = client.get(url)
        assert page.status_code == 200 and len(page.json()) <= 2
        seen += page.json()
        link = page.headers.get("link", "")
        url = link[1 : link.index(">")] if link else ""
    assert sorted(a["article_id"] for a in seen) == sorted(a["article_id"] for a in everything)
    assert len(seen) > 2 and all(a["characters"] > 0 for a in seen)
    assert client.get(ARTICLES, params={"limit": 1001}).status_code == 422
    assert client.get(ARTICLES, params={"cursor": "x"}).status_code == 422


def test_list_articles_waits_its_turn_in_the_queue(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi import HTTPException

    from service.api.admission import Work

    def full(self: Work) -> None:
        raise HTTPException(429, "the queue is full (test)", headers={"Retry-After": "3"})

    monkeypatch.setattr(Work, "admit", full)
    assert client.get(ARTICLES).status_code == 429


def test_write_answered_503_says_it_may_have_happened_and_is_safe_to_repeat(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PUT once got 503 "nothing was written" when Chroma failed after the commit, and the
    new version was then served. The 503 now says the write may have happened."""

    def fail(self: Store) -> None:
        raise StoreUnavailable("the Chroma store failed: Server disconnected (test)")

    monkeypatch.setattr(Store, "bump", fail)
    text = "The lighthouse of Cape Vorn was painted red and white for the first time."
    response = client.put(f"{ARTICLES}/vorn", json={"text": text})
    monkeypatch.undo()
    assert response.status_code == 503
    assert "may or may not have taken effect" in response.json()["detail"]
    assert "again is safe" in response.json()["detail"]
    assert client.get(f"{ARTICLES}/vorn").json()["text"] == text  # it had taken effect
    again = client.put(f"{ARTICLES}/vorn", json={"text": text})
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    operation = client.get("/openapi.json").json()["paths"]["/api/articles/{article_id}"]["put"]
    assert "nothing was written" not in operation["responses"]["503"]["description"]


@pytest.mark.parametrize(
    ("files", "data", "problem"),
    [
        ({"file": ("a.txt", b"The quay reopened.", "text/plain")}, {"colour": "red"}, "colour"),
        (
            [
                ("file", ("a.txt", b"The quay.", "text/plain")),
                ("file", ("b.txt", b"x", "text/plain")),
            ],
            {},
            "file: sent 2 times",
        ),
        ({"file": ("a.txt", b"The quay reopened.", "text/plain")}, {"id": "other"}, "differs"),
    ],
)
def test_replace_article_upload_refuses_what_json_refuses(
    client: TestClient, files: Any, data: dict[str, str], problem: str
) -> None:
    """Uploads ignored unknown fields and an id other than the address, and took one of two
    files silently; the JSON route answers 422 for each."""
    response = client.put(f"{ARTICLES}/upload-strict", files=files, data=data)
    assert response.status_code == 422, response.text
    assert problem in response.json()["detail"]
    assert client.get(f"{ARTICLES}/upload-strict").status_code == 404
