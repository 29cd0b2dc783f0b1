"""Figures of a trained reader with the gold paragraph given: how often the sentence it reads
best holds the answer, its short answers, and its refusals (`service.reader.train` prints
them; through the whole service, `service.measure.squad2`)."""

import random
from typing import Any

from service.answering.candidates import MIN_SENTENCE_WORDS
from service.measure.scores import normalise, token_f1
from service.reader.data import ANSWERED_RIGHT, Paragraph, neighbours, pairs_of
from service.reader.model import Reader

SURE = 0.1  # a short answer whose start and end probabilities multiply to at least this


def measure(
    reader: Reader,
    questions: list[dict[str, Any]],
    paragraphs: dict[str, Paragraph],
    by_title: dict[str, list[str]],
    rng: random.Random,
) -> dict[str, float]:
    """Figures of a trained reader on questions it never saw, gold paragraph given."""
    top_right, exact, f1, separated, total = 0, 0.0, 0.0, 0, 0
    spans: list[tuple[float, bool, float]] = []
    for q in questions:
        para = paragraphs[q["gold_doc_ids"][0]]
        found = [
            (i, t)
            for i, (_, _, t) in enumerate(para.sentences)
            if len(t.split()) >= MIN_SENTENCE_WORDS
        ]
        if not found:
            continue
        total += 1
        readings = reader.read(
            q["question"], [(t, *neighbours(para.sentences, i)) for i, t in found], spans=True
        )
        best = max(range(len(found)), key=lambda k: readings[k].probability)
        i, sentence = found[best]
        s0, e0, _ = para.sentences[i]
        starts = q["answer_starts"]
        top_right += any(
            s0 <= s and s + len(a) <= e0 for s, a in zip(starts, q["answers"], strict=True)
        )
        short = readings[best].short
        said = sentence[short[0] : short[1]] if short else sentence
        hit = any(normalise(said) == normalise(a) for a in q["answers"])
        overlap = token_f1(said, q["answers"])
        exact += hit
        f1 += overlap
        spans.append((readings[best].confidence, hit, overlap))
        # On-topic sentences of another paragraph of the article: the answering sentence
        # should read likelier than the likeliest of them.
        pair = pairs_of(q, paragraphs, by_title, rng)
        if pair and len(pair) == 3:
            near, far = reader.read(
                q["question"],
                [
                    (pair[0].sentence, pair[0].before, pair[0].after),
                    (pair[2].sentence, pair[2].before, pair[2].after),
                ],
            )
            separated += near.probability > far.probability
    return {
        "questions": total,
        "top_sentence_holds_answer": round(top_right / total, 4),
        "exact_match": round(100 * exact / total, 1),
        "token_f1": round(100 * f1 / total, 1),
        "answering_above_other_paragraph": round(separated / total, 4),
        **confident(spans),
    }


def refusals(
    reader: Reader, questions: list[dict[str, Any]], paragraphs: dict[str, Paragraph]
) -> dict[str, float]:
    """With the gold paragraph given: the share of unanswerable questions refused when the
    threshold on the best sentence's probability lets `ANSWERED_RIGHT` of the answerable ones
    be answered with a sentence holding a gold span."""
    right: list[tuple[float, bool]] = []
    wrong: list[float] = []
    for q in questions:
        para = paragraphs[q["gold_doc_ids"][0]]
        found = [
            i for i, (_, _, t) in enumerate(para.sentences) if len(t.split()) >= MIN_SENTENCE_WORDS
        ]
        if not found:
            continue
        readings = reader.read(
            q["question"], [(para.sentences[i][2], *neighbours(para.sentences, i)) for i in found]
        )
        best = max(range(len(found)), key=lambda k: readings[k].probability)
        top = readings[best].probability
        if not q["answerable"]:
            wrong.append(top)
            continue
        s0, e0, _ = para.sentences[found[best]]
        holds = any(
            s0 <= s and s + len(a) <= e0
            for s, a in zip(q["answer_starts"], q["answers"], strict=True)
        )
        right.append((top, holds))
    return refused_at(right, wrong, ANSWERED_RIGHT)


def refused_at(
    right: list[tuple[float, bool]], wrong: list[float], share: float
) -> dict[str, float]:
    """The highest threshold at which `share` of the answerable questions are answered right
    (score at or above it and the answer right), and the share of the others it refuses."""
    ranked = sorted(right, key=lambda r: -r[0])
    needed = share * len(ranked)
    got, threshold = 0, 0.0
    for score, holds in ranked:
        got += holds
        threshold = score
        if got >= needed:
            break
    reachable = got >= needed
    return {
        "answerable": len(right),
        "unanswerable": len(wrong),
        "most_answered_right": round(sum(h for _, h in right) / max(1, len(right)), 4),
        "threshold": round(threshold, 4) if reachable else float("nan"),
        "refused": round(sum(w < threshold for w in wrong) / max(1, len(wrong)), 4)
        if reachable
        else 0.0,
    }


def confident(spans: list[tuple[float, bool, float]]) -> dict[str, float]:
    """The short answers the reader is surest of (`SURE`): their share, exact match and token
    F1. The service marks none yet: they do not measure well enough (README)."""
    kept = [(hit, f1) for sure, hit, f1 in spans if sure >= SURE]
    return {
        "sure_short_answers": round(len(kept) / max(1, len(spans)), 4),
        "sure_exact_match": round(100 * sum(h for h, _ in kept) / max(1, len(kept)), 1),
        "sure_token_f1": round(100 * sum(f for _, f in kept) / max(1, len(kept)), 1),
    }
