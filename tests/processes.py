"""Real processes on loopback for the topology tests: a `chroma run` server and the app as
`python -m service` (or `python -m service.run`), each started and stopped within bounds."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Return once `url` answers 200; fail when the process exits or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args} exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    stop(proc)
    pytest.fail(f"{url} did not answer within {timeout:g} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def app_process(env: dict[str, str], module: str = "service") -> Iterator[str]:
    """`python -m <module>` with these settings on a free port; yields its base URL."""
    port = free_port()
    full = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "RAG_LOG_LEVEL": "WARNING", **env}
    proc = subprocess.Popen(
        [PYTHON, "-m", module], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/health", proc)
        yield url
    finally:
        stop(proc)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run the app under uvicorn in a thread on a free loopback port; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until_healthy(base_url, thread)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_until_healthy(base_url: str, thread: threading.Thread, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and thread.is_alive():
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the app at {base_url} did not become healthy")


@contextmanager
def served(app: FastAPI, settings: object, timeout: float = 120) -> Iterator[tuple[str, int]]:
    """The app under the uvicorn configuration `python -m service` runs (`server_config`: its
    protocol, limits and timeouts), in a thread on a free loopback port; yields the address."""
    from service.api.server import server_config

    port = free_port()
    server = uvicorn.Server(server_config(app, settings, "127.0.0.1", port))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=20)
