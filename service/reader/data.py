"""The reader's training and measuring data: SQuAD v1.1 dev and the half of SQuAD 2.0 dev
in `../shared/bench` (CC BY-SA 4.0), read in place, split by whole articles, and the pairs a
question gives (the candidate sentence read with its neighbours, as the service reads it).
`service.reader.train` says which pairs and why.
"""

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.sentences import sentence_spans
from index.terms import terms
from service.answering.candidates import MIN_SENTENCE_WORDS

SEED = 20261202
MEASURED = 1_000  # public_sets measures the first 1,000 questions: their articles stay out
# Whole SQuAD 2.0 articles never trained on: the confidence is calibrated and the threshold
# chosen on the first; the second are the held-out figures (service.measure.squad2).
CALIBRATION = ("Harvard_University", "Packet_switching")
TEST = ("Scottish_Parliament", "Islamism", "Imperialism")
V1 = "squad-v1.1"
V2 = "squad-v2.0-dev-half"
ANSWERED_RIGHT = 0.72  # the share of answerable questions the refusal figure is read at


@dataclass(frozen=True)
class Pair:
    """One training or measuring example."""

    question: str
    sentence: str
    before: str
    after: str
    answers: bool
    short: tuple[int, int] | None = None  # characters of the short answer in `sentence`


@dataclass(frozen=True)
class Paragraph:
    title: str
    sentences: list[tuple[int, int, str]]  # start, end, text


def load(bench: Path) -> tuple[dict[str, Paragraph], list[dict[str, Any]], list[str]]:
    """Paragraphs by id; the questions of SQuAD v1.1 dev and of the SQuAD 2.0 half (an
    answerable question both hold once); the measured articles' titles (to leave out)."""
    paragraphs = {}
    for line in (bench / V1 / "corpus.jsonl").open():
        doc = json.loads(line)
        spans = sentence_spans(doc["text"])
        paragraphs[doc["doc_id"]] = Paragraph(
            doc["title"], [(s.start, s.end, doc["text"][s.start : s.end]) for s in spans]
        )
    first = [json.loads(line) for line in (bench / V1 / "questions.jsonl").open()]
    measured = sorted({q["title"] for q in first[:MEASURED]})
    second = [json.loads(line) for line in (bench / V2 / "questions.jsonl").open()]
    seen = {(q["gold_doc_ids"][0], q["question"]) for q in second}
    questions = [
        {**q, "answerable": True}
        for q in first
        if (q["gold_doc_ids"][0], q["question"]) not in seen
    ]
    return paragraphs, questions + second, measured


def split(
    questions: list[dict[str, Any]], measured: list[str]
) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """Training articles (titles in file order), their questions, and the calibration
    articles' questions."""
    kept = {*measured, *CALIBRATION, *TEST}
    titles = list(dict.fromkeys(q["title"] for q in questions if q["title"] not in kept))
    train = [q for q in questions if q["title"] in titles]
    calibration = [q for q in questions if q["title"] in CALIBRATION]
    return titles, train, calibration


def neighbours(sentences: list[tuple[int, int, str]], at: int) -> tuple[str, str]:
    before = sentences[at - 1][2] if at > 0 else ""
    after = sentences[at + 1][2] if at + 1 < len(sentences) else ""
    return before, after


def _overlap(question: set[str], text: str) -> int:
    return len(question & set(terms(text)))


def pairs_of(
    question: dict[str, Any],
    paragraphs: dict[str, Paragraph],
    by_title: dict[str, list[str]],
    rng: random.Random,
    same: int = 1,
    other: int = 1,
) -> list[Pair]:
    """The positive and its negatives (`same` of the gold paragraph's other sentences, `other`
    of the article's other paragraphs, each among the ones sharing most words with the
    question), or none when its first answer is not inside one candidate sentence."""
    doc_id = question["gold_doc_ids"][0]
    para = paragraphs[doc_id]
    start = question["answer_starts"][0]
    end = start + len(question["answers"][0])
    text = question["question"]
    wanted = set(terms(text))
    gold = [
        i
        for i, (s, e, t) in enumerate(para.sentences)
        if s <= start and end <= e and len(t.split()) >= MIN_SENTENCE_WORDS
    ]
    if not gold:
        return []
    at = gold[0]
    s0, _, sentence = para.sentences[at]
    out = [Pair(text, sentence, *neighbours(para.sentences, at), True, (start - s0, end - s0))]
    others = [
        i
        for i, (_, _, t) in enumerate(para.sentences)
        if i != at and len(t.split()) >= MIN_SENTENCE_WORDS
    ]
    if others:
        others.sort(key=lambda i: (-_overlap(wanted, para.sentences[i][2]), rng.random()))
        for i in _pick(rng, others[: same + 1], same):
            out.append(Pair(text, para.sentences[i][2], *neighbours(para.sentences, i), False))
    elsewhere = [
        (other, i)
        for other in by_title[para.title]
        if other != doc_id
        for i, (_, _, t) in enumerate(paragraphs[other].sentences)
        if len(t.split()) >= MIN_SENTENCE_WORDS
    ]
    if elsewhere:
        elsewhere.sort(
            key=lambda p: (-_overlap(wanted, paragraphs[p[0]].sentences[p[1]][2]), rng.random())
        )
        for where, i in _pick(rng, elsewhere[: other + 2], other):
            sentences = paragraphs[where].sentences
            out.append(Pair(text, sentences[i][2], *neighbours(sentences, i), False))
    return out


def refusal_pairs_of(question: dict[str, Any], paragraphs: dict[str, Paragraph]) -> list[Pair]:
    """An unanswerable question's two negatives: the sentence of its paragraph holding its
    plausible answer (when one sentence holds it), and the other sentence sharing the most
    words with the question."""
    para = paragraphs[question["gold_doc_ids"][0]]
    text = question["question"]
    wanted = set(terms(text))
    usable = [
        i for i, (_, _, t) in enumerate(para.sentences) if len(t.split()) >= MIN_SENTENCE_WORDS
    ]
    plausible = [
        i
        for i in usable
        if any(a and a in para.sentences[i][2] for a in question.get("plausible_answers", []))
    ][:1]
    rest = sorted(
        (i for i in usable if i not in plausible),
        key=lambda i: (-_overlap(wanted, para.sentences[i][2]), i),
    )
    return [
        Pair(text, para.sentences[i][2], *neighbours(para.sentences, i), False)
        for i in plausible + rest[:1]
    ]


def _pick(rng: random.Random, pool: list[Any], count: int) -> list[Any]:
    """`count` of the pool at random (one as `rng.choice`, which the committed recipe drew)."""
    return [rng.choice(pool)] if count == 1 else rng.sample(pool, min(count, len(pool)))
