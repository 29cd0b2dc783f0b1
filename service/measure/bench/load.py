"""Answers under load: 16 clients asking at once against `WORKERS=2` on one Chroma server,
beside one client asking serially on the same server, with the resident memory of every
worker sampled throughout."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from service.measure.bench.common import Served, app, chroma_server, median, rss
from service.measure.datasets import Question

CLIENTS = 16
RETRIES = 10


def ask(url: str, question: Question) -> tuple[float, str, int]:
    """Seconds of one /api/ask, how it ended (the status, or the client's error), and how
    many times it was told 429
    (a client told 429 waits `Retry-After` and asks again, as an API client should, up to
    `RETRIES` times; the waits count in its seconds)."""
    body = {
        "question": question.text,
        **({"until": question.until.isoformat()} if question.until else {}),
    }
    started = time.perf_counter()
    for told in range(RETRIES + 1):
        try:
            response = httpx.post(f"{url}/api/ask", json=body, timeout=300)
        except httpx.HTTPError as exc:
            return time.perf_counter() - started, type(exc).__name__, told
        if response.status_code != 429 or told == RETRIES:
            break
        time.sleep(min(float(response.headers.get("retry-after", "1")), 30.0))
    return time.perf_counter() - started, str(response.status_code), told


class MemoryWatch:
    """The largest resident size seen of each process of a server, sampled every 0.25 s."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, dict[int, int]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "MemoryWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid, size in rss(self.pid).items():
                self.peak[pid] = max(size, self.peak.get(pid, 0))
            time.sleep(0.25)


def phase(served: Served, questions: list[Question], clients: int) -> dict[str, Any]:
    """All questions asked by `clients` clients at once; throughput and failures."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda q: ask(served.url, q), questions))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "questions": len(questions),
        "answers_per_s": round(len(questions) / elapsed, 2),
        "p50_s": round(median([t for t, _, _ in results]), 2),
        "failed": sum(end != "200" for _, end, _ in results),
        "failed_as": dict(Counter(end for _, end, _ in results if end != "200")),
        "told_429": sum(told for _, _, told in results),
    }


def run(data_dir: Path, questions: list[Question], workers: int = 2) -> dict[str, Any]:
    """Serially, then 16 at once, on the index in `data_dir` served by `workers` processes."""
    warm, serial, burst = questions[:4], questions[4:28], questions[28 : 28 + 6 * CLIENTS]
    with chroma_server(data_dir / "chroma") as port:
        env = {
            "WORKERS": str(workers),
            "RAG_CHROMA_MODE": "http",
            "RAG_CHROMA_PORT": str(port),
            "RAG_DATA_DIR": str(data_dir / "unused"),
        }
        with app(env) as served, MemoryWatch(served.process.pid) as memory:
            phase(served, warm, 2)
            one = phase(served, serial, 1)
            many = phase(served, burst, CLIENTS)
        workers_rss = sorted(memory.peak.values(), reverse=True)[:workers]
    return {
        "workers": workers,
        "serial": one,
        "concurrent": many,
        "throughput_ratio": round(many["answers_per_s"] / one["answers_per_s"], 2),
        "peak_rss_per_worker_gib": [round(b / 2**30, 2) for b in workers_rss],
        "goal": "no failed request, ratio >= 1.5, <= 1.5 GiB per worker",
    }
