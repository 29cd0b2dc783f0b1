"""POST /api/ask and /api/search over the real seeded index."""

import gzip
import re

import pytest
from fastapi.testclient import TestClient

from index.embed import Embedder
from service.api.app import create_app
from service.components import Components
from service.settings import Settings

ASK = "/api/ask"


def ask(client: TestClient, question: str, **extra: object) -> dict:  # type: ignore[type-arg]
    response = client.post(ASK, json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_citations_consistent(client: TestClient, body: dict) -> None:  # type: ignore[type-arg]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers == {c["n"] for c in body["citations"]}
    for sentence in re.split(r"(?<=\])\s+", body["answer"].strip()):
        assert re.search(r"\[\d+\]$", sentence), f"sentence without a citation: {sentence!r}"
    for citation in body["citations"]:
        article = client.get(f"/api/articles/{citation['article_id']}").json()
        assert article["text"][citation["start"] : citation["end"]] == citation["quote"]
        assert strip_article_markers(citation["quote"]) in body["answer"]


def strip_article_markers(quote: str) -> str:
    """The quote as the answer shows it: an article's own bracketed numbers left out."""
    return re.sub(r"\s*\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]", "", quote)


def test_ask_baltic_fleet_cites_baltiysk_passage(client: TestClient) -> None:
    body = ask(client, "Where is the Russian Baltic Fleet based?")
    assert body["answerable"] is True and body["reason"] is None
    assert "Baltiysk" in body["answer"]
    first = body["citations"][0]
    assert first["source"] == "001_225de647bfb3e4f3.txt"
    assert "Baltiysk" in first["quote"]
    assert_citations_consistent(client, body)


@pytest.mark.parametrize(
    ("question", "fact", "article_id"),
    [
        (
            "Which news agency reported the new Russian division near Lithuania?",
            "TASS",
            "000_a171cb6fbc5efeab",
        ),
        (
            "In which city did Iran hold talks with the IAEA before the snapback?",
            "Cairo",
            "000_a171cb6fbc5efeab-4",
        ),
        (
            "Which president skipped the ASEAN summits in 2023 and 2024?",
            "Biden",
            "000_a171cb6fbc5efeab-3",
        ),
        (
            "What was Kaliningrad called before it joined the Soviet Union?",
            "Königsberg",
            "001_225de647bfb3e4f3",
        ),
    ],
)
def test_ask_known_fact_cites_right_article(
    client: TestClient, question: str, fact: str, article_id: str
) -> None:
    body = ask(client, question)
    assert fact in body["answer"]
    assert article_id in {c["article_id"] for c in body["citations"]}
    assert_citations_consistent(client, body)


def test_ask_teaser_cited_under_its_own_title(client: TestClient) -> None:
    body = ask(client, "Who did Rand Paul warn Trump against toppling?")
    cited = body["citations"][0]
    assert cited["article_id"] == "000_a171cb6fbc5efeab-2"
    assert cited["title"] == "Rand Paul to Trump: Don't 'abandon' MAGA over Maduro regime change"
    assert cited["source"] == "000_a171cb6fbc5efeab.txt"


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2022 FIFA World Cup?",
        "How long should I boil an egg for a runny yolk?",
        "What is the capital of Estonia?",
    ],
)
def test_ask_out_of_corpus_question_refused(client: TestClient, question: str) -> None:
    body = ask(client, question)
    assert body["answerable"] is False
    assert body["citations"] == [] and body["reason"]
    assert "[" not in body["answer"]


def test_ask_follow_up_carries_previous_names(client: TestClient) -> None:
    first = ask(client, "Where is the Russian Baltic Fleet based?")
    history = [
        {"role": "user", "content": first["question"]},
        {"role": "assistant", "content": first["answer"]},
    ]
    body = ask(client, "How many people live in that region?", history=history)
    assert body["standalone_question"] != body["question"]
    assert "one million" in body["answer"]


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"question": ""}, "question"),
        ({"question": "   \n\t "}, "empty"),
        ({"question": "x" * 2001}, "2000"),
        ({"question": 42}, "question"),
        ({"question": ["Where?"]}, "question"),
        ({}, "required"),
        ({"question": "Where is Baltiysk?", "top_k": 0}, "top_k"),
        ({"question": "Where is Baltiysk?", "top_k": 21}, "top_k"),
        ({"question": "Where is Baltiysk?", "top_k": "5"}, "top_k"),
        ({"question": "Where is Baltiysk?", "top_k": 2.5}, "top_k"),
        ({"question": "Where is Baltiysk?", "colour": "red"}, "unknown field"),
        ({"question": "Where?", "history": [{"role": "system", "content": "x"}]}, "role"),
    ],
)
def test_ask_bad_input_rejected_with_message(
    client: TestClient, payload: dict, needle: str
) -> None:  # type: ignore[type-arg]
    response = client.post(ASK, json=payload)
    assert response.status_code == 422
    assert needle in response.json()["detail"]


def test_ask_malformed_json_rejected(client: TestClient) -> None:
    response = client.post(
        ASK, content=b'{"question": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]


def test_search_ranks_passages_with_offsets(client: TestClient) -> None:
    response = client.post("/api/search", json={"query": "GPS jamming", "top_k": 3})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["rank"] for r in results] == [1, 2, 3]
    assert "GPS" in results[0]["quote"]
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)


