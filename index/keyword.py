"""The keyword index: BM25 over the stemmed terms of every chunk, held in memory and changed in
place as articles come and go.

It scores as bm25s's default ("lucene" variant, k1 = 1.5, b = 0.75) did when it was built
from scratch: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), and each query term (repeats
counted) adds idf x tf / (tf + k1 x (1 - b + b x length / average length)). N, df and the
average length are those of the chunks held now, so an index that was added to and removed
from scores exactly as one built from scratch over the same chunks.

Nothing is written to disk: each process builds its index from the chunks in Chroma and
follows other processes' writes (`index.catalog`), so every worker and replica scores over
the same chunks.
"""

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from index.terms import terms

K1 = 1.5
B = 0.75
_UNDATED = -1  # below any window, as in Chroma, where the field is missing


@dataclass(frozen=True)
class KeywordHit:
    """A chunk id and its BM25 score."""

    chunk_id: str
    score: float


class _Postings:
    """The chunks (slots) holding one term and how often, in arrays that grow by doubling."""

    __slots__ = ("freqs", "size", "slots")

    def __init__(self) -> None:
        self.slots = np.empty(4, dtype=np.int32)
        self.freqs = np.empty(4, dtype=np.float32)
        self.size = 0

    def extend(self, slots: NDArray[np.int32], freqs: NDArray[np.float32]) -> None:
        need = self.size + len(slots)
        if need > len(self.slots):
            capacity = max(need, 2 * len(self.slots))
            self.slots = np.resize(self.slots, capacity)
            self.freqs = np.resize(self.freqs, capacity)
        self.slots[self.size : need] = slots
        self.freqs[self.size : need] = freqs
        self.size = need


