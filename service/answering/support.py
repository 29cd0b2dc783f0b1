"""How well a sentence supports an answer to a question: the score behind every citation.

Five signals, blended by weights fitted with a logistic regression on our own question set
(`make eval` prints the figures; `tests/data/seed_questions.jsonl` holds the questions):

- `dense`: embedding similarity of question and sentence;
- `dense_window`: the same for the sentence with its neighbours, which often carry the
  subject a sentence refers to ("her aircraft");
- `lexical` / `lexical_window`: share of the question's content words present, rarer words
  (among the candidates) weighing more;
- `answer_type`: the sentence holds the kind of answer asked for (a number for "how
  many", a date for "when", a name for "who").

On top, a *focus* gate: when the question names the thing it asks for ("how many
kilograms", "who is the governor", "what is the range of"), that thing, or a word the model
finds close to it, must appear near the sentence, or the sentence cannot support an answer.
This gate is what lets the answerer refuse on-topic questions the articles don't answer
("Who is the commander of the Baltic Fleet?"). The form gates of `service.answertype` (a
quantity for "how many", a day for "on what date", no other year for a question naming
one) refuse a sentence the same way.
"""

import math
import re
from dataclasses import dataclass

import numpy as np

from index.embed import Embedder
from index.terms import STOP_WORDS, coverage, terms, words
from service.answering.answertype import asked_type, can_answer, holds_type, years_agree

WEIGHTS = {
    "dense": 3.1,
    "dense_window": 2.25,
    "lexical": 4.01,
    "lexical_window": 2.32,
    "answer_type": 1.56,
}
BIAS = -8.28
# How close in meaning a word must be to stand in for the focus. Roles ("who is the
# governor") need a closer word than other things: role words all sit near each other
# (secretary-general ~ president 0.60), and a different office is not the one asked about.
FOCUS_SIMILARITY = 0.5
ROLE_SIMILARITY = 0.65
COUNT_SIMILARITY = 0.6
# Words by which a question points at the article itself ("what does the author think"): they
# name no content a sentence could share, so they are left out of the word overlap.
_ABOUT_THE_ARTICLE = frozenset(
    terms("author authors writer writers article columnist piece op-ed think thinks believe")
)
_FOCUS = (
    (
        re.compile(
            r"\bhow (?:many|much) (?:of the |other |more )?((?:[\w-]+ )?[\w-]+?)\b(?= (?:are|is|"
            r"were|was|will|did|does|do|have|has|had|would|could|can|in|of|to)\b)",
            re.IGNORECASE,
        ),
        COUNT_SIMILARITY,
        "sentence",
    ),
    # "How many troops took part...": no auxiliary follows, so the counted word is the first.
    (
        re.compile(r"\bhow many (?:of the |other |more )?([\w-]+)", re.IGNORECASE),
        COUNT_SIMILARITY,
        "sentence",
    ),
    (
        re.compile(
            r"\bwho (?:is|was|are|were) (?:the )?(?:current |former |new )?([\w-]+)\b",
            re.IGNORECASE,
        ),
        ROLE_SIMILARITY,
        "window",
    ),
    (
        re.compile(
            r"\bwhat (?:is|was|are|were) (?:the )?(?!name\b)(?:current |maximum |minimum |total |"
            r"official )?([\w-]+) of\b",
            re.IGNORECASE,
        ),
        FOCUS_SIMILARITY,
        "window",
    ),
)


@dataclass(frozen=True)
class Evidence:
    """A sentence to score, with the text around it."""

    sentence: str
    window: str


@dataclass(frozen=True)
class Focus:
    """The words naming what a question asks for, and how close a stand-in must be."""

    words: list[str]
    similarity: float
    # "sentence": what is counted must be named where the number is ("how many warships":
    # "dozens of interceptions" does not answer); "window": the sentence or a neighbour.
    scope: str


def focus_of(question: str) -> Focus | None:
    """The question's focus, when its form shows one."""
    for pattern, similarity, scope in _FOCUS:
        match = pattern.search(question)
        if match:
            found = [w for w in words(match.group(1)) if w not in STOP_WORDS]
            return Focus(found, similarity, scope) if found else None
    return None


class SupportScorer:
    """Scores candidate sentences for a question; 0 (no support) to 1."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def score(self, question: str, evidence: list[Evidence]) -> list[float]:
        """Probability-like support of each sentence, with the focus gate applied."""
        if not evidence:
            return []
        vectors = self.embedder.encode_cached(
            [question, *(e.sentence for e in evidence), *(e.window for e in evidence)]
        )
        q, sent, win = vectors[0], vectors[1 : len(evidence) + 1], vectors[len(evidence) + 1 :]
        wanted = set(terms(question)) - _ABOUT_THE_ARTICLE
        lexical = coverage(wanted, [set(terms(e.sentence)) for e in evidence])
        lexical_window = coverage(wanted, [set(terms(e.window)) for e in evidence])
        kind = asked_type(question)
        focus = focus_of(question)
        scores = []
        for i, item in enumerate(evidence):
            logit = BIAS + (
                WEIGHTS["dense"] * float(sent[i] @ q)
                + WEIGHTS["dense_window"] * float(win[i] @ q)
                + WEIGHTS["lexical"] * lexical[i]
                + WEIGHTS["lexical_window"] * lexical_window[i]
                + WEIGHTS["answer_type"] * float(holds_type(item.sentence, question, kind))
            )
            # A number question is only answered by a sentence that states a quantity, a
            # question for a date by one that names a day, a question naming a year not by a
            # passage about other years.
            typed = can_answer(item.sentence, question, kind) and years_agree(item.window, question)
            gated = typed and (
                focus is None
                or self.mentions(
                    item.sentence if focus.scope == "sentence" else item.window,
                    focus.words,
                    focus.similarity,
                )
            )
            scores.append(1.0 / (1.0 + math.exp(-logit)) if gated else 0.0)
        return scores

    def mentions(self, text: str, focus: list[str], similarity: float = FOCUS_SIMILARITY) -> bool:
        """A focus word, or a word close to it in meaning, appears in the text."""
        present = set(terms(text))
        if any(set(terms(word)) <= present for word in focus):
            return True
        candidates = sorted({w for w in words(text) if w not in STOP_WORDS})
        if not candidates:
            return False
        vectors = self.embedder.encode_cached([*focus, *candidates])
        best = vectors[len(focus) :] @ vectors[: len(focus)].T
        return float(np.max(best)) >= similarity
