"""The keyword index: BM25 (bm25s) over the same chunks as the vector store, kept beside it.

It lives in `<data_dir>/keyword/<collection>/`:

- `postings.jsonl` is the truth, an append-only log: one `add` line per chunk (its id,
  source file, article, publication day and stemmed terms) and one `delete` line per
  removed source file. Appending makes every add, replace and delete durable at once, so
  the keyword index never needs a separate "save" to stay in step with Chroma.
- `bm25/` holds the bm25s matrices built from the log, with the log digest they were built
  from; a reader loads them when the digest matches and rebuilds them in memory otherwise.

Readers (the service) notice a log that another process (the indexer) changed and reload.
"""

import functools
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import bm25s
import numpy as np
from numpy.typing import NDArray

from index.terms import terms

log = logging.getLogger(__name__)

LOG_NAME = "postings.jsonl"
MATRICES = "bm25"


@dataclass(frozen=True)
class Posting:
    """One chunk as the keyword index knows it."""

    chunk_id: str
    source: str
    article_id: str
    day: int | None
    terms: tuple[str, ...]


@dataclass(frozen=True)
class KeywordHit:
    """A chunk id and its BM25 score."""

    chunk_id: str
    score: float


P = ParamSpec("P")
R = TypeVar("R")


def _locked(
    method: Callable[Concatenate["KeywordIndex", P], R],
) -> Callable[Concatenate["KeywordIndex", P], R]:
    """Run the method under the index's lock, after reloading a log another process changed."""

    def run(self: "KeywordIndex", /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            if _stat(self.log_path) != self._stamp:
                self._load()
            return method(self, *args, **kwargs)

    functools.update_wrapper(run, method)
    return run


class KeywordIndex:
    """BM25 over chunk terms, persisted as an append-only log plus the bm25s matrices."""

    _postings: dict[str, Posting]
    _by_source: dict[str, set[str]]
    _by_article: dict[str, set[str]]
    _digests: dict[str, str]
    _fingerprints: dict[str, frozenset[int]]
    _model: bm25s.BM25 | None
    _ids: list[str]
    _days: NDArray[np.int64]
    _lines: int

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / LOG_NAME
        # The service searches from several threads; a reload must not run under a search.
        self._lock = threading.RLock()
        self._stamp: tuple[int, int] | None = None
        self._load()

    # -- writing ---------------------------------------------------------------------------

    @_locked
    def add(self, source: str, digest: str, postings: Sequence[Posting]) -> None:
        """Record a source file's chunks (after `delete_source` when it is replaced)."""
        lines: list[dict[str, Any]] = [{"op": "source", "source": source, "digest": digest}]
        self._append(lines + [_add_line(p) for p in postings])

    @_locked
    def delete_source(self, source: str) -> None:
        """Forget every chunk of a source file."""
        if source in self._digests or source in self._by_source:
            self._append([{"op": "delete", "source": source}])

    @_locked
    def rebuild(self, digests: dict[str, str], postings: Sequence[Posting]) -> None:
        """Replace everything the index holds with these sources and chunks."""
        self._load_empty()
        self._digests = dict(digests)
        for posting in postings:
            self._apply(_add_line(posting))
        self._rewrite_log()

    @_locked
    def save(self) -> None:
        """Compact the log when it holds mostly dead lines and store the bm25s matrices."""
        if self._lines > 2 * (len(self._postings) + len(self._digests)) + 100:
            self._rewrite_log()
        model = self._ensure_model()
        if model is not None and not self._matrices_current():
            self._save_matrices(model)

    # -- reading ---------------------------------------------------------------------------

    @_locked
    def digests(self) -> dict[str, str]:
        """Digest of every source file the index holds chunks for."""
        return dict(self._digests)

    @_locked
    def __len__(self) -> int:
        return len(self._postings)

    @_locked
    def chunk_ids(self) -> set[str]:
        """Every chunk the index holds."""
        return set(self._postings)

    @_locked
    def search(self, query: str, k: int, days: tuple[int, int] | None = None) -> list[KeywordHit]:
        """The k chunks with the best BM25 score for the query's terms, best first; with
        `days`, only chunks published between those yyyymmdd days (inclusive)."""
        scores = self._scores(query)
        if scores is None or k <= 0:
            return []
        if days is not None:
            inside = (self._days >= days[0]) & (self._days <= days[1])
            scores = np.where(inside, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [KeywordHit(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]

    @_locked
    def scores_for(self, query: str, chunk_ids: Iterable[str]) -> dict[str, float]:
        """BM25 scores of the given chunks for the query (0 for unknown chunks)."""
        scores = self._scores(query)
        position = {cid: i for i, cid in enumerate(self._ids)}
        return {
            c: float(scores[position[c]]) if scores is not None and c in position else 0.0
            for c in chunk_ids
        }

    @_locked
    def fingerprint(self, article_id: str) -> frozenset[int]:
        """Hashes of every run of three terms in the article: near-copies share most."""
        if article_id not in self._fingerprints:
            chunks = sorted(
                (self._postings[c] for c in self._by_article.get(article_id, ())),
                key=lambda p: int(p.chunk_id.rsplit(":", 1)[-1]),
            )
            words = [t for p in chunks for t in p.terms]
            self._fingerprints[article_id] = frozenset(
                hash(tuple(words[i : i + 3])) for i in range(len(words) - 2)
            )
        return self._fingerprints[article_id]

    # -- internals -------------------------------------------------------------------------

    def _scores(self, query: str) -> NDArray[np.float32] | None:
        wanted = terms(query)
        model = self._ensure_model()
        if model is None or not wanted:
            return None
        return np.asarray(model.get_scores(wanted), dtype=np.float32)

    def _append(self, lines: list[dict[str, Any]]) -> None:
        with self.log_path.open("a", encoding="utf-8") as out:
            out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        for line in lines:
            self._apply(line)
        self._lines += len(lines)
        self._model, self._fingerprints = None, {}
        self._stamp = _stat(self.log_path)

    def _apply(self, line: dict[str, Any]) -> None:
        op, source = line["op"], str(line["source"])
        if op == "source":
            self._digests[source] = str(line["digest"])
        elif op == "delete":
            self._digests.pop(source, None)
            for cid in self._by_source.pop(source, set()):
                self._forget(cid)
        elif op == "add":
            cid, day = str(line["id"]), line.get("day")
            self._forget(cid)
            posting = Posting(
                cid,
                source,
                str(line["article"]),
                day if isinstance(day, int) else None,
                tuple(line["terms"]),
            )
            self._postings[cid] = posting
            self._by_source.setdefault(source, set()).add(cid)
            self._by_article.setdefault(posting.article_id, set()).add(cid)

    def _forget(self, chunk_id: str) -> None:
        old = self._postings.pop(chunk_id, None)
        if old is not None:
            self._by_source.get(old.source, set()).discard(chunk_id)
            self._by_article.get(old.article_id, set()).discard(chunk_id)

    def _load(self) -> None:
        self._load_empty()
        self._stamp = _stat(self.log_path)
        if self._stamp is None:
            return
        with self.log_path.open(encoding="utf-8") as lines:
            for raw in lines:
                if not raw.endswith("\n"):  # still being written: read it next time
                    self._stamp = None
                    break
                self._apply(json.loads(raw))
                self._lines += 1

    def _load_empty(self) -> None:
        self._postings = {}
        self._by_source = {}
        self._by_article = {}
        self._digests = {}
        self._fingerprints = {}
        self._model = None
        self._ids = []
        self._days = np.zeros(0, dtype=np.int64)
        self._lines = 0

    def _ensure_model(self) -> bm25s.BM25 | None:
        if self._model is None and self._postings:
            self._ids = sorted(self._postings)
            undated = -1  # below any window, as in Chroma, where the field is missing
            days = [self._postings[c].day for c in self._ids]
            self._days = np.array([undated if d is None else d for d in days], dtype=np.int64)
            self._model = self._load_matrices() or self._build()
        return self._model

    def _build(self) -> bm25s.BM25:
        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at debug
        model = bm25s.BM25()
        model.index([list(self._postings[c].terms) for c in self._ids], show_progress=False)
        return model

    def _digest(self) -> str:
        return (
            hashlib.sha256(self.log_path.read_bytes()).hexdigest() if self.log_path.exists() else ""
        )

    def _matrices_current(self) -> bool:
        """True when the saved matrices were built from the log as it is now."""
        try:
            stamp = json.loads((self.folder / MATRICES / "stamp.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return bool(stamp.get("log") == self._digest() and stamp.get("ids") == self._ids)

    def _load_matrices(self) -> bm25s.BM25 | None:
        folder = self.folder / MATRICES
        if not self._matrices_current():
            return None
        try:
            model: bm25s.BM25 = bm25s.BM25.load(str(folder), show_progress=False)
            return model
        except (OSError, ValueError, KeyError) as exc:
            log.info("keyword matrices not loaded; rebuilding", extra={"reason": str(exc)})
            return None

    def _save_matrices(self, model: bm25s.BM25) -> None:
        """Write into a fresh folder, then swap it in, so a reader never sees half a save."""
        fresh, old = self.folder / f"{MATRICES}.new", self.folder / f"{MATRICES}.old"
        shutil.rmtree(fresh, ignore_errors=True)
        model.save(str(fresh), show_progress=False)
        stamp = {"log": self._digest(), "ids": self._ids}
        (fresh / "stamp.json").write_text(json.dumps(stamp), encoding="utf-8")
        shutil.rmtree(old, ignore_errors=True)
        if (self.folder / MATRICES).exists():
            os.replace(self.folder / MATRICES, old)
        os.replace(fresh, self.folder / MATRICES)
        shutil.rmtree(old, ignore_errors=True)

    def _rewrite_log(self) -> None:
        """The same postings in as few lines as possible, swapped in atomically."""
        lines: list[dict[str, Any]] = [
            {"op": "source", "source": s, "digest": d} for s, d in self._digests.items()
        ]
        lines += [_add_line(p) for p in self._postings.values()]
        fresh = self.log_path.with_suffix(".new")
        with fresh.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        os.replace(fresh, self.log_path)
        self._load()


def postings_for(
    chunk_ids: Sequence[str],
    texts: Sequence[str],
    source: str,
    article_id: str,
    day: int | None,
    heading: str = "",
) -> list[Posting]:
    """Postings for one article's chunks; `heading` (the title) is indexed with each chunk."""
    head = terms(heading) if heading else []
    return [
        Posting(cid, source, article_id, day, tuple(head + terms(text)))
        for cid, text in zip(chunk_ids, texts, strict=True)
    ]


def _add_line(p: Posting) -> dict[str, Any]:
    return {
        "op": "add",
        "id": p.chunk_id,
        "source": p.source,
        "article": p.article_id,
        "day": p.day,
        "terms": list(p.terms),
    }


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns
