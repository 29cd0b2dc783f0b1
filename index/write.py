"""Embedding and writing sources in batches: the model is much faster on full batches than on
one short article at a time, and Chroma on a few large calls than on many small ones. The
indexer (`index.build`) and articles sent over HTTP (`index.ingest`) both write this way."""

from collections.abc import Callable, Collection
from dataclasses import dataclass

from index.chunk import Chunk, chunk_text
from index.clean import CLEANER_VERSION
from index.embed import Embedder, pack_vectors
from index.passages import Article
from index.records import Origin, Source
from index.settings import Settings
from index.store import Store
from index.vectors import embedded_passage

# Chunks embedded in one call: enough to sort them by length and fill every batch.
FLUSH_CHUNKS = 512


def signature(settings: Settings, embedder_name: str) -> str:
    """What, besides a file's bytes, decides its chunks: a change here re-indexes everything."""
    return (
        f"clean={CLEANER_VERSION};tokens={settings.chunk_tokens};overlap={settings.chunk_overlap};"
        f"model={embedder_name};embedded=title+chunk;versioned=1;sentences=1"
    )


@dataclass(frozen=True)
class _Waiting:
    name: str
    digest: str
    origin: Origin
    articles: list[tuple[Article, list[Chunk]]]


class SourceWriter:
    """Sources waiting to be embedded and written; `flush` writes what is left. A source is
    written (committed) only once all its chunks are embedded."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store, self.embedder, self.settings = store, embedder, settings
        self.waiting: list[_Waiting] = []
        self.chunks = 0

    def add(self, name: str, digest: str, origin: Origin, articles: list[Article]) -> int:
        """Queue a source; the number of chunks its articles make."""
        tokens, overlap = self.settings.chunk_tokens, self.settings.chunk_overlap
        split = [(a, chunk_text(a.text, tokens, overlap)) for a in articles]
        count = sum(len(chunks) for _, chunks in split)
        self.waiting.append(_Waiting(name, digest, origin, split))
        self.chunks += count
        if self.chunks >= FLUSH_CHUNKS:
            self.flush()
        return count

    def held_elsewhere(
        self, name: str, reserved: Collection[str] = ()
    ) -> Callable[[list[str]], set[str]]:
        """Which of some ids an article of another source holds: in the store, in this batch,
        or among `reserved` (ids other sources of the same run will take)."""

        def held(ids: list[str]) -> set[str]:
            queued = {a.article_id for w in self.waiting if w.name != name for a, _ in w.articles}
            stored = {r.article_id for r in self.store.records_by_id(ids) if r.source != name}
            return (stored | queued | set(reserved)) & set(ids)

        return held

    def flush(self) -> None:
        """Embed every waiting chunk in one call and write the sources."""
        if not self.waiting:
            return
        texts, spans = [], []
        for w in self.waiting:
            for a, cs in w.articles:
                for c in cs:
                    text, inside = embedded_passage(a.title, c.text)
                    texts.append(text)
                    spans.append(inside)
        vectors, sentences = self.embedder.encode_passages(texts, spans)
        sources, at = [], 0
        for w in self.waiting:
            parts, packed = [], []
            for article, chunks in w.articles:
                parts.append((article, chunks, vectors[at : at + len(chunks)]))
                packed.append([pack_vectors(s) for s in sentences[at : at + len(chunks)]])
                at += len(chunks)
            sources.append(Source(w.name, w.digest, w.origin, parts, packed))
        self.store.write(sources)
        self.waiting, self.chunks = [], 0
