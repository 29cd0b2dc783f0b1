"""What one process knows to be committed: the version in force of every article, and the
keyword index over those versions' chunks, kept in step with the shared store.

Every search first calls `refresh`. At most every `interval` seconds it reads the store's
generation marker (one small read); when another process wrote since, it reads the article
records committed since its last catch-up (a few seconds of margin for clocks) and loads the
chunks of every new version into the keyword index. When the number of articles disagrees
with the store's (a deletion), or every `full_every` seconds, it reconciles with all the
records. A search that meets a chunk of a version it does not know refreshes at once, so a
replaced article reads whole-old or whole-new, never half of each, and a write acknowledged
by any process is searched by all within `interval` seconds.
"""

import logging
import threading
import time
from collections.abc import Sequence

from index.keyword import KeywordIndex, chunk_terms
from index.passages import Hit
from index.records import Record
from index.store import Store

log = logging.getLogger(__name__)
CLOCK_MARGIN = 5.0  # seconds; writers' clocks may lag this much behind ours


class Catalog:
    """The committed versions and the keyword index of one process."""

    def __init__(self, store: Store, interval: float = 0.5, full_every: float = 60.0) -> None:
        self.store = store
        self.keyword = KeywordIndex()
        self.interval = interval
        self.full_every = full_every
        self._versions: dict[str, str] = {}
        self._generation: str | None = None
        self._checked = 0.0  # monotonic time of the last look at the generation
        self._caught_up = 0.0  # wall-clock time the last catch-up started
        self._reconciled = 0.0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._versions)

    def is_live(self, hit: Hit) -> bool:
        """True when the hit's chunk belongs to its article's version in force."""
        return self._versions.get(hit.article_id) == hit.version

    def refresh(self, force: bool = False) -> None:
        """Catch up with other processes' writes (see the module docstring)."""
        now = time.monotonic()
        if not force and now - self._checked < self.interval:
            return
        with self._lock:
            if not force and now - self._checked < self.interval:
                return
            self._checked = time.monotonic()
            generation = self.store.generation()
            if generation == self._generation:
                return
            started = time.time()
            if self._generation is None or time.monotonic() - self._reconciled > self.full_every:
                self._reconcile(self.store.records())
            else:
                self._apply(
                    self.store.records(committed_at={"$gte": self._caught_up - CLOCK_MARGIN})
                )
                if self.store.counts()[0] != len(self._versions):
                    self._reconcile(self.store.records())
            self._generation, self._caught_up = generation, started

    def _reconcile(self, records: Sequence[Record]) -> None:
        """Hold exactly these records' versions."""
        present = {r.article_id for r in records}
        for article_id in [a for a in self._versions if a not in present]:
            self.keyword.remove_article(article_id)
            del self._versions[article_id]
        self._apply(records)
        self._reconciled = time.monotonic()
        log.info("catalog reconciled", extra={"articles": len(self._versions)})

    def _apply(self, records: Sequence[Record]) -> None:
        """Load the chunks of every version not held yet."""
        fresh = [r for r in records if self._versions.get(r.article_id) != r.version]
        if not fresh:
            return
        chunks = self.store.chunks_of(fresh)
        for record in fresh:
            self.keyword.remove_article(record.article_id)
        self.keyword.add_many(
            (h.chunk_id, h.article_id, h.day, chunk_terms(h.title, h.text)) for h in chunks
        )
        for record in fresh:
            self._versions[record.article_id] = record.version
