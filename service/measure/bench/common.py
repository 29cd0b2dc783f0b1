"""What the benchmarks share: the corpus, timing, processes on loopback and their memory."""

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from service.measure.datasets import Benchmark, Doc, load
from service.run import start_chroma

BENCH = Path(os.environ.get("BENCH", "../shared/bench"))
RESULTS = Path("bench/results")
PYTHON = sys.executable


def realtimeqa(limit: int = 0) -> Benchmark:
    """RealTime QA with its distractors: 891 CNN articles and 206 dated questions."""
    bench = load(BENCH / "realtimeqa-2022")
    docs = bench.docs[:limit] if limit and bench.docs else bench.docs
    return Benchmark(bench.name, bench.kind, docs, bench.questions)


def as_jsonl(docs: Sequence[Doc]) -> bytes:
    """The documents as a bulk request's body: one article object a line."""
    lines = [
        json.dumps(
            {
                "id": _safe_id(d.doc_id),
                "text": d.text,
                **({"title": d.title} if d.title else {}),
                **({"published": d.published[:10]} if _is_date(d.published[:10]) else {}),
            }
        )
        for d in docs
    ]
    return ("\n".join(lines) + "\n").encode()


def _safe_id(doc_id: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in doc_id)[:100]


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def median(values: Sequence[float]) -> float:
    """The median, 0 for none."""
    return statistics.median(values) if values else 0.0


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def save(part: str, result: dict[str, Any]) -> None:
    """Write `bench/results/<part>.json`, stamped with the date and machine."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamped = {
        "measured": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores, {_memory_gib():.0f} GiB, {os.uname().machine}",
        **result,
    }
    (RESULTS / f"{part}.json").write_text(json.dumps(stamped, indent=1), encoding="utf-8")


def _memory_gib() -> float:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return pages / 2**30


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def chroma_server(path: Path) -> Iterator[int]:
    """`chroma run` over a folder (an embedded index's `chroma` folder serves as is)."""
    port = free_port()
    server = start_chroma(path, port)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass
class Served:
    """An app process on loopback."""

    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def app(env: dict[str, str], module: str = "service", timeout: float = 300) -> Iterator[Served]:
    """`python -m <module>` with these settings on a free port, once /health answers."""
    port = free_port()
    full = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "RAG_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [PYTHON, "-m", module], env={**full, **env}, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app ({module}) did not start")
            time.sleep(0.5)
        yield Served(url, process)
    finally:
        process.terminate()
        process.wait(timeout=60)


def _healthy(url: str) -> bool:
    """True once the app answers /health at all: 200, or 503 for an index still empty (the
    bulk part starts from nothing)."""
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code in (200, 503)
    except httpx.TransportError:
        return False


def rss(pid: int) -> dict[int, int]:
    """Resident bytes of a process and each of its descendants, by pid."""
    found: dict[int, int] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        lines = [line.split() for line in status.splitlines() if line.startswith("VmRSS:")]
        found[current] = int(lines[0][1]) * 1024 if lines else 0
        pending += [int(c) for c in children]
    return found
