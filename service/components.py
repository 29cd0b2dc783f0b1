"""The heavy parts of the service, built once at startup and shared by every request.

The embedding model loads eagerly. The store is opened lazily and re-opened after a
failure, so the app starts (and answers 503 with a reason) while Chroma is down, and
recovers by itself when it comes back. With a model backend, the prompts are checked and
the chat model (and the local model's server) set up here too, so a bad prompt file or a
missing extra stops the start with a clear error.
"""

import logging
import threading
from pathlib import Path

import torch

from index.catalog import Catalog
from index.embed import Embedder
from index.errors import StoreUnavailable
from index.ingest import Ingest
from index.retrieve import Ranking, Retriever
from index.store import Store, open_store
from service.answering.asking import Asking
from service.answering.chat import ChatBackend, open_backend
from service.answering.confidence import shipped_calibrations
from service.answering.events import Sampling
from service.answering.extractive import ExtractiveBackend
from service.answering.generative import GenerativeBackend
from service.answering.prompts import Prompts, load_prompts
from service.answering.protocol import Answering
from service.reader.model import META_FILE, Reader, ReaderMissing
from service.reader.shipped import ShippedReaderError, built_from, manifest
from service.settings import Settings

log = logging.getLogger(__name__)


_readers_lock = threading.Lock()
_readers: dict[tuple[Path, float], Reader] = {}


def reader_missing(settings: Settings) -> str | None:
    """Why the configured answerer cannot start for want of a reader built from the weights
    the repository ships (checked against their sha256), if it cannot."""
    if settings.reader != "model":
        return None
    try:
        shipped = manifest()["sha256"]
    except ShippedReaderError as exc:
        return str(exc)
    if built_from(settings.reader_path) == shipped:
        return None
    return (
        f"no reader built from the shipped weights at {settings.reader_path}: run `make setup` "
        "(seconds; nothing is trained), or set RAG_READER=rules to answer with the "
        "hand-written rules"
    )


def load_reader(settings: Settings) -> Reader:
    """The reader, loaded once per process (and again when rebuilt); a clear error when it
    has not been built here from the shipped weights."""
    path = settings.reader_path.resolve()
    meta = path / META_FILE
    problem = reader_missing(settings)
    if problem is not None or not meta.exists():
        raise ReaderMissing(problem or f"no reader at {path}")
    key = (path, meta.stat().st_mtime)
    with _readers_lock:
        if key not in _readers:
            _readers[key] = Reader(path, threads=settings.torch_threads)
        return _readers[key]


class Components:
    """Settings, model, store, retriever and answerer of one app."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, chat: ChatBackend | None = None
    ) -> None:
        self.settings = settings
        generative = chat is not None or settings.answer_backend != "extractive"
        self.prompts: Prompts | None = load_prompts() if generative else None
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        self.embedder = embedder or Embedder(
            settings.device, settings.embed_batch, settings.encoder_path, settings.torch_threads
        )
        self.chat = chat or (open_backend(settings) if generative else None)
        self.reader = load_reader(settings) if settings.reader == "model" else None
        self.calibration = shipped_calibrations()
        self._store: Store | None = None
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()

    def store(self) -> Store:
        """The open store; raises StoreUnavailable when Chroma cannot be reached."""
        with self._lock:
            if self._store is None:
                self._store = open_store(self.settings)
                log.info("store opened", extra={"chroma_mode": self.settings.chroma_mode})
            return self._store

    def catalog(self) -> Catalog:
        """This process's view of the committed articles and its keyword index, loaded from
        the store the first time."""
        store = self.store()
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog(store, self.settings.sync_interval)
        self._catalog.refresh()
        return self._catalog

    def retriever(self) -> Retriever:
        """Hybrid passage retrieval over the current store and its keyword index."""
        return Retriever(
            self.store(), self.embedder, self.catalog(), Ranking.from_settings(self.settings)
        )

    def ingest(self) -> Ingest:
        """Adding, replacing and deleting articles over HTTP."""
        return Ingest(self.store(), self.embedder, self.settings, self.settings.max_article_bytes)

    def answerer(
        self,
        retriever: Retriever | None = None,
        sampling: Sampling | None = None,
        min_confidence: float | None = None,
    ) -> Answering:
        """The answerer of the configured backend over `retriever` (the current store's
        by default), with a request's `sampling` for a model backend (the extractive one
        quotes whole sentences and has no use for it) and its `min_confidence`."""
        extractive = self.extractive(retriever or self.retriever(), min_confidence)
        if self.chat is not None and self.prompts is not None:
            return GenerativeBackend(
                extractive, self.settings, self.chat.model, self.prompts, sampling
            )
        return extractive

    def extractive(
        self, retriever: Retriever, min_confidence: float | None = None
    ) -> ExtractiveBackend:
        """The extractive answerer over `retriever`: on its own, or the judge a model backend
        holds (its refusal spares the model a call; its answer is the fallback)."""
        return ExtractiveBackend(
            retriever,
            self.embedder,
            self.settings.min_support,
            self.settings.max_answer_sentences,
            self.settings.min_confidence if min_confidence is None else min_confidence,
            self.reader,
            self.calibration,
        )

    def asking(self) -> Asking:
        """The use case of asking over the current store: each question gets a backend of
        its own, over this retriever kept to the question's date window."""
        retriever = self.retriever()
        return Asking(
            lambda q: self.answerer(
                retriever.within(q.since, q.until), q.sampling, q.min_confidence
            ),
            self.store().require_ready,
            self.settings.top_k,
        )

    def close(self) -> None:
        """Stop what the components started (the local model's server)."""
        if self.chat is not None:
            self.chat.close()

    def try_open(self) -> None:
        """Open the store and load the catalog at startup if possible; a failure is logged,
        not raised."""
        # The model's first pass is slow (seconds on a busy machine): take it now, not in
        # the first caller's request.
        self.embedder.encode(["warm up"])
        try:
            self.catalog()
        except StoreUnavailable as exc:
            log.warning("store not reachable at startup", extra={"reason": str(exc)})
