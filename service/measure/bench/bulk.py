"""Bulk ingest over HTTP (`POST /api/articles/bulk`, JSON Lines) against `python -m index` on
the same articles, each into a fresh index, each with the model loaded before the clock
starts (the app is healthy; the indexer's model load is timed apart and left out)."""

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from index.build import sync
from index.embed import Embedder
from index.settings import Settings
from index.store import open_store
from service.measure.bench.common import app, as_jsonl
from service.measure.datasets import Doc
from service.measure.public_sets import write_seeds


def over_http(docs: list[Doc], work: Path) -> dict[str, Any]:
    """Seconds for the bulk request, from its first byte to its last answer line."""
    body = as_jsonl(docs)
    with app({"RAG_DATA_DIR": str(work), "RAG_SEEDS_DIR": str(work / "none")}) as served:
        started = time.perf_counter()
        with httpx.stream(
            "POST",
            f"{served.url}/api/articles/bulk",
            content=body,
            headers={"content-type": "application/x-ndjson"},
            timeout=3600,
        ) as response:
            lines = [line for line in response.iter_lines() if line]
        seconds = time.perf_counter() - started
    failed = sum('"status":"error"' in line for line in lines)
    return {"seconds": round(seconds, 1), "lines": len(lines), "failed": failed, "bytes": len(body)}


def indexer(docs: list[Doc], work: Path) -> dict[str, Any]:
    """Seconds for the indexer's sync of the same articles as a seeds folder."""
    settings = Settings(seeds_dir=work / "seeds", data_dir=work / "data", progress=False)
    write_seeds(docs, settings.seeds_dir)
    embedder = Embedder()
    embedder.encode(["warm up"])
    started = time.perf_counter()
    report = sync(settings, open_store(settings), embedder)
    return {"seconds": round(time.perf_counter() - started, 1), "chunks": report.chunks_written}


def run(docs: list[Doc]) -> dict[str, Any]:
    """Both, on the same articles."""
    with tempfile.TemporaryDirectory(prefix="newsrag-bulk-") as tmp:
        http = over_http(docs, Path(tmp) / "http")
        local = indexer(docs, Path(tmp) / "local")
    return {
        "articles": len(docs),
        "bulk_http": http,
        "python_m_index": local,
        "ratio": round(http["seconds"] / local["seconds"], 2),
        "goal": "ratio <= 1.2",
    }
