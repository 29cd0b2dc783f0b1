"""Faults, with real processes on loopback: the Chroma server killed and restarted under
load, the language model's server killed, and indexing killed with SIGKILL at ten moments.
Each test prints what it did and what held."""

import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from index.build import sync
from index.catalog import Catalog
from index.embed import Embedder
from index.store import open_store
from service.api.app import create_app
from service.run import start_chroma
from service.settings import Settings
from tests.conftest import LOCAL, SEEDS, make_settings
from tests.llm_servers import FAST_LLM, llama_server
from tests.processes import PYTHON, app_process, free_port, stop

FLEET = "Where is the Russian Baltic Fleet based?"


@dataclass(frozen=True)
class Outcome:
    started: float
    took: float
    status: int  # 0: no response (a transport error or a timeout)
    retry_after: str | None
    what: str  # the route, or the transport error


def load(url: str, done: threading.Event, outcomes: list[Outcome], kind: int) -> None:
    """One client asking (or searching) in a loop until `done` is set (at most ten minutes)."""
    end = time.monotonic() + 600
    with httpx.Client(base_url=url, timeout=60) as client:
        while not done.is_set() and time.monotonic() < end:
            started = time.monotonic()
            try:
                if kind:
                    what = "search"
                    response = client.post("/api/search", json={"query": "Baltic Fleet"})
                else:
                    what = "ask"
                    response = client.post("/api/ask", json={"question": FLEET})
                status, retry = response.status_code, response.headers.get("retry-after")
            except httpx.HTTPError as exc:
                status, retry, what = 0, None, f"{what}: {exc!r}"
            outcomes.append(Outcome(started, time.monotonic() - started, status, retry, what))
            time.sleep(0.05)


def test_fault_chroma_killed_and_restarted_under_load(tmp_path: Path, embedder: Embedder) -> None:
    port = free_port()
    chroma = start_chroma(tmp_path / "chroma", port)
    settings = make_settings(SEEDS, tmp_path / "data", chroma_mode="http", chroma_port=port)
    sync(settings, open_store(settings), embedder)
    env = {
        "RAG_SEEDS_DIR": str(SEEDS),
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_CHROMA_MODE": "http",
        "RAG_CHROMA_PORT": str(port),
    }
    outcomes: list[Outcome] = []
    try:
        with app_process(env) as url:
            # A worker's first answer loads what it needs (seconds on a busy machine).
            httpx.post(f"{url}/api/ask", json={"question": FLEET}, timeout=120)
            httpx.post(f"{url}/api/search", json={"query": FLEET}, timeout=120)
            done = threading.Event()
            clients = [
                threading.Thread(target=load, args=(url, done, outcomes, kind)) for kind in (0, 1)
            ]
            for client in clients:
                client.start()
            time.sleep(3)
            chroma.send_signal(signal.SIGKILL)
            chroma.wait(timeout=10)
            killed = time.monotonic()
            time.sleep(4)
            health_down = httpx.get(f"{url}/health", timeout=10)
            restarting = time.monotonic()
            chroma = start_chroma(tmp_path / "chroma", port)
            restarted = time.monotonic()
            recovered = None
            while recovered is None and time.monotonic() < restarted + 60:
                time.sleep(0.2)
                late = [o for o in outcomes if o.started > restarted and o.status == 200]
                if late:
                    recovered = min(o.started + o.took for o in late) - restarted
            time.sleep(1)
            done.set()
            for client in clients:
                client.join(timeout=30)
            health_up = httpx.get(f"{url}/health", timeout=10)
    finally:
        stop(chroma)
    down = [o for o in outcomes if o.started > killed + 0.1 and o.started + o.took < restarting]
    codes = sorted({o.status for o in outcomes})
    slowest = max((o.took for o in down), default=0.0)
    print(
        f"{len(outcomes)} requests, statuses {codes}; while Chroma was down: {len(down)} "
        f"requests, all {sorted({o.status for o in down})}, slowest {slowest:.2f} s, "
        f"Retry-After {sorted({o.retry_after for o in down}, key=str)}; health down "
        f"{health_down.status_code}; first 200 {recovered or -1:.2f} s after "
        f"the restart; health after {health_up.status_code}"
    )
    odd = [o for o in outcomes if o.status not in (200, 503)] + [o for o in down if o.status != 503]
    for o in odd:
        print(
            f"  at {o.started - killed:+.2f} s from the kill, {o.took:.2f} s: {o.status} {o.what}"
        )
    assert set(codes) <= {200, 503}
    assert down and all(o.status == 503 and o.retry_after for o in down)
    assert slowest <= 2.0
    assert health_down.status_code == 503
    assert recovered is not None and health_up.status_code == 200


def test_fault_model_server_killed_answers_fall_back_in_time(
    seeded_settings: Settings, embedder: Embedder
) -> None:
    """The model's server dies between two questions: the next answer is the extractive
    one, marked as a fallback with the reason, well inside RAG_REQUEST_TIMEOUT."""
    with llama_server() as server:
        values = {**seeded_settings.model_dump(), **FAST_LLM, "request_timeout": 60.0}
        values.update(answer_backend="openai", llm_base_url=server.base_url, llm_model="smollm2")
        with TestClient(create_app(Settings(**values), embedder), base_url=LOCAL) as client:
            before = client.post("/api/ask", json={"question": FLEET}).json()
            assert server.pid is not None
            os.kill(server.pid, signal.SIGKILL)
            started = time.monotonic()
            after = client.post("/api/ask", json={"question": FLEET})
            took = time.monotonic() - started
    body = after.json()
    print(
        f"before the kill: {before['mode']}; after: {after.status_code} {body['mode']} in "
        f"{took:.2f} s, reason {body.get('reason')!r}"
    )
    assert after.status_code == 200 and body["mode"] == "fallback"
    assert "Baltiysk" in body["answer"] and body["citations"] and body["reason"]