class KeywordIndex:
    """BM25 over chunk terms; thread-safe (the service searches from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._vocab: dict[str, int] = {}
        self._postings: list[_Postings] = []
        self._df: list[int] = []
        self._ids: list[str] = []  # slot -> chunk id ("" once removed)
        self._slot: dict[str, int] = {}
        self._article: list[str] = []
        self._terms: list[NDArray[np.int32]] = []  # slot -> term ids in order
        self._length = np.zeros(0, dtype=np.float32)
        self._days = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._by_article: dict[str, list[int]] = {}
        self._total_length = 0.0
        self._fingerprints: dict[str, frozenset[int]] = {}

    # -- writing ---------------------------------------------------------------------------

    def add_many(self, chunks: Iterable[tuple[str, str, int | None, Sequence[str]]]) -> None:
        """Add (chunk id, article id, publication day, terms) rows; a chunk id already held
        is replaced."""
        with self._lock:
            rows = list(chunks)
            for chunk_id, *_ in rows:
                self._remove_slot(self._slot.get(chunk_id))
            first = len(self._ids)
            self._grow(first + len(rows))
            by_term: dict[int, tuple[list[int], list[float]]] = {}
            for offset, (chunk_id, article_id, day, words) in enumerate(rows):
                slot = first + offset
                ids = np.fromiter((self._term_id(w) for w in words), np.int32, len(words))
                self._ids.append(chunk_id)
                self._slot[chunk_id] = slot
                self._article.append(article_id)
                self._terms.append(ids)
                self._by_article.setdefault(article_id, []).append(slot)
                self._fingerprints.pop(article_id, None)
                self._length[slot] = len(words)
                self._days[slot] = _UNDATED if day is None else day
                self._alive[slot] = True
                self._total_length += len(words)
                for term, count in Counter(ids.tolist()).items():
                    slots, freqs = by_term.setdefault(term, ([], []))
                    slots.append(slot)
                    freqs.append(count)
            for term, (slots, freqs) in by_term.items():
                self._postings[term].extend(np.array(slots, np.int32), np.array(freqs, np.float32))
                self._df[term] += len(slots)

    def remove_article(self, article_id: str) -> None:
        """Forget every chunk of an article."""
        with self._lock:
            for slot in self._by_article.pop(article_id, []):
                self._remove_slot(slot)
            self._fingerprints.pop(article_id, None)
            if len(self._ids) > 1000 and len(self._slot) < len(self._ids) // 2:
                self._compact()

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._slot)

    def chunk_ids(self) -> set[str]:
        """Every chunk the index holds."""
        with self._lock:
            return set(self._slot)

    def search(self, query: str, k: int, days: tuple[int, int] | None = None) -> list[KeywordHit]:
        """The k chunks with the best BM25 score for the query's terms, best first; with
        `days`, only chunks published between those yyyymmdd days (inclusive)."""
        with self._lock:
            scores = self._scores(terms(query))
            if scores is None or k <= 0:
                return []
            if days is not None:
                inside = (self._days >= days[0]) & (self._days <= days[1])
                scores = np.where(inside[: len(scores)], scores, 0.0)
            top = np.argsort(-scores, kind="stable")[:k]
            return [KeywordHit(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def scores_for(self, query: str, chunk_ids: Iterable[str]) -> dict[str, float]:
        """BM25 scores of the given chunks for the query (0 for unknown chunks)."""
        with self._lock:
            scores = self._scores(terms(query))
            return {
                c: float(scores[self._slot[c]]) if scores is not None and c in self._slot else 0.0
                for c in chunk_ids
            }

    def fingerprint(self, article_id: str) -> frozenset[int]:
        """Hashes of every run of three terms in the article: near-copies share most."""
        with self._lock:
            if article_id not in self._fingerprints:
                slots = sorted(
                    self._by_article.get(article_id, []),
                    key=lambda s: int(self._ids[s].rsplit(":", 1)[-1]),
                )
                words = [t for s in slots for t in self._terms[s].tolist()]
                self._fingerprints[article_id] = frozenset(
                    hash(tuple(words[i : i + 3])) for i in range(len(words) - 2)
                )
            return self._fingerprints[article_id]

    # -- internals -------------------------------------------------------------------------

    def _scores(self, words: list[str]) -> NDArray[np.float32] | None:
        wanted = [self._vocab[w] for w in words if w in self._vocab]
        count = len(self._slot)
        if not words or not count:
            return None
        scores = np.zeros(len(self._ids), dtype=np.float32)
        average = self._total_length / count
        for term in wanted:
            postings, df = self._postings[term], self._df[term]
            if not df:
                continue
            slots, freqs = postings.slots[: postings.size], postings.freqs[: postings.size]
            live = self._alive[slots]
            slots, freqs = slots[live], freqs[live]
            idf = math.log(1 + (count - df + 0.5) / (df + 0.5))
            norm = K1 * ((1 - B) + B * self._length[slots] / average)
            scores[slots] += idf * freqs / (norm + freqs)
        return scores

    def _term_id(self, word: str) -> int:
        found = self._vocab.get(word)
        if found is None:
            found = self._vocab[word] = len(self._postings)
            self._postings.append(_Postings())
            self._df.append(0)
        return found

    def _grow(self, size: int) -> None:
        if size > len(self._length):
            capacity = max(size, 2 * len(self._length), 64)
            self._length = np.resize(self._length, capacity)
            self._days = np.resize(self._days, capacity)
            alive = np.zeros(capacity, dtype=bool)
            alive[: len(self._alive)] = self._alive
            self._alive = alive

    def _remove_slot(self, slot: int | None) -> None:
        if slot is None or not self._alive[slot]:
            return
        self._alive[slot] = False
        self._total_length -= float(self._length[slot])
        for term in set(self._terms[slot].tolist()):
            self._df[term] -= 1
        chunk_id, article_id = self._ids[slot], self._article[slot]
        del self._slot[chunk_id]
        self._ids[slot] = ""
        slots = self._by_article.get(article_id, [])
        if slot in slots:
            slots.remove(slot)
        self._fingerprints.pop(article_id, None)

    def _compact(self) -> None:
        """Rebuild without the removed chunks, once they are half of the slots."""
        names = {i: w for w, i in self._vocab.items()}
        rows = [
            (
                self._ids[s],
                self._article[s],
                _day(int(self._days[s])),
                [names[t] for t in self._terms[s].tolist()],
            )
            for s in range(len(self._ids))
            if self._alive[s]
        ]
        self._reset()
        self.add_many(rows)


def _day(value: int) -> int | None:
    return None if value == _UNDATED else value


def chunk_terms(title: str, text: str) -> list[str]:
    """What the keyword index holds for a chunk: its article's title and its own terms."""
    return terms(title) + terms(text) if title else terms(text)
