"""The lock files: exact versions with hashes of everything `make` installs.

    python requirements/lock.py write [--upgrade]   resolve pyproject.toml into the locks
    python requirements/lock.py check               fail when a lock is older than pyproject.toml

uv resolves (it can resolve for a Python other than the one running it, and hashes every
file); pip installs (`pip install --require-hashes`), because pip reads this machine's
configuration: the CPU build of torch on local disk and the cap on torch's version. Each
Python has one lock per install group, every group resolved under the constraint of the
full set (all extras), so a venv that installs `server`, then `test`, then `bench` holds
one version of each package throughout.

The Python client (clients/python, a distribution of its own) has a lock of its own per
Python, resolved under the same constraint, so the client a test installs alone has the
versions the server's venv has.

Each lock's first lines name the digest of the dependency tables of both pyproject.toml files
it was written from; `check` compares it with today's, so changing a range without re-locking
fails `make lint` with the command to run.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "requirements"
PYTHONS = ("3.11", "3.12")
# Install group -> the extras it holds. `server` is what `make run` needs, `dev` what `make
# lint` needs, `test` what the test suite needs (the local model included), `bench` the
# baselines `make bench` runs; `client` what `pip install ./clients/python` installs.
GROUPS = {
    "server": (),
    "dev": ("dev",),
    "test": ("dev", "local"),
    "bench": ("dev", "local", "bench"),
    "client": (),
}
SERVER = ROOT / "pyproject.toml"
CLIENT = ROOT / "clients" / "python" / "pyproject.toml"
PLATFORM = "x86_64-unknown-linux-gnu"
DIGEST = re.compile(r"^# pyproject-digest: ([0-9a-f]{64})$", re.MULTILINE)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def digest() -> str:
    """The sha256 of what the locks depend on: each project's Python range, dependencies and
    extras."""
    tables = []
    for pyproject in (SERVER, CLIENT):
        project = tomllib.loads(pyproject.read_text())["project"]
        tables.append(
            {
                "requires-python": project.get("requires-python"),
                "dependencies": project.get("dependencies", []),
                "optional-dependencies": project.get("optional-dependencies", {}),
            }
        )
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()


def lock_path(python: str, group: str) -> Path:
    return HERE / f"py{python.replace('.', '')}-{group}.txt"


def pins(path: Path) -> dict[str, str]:
    """Package name (normalised) -> locked version, read from one lock file."""
    return {_normal(name): version for name, version in PIN.findall(path.read_text())}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _find_links() -> list[str]:
    """pip's find-links of this machine (where the CPU torch lies), for uv to see too."""
    links = os.environ.get("PIP_FIND_LINKS", "").split()
    if not links:
        found = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.find-links"],
            capture_output=True,
            text=True,
        )
        links = found.stdout.split() if found.returncode == 0 else []
    return [arg for link in links for arg in ("--find-links", link)]


def _compile(
    project: Path, python: str, extras: tuple[str, ...], out: Path, extra: list[str]
) -> None:
    command = [
        "uv", "pip", "compile", str(project),
        "--generate-hashes", "--no-header", "--quiet",
        "--python-version", python, "--python-platform", PLATFORM,
        *[arg for name in extras for arg in ("--extra", name)],
        *_find_links(), *extra, "-o", str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=ROOT)


def write(upgrade: bool) -> None:
    """Resolve every (Python, group) lock; keep today's pins unless `upgrade`."""
    stamp = digest()
    for python in PYTHONS:
        with tempfile.TemporaryDirectory() as scratch:
            full = Path(scratch) / "full.txt"
            previous = lock_path(python, "bench")
            if previous.exists() and not upgrade:
                full.write_text(previous.read_text())
            print(f"resolving Python {python}: all extras", flush=True)
            _compile(SERVER, python, GROUPS["bench"], full, ["--upgrade"] if upgrade else [])
            for group, extras in GROUPS.items():
                target = lock_path(python, group)
                project = CLIENT if group == "client" else SERVER
                _compile(project, python, extras, Path(scratch) / group, ["-c", str(full)])
                # The constraint's temporary path would change every lock on every run.
                body = (Path(scratch) / group).read_text().replace(str(full), "all extras")
                target.write_text(_header(python, group, stamp) + body)
                print(f"wrote {target.relative_to(ROOT)} ({len(pins(target))} packages)")


def _header(python: str, group: str, stamp: str) -> str:
    extras = ",".join(GROUPS[group]) or "none"
    return (
        f"# The {group} lock for Python {python} on Linux (extras: {extras}).\n"
        "# Written by `make lock` (or `make upgrade`) from pyproject.toml; do not edit.\n"
        f"# pyproject-digest: {stamp}\n"
    )


def check() -> int:
    """0 when every lock was written from today's pyproject.toml; else say what to run."""
    stamp, stale = digest(), []
    for python in PYTHONS:
        for group in GROUPS:
            path = lock_path(python, group)
            found = DIGEST.search(path.read_text()) if path.exists() else None
            if found is None or found.group(1) != stamp:
                stale.append(str(path.relative_to(ROOT)))
    if stale:
        print(
            f"error: {', '.join(stale)} not written from today's pyproject.toml: its "
            "dependencies changed since the lock was written. Run `make lock` to lock the "
            "change (or `make upgrade` to move everything to the newest allowed versions).",
            file=sys.stderr,
        )
        return 1
    print(f"locks match pyproject.toml ({len(PYTHONS) * len(GROUPS)} files)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="fail when a lock is older than pyproject.toml")
    writer = sub.add_parser("write", help="resolve pyproject.toml into the locks")
    writer.add_argument("--upgrade", action="store_true", help="newest allowed versions")
    args = parser.parse_args()
    if args.command == "check":
        return check()
    write(args.upgrade)
    return 0


if __name__ == "__main__":
    sys.exit(main())
