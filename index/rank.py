"""Ranking steps after retrieval: fuse the dense and keyword rankings, rescore the best
candidates by their best sentence, fold near-duplicate stories together, and spread the
results over articles.

Each step is a plain function over hits, so the retriever composes them and tests can call
them one by one.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date

import numpy as np
from numpy.typing import NDArray

from index.embed import Embedder, Tokens, unpack_vectors
from index.passages import Hit
from index.sentences import sentence_spans
from index.terms import coverage, terms


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int, weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Σ weight/(k + rank) over the rankings each id appears in (Cormack et al., 2009)."""
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


def weighted_fusion(
    dense: Mapping[str, float], keyword: Mapping[str, float], dense_weight: float
) -> dict[str, float]:
    """A convex mix of both scores, each scaled to 0-1 over the candidates (min-max)."""
    scaled = [_min_max(dense), _min_max(keyword)]
    ids = dense.keys() | keyword.keys()
    return {
        i: dense_weight * scaled[0].get(i, 0.0) + (1 - dense_weight) * scaled[1].get(i, 0.0)
        for i in ids
    }


# How many of a chunk's sentences, its best by vector and terms, are read word piece by
# word piece at question time: 2 scored as all of them on SQuAD's fitting half (README).
LATE_SENTENCES = 2
# ...for the chunks, of the `depth` rescored, that lead on their fused score and best
# sentence: 14 of 20 held the three public sets within 0.005 (10 did not: SciFact's hit@5 fell
# 0.010) and took a search from 410 to 300 ms p50 (README).
LATE_DEPTH = 14


def sentence_rerank(
    query: str,
    hits: Sequence[Hit],
    embedder: Embedder,
    depth: int,
    weight: float,
    late_weight: float = 0.0,
) -> list[Hit]:
    """The first `depth` hits rescored as fused score + weight x their best sentence
    + late_weight x how well the question's word pieces are matched in their sentences.

    A sentence scores its embedding similarity to the query plus the share of the query's
    terms it holds (rarer terms among the candidates' sentences weighing more). A chunk is
    embedded whole, so a question about one of its sentences is diluted by the rest; the
    sentence that answers is sharper evidence. The sentence vectors were read out of the
    pass that embedded the chunk at index time (`Embedder.encode_passages`); a chunk stored
    without them has its sentences encoded now. The word-piece match (`late_interaction`)
    reads the model's vectors of each word in context, so "keeper" finds "keeps" and a name
    finds its spelling, where neither the pooled vector nor the stemmed terms see it; it
    reads the best `LATE_SENTENCES` sentences, encoded now, of the `LATE_DEPTH` chunks that
    lead on everything else (the others get no word-piece score, so they stay behind them:
    the word-piece score only adds).

    Weights 0.5 and 2 were chosen on SQuAD questions 1,001-2,000 (MRR@10 0.847 to 0.873);
    the first 1,000 moved 0.873 to 0.890; RealTime QA and SciFact held (README). Hits past
    `depth` keep their order, after.
    """
    head, tail = list(hits[:depth]), list(hits[depth:])
    if not head or (weight <= 0 and late_weight <= 0):
        return list(hits)
    sentences = [
        [hit.text[s.start : s.end] for s in sentence_spans(hit.text)] or [hit.text] for hit in head
    ]
    flat = [s for group in sentences for s in group]
    if late_weight > 0:
        vectors, tokens = embedder.encode_with_tokens([query])
        query_vector, query_tokens = vectors[0], tokens[0]
    else:
        query_vector = embedder.encode_cached([query])[0]
    similarity = (_sentence_vectors(head, sentences, embedder) @ query_vector).tolist()
    held = coverage(set(terms(query)), [set(terms(s)) for s in flat])
    scores, at = [], 0
    for group in sentences:
        scores.append([similarity[at + i] + held[at + i] for i in range(len(group))])
        at += len(group)
    matched = [0.0] * len(head)
    if late_weight > 0:
        # The word pieces are read for the `LATE_DEPTH` chunks that lead on everything else.
        lead = [hit.score + weight * max(own) for hit, own in zip(head, scores, strict=True)]
        read = sorted(range(len(head)), key=lambda i: -lead[i])[:LATE_DEPTH]
        chosen = [
            [
                sentences[at][i]
                for i in sorted(range(len(sentences[at])), key=lambda i: -scores[at][i])[
                    :LATE_SENTENCES
                ]
            ]
            for at in read
        ]
        _, pieces = embedder.encode_with_tokens([s for group in chosen for s in group])
        found = late_interaction(query_tokens, _grouped(pieces, chosen))
        for at, match in zip(read, found, strict=True):
            matched[at] = match
    scored = []
    for hit, own, match in zip(head, scores, matched, strict=True):
        score = hit.score + weight * max(own) + late_weight * match
        scored.append(replace(hit, score=round(score, 6)))
    scored.sort(key=lambda h: -h.score)
    return scored + tail


def _sentence_vectors(
    hits: Sequence[Hit], sentences: Sequence[Sequence[str]], embedder: Embedder
) -> NDArray[np.float32]:
    """One unit vector per sentence, all hits' in a row: the stored ones where each of a
    chunk's sentences has one, the rest encoded now."""
    rows: list[NDArray[np.float32] | None] = []
    for hit, group in zip(hits, sentences, strict=True):
        stored = unpack_vectors(hit.sentences, embedder.dimensions) if hit.sentences else None
        if stored is None or len(stored) != len(group):
            rows += [None] * len(group)
            continue
        norms = np.linalg.norm(stored, axis=1)
        rows += [row / norm if norm > 0 else None for row, norm in zip(stored, norms, strict=True)]
    flat = [s for group in sentences for s in group]
    missing = [text for text, row in zip(flat, rows, strict=True) if row is None]
    fresh = iter(embedder.encode_cached(missing))
    return np.stack([next(fresh) if row is None else row for row in rows]).astype(np.float32)


