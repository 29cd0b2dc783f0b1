"""Talking to Chroma: the client, its failures as `StoreUnavailable`, and its records read back
as the plain types of `index.passages` (hits and articles), and articles written as records.

Chroma's default embedding function downloads a model, so every collection is opened with
`embedding_function=None` and every write and query passes vectors we computed.
"""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from index.errors import StoreUnavailable
from index.passages import Article, Hit
from index.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
_DAMAGE = ("compaction", "compactor", "hnsw", "error getting embedding", "error finding id")
# Pauses before trying a call again that failed as a concurrent delete can make it fail.
PAUSES = (0.05, 0.2, 0.5)


class PassingConflict(StoreUnavailable):
    """A Chroma call failed the way damage does, but the collection answers a probe: another
    process was changing it (Chroma's "Error finding id" while rows are deleted)."""


@contextmanager
def reachable() -> Iterator[None]:
    """Turn connection and server failures of the Chroma client into StoreUnavailable."""
    try:
        yield
    except chromadb.errors.ChromaError as exc:
        if is_damage(exc):
            raise StoreUnavailable(
                "the Chroma store's vector index is damaged (a process was killed while "
                "writing it): stop the service and run `python -m index repair` "
                "(`make index` and `make run` repair it on their own)"
            ) from exc
        raise StoreUnavailable(f"the Chroma store failed: {exc}") from exc
    except (
        ConnectionError,
        TimeoutError,
        OSError,
        httpx.HTTPError,
    ) as exc:
        raise StoreUnavailable(f"the Chroma store failed: {exc}") from exc
    except ValueError as exc:
        if "connect" in str(exc).lower():
            raise StoreUnavailable(f"the Chroma store cannot be reached: {exc}") from exc
        raise


def steady(collection: Collection, call: Callable[..., T], **arguments: Any) -> T:
    """`call(**arguments)`, a method of `collection`, tried again after a pause when it
    fails the way a damaged vector index does: Chroma fails so, for a moment, while another
    process deletes the rows a read meets. Still failing, the collection is probed; only a
    failed probe lets the error through as damage (`reachable`), else it is a
    PassingConflict (a 503 worth retrying)."""
    for pause in PAUSES:
        try:
            return call(**arguments)
        except chromadb.errors.ChromaError as exc:
            if not is_damage(exc):
                raise
            log.info("chroma call failed, trying again", extra={"reason": str(exc)})
            time.sleep(pause)
    try:
        return call(**arguments)
    except chromadb.errors.ChromaError as exc:
        if is_damage(exc) and sound(collection):
            raise PassingConflict(
                f"the Chroma store failed while another process was changing it ({exc}); try again"
            ) from exc
        raise


def sound(collection: Collection) -> bool:
    """Whether a collection answers a count, a read of one vector and a nearest-row query
    (what `index.repair` asks of it too), rather than fail as damage."""
    try:
        collection.count()
        got = collection.get(limit=1, include=["embeddings"])
        vectors = got["embeddings"]
        if vectors is not None and len(vectors):
            first: Any = vectors[0]
            collection.query(query_embeddings=[first], n_results=1, include=[])
    except chromadb.errors.ChromaError as exc:
        return not is_damage(exc)
    return True


def is_damage(exc: BaseException) -> bool:
    """True when a Chroma error is the damaged-vector-index kind (see `index.repair`)."""
    text = str(exc).lower()
    return isinstance(exc, chromadb.errors.ChromaError) and any(s in text for s in _DAMAGE)


def connect(settings: Settings) -> ClientAPI:
    """A Chroma client: on disk in `data_dir`, or a `chroma run` server over HTTP."""
    chroma_settings = chromadb.config.Settings(anonymized_telemetry=False)
    with reachable():
        if settings.chroma_mode == "http":
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            _bound_http_timeout(client, settings.chroma_timeout)
            return client
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return persistent_client(embedded_folder(settings))


def embedded_folder(settings: Settings) -> Path:
    """Where the embedded store of these settings lives."""
    return settings.data_dir / "chroma"


def persistent_client(path: Path) -> ClientAPI:
    """The embedded client of the store in `path` (one per process and path: Chroma shares
    it, and refuses a second with other settings)."""
    return chromadb.PersistentClient(
        path=str(path), settings=chromadb.config.Settings(anonymized_telemetry=False)
    )


def _bound_http_timeout(client: ClientAPI, seconds: float) -> None:
    """Chroma's HTTP client waits forever by default; a hung server must give a 503 instead."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds)


def int_or_none(value: Any) -> int | None:
    """An integer metadata value, or None."""
    return int(value) if isinstance(value, int) else None


def to_hits(ids: list[str], texts: list[Any], metas: list[Any], scores: list[float]) -> list[Hit]:
    """Chunk records as hits. A row with no metadata is one being deleted (Chroma returns
    such rows for a moment during another process's delete): it is left out."""
    rows = zip(ids, texts, metas, scores, strict=True)
    return [to_hit(i, t, m, s) for i, t, m, s in rows if m is not None]


def to_hit(chunk_id: str, text: str, meta: Any, score: float) -> Hit:
    """A chunk record as a hit."""
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
        day=int_or_none(meta.get("day")),
        version=str(meta.get("version", "")),
        sentences=str(meta.get("sentences", "")),
    )


def article_metadata(article: Article) -> dict[str, str]:
    """An article's flat metadata for its record (no None values, no text)."""
    return {k: v for k, v in asdict(article).items() if v is not None and k != "text"}


def to_article(meta: Any, text: str) -> Article:
    """An article record as an article."""
    fields = ("publisher", "published", "url", "host_id")
    return Article(
        article_id=str(meta["article_id"]),
        source=str(meta["source"]),
        title=str(meta["title"]),
        text=text,
        **{f: (str(meta[f]) if meta.get(f) is not None else None) for f in fields},
    )
