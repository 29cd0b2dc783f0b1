"""The shipped reader refuses a question written to look answerable, which the previous reader
answered: an unanswerable SQuAD 2.0 question of the held-out articles (the paragraphs are
CC BY-SA 4.0). Through the service over all SQuAD paragraphs on 2026-12-07 (docs/reader.md)
the previous reader answered it at its default threshold (support 0.31 against 0.21); here,
over two paragraphs, the shipped one refuses it at its own, and still answers what the other
paragraph does say."""

import pytest

from index.build import sync
from index.embed import Embedder
from index.store import open_store
from service.components import Components
from tests.conftest import make_settings

PARAGRAPHS = {
    "islamism.txt": (
        "Maududi also believed that Muslim society could not be Islamic without Sharia, and "
        "Islam required the establishment of an Islamic state. This state should be a "
        '"theo-democracy," based on the principles of: tawhid (unity of God), risala '
        "(prophethood) and khilafa (caliphate). Although Maududi talked about Islamic "
        'revolution, by "revolution" he meant not the violence or populist policies of the '
        "Iranian Revolution, but the gradual changing the hearts and minds of individuals from "
        "the top of society downward through an educational process or da'wah."
    ),
    "imperialism.txt": (
        "The Age of Imperialism, a time period beginning around 1700, saw (generally European) "
        "industrializing nations engaging in the process of colonizing, influencing, and "
        "annexing other parts of the world in order to gain political power. Although "
        'imperialist practices have existed for thousands of years, the term "Age of '
        'Imperialism" generally refers to the activities of European powers from the early '
        '18th century through to the middle of the 20th century, for example, the "The Great '
        'Game" in Persian lands, the "Scramble for Africa" and the "Open Door Policy" in China.'
    ),
}


@pytest.fixture(scope="module")
def components(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Components:
    seeds = tmp_path_factory.mktemp("squad2")
    for name, text in PARAGRAPHS.items():
        (seeds / name).write_text(text, encoding="utf-8")
    settings = make_settings(seeds, tmp_path_factory.mktemp("data"))
    sync(settings, open_store(settings), embedder)
    return Components(settings, embedder)


@pytest.mark.parametrize(
    ("question", "plausible"),
    [
        ("What were European countries not doing during the 1700's?", "colonizing"),
    ],
)
def test_reader_refuses_a_question_written_to_look_answerable(
    components: Components, question: str, plausible: str
) -> None:
    answerer = components.extractive(components.retriever())
    refused = answerer.answer(question, question, 8)
    assert not refused.answerable and refused.citations == []
    # What it would have said is the sentence holding the careless reader's answer.
    guess = components.extractive(components.retriever(), min_confidence=0.0)
    said = guess.answer(question, question, 8)
    assert plausible in said.text
    assert said.confidence == refused.confidence < components.settings.min_confidence


def test_reader_answers_what_the_same_paragraph_does_say(components: Components) -> None:
    answered = components.extractive(components.retriever()).answer(
        "What did Maududi believe Islam required?", "What did Maududi believe Islam required?", 8
    )
    assert answered.answerable and "Islamic state" in answered.text
