"""Bring the index in line with the seeds folder: add new files, replace edited ones, drop
deleted ones, and write nothing for files whose digest is unchanged."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from index.articles import articles_from
from index.embed import Embedder
from index.errors import UnreadableArticle
from index.load import list_sources, read_article, read_manifest
from index.settings import Settings
from index.store import Store
from index.write import SourceWriter, signature

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


def sync(settings: Settings, store: Store, embedder: Embedder) -> SyncReport:
    """Index `settings.seeds_dir` into the store incrementally. Articles added over HTTP are
    another origin and never touched here."""
    if not settings.seeds_dir.is_dir():
        raise FileNotFoundError(f"seeds folder {settings.seeds_dir} does not exist")
    report = SyncReport()
    manifest = read_manifest(settings.seeds_dir)
    known = store.sources("seeds")
    sources, clashes = one_per_stem(list_sources(settings.seeds_dir), known)
    report.skipped.update(clashes)
    sig = signature(settings, embedder.name)
    report.deleted = sorted(set(known) - {p.name for p in sources})
    store.delete_sources(report.deleted)
    writer = SourceWriter(store, embedder, settings)
    stems = {p.stem for p in sources}
    bar = tqdm(sources, desc="indexing", unit="file", disable=not settings.progress)
    for path in bar:
        try:
            raw = read_article(path, manifest.get(path.name, {}), sig)
            if known.get(raw.source) == raw.digest:
                report.unchanged += 1
                continue
            others = stems - {path.stem}  # files of this run, maybe not yet in the store
            articles = articles_from(raw, writer.held_elsewhere(raw.source, others))
        except UnreadableArticle as exc:
            report.skipped[path.name] = exc.reason
            log.warning(
                "skipped unreadable article", extra={"source": path.name, "reason": exc.reason}
            )
            store.delete_sources([path.name] if path.name in known else [])
            continue
        (report.replaced if raw.source in known else report.added).append(raw.source)
        report.chunks_written += writer.add(raw.source, raw.digest, "seeds", articles)
    writer.flush()
    if report.changed:
        store.sweep()
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
