"""An article's own bracketed numbers ("...harbour [7].") never pass for our citation markers:
every `[n]` in an answer is one of its citations, while the quote stays exact."""

import re
import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from index.build import sync
from index.embed import Embedder
from index.passages import Hit
from index.store import open_store
from service.answering.candidates import candidates
from service.answering.generative import render
from service.answering.verify import Passage
from service.api.app import create_app
from tests.conftest import LOCAL, SEEDS, make_settings

HARBOUR = "\n\n".join(
    [
        "Port Veltrano harbour repairs",
        "The repairs to the Port Veltrano harbour wall cost 40,000 euros last year [7], the "
        "harbour master told the town council on Monday.",
        "Councillors asked why the bill had risen from 25,000 euros [2][3] the year before, and "
        "the harbour master blamed the winter storms [4, 5].",
    ]
)
QUESTION = "How much did the repairs to the Port Veltrano harbour wall cost last year?"


@pytest.fixture(scope="module")
def harbour(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("markers")
    seeds = root / "seeds"
    shutil.copytree(SEEDS, seeds)
    (seeds / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    settings = make_settings(seeds, root / "data")
    sync(settings, open_store(settings), embedder)
    with TestClient(create_app(settings, embedder), base_url=LOCAL) as client:
        yield client


def test_ask_article_brackets_are_not_citation_markers(harbour: TestClient) -> None:
    body = harbour.post("/api/ask", json={"question": QUESTION}).json()
    assert body["answerable"] and "40,000 euros" in body["answer"]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers == {c["n"] for c in body["citations"]}
    assert "[7]" not in body["answer"]
    cited = body["citations"][0]
    article = harbour.get(f"/api/articles/{cited['article_id']}").json()
    assert article["text"][cited["start"] : cited["end"]] == cited["quote"]
    assert "[7]" in cited["quote"]  # the quote stays exactly as the article has it


def test_render_passages_for_a_model_without_article_brackets() -> None:
    hit = Hit("h:0", "h", "Harbour", "harbour.txt", HARBOUR, 0, len(HARBOUR), 0, 1.0)
    text = render([Passage(1, hit, candidates([hit]))])
    assert "[7]" not in text and "[2]" not in text and "[4, 5]" not in text
    assert "Passage [1]" in text
