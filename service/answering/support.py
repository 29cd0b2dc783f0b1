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
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from index.embed import Embedder
from index.terms import STOP_WORDS, coverage, terms, words
from index.vectors import passage_vectors
from service.answering.answertype import asked_type, can_answer, holds_type, years_agree
from service.answering.candidates import Candidate

SIGNALS = ("dense", "dense_window", "lexical", "lexical_window", "answer_type")
WEIGHTS = {
    "dense": 3.1,
    "dense_window": 2.25,
    "lexical": 4.01,
    "lexical_window": 2.32,
    "answer_type": 1.56,
}
BIAS = -8.28
# The same five signals over the sentence vectors stored at index time, read in their
# passage (`evidence_of`): they tell one sentence of a passage from the next less sharply
# than vectors of each sentence alone (on our set, 84% of answers held the fact with them
# against 88%), so they only choose which candidates are read alone and scored with
# `WEIGHTS` (`SupportScorer.shortlist`). Fitted by `make fit-support` on our set.
SHORTLIST_WEIGHTS = {
    "dense": 2.33,
    "dense_window": 1.7,
    "lexical": 4.96,
    "lexical_window": 2.22,
    "answer_type": 1.33,
}
SHORTLIST_BIAS = -7.55
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
    """A sentence to score, with the text around it, and their vectors when they were read in
    their passage (`evidence_of`); without them both are encoded alone."""

    sentence: str
    window: str
    vector: NDArray[np.float32] | None = field(default=None, compare=False, repr=False)
    window_vector: NDArray[np.float32] | None = field(default=None, compare=False, repr=False)


def evidence_of(found: Sequence[Candidate], embedder: Embedder) -> list[Evidence]:
    """The candidates as evidence, each sentence's vector the one pooled from the pass that
    embedded its passage at index time (`index.vectors.passage_vectors`), and its window's
    the word-count-weighted mean of its own and its neighbours'. A passage stored without
    them is read now by that same pass, once, which costs less than encoding each sentence
    and window alone. A sentence the pass did not reach (past the model's 256 word pieces)
    is encoded alone."""
    rows = passage_vectors([c.hit for c in found], embedder)
    evidence = []
    for c in found:
        own = rows[c.hit.chunk_id]
        vector = own[c.position] if 0 <= c.position < len(own) else None
        if vector is None or not vector.any():
            evidence.append(Evidence(c.quote, c.window))
            continue
        window = np.zeros_like(vector)
        for offset, text in ((-1, c.before), (0, c.quote), (1, c.after)):
            if text and 0 <= c.position + offset < len(own):
                window += len(text.split()) * own[c.position + offset]
        window /= np.linalg.norm(window) or 1.0
        evidence.append(Evidence(c.quote, c.window, vector, window))
    return evidence


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

    def score(
        self,
        question: str,
        evidence: list[Evidence],
        weights: dict[str, float] = WEIGHTS,
        bias: float = BIAS,
        read: Collection[int] | None = None,
    ) -> list[float]:
        """Probability-like support of each sentence, with the focus gate applied. With
        `read`, only those sentences (indexes into `evidence`) are scored, the rest get 0;
        the word overlap still weighs each question word by how rare it is among all."""
        chosen = range(len(evidence)) if read is None else sorted(set(read))
        signals = self.signals(question, evidence, chosen)
        weighted = signals @ np.array([weights[name] for name in SIGNALS])
        passed = dict(zip(chosen, self.gates(question, [evidence[i] for i in chosen]), strict=True))
        return [
            1.0 / (1.0 + math.exp(-(bias + float(w)))) if passed.get(i) else 0.0
            for i, w in enumerate(weighted)
        ]

    def shortlist(self, question: str, found: Sequence[Candidate], size: int) -> list[int]:
        """Which candidates (their indexes, best first, at most `size`) are worth reading
        alone: the best by the support score over the sentence vectors stored at index time,
        which needs no model pass but the question's. Candidates a gate refuses are left
        out."""
        rough = self.score(
            question, evidence_of(found, self.embedder), SHORTLIST_WEIGHTS, SHORTLIST_BIAS
        )
        order = sorted(range(len(found)), key=lambda i: -rough[i])
        return [i for i in order[:size] if rough[i] > 0]

    def signals(
        self, question: str, evidence: list[Evidence], read: Collection[int] | None = None
    ) -> NDArray[np.float64]:
        """One row per sentence: its `SIGNALS`, before weighting; the two embedding
        similarities only for the sentences in `read` (all by default), 0 for the rest."""
        if not evidence:
            return np.zeros((0, len(SIGNALS)))
        chosen = range(len(evidence)) if read is None else sorted(set(read))
        sentences = [i for i in chosen if evidence[i].vector is None]
        windows = [i for i in chosen if evidence[i].window_vector is None]
        fresh = self.embedder.encode_cached(
            [
                question,
                *(evidence[i].sentence for i in sentences),
                *(evidence[i].window for i in windows),
            ]
        )
        encoded = dict(zip(sentences, fresh[1 : len(sentences) + 1], strict=True))
        encoded_windows = dict(zip(windows, fresh[len(sentences) + 1 :], strict=True))
        q = fresh[0]
        dense, dense_window = np.zeros(len(evidence)), np.zeros(len(evidence))
        for i in chosen:
            dense[i] = float(q @ encoded.get(i, evidence[i].vector))
            dense_window[i] = float(q @ encoded_windows.get(i, evidence[i].window_vector))
        wanted = set(terms(question)) - _ABOUT_THE_ARTICLE
        kind = asked_type(question)
        return np.column_stack(
            [
                dense,
                dense_window,
                coverage(wanted, [set(terms(e.sentence)) for e in evidence]),
                coverage(wanted, [set(terms(e.window)) for e in evidence]),
                [float(holds_type(e.sentence, question, kind)) for e in evidence],
            ]
        ).astype(np.float64)

    def gates(self, question: str, evidence: list[Evidence]) -> list[bool]:
        """Whether each sentence may answer at all, whatever its signals."""
        kind = asked_type(question)
        focus = focus_of(question)
        passed = []
        for item in evidence:
            # A number question is only answered by a sentence that states a quantity, a
            # question for a date by one that names a day, a question naming a year not by a
            # passage about other years.
            typed = can_answer(item.sentence, question, kind) and years_agree(item.window, question)
            passed.append(
                typed
                and (
                    focus is None
                    or self.mentions(
                        item.sentence if focus.scope == "sentence" else item.window,
                        focus.words,
                        focus.similarity,
                    )
                )
            )
        return passed

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
