"""`python -m service.measure.bench.stress` (`make load`): 50 clients for 60 seconds against
`WORKERS=2` on loopback, over the seeds, with a rate limit per key. Each client holds an API
key of its own (ten clients share each of five keys), and asks, searches and reads articles
in a loop. The only errors allowed are 429s (the rate limit doing its work); every other
failure, a 5xx or a dropped connection, fails the run. Prints the counts by status, p50 and
p95 of the answered requests, and saves `bench/results/stress.json`.
"""

import argparse
import json
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from index.build import sync
from index.embed import Embedder
from index.settings import Settings
from index.store import open_store
from service.measure.bench.common import app, chroma_server, median, percentile, save

QUESTIONS = [
    "Where is the Russian Baltic Fleet based?",
    "Which missile did the Trump administration say breached the INF treaty?",
    "Which NATO state limited rail shipments of sanctioned goods to Kaliningrad in 2022?",
    "What did Rand Paul say about Maduro?",
    "Who is the current Secretary General of NATO?",
]


def client(url: str, key: str, end: float, seed: int, seen: list[tuple[str, int, float]]) -> None:
    """One client until `end`: 6 in 10 requests ask, 3 search, 1 lists the articles."""
    rng = random.Random(seed)
    headers = {"authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        while time.monotonic() < end:
            pick = rng.random()
            started = time.perf_counter()
            try:
                if pick < 0.6:
                    kind = "ask"
                    response = http.post("/api/ask", json={"question": rng.choice(QUESTIONS)})
                elif pick < 0.9:
                    kind = "search"
                    response = http.post("/api/search", json={"query": rng.choice(QUESTIONS)})
                else:
                    kind = "articles"
                    response = http.get("/api/articles")
                status = response.status_code
                if status == 429:  # the well-behaved client: wait as told, at most 2 s here
                    time.sleep(min(2.0, float(response.headers.get("retry-after", "1"))))
            except httpx.HTTPError:
                kind, status = "transport", 0
            seen.append((kind, status, time.perf_counter() - started))


def run(clients: int, seconds: float, workers: int, limit: str) -> dict[str, Any]:
    """Index the seeds on a Chroma server, serve them with `workers`, and load them."""
    keys = [f"load{n}:{secrets.token_hex(16)}:ask" for n in range(5)]
    with tempfile.TemporaryDirectory() as tmp, chroma_server(Path(tmp) / "chroma") as port:
        settings = Settings(
            seeds_dir=Path("seeds"), data_dir=Path(tmp), chroma_mode="http", chroma_port=port
        )
        sync(settings, open_store(settings), Embedder())
        env = {
            "WORKERS": str(workers),
            "RAG_CHROMA_MODE": "http",
            "RAG_CHROMA_PORT": str(port),
            "RAG_DATA_DIR": str(Path(tmp) / "app"),
            "RAG_API_KEYS": ",".join(keys),
            "RAG_RATE_LIMIT": limit,
        }
        seen: list[tuple[str, int, float]] = []
        with app(env) as served:
            end = time.monotonic() + seconds
            threads = [
                threading.Thread(
                    target=client,
                    args=(served.url, keys[n % len(keys)].split(":")[1], end, n, seen),
                )
                for n in range(clients)
            ]
            for thread in threads:
                thread.start()
            while any(t.is_alive() for t in threads):
                time.sleep(5)
                print(f"  {len(seen)} requests so far", flush=True)
                if time.monotonic() > end + 180:
                    break  # bounded: a client stuck past its timeout counts as a failure
    statuses = Counter(status for _, status, _ in seen)
    answered = [t for _, status, t in seen if status == 200]
    by_kind = {
        kind: round(median([t for k, s, t in seen if k == kind and s == 200]), 3)
        for kind in ("ask", "search", "articles")
    }
    errors = sum(n for status, n in statuses.items() if status not in (200, 429))
    return {
        "clients": clients,
        "seconds": seconds,
        "workers": workers,
        "rate_limit_per_key": limit,
        "requests": len(seen),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors_other_than_429": errors + sum(t.is_alive() for t in threads),
        "p50_s": round(median(answered), 3),
        "p95_s": round(percentile(answered, 0.95), 3),
        "p50_s_by_kind": by_kind,
        "answered_per_s": round(len(answered) / seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.measure.bench.stress")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", default="300/minute", help="RAG_RATE_LIMIT for each key")
    args = parser.parse_args(argv)
    print(f"== {args.clients} clients for {args.seconds:g} s, WORKERS={args.workers}", flush=True)
    result = run(args.clients, args.seconds, args.workers, args.limit)
    save("stress", result)
    print(json.dumps(result, indent=1))
    return 1 if result["errors_other_than_429"] else 0


if __name__ == "__main__":
    sys.exit(main())
