"""Find the passages that answer a query. The service and the evaluations both use this.

A search runs these steps:

1. Candidates: the `depth` chunks nearest the query's embedding (Chroma) and the `depth`
   chunks with the best BM25 score (the keyword index), both limited to the publication
   window when `since` or `until` is given. Articles without a date fall outside any window.
2. Fusion: a weighted mix of both scores, each scaled 0-1 over the candidates (the cosine
   of BM25-only candidates and the BM25 score of dense-only ones are computed, not
   guessed), or reciprocal rank fusion of the two rankings. The mix measured better on
   held-out SQuAD questions (MRR@10 0.83 against 0.77) and RealTime QA (see README).
3. Recency (a half-life in days, 14 by default; None: off): each dated candidate gains
   0.5 x 0.5^(age / recency), its age in days counted back from `until` (today when no
   `until` is given). On RealTime QA asked as of each question's date it lifted hit@5 from
   0.850 to 0.913 and MRR@10 from 0.655 to 0.732 (README); half-lives of 3 and 7 days
   scored within 0.012 of 14.
4. Sentence rescoring (hybrid only): the first `rerank` candidates gain 0.5 x their best
   sentence (its similarity to the query plus the share of the query's terms it holds)
   and 2 x how well the query's word pieces find their match among the pieces of their
   best two sentences, read in context by the same model (`index.rank.sentence_rerank`).
   The sentence vectors were stored at index time, out of the pass that embedded each
   chunk; only those two sentences a chunk go through the model at question time.
5. Near-duplicate stories: an article whose terms nearly repeat a better-ranked article's
   (the same wire story published twice) is folded into it: its chunks leave the results
   and its id is listed in the kept hits' `duplicates`.
6. Diversity: each article's chunks beyond the first `per_article` move behind the others,
   and, when `mmr` is set, maximal marginal relevance picks the final order.
"""

import copy
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

import numpy as np

from index.catalog import Catalog
from index.embed import Embedder
from index.keyword import KeywordHit
from index.passages import Hit
from index.rank import (
    fold_duplicates,
    maximal_marginal_relevance,
    recency_boost,
    reciprocal_rank_fusion,
    sentence_rerank,
    spread,
    weighted_fusion,
)
from index.settings import Settings
from index.store import Store

Mode = Literal["hybrid", "dense", "keyword"]
Fusion = Literal["rrf", "weighted"]


@dataclass(frozen=True)
class Ranking:
    """How the retriever ranks; the defaults are the measured best (see README)."""

    mode: Mode = "hybrid"
    fusion: Fusion = "weighted"
    depth: int = 50
    rrf_k: int = 60
    dense_weight: float = 0.5
    duplicate_overlap: float = 0.6
    per_article: int = 2
    mmr: float | None = None
    rerank: int = 20
    rerank_weight: float = 0.5
    late_weight: float = 2.0
    recency: float | None = 14.0
    recency_weight: float = 0.5

    @classmethod
    def from_settings(cls, settings: Settings) -> "Ranking":
        """The ranking the settings ask for."""
        return cls(
            mode=settings.retrieval,
            fusion=settings.fusion,
            per_article=settings.per_article,
            mmr=settings.mmr,
            duplicate_overlap=settings.duplicate_overlap,
            rerank=settings.rerank,
            recency=settings.recency or None,
        )

    def describe(self) -> dict[str, object]:
        """The options as plain values, for reports."""
        return dict(vars(self))


def day_window(since: date | None, until: date | None) -> tuple[int, int] | None:
    """The inclusive yyyymmdd bounds of a publication window, or None for no window."""
    if since is None and until is None:
        return None
    low = int(since.strftime("%Y%m%d")) if since else 0
    high = int(until.strftime("%Y%m%d")) if until else 99991231
    return low, high