def synthetic_article(n: int, edition: int) -> tuple[str, str]:
    """A short made-up article with a sentence no other holds; (text, that sentence)."""
    rng = random.Random(n * 100 + edition)
    towns = ["Arden", "Belmor", "Cask", "Dovey", "Elling", "Farrow", "Gisby", "Holm"]
    things = ["bridge", "library", "ferry", "market", "school", "harbour", "tram", "clinic"]
    town, thing = towns[n % len(towns)], things[(n // len(towns)) % len(things)]
    mark = (
        f"The {town} {thing} inspection number {n} found {rng.randint(2, 99)} faults in "
        f"edition {edition}, the council's engineers reported on Monday."
    )
    body = [f"{town} {thing} report {n}", mark] + [
        f"Council officers in {town} said the {thing} work would continue through "
        f"{['spring', 'summer', 'autumn', 'winter'][k % 4]} and cost {rng.randint(1, 90)} "
        f"thousand euros, with residents kept informed at meeting {k}."
        for k in range(12)
    ]
    return "\n\n".join(body), mark


class Watched:
    """`python -m index build` with its log read as it runs: `writing` is set when it
    starts a write to the store, `written` when that write is done."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.writing, self.written = threading.Event(), threading.Event()
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if b'"message": "writing"' in line:
                self.writing.set()
            elif b'"message": "written"' in line:
                self.written.set()


def test_fault_indexing_killed_at_ten_moments_converges(tmp_path: Path, embedder: Embedder) -> None:
    """`python -m index` killed with SIGKILL ten times, each at a random moment of its
    write to the store (the writes are the part that must never leave half an article);
    between runs a quarter of the articles are edited, so every run replaces versions. Then
    a run to the end: every article once, in its last version, and the keyword index agrees
    with Chroma."""
    seeds, data = tmp_path / "seeds", tmp_path / "data"
    seeds.mkdir()
    count = 80
    marks = {}
    for n in range(count):
        text, marks[n] = synthetic_article(n, 0)
        (seeds / f"{n:03d}_synthetic.txt").write_text(text, encoding="utf-8")
    env = {
        **os.environ,
        "RAG_SEEDS_DIR": str(seeds),
        "RAG_DATA_DIR": str(data),
        "RAG_PROGRESS": "false",
        "RAG_LOG_LEVEL": "INFO",
    }
    build = [PYTHON, "-m", "index", "build"]
    rng = random.Random(14)
    moments = []
    for edition in range(1, 11):
        run = Watched(build, env)
        run.writing.wait(timeout=300)
        delay = rng.uniform(0.0, 0.6)  # a write of these articles takes about 0.3 s here
        time.sleep(delay)
        when = "after its write" if run.written.is_set() else "inside its write"
        run.proc.send_signal(signal.SIGKILL)
        run.proc.wait(timeout=10)
        run.reader.join(timeout=10)
        status = subprocess.run(
            [PYTHON, "-m", "index", "status"], env=env, capture_output=True, timeout=120
        )
        held = status.stdout.decode().split("(")[0].strip() or status.stderr.decode()[-200:]
        moments.append(f"+{delay:.2f} s, {when}: {held}")
        for n in rng.sample(range(count), count // 4):
            text, marks[n] = synthetic_article(n, edition)
            (seeds / f"{n:03d}_synthetic.txt").write_text(text, encoding="utf-8")
    final = subprocess.run(build, env=env, capture_output=True, timeout=600, check=False)
    assert final.returncode == 0, final.stderr.decode()[-2000:]

    store = open_store(make_settings(seeds, data))
    records = store.records()
    ids = [r.article_id for r in records]
    chunks = store.chunks_of(records)
    catalog = Catalog(store)
    catalog.refresh(force=True)
    live = {h.chunk_id for h in chunks}
    in_keyword = catalog.keyword.chunk_ids()
    stale = store.chunks.count() - len(chunks)  # of killed writes: never searched, swept later
    texts = " ".join(h.text for h in chunks)
    once = sum(texts.count(mark) == 1 for mark in marks.values())
    repaired = final.stderr.decode().count('"damaged collection"')
    print(
        "killed once a write to the store began:\n  " + "\n  ".join(moments) + "\n"
        f"then ({repaired} damaged collections repaired first) {final.stdout.decode().strip()}\n"
        f"{len(records)} articles ({len(set(ids))} distinct), {len(chunks)} live chunks "
        f"({stale} stale), keyword index {len(in_keyword)} chunks, {once}/{count} "
        "last editions found exactly once"
    )
    assert len(ids) == len(set(ids)) == count
    assert once == count
    assert in_keyword == live
    versions = {r.article_id: r.version for r in records}
    assert all(h.version == versions[h.article_id] for h in chunks)
