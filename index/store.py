"""The Chroma store: one collection of chunks, one of whole articles, our embeddings always.

Chroma's default embedding function downloads a model, so every collection is opened with
`embedding_function=None` and every write and query passes vectors we computed.

A store opened with a keyword index (`open_store`) writes every add and delete to both, so
BM25 and the vectors always cover the same chunks. A chunk's `day` metadata is its
article's publication date as a yyyymmdd number, which Chroma can compare in a filter.
"""

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import chromadb
import httpx
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from numpy.typing import NDArray

from index.articles import Article
from index.chunk import Chunk
from index.errors import IndexNotReady, StoreUnavailable
from index.keyword import KeywordIndex, Posting, postings_for
from index.settings import Settings

log = logging.getLogger(__name__)
_SPACE = {"hnsw": {"space": "cosine"}}
_DATE = re.compile(r"^(\d{4})[-/](\d{2})[-/](\d{2})")


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with where it comes from. `score`: higher is better (cosine
    similarity from the store; the fused score once the retriever ranked it).
    `duplicates`: other articles carrying the same story, folded into this hit."""

    chunk_id: str
    article_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    number: int
    score: float
    duplicates: tuple[str, ...] = ()
    day: int | None = None  # publication day as yyyymmdd, when the article has a date


def day_number(published: str | None) -> int | None:
    """A publication date (`2022-06-12`, `2022/06/12`, or a timestamp) as 20220612."""
    match = _DATE.match(published.strip()) if published else None
    if not match:
        return None
    try:
        return int(date(*map(int, match.groups())).strftime("%Y%m%d"))
    except ValueError:
        return None


@contextmanager
def _reachable() -> Iterator[None]:
    """Turn connection and server failures of the Chroma client into StoreUnavailable."""
    try:
        yield
    except (
        ConnectionError,
        TimeoutError,
        OSError,
        httpx.HTTPError,
        chromadb.errors.ChromaError,
    ) as exc:
        raise StoreUnavailable(f"the Chroma store failed: {exc}") from exc
    except ValueError as exc:
        if "connect" in str(exc).lower():
            raise StoreUnavailable(f"the Chroma store cannot be reached: {exc}") from exc
        raise


def connect(settings: Settings) -> ClientAPI:
    """A Chroma client: on disk in `data_dir`, or a `chroma run` server over HTTP."""
    chroma_settings = chromadb.config.Settings(anonymized_telemetry=False)
    with _reachable():
        if settings.chroma_mode == "http":
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            _bound_http_timeout(client, settings.chroma_timeout)
            return client
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(
            path=str(settings.data_dir / "chroma"), settings=chroma_settings
        )


def _bound_http_timeout(client: ClientAPI, seconds: float) -> None:
    """Chroma's HTTP client waits forever by default; a hung server must give a 503 instead."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds)


def open_store(settings: Settings) -> "Store":
    """The store of these settings, with its keyword index beside it in `data_dir`."""
    keyword = KeywordIndex(settings.data_dir / "keyword" / settings.collection)
    store = Store(connect(settings), settings.collection, keyword)
    if store.heal_keyword():
        log.warning("keyword index rebuilt from the chunks", extra={"chunks": len(keyword)})
    return store


