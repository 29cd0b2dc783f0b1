"""The client is a distribution of its own: installed alone from its lock into a new venv, it
imports with httpx and pydantic and nothing of the server."""

import subprocess
import sys
import venv
from pathlib import Path

from tests.conftest import ROOT

SERVER_MODULES = ("service", "index", "chromadb", "fastapi", "torch", "onnxruntime", "starlette")
CHECK = f"""
import sys, newsrag_client
from newsrag_client import NewsRAG, AskResponse
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({SERVER_MODULES!r}))
print("loaded:", ",".join(loaded))
"""


def test_standalone_client_installs_and_imports_alone(tmp_path: Path) -> None:
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    lock = ROOT / "requirements" / f"py{sys.version_info[0]}{sys.version_info[1]}-client.txt"
    pip = [python, "-m", "pip", "install", "--quiet", "--no-deps"]
    for args in (["--require-hashes", "-r", str(lock)], [str(ROOT / "clients" / "python")]):
        subprocess.run([*pip, *args], check=True, capture_output=True, timeout=300)
    # Run outside the repository, so that nothing of it is importable by accident.
    result = subprocess.run(
        [python, "-I", "-c", CHECK], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded:"
    frozen = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True
    ).stdout
    assert "newsrag-client==0.1.0" in frozen
    assert "chromadb" not in frozen and "fastapi" not in frozen
