"""`python -m service.run`: what `make run` does: index the seeds folder, then serve on
HOST:PORT with WORKERS worker processes (settings, `service.settings`).

The embedded store is one process's, so several workers share a Chroma server. Unless one
is configured (`RAG_CHROMA_MODE=http`), a `chroma run` server is started on
127.0.0.1:RAG_CHROMA_PORT for the run, with its data in `<RAG_DATA_DIR>/chroma-server`, and
stopped with it.
"""

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic import ValidationError

from index import logs
from index.build import sync
from index.embed import Embedder
from index.repair import heal, heal_embedded
from index.settings import settings_problem
from index.store import open_store
from service.api.server import serve
from service.components import reader_missing
from service.settings import Settings

log = logging.getLogger("service.run")
CHROMA = Path(sys.executable).parent / "chroma"


def main() -> None:
    """Index, then serve until interrupted."""
    logs.configure()
    try:
        settings = Settings()
    except ValidationError as exc:
        sys.exit(f"error: {settings_problem(exc)}")
    missing = reader_missing(settings)
    if missing:
        sys.exit(f"error: {missing}")
    embedder = Embedder(
        settings.device, settings.embed_batch, settings.encoder_path, settings.torch_threads
    )
    with shared_store(settings, embedder) as settings:
        heal_embedded(settings, embedder)
        report = sync(settings, open_store(settings), embedder)
        for source, reason in sorted(report.skipped.items()):
            log.warning("seed file skipped", extra={"source": source, "reason": reason})
        log.info("seeds indexed", extra={"added": len(report.added), "unchanged": report.unchanged})
        serve(settings, embedder=embedder if settings.workers <= 1 else None)


@contextmanager
def shared_store(settings: Settings, embedder: Embedder) -> Iterator[Settings]:
    """The settings to serve with: as given, or pointing at a `chroma run` server started
    here when several workers would otherwise each open the embedded store (the workers are
    handed these settings, `service.api.server.serve`)."""
    if settings.workers <= 1 or settings.chroma_mode == "http":
        yield settings
        return
    heal(settings.data_dir / "chroma-server", embedder)  # before its server opens it
    server = start_chroma(settings.data_dir / "chroma-server", settings.chroma_port)
    try:
        log.info("chroma server started for the workers", extra={"port": settings.chroma_port})
        yield settings.model_copy(update={"chroma_mode": "http", "chroma_host": "127.0.0.1"})
    finally:
        server.terminate()
        server.wait(timeout=20)


def start_chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    """`chroma run` on 127.0.0.1:`port` over the folder `path` (an embedded index's `chroma`
    folder serves as it is), returned once its heartbeat answers."""
    path.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [str(CHROMA), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_chroma(port, server)
    return server


def wait_for_chroma(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Return once the server's heartbeat answers; exit with the reason when it does not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"error: `chroma run` exited (is port {port} taken? set RAG_CHROMA_PORT)")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).is_success:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    server.terminate()
    sys.exit(f"error: `chroma run` did not answer on port {port} within {timeout:g} s")


if __name__ == "__main__":
    main()
