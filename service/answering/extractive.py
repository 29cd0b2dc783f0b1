"""The extractive backend: quote the sentences of the retrieved passages that answer.

Each candidate sentence gets a support score from `support` (embedding similarity and word
overlap of the sentence and of its neighbours, the kind of answer asked for, and the
question's focus). The best sentence answers; the runner-up joins it when it scores nearly
as well, and the sentence before joins when the answer leans on it ("her aircraft"). With the
reader (a small model shipped with the code, `service.reader.model`), each sentence the rules
did not rule out is also read and its support becomes the geometric mean of the two. The best
support, calibrated, is the answer's confidence (`service.answering.confidence`); below the
request's `min_confidence` the service says the articles do not answer rather than guessing.
No language model is needed.

`score` is the plainer similarity-plus-overlap measure the generated-answer verifier uses
to check a written sentence against a passage.
"""

import math
import re
from collections.abc import Iterator, Mapping

import numpy as np

from index.embed import Embedder
from index.passages import Hit
from index.retrieve import Retriever
from index.terms import coverage, terms
from service.answering.answer import NO_ANSWER, Answer, Cited, as_answer_text
from service.answering.candidates import Candidate, candidates
from service.answering.confidence import Calibration, Kind, shipped_calibrations
from service.answering.deadline import check
from service.answering.events import Delta, Event, Finished, Retrieved, finish
from service.answering.followup import standalone
from service.answering.support import Evidence, SupportScorer
from service.metrics import ANSWER_SECONDS, RETRIEVAL_SECONDS, answered
from service.reader.model import Reader

DENSE_WEIGHT = 0.55
LEXICAL_WEIGHT = 0.45
# A runner-up with at least this share of the best score joins the answer.
_RUNNER_UP_SHARE = 0.5
_MAX_ANSWER_WORDS = 70
# Candidate sentences read alone by the model for each answer, out of the 30-60 a question's
# passages hold; the rest are ranked by the vectors stored at index time (`scores`). 5 and 8
# gave the same answers as reading all of them on our five question sets (README).
SHORTLIST = 5
# A sentence that names its people only by pronoun in its first words needs the one before
# ("Initial reports suggested her aircraft..."), and so does one that points back to what
# was just said ("some of those missiles", "this would complicate"). "It" is left out: it
# mostly stands for the place or thing the question already names.
_LEANS_BACK = re.compile(
    r"^(\S+\s+){0,6}?(they|their|them|he|his|him|she|her|these|those|"
    r"(this|that)(?= (would|will|could|can|may|might|is|was|has|had|means|meant)\b))\b",
    re.IGNORECASE,
)


