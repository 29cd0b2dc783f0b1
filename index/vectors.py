"""Sentence vectors of passages: what the model embeds for a chunk and where its sentences
sit in it (`index.write` stores the vectors pooled over them), and those vectors handed
back as arrays for the passages search found.
"""

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from index.embed import Embedder, Span, unpack_vectors
from index.passages import Hit
from index.sentences import sentence_spans


def embedded_text(title: str, chunk: str) -> str:
    """What the model embeds for a chunk: its article's title first, so a passage that never
    names its subject is still found by it (the stored text is the chunk alone)."""
    return f"{title}\n{chunk}" if title else chunk


def embedded_passage(title: str, chunk: str) -> tuple[str, list[Span]]:
    """What the model embeds for a chunk, and where the chunk's sentences (`sentence_spans`)
    sit in it: the spans `Embedder.encode_passages` pools a vector over."""
    text = embedded_text(title, chunk)
    shift = len(text) - len(chunk)
    return text, [(s.start + shift, s.end + shift) for s in sentence_spans(chunk)]


def passage_vectors(hits: Sequence[Hit], embedder: Embedder) -> dict[str, NDArray[np.float32]]:
    """Unit sentence vectors of each passage (zero rows where the pass read nothing), by
    chunk id: the ones stored with it (`Hit.sentences`) decoded, or read now by the same
    pass for passages stored without them (or with vectors of other sentences)."""
    rows: dict[str, NDArray[np.float32]] = {}
    unread: dict[str, Hit] = {}
    for hit in hits:
        if hit.chunk_id in rows or hit.chunk_id in unread:
            continue
        count = len(embedded_passage(hit.title, hit.text)[1])
        stored = unpack_vectors(hit.sentences, embedder.dimensions) if hit.sentences else None
        if stored is None or len(stored) != count:
            unread[hit.chunk_id] = hit
            continue
        norms = np.linalg.norm(stored, axis=1, keepdims=True)
        rows[hit.chunk_id] = np.divide(stored, norms, out=np.zeros_like(stored), where=norms > 0)
    if unread:
        passages = [embedded_passage(h.title, h.text) for h in unread.values()]
        _, pooled = embedder.encode_passages([t for t, _ in passages], [s for _, s in passages])
        rows.update(zip(unread, pooled, strict=True))
    return rows
