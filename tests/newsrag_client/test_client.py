"""The Python client and the LangChain retriever against the running app: over HTTP (uvicorn
on loopback) and in process."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.documents import Document

from index.embed import Embedder
from newsrag_client import (
    Conflict,
    InvalidRequest,
    NewsRAG,
    NewsRetriever,
    NotFound,
    StreamFailed,
    Unavailable,
    Unreachable,
    UnsupportedMedia,
)
from newsrag_client.client import StreamEvent
from newsrag_client.models import CitationsEvent, DeltaEvent, DoneEvent, RetrievalEvent
from service.api.app import create_app
from service.settings import Settings
from tests.conftest import SEEDS, make_settings
from tests.llm_servers import serve

FLEET = "Where is the Russian Baltic Fleet based?"
HARBOUR = (
    "The harbour of Port Veltrano reopened on Monday after the zorbulite spill, the harbour "
    "master said. Forty trawlers returned to the northern quay within hours."
)


@pytest.fixture(scope="module")
def news(seeded_settings: Settings, embedder: Embedder) -> Iterator[NewsRAG]:
    """A client of the app served on a loopback port."""
    with serve(create_app(seeded_settings, embedder)) as url, NewsRAG(url) as client:
        yield client


@pytest.fixture
def writable(tmp_path: Path, embedder: Embedder) -> Iterator[NewsRAG]:
    """A client of an app in this process over an index of its own."""
    settings = make_settings(SEEDS, tmp_path / "data")
    with NewsRAG.in_process(create_app(settings, embedder)) as client:
        yield client


def test_client_ask_returns_typed_answer(news: NewsRAG) -> None:
    answer = news.ask(FLEET, top_k=5)
    assert answer.answerable and "Baltiysk" in answer.answer
    assert answer.citations[0].article_id == "001_225de647bfb3e4f3"
    assert f"[{answer.citations[0].n}]" in answer.answer


def test_client_search_ranks_passages(news: NewsRAG) -> None:
    found = news.search("GPS jamming", top_k=3)
    assert [h.rank for h in found.results] == [1, 2, 3]
    assert "GPS" in found.results[0].quote


def test_client_stream_yields_typed_events_in_order(news: NewsRAG) -> None:
    events: list[StreamEvent] = list(news.stream(FLEET))
    assert isinstance(events[0], RetrievalEvent) and events[0].passages
    assert isinstance(events[-2], CitationsEvent) and isinstance(events[-1], DoneEvent)
    deltas = "".join(e.text for e in events if isinstance(e, DeltaEvent))
    assert deltas == events[-2].answer == news.ask(FLEET).answer


def test_client_errors_are_typed_with_status_and_detail(news: NewsRAG) -> None:
    with pytest.raises(NotFound) as missing:
        news.article("nope")
    assert missing.value.status == 404 and "nope" in missing.value.detail
    with pytest.raises(InvalidRequest) as bad:
        news.ask("   ", top_k=30)
    assert bad.value.status == 422 and len(bad.value.errors) == 2
    with pytest.raises(InvalidRequest):
        list(news.stream(""))


def test_client_unreachable_service_raises() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with NewsRAG(f"http://127.0.0.1:{port}", timeout=5) as client, pytest.raises(Unreachable):
        client.health()


def test_client_store_down_raises_unavailable_with_retry_after(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path, tmp_path / "data", chroma_mode="http", chroma_port=9)
    with (
        NewsRAG.in_process(create_app(settings, embedder)) as client,
        pytest.raises(Unavailable) as down,
    ):
        client.ask(FLEET)
    assert down.value.status == 503 and down.value.retry_after == 5


def test_client_stream_error_event_raises(news: NewsRAG, monkeypatch: pytest.MonkeyPatch) -> None:
    from index.errors import StoreUnavailable
    from index.retrieve import Retriever

    def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("the Chroma store failed: connection refused")

    monkeypatch.setattr(Retriever, "search", down)
    with pytest.raises(StreamFailed, match="connection refused"):
        list(news.stream(FLEET))


def test_client_add_json_and_file_then_delete(writable: NewsRAG, tmp_path: Path) -> None:
    written = writable.add_article(HARBOUR, id="harbour", published="2025-11-04")
    assert written.status == "created" and written.article_id == "harbour"
    again = writable.add_article(HARBOUR, id="harbour", published="2025-11-04")
    assert again.status == "unchanged"
    with pytest.raises(Conflict):
        writable.add_article("Other news entirely, told at some length.", id="harbour")
    page = tmp_path / "ferry.html"
    page.write_text(
        "<html><head><title>Ferry returns</title></head><body><article><p>The ferry to Oster "
        "Island returned to its winter timetable on Sunday, the harbour office said, after "
        "storms kept it in port for a week.</p></article></body></html>",
        encoding="utf-8",
    )
    uploaded = writable.add_article(file=page, id="ferry")
    assert uploaded.status == "created"
    assert "winter timetable" in writable.article("ferry").text
    with pytest.raises(UnsupportedMedia):
        writable.add_article(file=b"%PDF-1.4", filename="notes.pdf")
    writable.delete_article("harbour")
    with pytest.raises(NotFound):
        writable.article("harbour")
    assert "harbour" not in {h.article_id for h in writable.search("zorbulite trawlers").results}


def test_retriever_returns_documents_with_citation_fields(news: NewsRAG) -> None:
    retriever = NewsRetriever(client=news, top_k=3)
    docs = retriever.invoke("Where is the Baltic Fleet based?")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    first = docs[0]
    assert {"article_id", "title", "source", "start", "end", "score", "rank"} <= set(first.metadata)
    article = news.article(first.metadata["article_id"]).text
    assert article[first.metadata["start"] : first.metadata["end"]] == first.page_content


def test_client_articles_follows_every_page(news: NewsRAG) -> None:
    whole = news.articles()
    paged = news.articles(page_size=1)
    assert len(whole) >= 2
    assert [a.article_id for a in paged] == [a.article_id for a in whole]