def _grouped(items: Sequence[Tokens], groups: Sequence[Sequence[str]]) -> list[list[Tokens]]:
    """`items` (one per sentence, flat) cut back into one list per chunk."""
    out, at = [], 0
    for group in groups:
        out.append(list(items[at : at + len(group)]))
        at += len(group)
    return out


def late_interaction(query: Tokens, passages: Sequence[Sequence[Tokens]]) -> list[float]:
    """How well each passage (its sentences' tokens) matches the query word piece by word
    piece, 0 to 1: each query piece takes its best cosine to any piece of the passage
    (MaxSim, as in ColBERT, Khattab and Zaharia, 2020), and the average weighs a piece more
    the fewer passages hold it (an IDF over these passages alone)."""
    if not passages or not len(query.ids):
        return [0.0] * len(passages)
    held = [set(np.concatenate([t.ids for t in p]).tolist()) if p else set() for p in passages]
    n = len(passages) + 1
    idf = np.array(
        [math.log(1 + n / (1 + sum(i in h for h in held))) for i in query.ids.tolist()],
        dtype=np.float32,
    )
    idf /= idf.sum()
    wanted = query.vectors.astype(np.float32)
    scores = []
    for passage in passages:
        if not passage or not sum(len(t.ids) for t in passage):
            scores.append(0.0)
            continue
        pieces = np.concatenate([t.vectors for t in passage]).astype(np.float32)
        best = (wanted @ pieces.T).max(axis=1)
        scores.append(float(best @ idf))
    return scores


def recency_boost(
    hits: Sequence[Hit], reference: date, half_life: float, weight: float
) -> list[Hit]:
    """Hits re-sorted after adding weight x 0.5^(age / half_life) to each dated hit's score,
    its age counted in days back from `reference` (never below 0). Undated hits get
    nothing. News questions are mostly about the latest coverage: asked as of a day, the
    stories of the days just before it come first."""
    if not hits or half_life <= 0 or weight <= 0:
        return list(hits)
    boosted = []
    for hit in hits:
        published = _day(hit.day)
        if published is None:
            boosted.append(hit)
            continue
        age = max(0, (reference - published).days)
        bonus = weight * 0.5 ** (age / half_life)
        boosted.append(replace(hit, score=round(hit.score + bonus, 6)))
    return sorted(boosted, key=lambda h: -h.score)


def _day(number: int | None) -> date | None:
    if number is None:
        return None
    try:
        return date(number // 10000, number // 100 % 100, number % 100)
    except ValueError:
        return None


def _min_max(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {i: (s - low) / span if span else 1.0 for i, s in scores.items()}


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """Share of shingles two texts have in common."""
    return len(a & b) / len(a | b) if a and b else 0.0


def fold_duplicates(
    hits: Sequence[Hit], fingerprint: Callable[[str], frozenset[int]], threshold: float
) -> list[Hit]:
    """Hits with every article that nearly repeats a better-ranked one folded into it: its
    chunks leave the list and its id joins the kept hits' `duplicates`."""
    kept: list[Hit] = []
    alias: dict[str, str] = {}  # article id -> the article it copies
    seen: list[str] = []
    for hit in hits:
        if hit.article_id not in alias and hit.article_id not in seen:
            mine = fingerprint(hit.article_id)
            twin = next((a for a in seen if jaccard(mine, fingerprint(a)) >= threshold), None)
            if twin is None:
                seen.append(hit.article_id)
            else:
                alias[hit.article_id] = twin
        if hit.article_id not in alias:
            kept.append(hit)
    copies: dict[str, tuple[str, ...]] = {}
    for copy, original in alias.items():
        copies[original] = (*copies.get(original, ()), copy)
    return [
        replace(h, duplicates=copies[h.article_id]) if h.article_id in copies else h for h in kept
    ]


def spread(hits: Sequence[Hit], per_article: int) -> list[Hit]:
    """The same hits with each article's chunks beyond the first `per_article` moved after
    all the others (in their order), so one long article does not fill the top results."""
    if per_article <= 0:
        return list(hits)
    counts: dict[str, int] = {}
    first: list[Hit] = []
    later: list[Hit] = []
    for hit in hits:
        counts[hit.article_id] = counts.get(hit.article_id, 0) + 1
        (first if counts[hit.article_id] <= per_article else later).append(hit)
    return first + later


def maximal_marginal_relevance(
    hits: Sequence[Hit], vectors: NDArray[np.float32], k: int, weight: float
) -> list[Hit]:
    """k hits picked one at a time for relevance (their score, scaled to 0-1) minus
    similarity to the hits already picked (Carbonell and Goldstein, 1998)."""
    if not hits:
        return []
    scores = np.array([h.score for h in hits], dtype=np.float32)
    relevance = scores / (scores.max() or 1.0)
    similar = vectors @ vectors.T
    picked: list[int] = []
    left = list(range(len(hits)))
    while left and len(picked) < k:
        penalty = similar[np.ix_(left, picked)].max(axis=1) if picked else np.zeros(len(left))
        value = weight * relevance[left] - (1 - weight) * penalty
        best = left[int(np.argmax(value))]
        picked.append(best)
        left.remove(best)
    return [hits[i] for i in picked]
