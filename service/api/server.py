"""Serving the app: uvicorn with the transport limits of the settings.

uvicorn bounds idle keep-alive connections and the connections a worker takes
(`limit_concurrency`, 503 past it, to everyone), but gives a client unlimited time to send
its headers (thirty sockets trickling one header line each would hold the server), and h11
limits the size of headers only while they are incomplete. `BoundedH11Protocol` answers 408
and closes when a request's headers are not complete within `header_timeout` seconds,
counted from the connection (or from the first byte of the next request on a kept-alive
one), and 431 when they are larger than `max_header_bytes`. It caps a worker's connections,
in all and per client address, by closing the oldest connection with no request under way
to make room for a new one (`_make_room`): sockets trickling their headers no longer shut
out every other caller, and a caller without a key cannot hold one sending a body (the key
is checked first, `service.api.auth.KeysFirst`). The body's deadline and size are the
app's (`service.api.middleware`), so they hold under any server.
"""

import asyncio
import ctypes
import ctypes.util
import json
import logging
import os
import shutil
from collections.abc import Callable
from functools import partial
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from index.embed import Embedder
from service.api.app import create_app
from service.settings import Settings

log = logging.getLogger(__name__)


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


class LimitedConfig(uvicorn.Config):
    """uvicorn's configuration plus the deadline for a request's headers and the connection
    caps (`BoundedH11Protocol`)."""

    def __init__(
        self,
        app: Any,
        *,
        header_timeout: float,
        max_connections: int | None = None,
        max_per_address: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(app, **options)
        self.header_timeout = header_timeout
        self.max_connections, self.max_per_address = max_connections, max_per_address


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's headers."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = float(getattr(config, "header_timeout", 10.0))
        self.max_header_bytes = config.h11_max_incomplete_event_size or 16 * 1024
        self.caps = (
            getattr(config, "max_per_address", None),
            getattr(config, "max_connections", None),
        )
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._waiting_since = 0.0
        self._over: str | None = None  # the cap a new connection found full

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._waiting_since = self.loop.time()
        self._over = self._make_room()
        self._arm()

    @property
    def waiting(self) -> bool:
        """No request under way: its headers not yet whole, or idle between requests."""
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _make_room(self) -> str | None:
        """Within the caps (per client address, then in all), the oldest waiting connection
        is closed for this one: trickling headers cannot hold a worker's connections, and a
        caller that sends its request at once always gets in. With every connection busy
        with a request, this one gets 503 once it sends its request: the setting it is
        over, else None."""
        host = self.client[0] if self.client else None
        for cap, same_address in zip(self.caps, (True, False), strict=True):
            if cap is None:
                continue
            others = [
                c
                for c in self.connections
                if isinstance(c, BoundedH11Protocol)
                and c is not self
                and not c.transport.is_closing()
                and (not same_address or (c.client and c.client[0] == host))
            ]
            if len(others) < cap:
                continue
            oldest = min(
                (c for c in others if c.waiting), key=lambda c: c._waiting_since, default=None
            )
            if oldest is None:
                return "RAG_MAX_CONNECTIONS_PER_ADDRESS" if same_address else "RAG_MAX_CONNECTIONS"
            oldest.transport.close()
        return None

    def data_received(self, data: bytes) -> None:
        if self._over is not None:  # answered once it asks, so that it reads the answer
            detail = f"the service has too many connections open; try again ({self._over})"
            self._refuse(503, "Service Unavailable", detail)
            return
        if self.conn.their_state is h11.IDLE:
            if self._header_timer is None:
                self._waiting_since = self.loop.time()
            self._arm()  # a new request on a kept-alive connection
            # h11 limits only headers still incomplete; headers sent whole in one piece are
            # counted here (a terminator split across pieces is over-counted by 3 bytes).
            end = data.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else end + 4
            if self._header_bytes > self.max_header_bytes:
                self._refuse(
                    431,
                    "Request Header Fields Too Large",
                    "the request headers are "
                    f"larger than {self.max_header_bytes} bytes (RAG_MAX_HEADER_BYTES)",
                )
                return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()
            self._header_bytes = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        detail = f"the request headers did not arrive within {self.header_timeout:g} s"
        self._refuse(408, "Request Timeout", detail)

    def _refuse(self, status: int, phrase: str, detail: str) -> None:
        """Answer with a JSON error before any request was read, and close."""
        log.warning("request refused by the server", extra={"status": status, "detail": detail})
        body = json.dumps({"detail": detail}).encode()
        head = (
            f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
            f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()


def few_malloc_arenas() -> None:
    """Keep glibc to MALLOC_ARENAS memory arenas in this process (unless MALLOC_ARENA_MAX says
    otherwise). By default every thread that allocates under contention gets its own arena,
    up to eight per core, and the model's ever-different tensor sizes leave each fragmented:
    two workers answering eight clients grew to 2.1 and 2.0 GB in two and a half minutes,
    and to 1.2 and 1.5 GB with two arenas (same questions, same index)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def server_config(
    app: FastAPI | Callable[[], FastAPI], settings: Settings, host: str, port: int, workers: int = 1
) -> LimitedConfig:
    """The uvicorn configuration `python -m service` serves with (`app` is a factory of the
    app, its settings bound, when several workers each build their own app)."""
    return LimitedConfig(
        app,
        factory=not isinstance(app, FastAPI),
        host=host,
        port=port,
        workers=workers,
        http=BoundedH11Protocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        header_timeout=settings.header_timeout,
        timeout_keep_alive=settings.keep_alive,
        # Not uvicorn's limit_concurrency, which counts every open connection, trickling
        # ones included, and answers 503 to everyone past it: BoundedH11Protocol's caps.
        max_connections=settings.max_connections,
        max_per_address=settings.max_connections_per_address,
        # A worker starting (model, index) while another computes answers on the same two
        # cores can take longer than uvicorn's 5 s to answer its supervisor's ping, which
        # then killed and restarted it over and over under load.
        timeout_worker_healthcheck=30,
        log_config=None,
        access_log=False,
    )


def serve(settings: Settings, embedder: Embedder | None = None) -> None:
    """Serve on `settings.host`:`settings.port` until interrupted: the app in this process
    (with the model already loaded, if given), or `settings.workers` worker processes that
    each build it from these same settings (handed to them, never through the environment)."""
    few_malloc_arenas()
    host, port, workers = settings.host, settings.port, settings.workers
    if workers <= 1:
        app = create_app(settings, embedder)
        uvicorn.Server(server_config(app, settings, host, port)).run()
        return
    # Each worker writes its metrics to files here, which /metrics sums (prometheus_client's
    # multiprocess mode, chosen when the spawned workers import it); emptied at each start
    # so a previous run's counts do not add up with these.
    metrics_dir = settings.data_dir / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    os.environ.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))  # read by each worker's libc
    # The factory with its settings bound: uvicorn pickles it into each spawned worker.
    config = server_config(partial(create_app, settings), settings, host, port, workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
