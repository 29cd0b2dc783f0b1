"""Transport limits of the server as `python -m service` runs it (`service.api.server`): each
limit is provoked over a raw socket on loopback and must cut the request off in bounded time."""

import socket
import threading
import time
from collections.abc import Iterator
from functools import partial

import pytest
import uvicorn

from index.embed import Embedder
from service.api.app import create_app
from service.api.server import server_config
from service.settings import Settings

LIMITS = {
    "max_header_bytes": 8192,
    "header_timeout": 1.0,
    "body_timeout": 1.0,
    "keep_alive": 1,
    "max_connections": 4,
    "max_connections_per_address": 3,
}
SLACK = 5.0  # seconds the server may take past a limit before the test gives up on it


@pytest.fixture(scope="module")
def address(seeded_settings: Settings, embedder: Embedder) -> Iterator[tuple[str, int]]:
    settings = seeded_settings.model_copy(update=LIMITS)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = server_config(create_app(settings, embedder), settings, "127.0.0.1", port)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=20)


def connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=LIMITS["header_timeout"] + SLACK)
    return sock


def read_all(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and the seconds that took."""
    started, data = time.monotonic(), b""
    while True:
        try:
            piece = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"the server held the connection (got {data[:80]!r})")
        if not piece:
            return data, time.monotonic() - started
        data += piece


def test_transport_oversized_header_cut_off(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
        )
        data, _ = read_all(sock)
    assert data.startswith(b"HTTP/1.1 4")


def test_transport_slow_headers_cut_off(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        data, waited = read_all(sock)
    assert data.startswith(b"HTTP/1.1 408")
    assert waited < LIMITS["header_timeout"] + SLACK


def test_transport_silent_connection_cut_off(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        _, waited = read_all(sock)
    assert waited < LIMITS["header_timeout"] + SLACK


def test_transport_incomplete_body_cut_off(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        sock.sendall(
            b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"question": "Where'
        )
        data, waited = read_all(sock)
    assert data.startswith(b"HTTP/1.1 408")
    assert b"within" in data
    assert waited < LIMITS["body_timeout"] + SLACK


def test_transport_idle_keep_alive_closed(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data, waited = read_all(sock)
    assert data.startswith(b"HTTP/1.1 200")
    assert waited < LIMITS["keep_alive"] + 2  # uvicorn's default alone would hold it 5 s


def connect_from(address: tuple[str, int], source: str) -> socket.socket:
    """A connection from another loopback address (127.0.0.0/8 is all loopback)."""
    sock = socket.socket()
    sock.settimeout(LIMITS["header_timeout"] + SLACK)
    sock.bind((source, 0))
    sock.connect(address)
    return sock


def busy(address: tuple[str, int], source: str) -> socket.socket:
    """A connection whose request is under way: its headers sent, its body not."""
    sock = connect_from(address, source)
    sock.sendall(
        b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{"
    )
    return sock


def health(address: tuple[str, int], source: str = "127.0.0.1") -> bytes:
    with connect_from(address, source) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return read_all(sock)[0]


def test_transport_waiting_connections_make_room_for_a_request(address: tuple[str, int]) -> None:
    """Connections that send nothing, as many as the cap: a new request is answered, and the
    oldest of them is closed for it (uvicorn's own cap answered 503 to everyone)."""
    held = [connect_from(address, f"127.0.0.{n}") for n in range(2, 2 + LIMITS["max_connections"])]
    try:
        time.sleep(0.2)
        assert health(address).startswith(b"HTTP/1.1 200")
        # The oldest is closed: to make room, or by its header deadline on a slow machine.
        closed, _ = read_all(held[0])
        assert closed == b"" or closed.startswith(b"HTTP/1.1 408")
    finally:
        for sock in held:
            sock.close()


def test_transport_connections_busy_past_limit_get_503(address: tuple[str, int]) -> None:
    time.sleep(0.3)  # the last test's connections gone
    held = [busy(address, f"127.0.0.{n}") for n in range(10, 10 + LIMITS["max_connections"])]
    try:
        time.sleep(0.2)
        assert health(address, "127.0.0.20").startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()


def test_transport_one_address_cannot_take_every_connection(address: tuple[str, int]) -> None:
    time.sleep(0.3)
    cap = LIMITS["max_connections_per_address"]
    held = [busy(address, "127.0.0.30") for _ in range(cap)]
    try:
        time.sleep(0.2)
        refused = health(address, "127.0.0.30")
        answered = health(address, "127.0.0.31")
    finally:
        for sock in held:
            sock.close()
    assert refused.startswith(b"HTTP/1.1 503") and b"PER_ADDRESS" in refused
    assert answered.startswith(b"HTTP/1.1 200")


def test_transport_workers_get_time_to_start(embedder: Embedder) -> None:
    """A worker starting beside one that computes answers has 30 s, not uvicorn's 5, to
    answer its supervisor's ping (under load the 5 s killed and restarted it over and over)."""
    settings = Settings()
    config = server_config(partial(create_app, settings), settings, "127.0.0.1", 0, workers=2)
    assert config.timeout_worker_healthcheck >= 30 and config.workers == 2