class Retriever:
    """Hybrid (dense + BM25) retrieval over the chunk collection."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        catalog: Catalog,
        ranking: Ranking | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.catalog = catalog
        self.keyword = catalog.keyword
        self.ranking = ranking or Ranking()
        self.since: date | None = None
        self.until: date | None = None

    def window(self) -> str | None:
        """The publication window this retriever is kept to, in words, or None."""
        if self.since and self.until:
            return f"between {self.since} and {self.until}"
        if self.since or self.until:
            return f"since {self.since}" if self.since else f"until {self.until}"
        return None

    def within(self, since: date | None, until: date | None) -> "Retriever":
        """The same retriever limited to a publication window when a search names none
        (how an answerer, which only passes the query, is kept to the window)."""
        bounded = copy.copy(self)
        bounded.since, bounded.until = since, until
        return bounded

    def search(
        self, query: str, k: int, since: date | None = None, until: date | None = None
    ) -> list[Hit]:
        """The k best chunks for the query, best first, published within since..until."""
        days = day_window(since or self.since, until or self.until)
        if days is not None and days[0] > days[1]:
            return []
        depth = max(self.ranking.depth, k)
        self.catalog.refresh()
        vector = self._query_vector(query)
        fused = self._fuse(query, vector, depth, days)
        if not fused:  # nothing inside the window, or nothing indexed
            return []
        ids = sorted(fused, key=lambda i: -fused[i])[:depth]
        hits, vectors = self._live(*self.store.chunks_by_id(ids))
        hits = [replace(h, score=round(fused[h.chunk_id], 6)) for h in hits]
        if self.ranking.recency is not None:
            before = [h.chunk_id for h in hits]
            reference = until or self.until or date.today()
            hits = recency_boost(hits, reference, self.ranking.recency, self.ranking.recency_weight)
            vectors = _rows(vectors, before, hits)
        if self.ranking.mode == "hybrid" and self.ranking.rerank > 0:
            before = [h.chunk_id for h in hits]
            hits = sentence_rerank(
                query,
                hits,
                self.embedder,
                self.ranking.rerank,
                self.ranking.rerank_weight,
                self.ranking.late_weight,
            )
            vectors = _rows(vectors, before, hits)
        if self.ranking.duplicate_overlap < 1:
            before = [h.chunk_id for h in hits]
            hits = fold_duplicates(hits, self.keyword.fingerprint, self.ranking.duplicate_overlap)
            vectors = _rows(vectors, before, hits)
        if self.ranking.mmr is not None:
            return maximal_marginal_relevance(hits, vectors, k, self.ranking.mmr)
        return spread(hits, self.ranking.per_article)[:k]

    def _query_vector(self, query: str) -> np.ndarray:
        """The query's vector; from the pass that also gives its word pieces when the ranking
        will read them, so the query goes through the model once."""
        r = self.ranking
        if r.mode == "hybrid" and r.rerank > 0 and r.late_weight > 0:
            vectors, _ = self.embedder.encode_with_tokens([query])
            vector: np.ndarray = vectors[0]
            return vector
        return self.embedder.encode_one(query)

    def _fuse(
        self, query: str, vector: np.ndarray, depth: int, days: tuple[int, int] | None
    ) -> dict[str, float]:
        """Fused scores of the candidate chunks by chunk id."""
        mode = self.ranking.mode
        dense = self.store.query(vector, depth, days) if mode != "keyword" else []
        if any(not self.catalog.is_live(h) for h in dense):
            self.catalog.refresh(force=True)  # another process may have just committed it
        dense = [h for h in dense if self.catalog.is_live(h)]
        found = self.keyword.search(query, depth, days) if mode != "dense" else []
        if mode == "dense":
            return {h.chunk_id: h.score for h in dense}
        if mode == "keyword":
            return {h.chunk_id: h.score for h in found}
        if self.ranking.fusion == "rrf":
            rankings = [[h.chunk_id for h in dense], [h.chunk_id for h in found]]
            weights = [2 * self.ranking.dense_weight, 2 * (1 - self.ranking.dense_weight)]
            return reciprocal_rank_fusion(rankings, self.ranking.rrf_k, weights)
        return self._weighted(query, vector, dense, found)

    def _weighted(
        self, query: str, vector: np.ndarray, dense: list[Hit], found: list[KeywordHit]
    ) -> dict[str, float]:
        """Both scores for every candidate (the missing one computed), then mixed."""
        ids = list(dict.fromkeys([h.chunk_id for h in dense] + [f.chunk_id for f in found]))
        if not ids:
            return {}
        bm25 = self.keyword.scores_for(query, ids)
        hits, vectors = self._live(*self.store.chunks_by_id(ids))
        cosine = dict(zip([h.chunk_id for h in hits], (vectors @ vector).tolist(), strict=True))
        return weighted_fusion(cosine, bm25, self.ranking.dense_weight)

    def _live(self, hits: list[Hit], vectors: np.ndarray) -> tuple[list[Hit], np.ndarray]:
        """The hits (and their vectors) of versions in force."""
        keep = [i for i, h in enumerate(hits) if self.catalog.is_live(h)]
        if len(keep) == len(hits):
            return hits, vectors
        return [hits[i] for i in keep], vectors[keep]


def _rows(vectors: np.ndarray, ids: list[str], hits: list[Hit]) -> np.ndarray:
    """The rows of `vectors` (one per id of `ids`, in order) that belong to the kept hits."""
    position = {cid: i for i, cid in enumerate(ids)}
    return vectors[[position[h.chunk_id] for h in hits]] if hits else vectors[:0]
