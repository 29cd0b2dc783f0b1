"""The Chroma store: chunks, whole articles and a generation marker, shared by every process.

Writes are versioned, so that no reader ever sees half an article:

1. A source (one file of `seeds/`, or one article sent over HTTP) has a version, the digest
   of everything that decides its chunks. Its chunks are written first, under ids
   `<article_id>@<version>:<n>`.
2. Then its article records (collection `<name>-articles`, one for the page and one per
   teaser) are written, naming that version: this is the commit. Readers keep only chunks
   of the versions the records name (`index.catalog`), so chunks written by a write that
   failed before its commit are never returned (`sweep` deletes them later).
3. Then the generation marker (collection `<name>-meta`) changes, which tells every other
   process to catch up, and the chunks of the version it replaced are deleted.

Two writers of the same content write the same ids, so they end with one copy. Deleting a
source deletes its chunks first, then its records. A chunk's `day` is its article's
publication date as a yyyymmdd number, which Chroma can compare in a filter.
"""

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from numpy.typing import NDArray

from index import records
from index.chroma import connect, reachable, steady, to_article, to_hits
from index.errors import IndexNotReady
from index.passages import Article, Hit
from index.records import (
    Origin,
    Record,
    Source,
    article_rows,
    chunk_rows,
    length,
    read_all,
    record_of,
)
from index.settings import Settings

log = logging.getLogger(__name__)
_SPACE: Any = {"hnsw": {"space": "cosine"}}
_GENERATION = "generation"


def open_store(settings: Settings) -> "Store":
    """The store of these settings."""
    return Store(connect(settings), settings.collection)


