"""The lock files (requirements/): what `make test` installed is what they say, and a range
changed in pyproject.toml without re-locking is caught."""

import importlib.util
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

from tests.conftest import ROOT

# Installed by `make` beside the lock: the project itself, and pip's own tools.
NOT_LOCKED = {"newsrag", "newsrag-client", "pip", "setuptools", "wheel"}


def lock_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lock", ROOT / "requirements" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def installed() -> dict[str, str]:
    lock = lock_module()
    return {lock._normal(d.metadata["Name"]): d.version for d in metadata.distributions()}


def test_lock_installed_versions_match() -> None:
    """Every package of the test lock is installed at its locked version, and nothing is
    installed that the locks do not name (the bench group is the widest)."""
    lock = lock_module()
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    wanted = lock.pins(lock.lock_path(python, "test"))
    allowed = lock.pins(lock.lock_path(python, "bench"))
    have = installed()
    wrong = {
        name: (want, have.get(name)) for name, want in wanted.items() if have.get(name) != want
    }
    assert not wrong, f"locked -> installed: {wrong}"
    extra = {
        name: version
        for name, version in have.items()
        if name not in NOT_LOCKED and allowed.get(name) != version
    }
    assert not extra, f"installed, not as any lock says: {extra}"


def test_lock_every_file_written_from_todays_pyproject() -> None:
    assert lock_module().check() == 0


def test_lock_check_fails_when_a_range_changes(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    client = Path("clients", "python", "pyproject.toml")
    (tmp_path / client).parent.mkdir(parents=True)
    shutil.copy(ROOT / client, tmp_path / client)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"httpx>=0.28,<1"' in pyproject
    (tmp_path / "pyproject.toml").write_text(
        pyproject.replace('"httpx>=0.28,<1"', '"httpx>=0.29,<1"')
    )
    result = subprocess.run(
        [sys.executable, str(tmp_path / "requirements" / "lock.py"), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "make lock" in result.stderr
    assert "requirements/py311-server.txt" in result.stderr


def test_lock_pins_the_cpu_torch_for_this_machines_python() -> None:
    """The server's 3.11 locks take the CPU build on local disk, never a multi-GB CUDA
    build."""
    lock = lock_module()
    for group in ("server", "dev", "test", "bench"):
        pins = lock.pins(lock.lock_path("3.11", group))
        assert pins["torch"] == "2.13.0+cpu"
        assert not [name for name in pins if name.startswith("nvidia-")]
