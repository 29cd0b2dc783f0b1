"""Rate limits per caller, counted by the `limits` library (fixed windows), in storage that
every worker of one machine shares: a SQLite file (WAL, one transaction an increment).

`RAG_RATE_LIMIT` takes the library's notation (`120/minute`, `10/second;1000/hour`). A
caller is its API key's name, or its address when the service is open. For replicas on
several machines, `RAG_RATE_LIMIT_STORAGE` takes any storage URI of the library (e.g.
`redis://host:6379`, with the `redis` package installed); by default it is this file.
"""

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file, safe across processes."""

    STORAGE_SCHEME = ["newsrag-sqlite"]  # noqa: RUF012 - the library declares it so

    def __init__(self, path: Path) -> None:
        super().__init__(f"newsrag-sqlite://{path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER, "
                "expires REAL)"
            )

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT value, expires FROM counters WHERE key = ?", (key,)).fetchone()
            value = amount if row is None or row[1] <= now else row[0] + amount
            expires = now + expiry if row is None or row[1] <= now else row[1]
            db.execute("INSERT OR REPLACE INTO counters VALUES (?, ?, ?)", (key, value, expires))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(value)

    def get(self, key: str) -> int:
        row = self._row(key)
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return float(row[1]) if row else time.time()

    def check(self) -> bool:
        return self._db().execute("SELECT 1").fetchone() is not None

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))

    def _row(self, key: str) -> Any:
        return (
            self._db()
            .execute(
                "SELECT value, expires FROM counters WHERE key = ? AND expires > ?",
                (key, time.time()),
            )
            .fetchone()
        )


class RateLimiter:
    """The limits of `RAG_RATE_LIMIT` for each caller."""

    def __init__(self, spec: str, storage: Storage) -> None:
        self.items: list[RateLimitItem] = parse_many(spec)
        self.strategy = FixedWindowRateLimiter(storage)

    def hit(self, caller: str) -> float | None:
        """Count one request of the caller; None when it is within every limit, else the
        seconds until the window that refused it resets."""
        for item in self.items:
            if not self.strategy.hit(item, caller):
                reset = self.strategy.get_window_stats(item, caller).reset_time
                return max(1.0, reset - time.time())
        return None


def rate_limiter(spec: str | None, storage_uri: str | None, data_dir: Path) -> RateLimiter | None:
    """The limiter of these settings, or None when there is no limit."""
    if not spec:
        return None
    storage = storage_from_string(storage_uri) if storage_uri else None
    if storage is not None and not isinstance(storage, Storage):
        raise ValueError(f"RAG_RATE_LIMIT_STORAGE: {storage_uri} is an asyncio storage")
    return RateLimiter(spec, storage or SQLiteStorage(data_dir / "ratelimit.sqlite3"))
