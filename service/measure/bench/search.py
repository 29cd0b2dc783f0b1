"""Search and answer latency against a floor, on one index in one run: the floor is what no
search can do without (encode the question once, one Chroma query, in process); then
`/api/search` and extractive `/api/ask` over HTTP on loopback, each with distinct questions
it has not seen (RealTime QA's, asked as of their dates, as the public benchmark does); then
the same asks from an app answering with the rules alone (`RAG_READER=rules`), for what the
reader costs."""

import time
from pathlib import Path
from typing import Any

import httpx

from index.embed import Embedder
from index.retrieve import day_window
from index.settings import Settings
from index.store import open_store
from service.measure.bench.common import app, median, percentile
from service.measure.datasets import Question

WARM_UP = 8


def floor(data_dir: Path, questions: list[Question], embedder: Embedder) -> list[float]:
    """Seconds of encode + one Chroma query for each question."""
    store = open_store(Settings(data_dir=data_dir))
    times = []
    for q in questions:
        started = time.perf_counter()
        vector = embedder.encode_one(q.text)
        store.query(vector, 8, day_window(q.since, q.until))
        times.append(time.perf_counter() - started)
    return times


def over_http(url: str, route: str, questions: list[Question]) -> tuple[list[float], int]:
    """Seconds of each request, and how many failed."""
    key = "query" if route == "/api/search" else "question"
    times, failed = [], 0
    with httpx.Client(base_url=url, timeout=120) as client:
        for q in questions:
            body = {key: q.text, **({"until": q.until.isoformat()} if q.until else {})}
            started = time.perf_counter()
            failed += client.post(route, json=body).status_code != 200
            times.append(time.perf_counter() - started)
    return times, failed


def run(
    data_dir: Path, questions: list[Question], env: dict[str, str] | None = None
) -> dict[str, Any]:
    """The floor, then search, then ask, each on its own questions after a warm-up."""
    warm, rest = questions[:WARM_UP], questions[WARM_UP:]
    half = len(rest) // 2
    embedder = Embedder()
    floor(data_dir, warm, embedder)
    base = floor(data_dir, rest, embedder)
    with app({"RAG_DATA_DIR": str(data_dir), **(env or {})}) as served:
        over_http(served.url, "/api/search", warm)
        search, search_failed = over_http(served.url, "/api/search", rest[:half])
        ask, ask_failed = over_http(served.url, "/api/ask", rest[half:])
    # The same answers without the reader (issue 16's cost goal), on the same questions.
    with app({"RAG_DATA_DIR": str(data_dir), **(env or {}), "RAG_READER": "rules"}) as served:
        over_http(served.url, "/api/ask", warm)
        rules, rules_failed = over_http(served.url, "/api/ask", rest[half:])
    figures = {
        "floor": _summary(base),
        "search": _summary(search) | {"failed": search_failed},
        "ask": _summary(ask) | {"failed": ask_failed},
        "ask_rules_only": _summary(rules) | {"failed": rules_failed},
    }
    return {
        **figures,
        "search_ratio": round(figures["search"]["p50_ms"] / figures["floor"]["p50_ms"], 1),
        "ask_ratio": round(figures["ask"]["p50_ms"] / figures["floor"]["p50_ms"], 1),
        "reader_ratio": round(figures["ask"]["p50_ms"] / figures["ask_rules_only"]["p50_ms"], 2),
        "goal": "search <= 5x floor, ask <= 8x floor, reader adds <= 30% to ask (ratio <= 1.3)",
    }


def _summary(seconds: list[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50_ms": round(1000 * median(seconds), 1),
        "p95_ms": round(1000 * percentile(seconds, 0.95), 1),
    }
