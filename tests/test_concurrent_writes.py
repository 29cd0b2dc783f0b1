"""An attack run on WORKERS=2 over one `chroma run` server: four writers replace and delete
articles while four readers search and ask. Chroma returns rows being deleted without
metadata and fails reads for a moment ("Error finding id"), and the tokenizer was shared
by threads: reads once got 500s and 503s calling the store damaged. Prints the statuses."""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from index.build import sync
from index.embed import Embedder
from index.store import open_store
from service.run import start_chroma
from tests.conftest import SEEDS, make_settings
from tests.processes import app_process, free_port, stop

SECONDS = 16.0  # of writing and reading at once
WORDS = ["harbour", "ferry", "storm", "quay", "trawler", "bridge", "tram", "lighthouse"]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("concurrent")
    port = free_port()
    chroma = start_chroma(root / "chroma", port)
    try:
        settings = make_settings(SEEDS, root / "data", chroma_mode="http", chroma_port=port)
        sync(settings, open_store(settings), embedder)
        env = {
            "RAG_CHROMA_MODE": "http",
            "RAG_CHROMA_PORT": str(port),
            "RAG_DATA_DIR": str(root / "d"),
            "RAG_READER": "rules",
            "WORKERS": "2",
        }
        with app_process(env) as url:
            yield url
    finally:
        stop(chroma)


def text(writer: int, round_: int) -> str:
    word = WORDS[(writer + round_) % len(WORDS)]
    return " ".join(
        f"The {word} of Port Orvane number {writer} reopened on day {round_ + n} after repairs."
        for n in range(12)
    )


def test_attack_concurrent_writes_and_reads_never_fail(two_workers: str) -> None:
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    end = time.monotonic() + SECONDS

    def note(kind: str, response: httpx.Response) -> None:
        with lock:
            statuses[f"{kind} {response.status_code}"] += 1
            damaged = response.status_code == 503 and "damaged" in response.text
            if response.status_code >= 500 and (response.status_code != 503 or damaged):
                failures.append(f"{kind} {response.status_code}: {response.text[:200]}")

    def write(n: int) -> None:
        with httpx.Client(base_url=two_workers, timeout=60) as client:
            round_ = 0
            while time.monotonic() < end:
                note("put", client.put(f"/api/articles/race-{n}", json={"text": text(n, round_)}))
                if round_ % 3 == 2:
                    note("delete", client.delete(f"/api/articles/race-{n}"))
                round_ += 1

    def read(n: int) -> None:
        with httpx.Client(base_url=two_workers, timeout=60) as client:
            while time.monotonic() < end:
                query = f"{WORDS[n]} of Port Orvane reopened"
                if n % 2:
                    note("search", client.post("/api/search", json={"query": query}))
                else:
                    note("ask", client.post("/api/ask", json={"question": f"What {query}?"}))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=read, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 120)
    print(
        f"{SECONDS:g} s of 4 writers and 4 readers on WORKERS=2: {dict(sorted(statuses.items()))}"
    )
    assert not failures, failures[:5]
    assert (
        statuses["search 200"] + statuses["ask 200"] > 0
        and statuses["put 201"] + statuses["put 200"] > 0
    )
