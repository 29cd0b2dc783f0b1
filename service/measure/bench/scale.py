"""Scale: the same questions searched over an index of about 10,000 chunks and one of about
100,000, on one machine in one run: search p50 of each, index time, disk and the resident
memory of a worker serving it.

The three public corpora give about 26,000 distinct chunks (RealTime QA with distractors,
SciFact, SQuAD's paragraphs); the large index holds them four times over, as articles of
their own (ids `<doc>~<copy>`), so that it is 100,000 chunks without 100,000 passes of the
model: a copy's chunks are embedded once (the embedder is memoised for the build). Copies
are identical, so near-duplicate folding works hard on them, which the timing includes.
"""

import shutil
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.build import sync
from index.embed import Embedder, Span
from index.settings import Settings
from index.store import open_store
from service.measure.bench.common import BENCH, app, median, rss
from service.measure.bench.search import over_http
from service.measure.datasets import Doc, Question, load
from service.measure.public_sets import write_seeds

WORK = Path("bench/index/scale")


class MemoEmbedder(Embedder):
    """The model, remembering every text it embedded: copies cost nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.passages: dict[str, tuple[NDArray[np.float32], NDArray[np.float32]]] = {}

    def encode_passages(
        self, texts: list[str], sentences: Sequence[Sequence[Span]]
    ) -> tuple[NDArray[np.float32], list[NDArray[np.float32]]]:
        spans = dict(zip(texts, sentences, strict=True))
        missing = [t for t in spans if t not in self.passages]
        if missing:
            vectors, pooled = super().encode_passages(missing, [spans[t] for t in missing])
            self.passages.update(zip(missing, zip(vectors, pooled, strict=True), strict=True))
        if not texts:
            return super().encode_passages([], [])
        return np.stack([self.passages[t][0] for t in texts]), [self.passages[t][1] for t in texts]


def corpus(copies: int) -> list[Doc]:
    """RealTime QA, SciFact and SQuAD's documents, `copies` times over."""
    docs = [
        d
        for name in ("realtimeqa-2022", "scifact", "squad-v1.1")
        for d in load(BENCH / name).docs or []
    ]
    return [replace(d, doc_id=f"{d.doc_id}~{k}") for k in range(copies) for d in docs]


def build(name: str, docs: list[Doc], embedder: Embedder) -> dict[str, Any]:
    """Index the documents into `bench/index/scale/<name>`; time, chunks and disk."""
    root = WORK / name
    shutil.rmtree(root, ignore_errors=True)
    settings = Settings(seeds_dir=root / "seeds", data_dir=root / "data", progress=True)
    write_seeds(docs, settings.seeds_dir)
    started = time.perf_counter()
    report = sync(settings, open_store(settings), embedder)
    seconds = time.perf_counter() - started
    disk = sum(f.stat().st_size for f in (root / "data").rglob("*") if f.is_file())
    return {
        "chunks": report.chunks_written,
        "index_seconds": round(seconds),
        "disk_mb": round(disk / 1e6),
    }


def searched(name: str, questions: list[Question]) -> dict[str, Any]:
    """Search p50 over the index, and the worker's resident memory after it."""
    with app({"RAG_DATA_DIR": str(WORK / name / "data")}, timeout=1800) as served:
        over_http(served.url, "/api/search", questions[:8])
        times, failed = over_http(served.url, "/api/search", questions[8:])
        memory = max(rss(served.process.pid).values())
    return {
        "search_p50_ms": round(1000 * median(times), 1),
        "failed": failed,
        "rss_gib": round(memory / 2**30, 2),
    }


def run(small_docs: int = 1_300, copies: int = 4) -> dict[str, Any]:
    """Build both indexes, then search both with RealTime QA's questions."""
    embedder = MemoEmbedder()
    everything = corpus(copies)
    distinct = len(everything) // copies
    small = build("small", everything[:small_docs], embedder)
    large = build("large", everything, embedder)
    questions = load(BENCH / "realtimeqa-2022").questions
    small |= searched("small", questions)
    large |= searched("large", questions)
    return {
        "distinct_documents": distinct,
        "copies": copies,
        "small": small,
        "large": large,
        "search_ratio": round(large["search_p50_ms"] / small["search_p50_ms"], 2),
        "goal": "search p50 at ~100,000 chunks <= 2x at ~10,000",
    }
