"""API keys as the settings give them: `name:key:scopes` entries, scopes joined by `+`
(ask, write, admin), separated by commas or lines (`#` starts a comment line). What each
scope allows is enforced by `service.api.auth`."""

from dataclasses import dataclass
from pathlib import Path

SCOPES = frozenset({"ask", "write", "admin"})
MIN_KEY_CHARS = 16


@dataclass(frozen=True)
class ApiKey:
    """One caller's key and what it may do."""

    name: str
    secret: str
    scopes: frozenset[str]

    def __repr__(self) -> str:  # never the secret, even in a traceback
        return f"ApiKey(name={self.name!r}, scopes={sorted(self.scopes)})"


def parse_keys(text: str) -> list[ApiKey]:
    """Keys from `name:key:scopes` entries separated by commas or lines; ValueError in words."""
    keys = []
    entries = [e.strip() for line in text.splitlines() for e in line.split(",")]
    for entry in entries:
        if not entry or entry.startswith("#"):
            continue
        parts = entry.split(":")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ValueError("each API key is name:key:scopes, e.g. reader:<key>:ask")
        name, secret, scopes = parts
        wanted = frozenset(s.strip() for s in scopes.split("+") if s.strip())
        if not wanted or wanted - SCOPES:
            raise ValueError(f"key {name!r}: scopes are ask, write and admin, joined by +")
        if len(secret) < MIN_KEY_CHARS:
            raise ValueError(f"key {name!r}: a key needs at least {MIN_KEY_CHARS} characters")
        keys.append(ApiKey(name, secret, wanted))
    if len({k.name for k in keys}) != len(keys):
        raise ValueError("two API keys have the same name")
    return keys


def load_keys(inline: str | None, file: Path | None) -> list[ApiKey]:
    """The keys of the settings (inline and file together)."""
    text = inline or ""
    if file is not None:
        text += "\n" + file.read_text(encoding="utf-8")
    return parse_keys(text)