class Store:
    """Chunks, articles and the generation marker of one index."""

    def __init__(self, client: ClientAPI, name: str) -> None:
        with reachable():
            self.chunks: Collection = client.get_or_create_collection(
                name,
                configuration=_SPACE,
                embedding_function=None,
            )
            self.articles: Collection = client.get_or_create_collection(
                f"{name}-articles",
                configuration=_SPACE,
                embedding_function=None,
            )
            self.meta: Collection = client.get_or_create_collection(
                f"{name}-meta", embedding_function=None
            )
        self.batch = max(1, min(client.get_max_batch_size(), 1000))

    # -- writing ---------------------------------------------------------------------------

    def write(self, sources: Sequence[Source]) -> None:
        """Write sources (new or replacing their earlier versions) as described above."""
        if not sources:
            return
        before = self.records(source={"$in": [s.name for s in sources]})
        chunks = [row for source in sources for row in chunk_rows(source)]
        started = time.perf_counter()
        log.info("writing", extra={"sources": len(sources), "chunks": len(chunks)})
        with reachable():
            self._upsert(self.chunks, chunks)
            # Stamped once the chunks are in: readers catch up by this time (with a few
            # seconds' margin), so a stamp taken before a long chunk write could be missed.
            articles = [row for source in sources for row in article_rows(source)]
            self._upsert(self.articles, articles)
        # Readers learn of the commit before the old chunks go, so none is left between the
        # two versions with neither.
        self.bump()
        kept = {row[0] for row in articles}
        gone = [r.article_id for r in before if r.article_id not in kept]
        with reachable():
            if gone:  # teasers the new version of a page no longer has
                steady(self.articles, self.articles.delete, ids=gone)
            for source in sources:
                old = sorted(
                    {r.version for r in before if r.source == source.name} - {source.version}
                )
                if old:
                    where: Any = {"$and": [{"source": source.name}, {"version": {"$in": old}}]}
                    steady(self.chunks, self.chunks.delete, where=where)
        if gone:
            self.bump()
        log.info(
            "written", extra={"sources": len(sources), "seconds": time.perf_counter() - started}
        )

    def delete_sources(self, names: Sequence[str]) -> None:
        """Remove every chunk and article of these sources: chunks first."""
        if not names:
            return
        with reachable():
            for i in range(0, len(names), 100):
                where: Any = {"source": {"$in": list(names[i : i + 100])}}
                steady(self.chunks, self.chunks.delete, where=where)
                steady(self.articles, self.articles.delete, where=where)
        self.bump()

    def bump(self) -> None:
        """Change the generation marker: other processes catch up on their next search."""
        with reachable():
            self.meta.upsert(
                ids=[_GENERATION],
                embeddings=np.zeros((1, 1), dtype=np.float32),
                metadatas=[{"value": uuid.uuid4().hex}],
            )

    def sweep(self, grace: float = 600.0) -> int:
        """Delete chunks of versions no article record names, written more than `grace`
        seconds ago (a write that failed before its commit); the number deleted."""
        live = {(r.article_id, r.version) for r in self.records()}
        ids, _, metadatas = read_all(self.chunks, ["metadatas"])
        cutoff = time.time() - grace
        dead = [
            cid
            for cid, meta in zip(ids, metadatas, strict=True)
            if meta is not None
            if (str(meta["article_id"]), str(meta.get("version", ""))) not in live
            and float(meta.get("written_at", 0.0)) < cutoff
        ]
        with reachable():
            for i in range(0, len(dead), self.batch):
                self.chunks.delete(ids=dead[i : i + self.batch])
        return len(dead)

    def _upsert(self, collection: Collection, rows: list[tuple[Any, ...]]) -> None:
        for i in range(0, len(rows), self.batch):
            ids, vectors, documents, metadatas = zip(*rows[i : i + self.batch], strict=True)
            steady(
                collection,
                collection.upsert,
                ids=list(ids),
                embeddings=np.asarray(vectors, dtype=np.float32),
                documents=list(documents),
                metadatas=list(metadatas),
            )

    # -- reading ---------------------------------------------------------------------------

    def generation(self) -> str:
        """The current generation marker ("" before the first write)."""
        with reachable():
            got = steady(self.meta, self.meta.get, ids=[_GENERATION], include=["metadatas"])
        metas = [m for m in got["metadatas"] or [] if m is not None]
        return str(metas[0]["value"]) if metas else ""

    def records(self, **where: Any) -> list[Record]:
        """Article records, all or those matching one metadata condition."""
        _, _, metadatas = read_all(self.articles, ["metadatas"], where or None)
        return [record_of(m) for m in metadatas]

    def records_by_id(self, article_ids: Sequence[str]) -> list[Record]:
        """The records of these articles (unknown ids left out)."""
        found: list[Record] = []
        page = records.PAGE
        for i in range(0, len(article_ids), page):
            part = list(article_ids[i : i + page])
            with reachable():
                got = steady(self.articles, self.articles.get, ids=part, include=["metadatas"])
            found += [record_of(m) for m in got["metadatas"] or [] if m is not None]
        return found

    def sources(self, origin: Origin) -> dict[str, str]:
        """The digest of every source of one origin, by name."""
        return {r.source: r.digest for r in self.records(origin=origin)}

    def chunks_of(self, records: Sequence[Record]) -> list[Hit]:
        """The chunks of these articles' versions in force (score 0)."""
        wanted = {(r.article_id, r.version) for r in records}
        found: list[Hit] = []
        ids = sorted({r.article_id for r in records})
        for i in range(0, len(ids), 100):
            where: Any = {"article_id": {"$in": ids[i : i + 100]}}
            with reachable():
                got = steady(
                    self.chunks, self.chunks.get, where=where, include=["documents", "metadatas"]
                )
            metas = got["metadatas"] or []
            hits = to_hits(got["ids"], got["documents"] or [], metas, [0.0] * len(metas))
            found += [h for h in hits if (h.article_id, h.version) in wanted]
        return found

    def query(
        self, vector: NDArray[np.float32], k: int, days: tuple[int, int] | None = None
    ) -> list[Hit]:
        """The k chunks closest to the vector, best first; with `days`, only chunks
        published between those yyyymmdd days (inclusive)."""
        where: Any = (
            {"$and": [{"day": {"$gte": days[0]}}, {"day": {"$lte": days[1]}}]} if days else None
        )
        with reachable():
            result = steady(
                self.chunks,
                self.chunks.query,
                query_embeddings=[vector],
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        ids, docs = result["ids"][0], (result["documents"] or [[]])[0]
        metas, dists = (result["metadatas"] or [[]])[0], (result["distances"] or [[]])[0]
        return to_hits(ids, docs, metas, [1.0 - float(d) for d in dists])

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> tuple[list[Hit], NDArray[np.float32]]:
        """The named chunks (in the order given, unknown ids left out) and their vectors;
        each hit's score is 0 until the caller ranks it."""
        if not chunk_ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        with reachable():
            got = steady(
                self.chunks,
                self.chunks.get,
                ids=list(chunk_ids),
                include=["documents", "metadatas", "embeddings"],
            )
        docs, metas = got["documents"] or [], got["metadatas"] or []
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        # A row being deleted comes back without metadata: it is left out (`to_hits`).
        position = {cid: i for i, cid in enumerate(got["ids"]) if metas[i] is not None}
        order = [position[c] for c in chunk_ids if c in position]
        ids = [got["ids"][i] for i in order]
        hits = to_hits(ids, [docs[i] for i in order], [metas[i] for i in order], [0.0] * len(order))
        return hits, vectors[order] if order else vectors

    def article(self, article_id: str) -> Article | None:
        """One article with its cleaned text, or None."""
        with reachable():
            got = steady(
                self.articles,
                self.articles.get,
                ids=[article_id],
                include=["documents", "metadatas"],
            )
        if not got["ids"] or not got["metadatas"] or got["metadatas"][0] is None:
            return None
        return to_article((got["metadatas"] or [{}])[0], (got["documents"] or [""])[0])

    def article_page(self, limit: int, offset: int = 0) -> tuple[list[tuple[Article, int]], int]:
        """`limit` articles from `offset` on, in the store's order, without their text (the
        text field empty), each with its length in characters; and the offset of the next
        page (0: none). Only a record written before lengths were kept has its text read."""
        with reachable():
            got = steady(
                self.articles, self.articles.get, include=["metadatas"], limit=limit, offset=offset
            )
        metas = [m for m in got["metadatas"] or [] if m is not None]
        unknown = [str(m["article_id"]) for m in metas if not isinstance(m.get("characters"), int)]
        lengths = {}
        for i in range(0, len(unknown), 100):
            part = unknown[i : i + 100]
            with reachable():
                old = steady(self.articles, self.articles.get, ids=part, include=["documents"])
            lengths.update(
                {a: len(d or "") for a, d in zip(old["ids"], old["documents"] or [], strict=True)}
            )
        page = [
            (
                to_article(m, ""),
                length(m.get("characters")) or lengths.get(str(m["article_id"]), 0),
            )
            for m in metas
        ]
        more = len(got["ids"]) == limit
        return page, offset + limit if more else 0

    def list_articles(self) -> list[Article]:
        """Every article, with text, ordered by source then id."""
        _, documents, metadatas = read_all(self.articles, ["documents", "metadatas"])
        pairs = zip(metadatas, documents, strict=True)
        return sorted((to_article(m, d) for m, d in pairs), key=lambda a: (a.source, a.article_id))

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the index."""
        with reachable():
            return self.articles.count(), self.chunks.count()

    def require_ready(self) -> None:
        """Raise IndexNotReady when there is nothing to search."""
        if self.counts()[1] == 0:
            raise IndexNotReady("the index holds no articles yet: run `make index`")
