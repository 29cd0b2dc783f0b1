"""Checking generated sentences against the passages: kept, re-pointed, dropped, fallen back.

The model here is LangChain's fake chat model returning a fixed answer (registered through
the same `ChatBackend` seam as the real client); the index and embedding model are real.
"""

import re
from collections.abc import Iterator

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from index.embed import Embedder
from service.answering.chat import ChatBackend
from service.answering.events import Delta, Finished
from service.answering.extractive import ExtractiveBackend
from service.answering.generative import pack
from service.answering.verify import Verifier, complete, split
from service.components import Components
from service.settings import Settings

FLEET = "Where is the Russian Baltic Fleet based?"
FLEET_ARTICLE = "001_225de647bfb3e4f3"


def fake(*answers: str) -> ChatBackend:
    return ChatBackend(GenericFakeChatModel(messages=iter([AIMessage(a) for a in answers])))


@pytest.fixture
def backend_for(seeded_settings: Settings, embedder: Embedder) -> Iterator[object]:
    def build(*answers: str) -> ExtractiveBackend:
        return Components(seeded_settings, embedder, chat=fake(*answers)).answerer()

    yield build


def assert_markers_match(answer_text: str, citations: list) -> None:  # type: ignore[type-arg]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer_text)}
    assert markers == {c.n for c in citations}


def test_split_gives_a_leading_marker_back_to_its_sentence() -> None:
    pieces = split("Baltiysk is the home base. [2] It hosts the fleet [1, 3].")
    assert [c.text for _, c in pieces] == ["Baltiysk is the home base.", "It hosts the fleet."]
    assert [set(c.cited) for _, c in pieces] == [{2}, {1, 3}]


def test_complete_waits_for_a_marker_that_may_belong_to_the_sentence() -> None:
    assert complete("Baltiysk is the home base of the fleet. [1")[0] == []
    done, rest = complete("Baltiysk is the home base of the fleet. [1] It")
    assert [c.text for c in done] == ["Baltiysk is the home base of the fleet."]
    assert rest == "It"


def test_generated_answer_drops_unsupported_sentence(backend_for) -> None:  # type: ignore[no-untyped-def]
    answer = backend_for(
        "The Russian Baltic Fleet is based in Baltiysk. [1] "
        "The fleet keeps 900 nuclear submarines there under orders from Minsk. [1]"
    ).answer(FLEET, FLEET, 8)
    assert answer.mode == "generated" and answer.answerable
    assert "Baltiysk" in answer.text and "900" not in answer.text and "Minsk" not in answer.text
    assert len(answer.citations) == 1
    cited = answer.citations[0]
    assert cited.article_id == FLEET_ARTICLE and "Baltiysk" in cited.quote
    assert answer.text.endswith("[1]")
    assert_markers_match(answer.text, answer.citations)


def test_generated_answer_wrong_citation_is_repointed(backend_for) -> None:  # type: ignore[no-untyped-def]
    answer = backend_for("Baltiysk is the home base of the Russian Baltic Fleet. [7]").answer(
        FLEET, FLEET, 8
    )
    assert answer.mode == "generated"
    assert answer.text == "Baltiysk is the home base of the Russian Baltic Fleet. [1]"
    assert "Baltiysk" in answer.citations[0].quote and answer.citations[0].score >= 0.6


def test_generated_answer_without_markers_gets_citations(backend_for) -> None:  # type: ignore[no-untyped-def]
    answer = backend_for("The fleet's home base is Baltiysk.").answer(FLEET, FLEET, 8)
    assert answer.mode == "generated"
    assert answer.citations[0].article_id == FLEET_ARTICLE
    assert "Baltiysk" in answer.citations[0].quote


def test_generated_answer_nothing_supported_falls_back(backend_for) -> None:  # type: ignore[no-untyped-def]
    backend = backend_for("Kaliningrad is famous for its chocolate factories and its opera.")
    done = backend.complete(FLEET, FLEET, 8)
    assert done.answer.mode == "fallback" and done.answer.answerable
    assert "no sentence" in (done.answer.reason or "")
    assert "Baltiysk" in done.answer.text  # the extractive answer stands in
    assert done.usage is not None and done.usage.prompt_tokens > 0


def test_generated_answer_adding_only_title_words_falls_back(backend_for) -> None:  # type: ignore[no-untyped-def]
    question = (
        "What is the name of the narrow strip of land between Poland and Lithuania that links "
        "the Baltic states to the rest of NATO?"
    )
    wrong = "The narrow strip between Poland and Lithuania is called Kaliningrad. [1]"
    answer = backend_for(wrong).answer(question, question, 8)
    assert answer.mode == "fallback" and "Suwałki" in answer.text


def test_generated_answer_unanswerable_refused_without_the_model(backend_for) -> None:  # type: ignore[no-untyped-def]
    backend = backend_for()  # a model call would fail: the fake has no answer to give
    question = "What is a good recipe for chocolate chip cookies?"
    done = backend.complete(question, question, 8)
    assert not done.answer.answerable and done.answer.citations == []
    assert done.usage is None


def test_generated_stream_deltas_add_up_to_the_answer(backend_for) -> None:  # type: ignore[no-untyped-def]
    backend = backend_for(
        "Nonsense about Mars comes first here. The fleet's home base is Baltiysk. [2]"
    )
    events = list(backend.events(FLEET, FLEET, 8))
    deltas = "".join(e.text for e in events if isinstance(e, Delta))
    final = events[-1]
    assert isinstance(final, Finished)
    assert deltas == final.answer.text == "The fleet's home base is Baltiysk. [1]"


def test_verifier_number_absent_from_quote_is_dropped(seeded_settings, embedder) -> None:  # type: ignore[no-untyped-def]
    backend = Components(seeded_settings, embedder).answerer()
    question = "How big is Kaliningrad?"
    passages = pack(backend.retriever.search("Kaliningrad area square kilometers", 4), 2000)
    verifier = Verifier(backend, passages, question, 0.5)
    kept = verifier.check(split("Kaliningrad covers roughly 15,000 square kilometers.")[0][1])
    wrong = verifier.check(split("Kaliningrad covers roughly 25,000 square kilometers.")[0][1])
    assert kept is not None and wrong is None
    assert "15,000" in verifier.cited[0].quote
