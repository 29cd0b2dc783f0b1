"""The store's rows: what one write puts in (`Source`) and the chunk and article rows made
of it, what an article record tells readers (`Record`), and every row of a collection read
back in pages. `index.store` holds the protocol that writes and reads them.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from chromadb.api.models.Collection import Collection
from numpy.typing import NDArray

from index.chroma import article_metadata, reachable, steady
from index.chunk import Chunk
from index.passages import Article, day_number

# Rows one read asks Chroma for. Chroma answers a read by naming every row it found in one
# SQLite statement, and SQLite takes at most 32,766 names: reading all of 100,000 chunks at
# once failed ("too many SQL variables"), so every read of all rows goes in pages.
PAGE = 10_000
Origin = Literal["seeds", "api"]


@dataclass(frozen=True)
class Source:
    """What one write puts in the store: a file's (or an upload's) articles, each with its
    chunks and their vectors, and, per article and chunk, its sentences' vectors packed
    (`index.embed.pack_vectors`; none given, none stored)."""

    name: str
    digest: str
    origin: Origin
    articles: Sequence[tuple[Article, Sequence[Chunk], NDArray[np.float32]]]
    sentences: Sequence[Sequence[str]] = ()

    @property
    def version(self) -> str:
        """The version its chunks are written under."""
        return self.digest[:16]

    @property
    def chunk_count(self) -> int:
        """Chunks of all its articles."""
        return sum(len(chunks) for _, chunks, _ in self.articles)


@dataclass(frozen=True)
class Record:
    """An article record as readers need it: which version is in force, and when."""

    article_id: str
    source: str
    origin: str
    digest: str
    version: str
    committed_at: float


def read_all(
    collection: Collection, include: list[Any], where: Any = None
) -> tuple[list[str], list[Any], list[Any]]:
    """Every row of a collection (or those matching `where`): ids, documents, metadatas (an
    empty list for what `include` leaves out), read `PAGE` rows at a time. A delete by
    another process between two pages can shift a row past this read; every caller copes
    (old chunks a write missed are never served and the next sweep removes them; a catalog
    re-reads on the next generation)."""
    ids: list[str] = []
    documents: list[Any] = []
    metadatas: list[Any] = []
    seen = 0
    while True:
        with reachable():
            got = steady(
                collection, collection.get, where=where, include=include, limit=PAGE, offset=seen
            )
        seen += len(got["ids"])
        docs: list[Any] = list(got["documents"] or [])
        metas = got["metadatas"]
        # A row being deleted by another process comes back without metadata: left out.
        keep = [n for n in range(len(got["ids"])) if metas is None or metas[n] is not None]
        ids += [got["ids"][n] for n in keep]
        documents += [docs[n] for n in keep] if docs else []
        metadatas += [metas[n] for n in keep] if metas else []
        if len(got["ids"]) < PAGE:
            return ids, documents, metadatas


def length(value: Any) -> int:
    """A record's length in characters, 0 when it has none (written before lengths were kept)."""
    return value if isinstance(value, int) else 0


def record_of(meta: Any) -> Record:
    return Record(
        article_id=str(meta["article_id"]),
        source=str(meta["source"]),
        origin=str(meta.get("origin", "seeds")),
        digest=str(meta["digest"]),
        version=str(meta.get("version", "")),
        committed_at=float(meta.get("committed_at", 0.0)),
    )


def chunk_rows(source: Source) -> list[tuple[Any, ...]]:
    """(id, vector, text, metadata) of every chunk of a source."""
    now = time.time()
    rows: list[tuple[Any, ...]] = []
    for n, (article, chunks, vectors) in enumerate(source.articles):
        day = day_number(article.published)
        packed = source.sentences[n] if source.sentences else [""] * len(chunks)
        for chunk, vector, sentences in zip(chunks, vectors, packed, strict=True):
            meta = {
                "article_id": article.article_id,
                "title": article.title,
                "source": source.name,
                "start": chunk.start,
                "end": chunk.end,
                "chunk": chunk.number,
                "version": source.version,
                "written_at": now,
                **({"day": day} if day is not None else {}),
                **({"sentences": sentences} if sentences else {}),
            }
            chunk_id = f"{article.article_id}@{source.version}:{chunk.number}"
            rows.append((chunk_id, vector, chunk.text, meta))
    return rows


def article_rows(source: Source) -> list[tuple[Any, ...]]:
    """(id, centroid, text, metadata) of every article of a source: the commit records."""
    now = time.time()
    rows: list[tuple[Any, ...]] = []
    for article, chunks, vectors in source.articles:
        centroid = vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1])
        centroid = (centroid / (np.linalg.norm(centroid) or 1.0)).astype(np.float32)
        meta = {
            **article_metadata(article),
            "source": source.name,
            "digest": source.digest,
            "version": source.version,
            "origin": source.origin,
            "chunks": len(chunks),
            "characters": len(article.text),
            "committed_at": now,
        }
        rows.append((article.article_id, centroid, article.text, meta))
    return rows
