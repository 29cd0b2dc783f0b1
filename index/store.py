"""The Chroma store: one collection of chunks, one of whole articles, our embeddings always.

Chroma's default embedding function downloads a model, so every collection is opened with
`embedding_function=None` and every write and query passes vectors we computed.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from numpy.typing import NDArray

from index.articles import Article
from index.chunk import Chunk
from index.errors import IndexNotReady, StoreUnavailable
from index.settings import Settings

_SPACE = {"hnsw": {"space": "cosine"}}


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with where it comes from; score is cosine similarity."""

    chunk_id: str
    article_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    number: int
    score: float


@contextmanager
def _reachable() -> Iterator[None]:
    """Turn connection and server failures of the Chroma client into StoreUnavailable."""
    try:
        yield
    except (ConnectionError, TimeoutError, OSError, chromadb.errors.ChromaError) as exc:
        raise StoreUnavailable(f"the Chroma store failed: {exc}") from exc
    except ValueError as exc:
        if "connect" in str(exc).lower():
            raise StoreUnavailable(f"the Chroma store cannot be reached: {exc}") from exc
        raise


def connect(settings: Settings) -> ClientAPI:
    """A Chroma client: on disk in `data_dir`, or a `chroma run` server over HTTP."""
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    with _reachable():
        if settings.chroma_mode == "http":
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"), settings=chroma_settings)


class Store:
    """Chunks and articles of one index."""

    def __init__(self, client: ClientAPI, name: str) -> None:
        with _reachable():
            self.chunks: Collection = client.get_or_create_collection(
                name, configuration=_SPACE, embedding_function=None  # type: ignore[arg-type]
            )
            self.articles: Collection = client.get_or_create_collection(
                f"{name}-articles", configuration=_SPACE, embedding_function=None  # type: ignore[arg-type]
            )
        self.batch = max(1, min(client.get_max_batch_size(), 1000))

    def digests(self) -> dict[str, str]:
        """Digest of every indexed source file, by file name."""
        with _reachable():
            metas = self.articles.get(include=["metadatas"])["metadatas"] or []
        return {str(m["source"]): str(m["digest"]) for m in metas}

    def delete_source(self, source: str) -> None:
        """Remove every chunk and article that came from one file."""
        with _reachable():
            self.chunks.delete(where={"source": source})
            self.articles.delete(where={"source": source})

    def add_article(
        self, article: Article, digest: str, chunks: Sequence[Chunk], vectors: NDArray[np.float32]
    ) -> None:
        """Write an article and its chunks; ids are stable: `<article_id>:<chunk number>`."""
        meta = {**article.metadata(), "digest": digest, "chunks": len(chunks)}
        chunk_metas: list[dict[str, Any]] = [
            {
                "article_id": article.article_id,
                "title": article.title,
                "source": article.source,
                "start": c.start,
                "end": c.end,
                "chunk": c.number,
            }
            for c in chunks
        ]
        ids = [f"{article.article_id}:{c.number}" for c in chunks]
        centroid = vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1])
        centroid = centroid / (np.linalg.norm(centroid) or 1.0)
        with _reachable():
            for i in range(0, len(ids), self.batch):
                part = slice(i, i + self.batch)
                self.chunks.upsert(
                    ids=ids[part],
                    embeddings=vectors[part],
                    documents=[c.text for c in chunks[part]],
                    metadatas=chunk_metas[part],  # type: ignore[arg-type]
                )
            self.articles.upsert(
                ids=[article.article_id],
                embeddings=[centroid.astype(np.float32)],
                documents=[article.text],
                metadatas=[meta],
            )

    def query(self, vector: NDArray[np.float32], k: int) -> list[Hit]:
        """The k chunks closest to the vector, best first."""
        with _reachable():
            result = self.chunks.query(
                query_embeddings=[vector],
                n_results=k,
                include=["documents", "metadatas", "distances"],
            )
        ids, docs = result["ids"][0], (result["documents"] or [[]])[0]
        metas, dists = (result["metadatas"] or [[]])[0], (result["distances"] or [[]])[0]
        return [_hit(i, d, m, 1.0 - float(dist)) for i, d, m, dist in zip(ids, docs, metas, dists, strict=True)]

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
