"""The support weights' fit: examples from real retrieval over the seeds, a real regression."""

from pathlib import Path

from index.embed import Embedder
from service.answering.support import SIGNALS
from service.components import Components
from service.measure.evaluate import load_questions
from service.measure.fit_support import examples, fit
from service.settings import Settings

SEED_QUESTIONS = Path(__file__).parents[2] / "data" / "seed_questions.jsonl"


def test_fit_learns_that_the_signals_point_at_the_answer(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    questions = load_questions(SEED_QUESTIONS)[:20]
    rows, labels = examples(Components(seeded_settings, embedder), questions)
    assert rows.shape == (len(labels), len(SIGNALS))
    assert 5 <= labels.sum() < len(labels) / 4  # a few answering sentences among many
    weights, bias = fit(rows, labels)
    # More similar, more of the question's words: more likely the answer.
    assert weights["dense"] > 0 and weights["lexical"] > 0
    assert bias < 0