class Store:
    """Chunks and articles of one index, and the keyword index over the same chunks."""

    def __init__(self, client: ClientAPI, name: str, keyword: KeywordIndex | None = None) -> None:
        self.keyword = keyword
        with _reachable():
            self.chunks: Collection = client.get_or_create_collection(
                name,
                configuration=_SPACE,  # type: ignore[arg-type]
                embedding_function=None,
            )
            self.articles: Collection = client.get_or_create_collection(
                f"{name}-articles",
                configuration=_SPACE,  # type: ignore[arg-type]
                embedding_function=None,
            )
        self.batch = max(1, min(client.get_max_batch_size(), 1000))

    def digests(self) -> dict[str, str]:
        """Digest of every indexed source file, by file name. A file that only one of the
        vector and keyword indexes holds, or holds at another digest, gets an empty digest,
        so the next sync rewrites or deletes it in both."""
        dense = self.digests_in_vectors()
        if self.keyword is None:
            return dense
        keyword = self.keyword.digests()
        both = keyword.keys() | dense.keys()
        return {s: dense[s] if keyword.get(s) == dense.get(s) else "" for s in both}

    def delete_source(self, source: str) -> None:
        """Remove every chunk and article that came from one file."""
        with _reachable():
            self.chunks.delete(where={"source": source})
            self.articles.delete(where={"source": source})
        if self.keyword is not None:
            self.keyword.delete_source(source)

    def add_articles(
        self, items: Sequence[tuple[Article, str, Sequence[Chunk], NDArray[np.float32]]]
    ) -> None:
        """Write articles and their chunks (ids are stable: `<article_id>:<chunk number>`) in
        as few Chroma calls as the batch size allows (one call an article was a quarter of
        the indexing time on short abstracts)."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[NDArray[np.float32]] = []
        article_ids, article_texts, article_metas, centroids = [], [], [], []
        postings: list[tuple[str, str, list[Posting]]] = []
        for article, digest, chunks, vecs in items:
            day = day_number(article.published)
            chunk_ids = [f"{article.article_id}:{c.number}" for c in chunks]
            ids += chunk_ids
            texts += [c.text for c in chunks]
            vectors += list(vecs)
            metas += [
                {
                    "article_id": article.article_id,
                    "title": article.title,
                    "source": article.source,
                    "start": c.start,
                    "end": c.end,
                    "chunk": c.number,
                    **({"day": day} if day is not None else {}),
                }
                for c in chunks
            ]
            centroid = vecs.mean(axis=0) if len(vecs) else np.zeros(vecs.shape[1])
            centroids.append((centroid / (np.linalg.norm(centroid) or 1.0)).astype(np.float32))
            article_ids.append(article.article_id)
            article_texts.append(article.text)
            article_metas.append({**article.metadata(), "digest": digest, "chunks": len(chunks)})
            if self.keyword is not None:
                found = postings_for(
                    chunk_ids,
                    [c.text for c in chunks],
                    article.source,
                    article.article_id,
                    day,
                    article.title,
                )
                postings.append((article.source, digest, found))
        with _reachable():
            for i in range(0, len(ids), self.batch):
                part = slice(i, i + self.batch)
                self.chunks.upsert(
                    ids=ids[part],
                    embeddings=np.asarray(vectors[part], dtype=np.float32),
                    documents=texts[part],
                    metadatas=metas[part],  # type: ignore[arg-type]
                )
            for i in range(0, len(article_ids), self.batch):
                part = slice(i, i + self.batch)
                self.articles.upsert(
                    ids=article_ids[part],
                    embeddings=np.asarray(centroids[part]),
                    documents=article_texts[part],
                    metadatas=article_metas[part],  # type: ignore[arg-type]
                )
        if self.keyword is not None:
            for source, digest, found in _by_source(postings):
                self.keyword.add(source, digest, found)

    def heal_keyword(self) -> bool:
        """Rebuild the keyword index from the stored chunks when the two hold different
        chunks (an index built before keyword search, or written by a store opened without
        it); True when it was rebuilt."""
        if self.keyword is None:
            return False
        with _reachable():
            if set(self.chunks.get(include=[])["ids"]) == self.keyword.chunk_ids():
                return False
            got = self.chunks.get(include=["documents", "metadatas"])
        rows = zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
        postings = [
            posting
            for cid, text, meta in rows
            for posting in postings_for(
                [cid],
                [text],
                str(meta["source"]),
                str(meta["article_id"]),
                _int_or_none(meta.get("day")),
                str(meta["title"]),
            )
        ]
        self.keyword.rebuild(self.digests_in_vectors(), postings)
        return True

    def digests_in_vectors(self) -> dict[str, str]:
        """Digest of every source file the vector store holds."""
        with _reachable():
            metas = self.articles.get(include=["metadatas"])["metadatas"] or []
        return {str(m["source"]): str(m["digest"]) for m in metas}

    def save(self) -> None:
        """Store the keyword index's matrices (the vectors are saved as they are written)."""
        if self.keyword is not None:
            self.keyword.save()

    def query(
        self, vector: NDArray[np.float32], k: int, days: tuple[int, int] | None = None
    ) -> list[Hit]:
        """The k chunks closest to the vector, best first; with `days`, only chunks
        published between those yyyymmdd days (inclusive)."""
        where: Any = (
            {"$and": [{"day": {"$gte": days[0]}}, {"day": {"$lte": days[1]}}]} if days else None
        )
        with _reachable():
            result = self.chunks.query(
                query_embeddings=[vector],  # type: ignore[arg-type]
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        ids, docs = result["ids"][0], (result["documents"] or [[]])[0]
        metas, dists = (result["metadatas"] or [[]])[0], (result["distances"] or [[]])[0]
        return [
            _hit(i, d, m, 1.0 - float(dist))
            for i, d, m, dist in zip(ids, docs, metas, dists, strict=True)
        ]

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> tuple[list[Hit], NDArray[np.float32]]:
        """The named chunks (in the order given, unknown ids left out) and their vectors;
        each hit's score is 0 until the caller ranks it."""
        if not chunk_ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        with _reachable():
            got = self.chunks.get(
                ids=list(chunk_ids), include=["documents", "metadatas", "embeddings"]
            )
        docs, metas = got["documents"] or [], got["metadatas"] or []
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        position = {cid: i for i, cid in enumerate(got["ids"])}
        order = [position[c] for c in chunk_ids if c in position]
        hits = [_hit(got["ids"][i], docs[i], metas[i], 0.0) for i in order]
        return hits, vectors[order] if order else vectors

    def article(self, article_id: str) -> Article | None:
        """One article with its cleaned text, or None."""
        with _reachable():
            got = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return _article((got["metadatas"] or [{}])[0], (got["documents"] or [""])[0])

    def list_articles(self) -> list[Article]:
        """Every article, with text, ordered by source file then id."""
        with _reachable():
            got = self.articles.get(include=["documents", "metadatas"])
        pairs = zip(got["metadatas"] or [], got["documents"] or [], strict=True)
        return sorted((_article(m, d) for m, d in pairs), key=lambda a: (a.source, a.article_id))

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the index."""
        with _reachable():
            return self.articles.count(), self.chunks.count()

    def require_ready(self) -> None:
        """Raise IndexNotReady when there is nothing to search."""
        if self.counts()[1] == 0:
            raise IndexNotReady("the index holds no articles yet: run `make index`")


def _by_source(
    postings: list[tuple[str, str, list[Posting]]],
) -> list[tuple[str, str, list[Posting]]]:
    """One entry a source file: a file of several articles (a page and its teasers) is
    recorded once, with all their chunks."""
    merged: dict[str, tuple[str, str, list[Posting]]] = {}
    for source, digest, found in postings:
        merged.setdefault(source, (source, digest, []))[2].extend(found)
    return list(merged.values())


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None


def _hit(chunk_id: str, text: str, meta: Any, score: float) -> Hit:
    return Hit(
        chunk_id=chunk_id,
        article_id=str(meta["article_id"]),
        title=str(meta["title"]),
        source=str(meta["source"]),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        number=int(meta["chunk"]),
        score=score,
        day=_int_or_none(meta.get("day")),
    )


def _article(meta: Any, text: str) -> Article:
    fields = ("publisher", "published", "url", "host_id")
    return Article(
        article_id=str(meta["article_id"]),
        source=str(meta["source"]),
        title=str(meta["title"]),
        text=text,
        **{f: (str(meta[f]) if meta.get(f) is not None else None) for f in fields},
    )