def test_search_bad_top_k_rejected(client: TestClient) -> None:
    assert client.post("/api/search", json={"query": "GPS", "top_k": 99}).status_code == 422


def test_read_articles_lists_host_and_teasers(client: TestClient) -> None:
    articles = client.get("/api/articles").json()
    by_id = {a["article_id"]: a for a in articles}
    assert (
        by_id["000_a171cb6fbc5efeab"]["title"]
        == "Is NATO provoking the Russian military build-up in Kaliningrad?"
    )
    assert by_id["000_a171cb6fbc5efeab-3"]["host_id"] == "000_a171cb6fbc5efeab"
    assert "text" not in by_id["001_225de647bfb3e4f3"]


def test_read_article_not_found(client: TestClient) -> None:
    response = client.get("/api/articles/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_health_reports_index(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["articles"] == 5 and body["chunks"] > 5


def test_openapi_schema_documents_ask(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/ask" in schema["paths"]
    assert schema["components"]["schemas"]["AskRequest"]["additionalProperties"] is False


EMPTY_WINDOWS = [
    {"since": "2030-01-01"},
    {"until": "2000-01-01"},
    {"since": "2022-06-11", "until": "2022-06-30"},  # the seeds carry no date at all
]


@pytest.mark.parametrize("window", EMPTY_WINDOWS)
def test_ask_date_window_without_articles_refused(client: TestClient, window: dict) -> None:  # type: ignore[type-arg]
    body = ask(client, "Where is the Baltic Fleet based?", **window)
    assert body["answerable"] is False and body["citations"] == []
    assert "window" in body["reason"]


@pytest.mark.parametrize("window", EMPTY_WINDOWS)
def test_search_date_window_without_articles_finds_nothing(
    client: TestClient,
    window: dict,  # type: ignore[type-arg]
) -> None:
    response = client.post("/api/search", json={"query": "Baltic Fleet", **window})
    assert response.status_code == 200, response.text
    assert response.json()["results"] == []


def test_ask_stream_date_window_without_articles_refused(client: TestClient) -> None:
    body = {"question": "Where is the Baltic Fleet based?", "since": "2030-01-01"}
    with client.stream("POST", "/api/ask/stream", json=body) as response:
        text = response.read().decode()
    assert response.status_code == 200
    assert "event: error" not in text
    assert '"answerable":false' in text and "event: done" in text


def test_ask_follow_up_on_long_turns_stays_within_question_limit(client: TestClient) -> None:
    names = " ".join(["Aldo Brenner Castile Dorrance"] * 280)[:7990] + "."
    history = [
        {"role": "user", "content": names},
        {"role": "assistant", "content": names},
    ]
    body = ask(client, "And there?", history=history)
    assert len(body["standalone_question"]) <= 2000


def test_host_header_of_another_site_refused(client: TestClient) -> None:
    response = client.get("/health", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert client.get("/health", headers={"host": "127.0.0.1:8000"}).status_code == 200


def test_host_header_any_allowed_with_star(seeded_settings: Settings, embedder: Embedder) -> None:
    settings = seeded_settings.model_copy(update={"allowed_hosts": ["*"]})
    with TestClient(create_app(settings, embedder)) as open_client:
        assert open_client.get("/health", headers={"host": "evil.example"}).status_code == 200


def test_unexpected_failure_is_json_with_security_headers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object) -> None:
        raise RuntimeError("a bug, not a dependency")

    monkeypatch.setattr(Components, "retriever", broken)
    raw = TestClient(client.app, base_url=str(client.base_url), raise_server_exceptions=False)
    response = raw.post("/api/search", json={"query": "Baltic Fleet"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert "a bug" not in response.json()["detail"]  # no internals in the answer
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_docs_page_loads_only_its_own_assets(client: TestClient) -> None:
    response = client.get("/docs")
    html = response.text
    assert response.status_code == 200
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "asset from another host"
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    for asset in re.findall(r"(?:src|href)=\"(/[^\"]+)\"", html):
        assert client.get(asset).status_code == 200, asset


UNPARSABLE = {
    "deep": b"[" * 10_000 + b"]" * 10_000,
    "latin-1": '{"question": "Caf\xe9?"}'.encode("latin-1"),
    "gzip": gzip.compress(b'{"question": "Where is the Baltic Fleet based?"}'),
}
PARSING_ROUTES = [
    "/api/ask",
    "/api/search",
    "/api/ask/stream",
    "/v1/chat/completions",
    "/api/articles",
]


@pytest.mark.parametrize("route", PARSING_ROUTES)
@pytest.mark.parametrize("body", sorted(UNPARSABLE))
def test_body_that_cannot_be_parsed_is_refused_in_words(
    client: TestClient, route: str, body: str
) -> None:
    """Every route that reads JSON refuses such a body alike, saying why (ask, search,
    stream and /v1 answered 400 "There was an error parsing the body")."""
    response = client.post(
        route, content=UNPARSABLE[body], headers={"content-type": "application/json"}
    )
    openai = route.startswith("/v1/")
    assert response.status_code == (400 if openai else 422), response.text
    message = response.json()["error"]["message"] if openai else response.json()["detail"]
    assert message.startswith("the request body is not valid JSON"), message