class ExtractiveBackend:
    """Answers by quoting the best-supported sentences of the retrieved passages."""

    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        min_support: float,
        max_sentences: int,
        min_confidence: float = 0.075,
        reader: Reader | None = None,
        calibration: Mapping[Kind, Calibration] | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.min_support = min_support
        self.max_sentences = max_sentences
        self.min_confidence = min_confidence
        self.support = SupportScorer(embedder)
        self.reader = reader
        # Each way of deciding has its own calibration: with the reader, and the rules alone
        # (RAG_READER=rules, follow-ups). Read once per process by the caller; a backend is
        # built for every question.
        self.calibration = calibration or shipped_calibrations()

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        """The question with the conversation's names added when it leans on them."""
        return standalone(question, history)

    def events(self, question: str, standalone: str, top_k: int) -> Iterator[Event]:
        """Retrieved, the quoted answer as one delta, Finished."""
        hits = self.retrieve(standalone, top_k)
        yield Retrieved(standalone, hits)
        with ANSWER_SECONDS.time():
            answer = self.quote(question, standalone, hits)
        answered(answer.mode, answer.answerable)
        yield Delta(answer.text)
        yield Finished(answer, None)

    def retrieve(self, standalone: str, top_k: int) -> list[Hit]:
        """The passages for the question, timed; AnswerTimeout past the request's deadline."""
        with RETRIEVAL_SECONDS.time():
            hits = self.retriever.search(standalone, top_k)
        check()
        return hits

    def complete(self, question: str, standalone: str, top_k: int) -> Finished:
        """The final answer and token use, once every event has run."""
        return finish(self.events(question, standalone, top_k))

    def answer(self, question: str, standalone: str, top_k: int) -> Answer:
        """Quote the sentences that answer `standalone`, or say that the articles don't."""
        return self.quote(question, standalone, self.retriever.search(standalone, top_k))

    def quote(self, question: str, standalone: str, hits: list[Hit]) -> Answer:
        """The extractive answer from passages already retrieved."""
        found = candidates(hits)
        # A follow-up is searched with the names it leans on, but a sentence answers it when
        # it answers what was typed: the added names would otherwise outweigh its own words.
        # The reader was trained on questions that stand alone: a follow-up, searched with
        # the names it leans on added as a list, is answered by the rules alone (README).
        reader = self.reader if standalone == question else None
        scores = self.judge(question, found, reader)
        ranked = sorted(zip(scores, found, strict=True), key=lambda p: -p[0])
        calibration = self.calibration["model" if reader else "rules"]
        confidence = round(calibration.confidence(ranked[0][0]), 4) if ranked else 0.0
        if not ranked or confidence < self.min_confidence:
            return self.refusal(question, standalone, ranked[0][1] if ranked else None, confidence)
        chosen = self.pick(ranked, {(c.hit.article_id, c.start): sc for sc, c in ranked})
        cited = [_cite(i, c, s) for i, (s, c) in enumerate(chosen, start=1)]
        text = " ".join(f"{as_answer_text(c.quote)} [{c.n}]" for c in cited)
        return Answer(question, standalone, text, True, None, "extractive", cited, confidence)

    def judge(self, question: str, found: list[Candidate], reader: Reader | None) -> list[float]:
        """Support of each candidate. The rules of `scores` give each candidate a support;
        with a reader, every candidate they did not rule out is also read by it, and its
        support becomes the geometric mean of the two (README: measured against either
        alone)."""
        support = self.scores(question, found)
        if reader is None:
            return support
        chosen = [i for i, s in enumerate(support) if s > 0]
        readings = reader.read(
            question, [(found[i].quote, found[i].before, found[i].after) for i in chosen]
        )
        for i, reading in zip(chosen, readings, strict=True):
            support[i] = math.sqrt(support[i] * reading.probability)
        return support

    def scores(self, question: str, found: list[Candidate]) -> list[float]:
        """Support of each candidate: the `SHORTLIST` best by the vectors stored at index time
        (and the sentence before any of them that leans on it) read alone and scored; the
        rest 0. Reading every candidate alone cost 2.2 s of a 3 s answer."""
        chosen = self.support.shortlist(question, found, SHORTLIST)
        for i in list(chosen):
            if found[i].before and _LEANS_BACK.match(found[i].quote):
                before = _previous(found[i], found)
                if before is not None and before not in chosen:
                    chosen.append(before)
        return self.support.score(
            question, [Evidence(c.quote, c.window) for c in found], read=chosen
        )

    def score(self, question: str, found: list[Candidate]) -> list[float]:
        """Support of each candidate sentence for the question, 0 to 1."""
        if not found:
            return []
        vectors = self.embedder.encode([question, *(c.quote for c in found)])
        dense = np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)
        lexical = coverage(set(terms(question)), [set(terms(c.quote)) for c in found])
        return [
            float(DENSE_WEIGHT * d + LEXICAL_WEIGHT * lx)
            for d, lx in zip(dense, lexical, strict=True)
        ]

    def pick(
        self, ranked: list[tuple[float, Candidate]], by_place: dict[tuple[str, int], float]
    ) -> list[tuple[float, Candidate]]:
        """The best sentence; the one before it when it leans back; a close runner-up."""
        best_score, best = ranked[0]
        chosen = [ranked[0]]
        if best.before and _LEANS_BACK.match(best.quote):
            others = [c for _, c in ranked]
            at = _previous(best, others)
            if at is not None:
                before = others[at]
                chosen.append((by_place.get((best.hit.article_id, before.start), 0.0), before))
        for score, cand in ranked[1:]:
            words = sum(len(c.quote.split()) for _, c in chosen) + len(cand.quote.split())
            if len(chosen) >= self.max_sentences or score < best_score * _RUNNER_UP_SHARE:
                break
            if words <= _MAX_ANSWER_WORDS and all(c.quote != cand.quote for _, c in chosen):
                chosen.append((score, cand))
            break
        return sorted(chosen, key=lambda p: (p[1].hit.article_id, p[1].start))

    def refusal(
        self,
        question: str,
        standalone: str,
        nearest: Candidate | None,
        confidence: float = 0.0,
    ) -> Answer:
        """A plain no-answer with a reason naming the nearest article."""
        window = self.retriever.window()
        if nearest:
            reason = (
                f"No passage in the articles answers this; the closest is in “{nearest.hit.title}”."
            )
        elif window:
            reason = f"No article published {window} matches this question (the date window)."
        else:
            reason = "No article passage matches this question."
        return Answer(question, standalone, NO_ANSWER, False, reason, "extractive", [], confidence)


def _previous(cand: Candidate, others: list[Candidate]) -> int | None:
    """Where among `others` the sentence just before `cand` in its article is."""
    for at, other in enumerate(others):
        if other.hit.article_id == cand.hit.article_id and other.quote == cand.before:
            return at
    return None


def _cite(n: int, cand: Candidate, score: float) -> Cited:
    hit = cand.hit
    return Cited(
        n, hit.article_id, hit.title, hit.source, cand.quote, cand.start, cand.end, round(score, 4)
    )
