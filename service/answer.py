"""The extractive answerer: quote the sentences of the retrieved passages that answer.

Each candidate sentence gets a *support* score: its embedding similarity to the question
blended with the share of the question's content words it contains (weighted by how rare
each word is among the candidates). The best sentence answers; up to two more join it when
they score nearly as well and cover question words the first one lacks. When even the best
sentence scores below `min_support` (calibrated by `make eval`), the service says the
articles do not answer rather than guessing.
"""

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from index.chunk import sentence_spans
from index.embed import Embedder
from index.retrieve import Retriever
from index.store import Hit
from index.terms import terms

DENSE_WEIGHT = 0.55
LEXICAL_WEIGHT = 0.45
_MIN_SENTENCE_WORDS = 5
_COMPANION_RATIO = 0.92
NO_ANSWER = "The articles don't say."


@dataclass(frozen=True)
class Cited:
    """A sentence (or passage) cited as [n]: where it comes from and how well it supports."""

    n: int
    article_id: str
    title: str
    source: str
    quote: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Answer:
    """An answer with its citations, or a refusal with its reason."""

    question: str
    standalone_question: str
    text: str
    answerable: bool
    reason: str | None
    mode: str
    citations: list[Cited]


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, located in its article."""

    hit: Hit
    start: int
    end: int
    quote: str


def candidates(hits: list[Hit]) -> list[Candidate]:
    """Sentences of the hits, each once, skipping headings and fragments."""
    seen: set[tuple[str, int]] = set()
    found: list[Candidate] = []
    for hit in hits:
        for span in sentence_spans(hit.text, offset=hit.start):
            quote = hit.text[span.start - hit.start : span.end - hit.start]
            key = (hit.article_id, span.start)
            if key in seen or len(quote.split()) < _MIN_SENTENCE_WORDS:
                continue
            seen.add(key)
            found.append(Candidate(hit, span.start, span.end, quote))
    return found


def lexical_support(question_terms: list[str], sentences: list[list[str]]) -> list[float]:
    """Share of the question's terms in each sentence, rarer terms counting more."""
    wanted = set(question_terms)
    if not wanted:
        return [0.0] * len(sentences)
    df = Counter(t for s in sentences for t in set(s) & wanted)
    n = len(sentences) + 1
    idf = {t: math.log(1 + n / (1 + df[t])) for t in wanted}
    total = sum(idf.values())
    return [sum(idf[t] for t in wanted & set(s)) / total for s in sentences]


class ExtractiveAnswerer:
    """Answers by quoting the best-supported sentences of the retrieved passages."""

    def __init__(
        self, retriever: Retriever, embedder: Embedder, min_support: float, max_sentences: int
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.min_support = min_support
        self.max_sentences = max_sentences

    def score(self, question: str, found: list[Candidate]) -> list[float]:
        """Support of each candidate sentence for the question, 0 to 1."""
        if not found:
            return []
        vectors = self.embedder.encode([question, *(c.quote for c in found)])
        dense = np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)
        lexical = lexical_support(terms(question), [terms(c.quote) for c in found])
        return [
            float(DENSE_WEIGHT * d + LEXICAL_WEIGHT * lx)
            for d, lx in zip(dense, lexical, strict=True)
        ]

    def answer(self, question: str, standalone: str, top_k: int) -> Answer:
        """Quote the sentences that answer `standalone`, or say that the articles don't."""
        found = candidates(self.retriever.search(standalone, top_k))
        scores = self.score(standalone, found)
        ranked = sorted(zip(scores, found, strict=True), key=lambda p: -p[0])
        if not ranked or ranked[0][0] < self.min_support:
            return self.refusal(question, standalone, ranked[0][1] if ranked else None)
        chosen = self.pick(standalone, ranked)
        cited = [_cite(i, c, s) for i, (s, c) in enumerate(chosen, start=1)]
        text = " ".join(f"{c.quote} [{c.n}]" for c in cited)
        return Answer(question, standalone, text, True, None, "extractive", cited)

    def pick(self, question: str, ranked: list[tuple[float, Candidate]]) -> list[tuple[float, Candidate]]:
        """The best sentence, plus close runners-up that add question words it lacks."""
        wanted = set(terms(question))
        chosen = [ranked[0]]
        covered = set(terms(ranked[0][1].quote)) & wanted
        for score, cand in ranked[1:]:
            if len(chosen) >= self.max_sentences or score < ranked[0][0] * _COMPANION_RATIO:
                break
            new = (set(terms(cand.quote)) & wanted) - covered
            if new:
                chosen.append((score, cand))
                covered |= new
        return sorted(chosen, key=lambda p: (p[1].hit.article_id, p[1].start))

    def refusal(self, question: str, standalone: str, nearest: Candidate | None) -> Answer:
        """A plain no-answer with a reason naming the nearest article."""
        reason = (
            f"No passage in the articles answers this; the closest is in “{nearest.hit.title}”."
            if nearest
            else "No article passage matches this question."
        )
        return Answer(question, standalone, NO_ANSWER, False, reason, "extractive", [])


def _cite(n: int, cand: Candidate, score: float) -> Cited:
    hit = cand.hit
    return Cited(n, hit.article_id, hit.title, hit.source, cand.quote, cand.start, cand.end, round(score, 4))
