"""The heavy parts of the service, built once at startup and shared by every request.

The embedding model loads eagerly. The store is opened lazily and re-opened after a
failure, so the app starts (and answers 503 with a reason) while Chroma is down, and
recovers by itself when it comes back.
"""

import logging
import threading

from index.embed import Embedder
from index.errors import StoreUnavailable
from index.retrieve import Retriever
from index.store import Store, connect
from service.answer import ExtractiveAnswerer
from service.settings import Settings

log = logging.getLogger(__name__)


class Components:
    """Settings, model, store, retriever and answerer of one app."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.device, settings.embed_batch)
        self._store: Store | None = None
        self._lock = threading.Lock()

    def store(self) -> Store:
        """The open store; raises StoreUnavailable when Chroma cannot be reached."""
        with self._lock:
            if self._store is None:
                self._store = Store(connect(self.settings), self.settings.collection)
                log.info("store opened", extra={"chroma_mode": self.settings.chroma_mode})
            return self._store

    def forget_store(self) -> None:
        """Drop the store after a failure so the next request reconnects."""
        with self._lock:
            self._store = None

    def retriever(self) -> Retriever:
        """Passage retrieval over the current store."""
        return Retriever(self.store(), self.embedder)

    def answerer(self) -> ExtractiveAnswerer:
        """The extractive answerer over the current store."""
        return ExtractiveAnswerer(
            self.retriever(),
            self.embedder,
            self.settings.min_support,
            self.settings.max_answer_sentences,
        )

    def try_open(self) -> None:
        """Open the store at startup if possible; a failure is logged, not raised."""
        try:
            self.store()
        except StoreUnavailable as exc:
            log.warning("store not reachable at startup", extra={"reason": str(exc)})
