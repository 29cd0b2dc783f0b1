"""Bring the index in line with the seeds folder: add new files, replace edited ones, drop
deleted ones, and write nothing for files whose digest is unchanged."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from index.articles import Article, articles_from
from index.chunk import Chunk, chunk_text
from index.clean import CLEANER_VERSION
from index.embed import Embedder
from index.errors import UnreadableArticle
from index.load import list_sources, read_article, read_manifest
from index.settings import Settings
from index.store import Store

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    """What one indexing run did."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks_written: int = 0
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when the run wrote or deleted anything."""
        return bool(self.added or self.replaced or self.deleted)


def signature(settings: Settings, embedder_name: str) -> str:
    """What, besides a file's bytes, decides its chunks: a change here re-indexes everything."""
    return (
        f"clean={CLEANER_VERSION};tokens={settings.chunk_tokens};overlap={settings.chunk_overlap};"
        f"model={embedder_name};embedded=title+chunk;day=1"
    )


def embedded_text(title: str, chunk: str) -> str:
    """What the model embeds for a chunk: its article's title first, so a passage that never
    names its subject is still found by it (the stored text is the chunk alone)."""
    return f"{title}\n{chunk}" if title else chunk


def sync(settings: Settings, store: Store, embedder: Embedder) -> SyncReport:
    """Index `settings.seeds_dir` into the store (and its keyword index) incrementally."""
    if not settings.seeds_dir.is_dir():
        raise FileNotFoundError(f"seeds folder {settings.seeds_dir} does not exist")
    report = SyncReport()
    manifest = read_manifest(settings.seeds_dir)
    known = store.digests()
    sources, clashes = one_per_stem(list_sources(settings.seeds_dir), known)
    report.skipped.update(clashes)
    sig = signature(settings, embedder.name)
    for gone in sorted(set(known) - {p.name for p in sources}):
        store.delete_source(gone)
        report.deleted.append(gone)
    pending = _Pending(store, embedder, settings.embed_batch)
    bar = tqdm(sources, desc="indexing", unit="file", disable=not settings.progress)
    for path in bar:
        try:
            raw = read_article(path, manifest.get(path.name, {}), sig)
            if known.get(raw.source) == raw.digest:
                report.unchanged += 1
                continue
            articles = articles_from(raw)
        except UnreadableArticle as exc:
            report.skipped[path.name] = exc.reason
            log.warning(
                "skipped unreadable article", extra={"source": path.name, "reason": exc.reason}
            )
            if path.name in known:
                store.delete_source(path.name)
            continue
        if raw.source in known:
            store.delete_source(raw.source)
            report.replaced.append(raw.source)
        else:
            report.added.append(raw.source)
        for article in articles:
            chunks = chunk_text(article.text, settings.chunk_tokens, settings.chunk_overlap)
            pending.add(article, raw.digest, chunks)
            report.chunks_written += len(chunks)
    pending.flush()
    store.save()
    return report


def one_per_stem(paths: list[Path], known: dict[str, str]) -> tuple[list[Path], dict[str, str]]:
    """The files to index, one for each stem (a file's stem is its article id, so `dup.txt`
    and `dup.md` cannot both be indexed), and the ones left out with the reason. The file
    already indexed keeps its place; otherwise the first in name order."""
    by_stem: dict[str, list[Path]] = {}
    for path in paths:
        by_stem.setdefault(path.stem, []).append(path)
    kept, skipped = [], {}
    for group in by_stem.values():
        first = next((p for p in group if p.name in known), group[0])
        kept.append(first)
        for other in group:
            if other is not first:
                skipped[other.name] = (
                    f"has the same name as {first.name} but for its suffix, and a file's name "
                    "is its article id: rename one of them"
                )
    return sorted(kept), skipped


class _Pending:
    """Articles waiting to be embedded: the model is much faster on full batches than on
    one short article at a time, and a file is only recorded once its chunks are written."""

    def __init__(self, store: Store, embedder: Embedder, batch: int) -> None:
        self.store, self.embedder, self.batch = store, embedder, batch
        self.items: list[tuple[Article, str, list[Chunk]]] = []

    def add(self, article: Article, digest: str, chunks: list[Chunk]) -> None:
        self.items.append((article, digest, chunks))
        if sum(len(c) for _, _, c in self.items) >= self.batch:
            self.flush()

    def flush(self) -> None:
        texts = [embedded_text(a.title, c.text) for a, _, chunks in self.items for c in chunks]
        vectors = self.embedder.encode(texts)
        start, batch = 0, []
        for article, digest, chunks in self.items:
            batch.append((article, digest, chunks, vectors[start : start + len(chunks)]))
            start += len(chunks)
        self.store.add_articles(batch)
        self.items = []
