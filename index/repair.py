"""Repairing an embedded Chroma store whose vector index a killed process left damaged.

Chroma's on-disk store (the embedded `PersistentClient`, and the same code inside
`chroma run`) keeps each collection twice: records, documents and metadata in SQLite, which
survives a `kill -9` intact, and the vectors in an HNSW index written to plain files. A
process killed while those files are being written can leave them out of step with
SQLite; from then on every operation on that collection fails with "Error in compaction:
Failed to apply logs to the hnsw segment writer" (chromadb 1.5.9, upstream issues #5366,
#5517), reads included, and Chroma itself has no way back.

Nothing is lost, though: the texts and metadata are in SQLite, and every vector we store is
derived from them. `heal` finds damaged collections (a count, a read of one vector and a
one-nearest query must all work), reads their records straight from SQLite (read-only),
drops the collection and writes the records back through the public API with their vectors
recomputed: chunks re-embedded, article records as the centroid of their chunks (as
`index.store` writes them), the generation marker as before. Our own writes are versioned
(`index.store`), so a write cut short by the kill is either committed or swept later.

This is for a store on local disk: run it with the server stopped when the store is a
`chroma run` server's (`python -m index repair --path <its --path>`).
"""

import logging
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from numpy.typing import NDArray

from index.chroma import embedded_folder, is_damage, persistent_client, reachable
from index.embed import Embedder
from index.errors import StoreUnavailable
from index.settings import Settings

log = logging.getLogger(__name__)
_SPACE: Any = {"hnsw": {"space": "cosine"}}
_BATCH = 500
_STAGING = ".repair"
_COMPLETE = "repair_complete"


@dataclass(frozen=True)
class Rows:
    """A collection's records as SQLite holds them."""

    ids: list[str]
    documents: list[str | None]
    metadatas: list[dict[str, Any]]


def heal_embedded(settings: Settings, embedder: Embedder) -> list[str]:
    """`heal` the store of these settings when it is the embedded one (a `chroma run`
    server's store is repaired with the server stopped)."""
    if settings.chroma_mode != "embedded":
        return []
    return heal(embedded_folder(settings), embedder)


def heal(path: Path, embedder: Embedder) -> list[str]:
    """Repair every damaged collection of the store at `path` (a `PersistentClient` folder);
    the names of those repaired, chunk collections first. Does nothing when all are sound.

    A repair is itself safe to kill: the records are written to a staging collection
    (`<name>.repair`), marked complete, and only then does it replace the damaged one. A
    run that finds a staging collection finishes its swap when it is complete, else drops
    it and starts again."""
    if not (path / "chroma.sqlite3").is_file():
        return []
    with reachable():  # anything but the damage it repairs is the store failing
        return _heal(path, embedder)


def _heal(path: Path, embedder: Embedder) -> list[str]:
    client = persistent_client(path)
    _finish_swaps(client)
    collections = [
        client.get_collection(c.name, embedding_function=None) for c in client.list_collections()
    ]
    sound = probe(path, [c.name for c in collections])
    damaged = [c for c in collections if not sound[c.name]]
    # Article records take their vectors from their chunks, so chunks are repaired first.
    damaged.sort(key=lambda c: (_role(c.name) == "articles", c.name))
    for collection in damaged:
        _rebuild(client, path, collection, embedder)
    return [c.name for c in damaged]


def _finish_swaps(client: ClientAPI) -> None:
    """Swap in a complete staging collection a killed repair left; drop an incomplete one."""
    names = {c.name for c in client.list_collections()}
    for staging in sorted(n for n in names if n.endswith(_STAGING)):
        target = staging.removesuffix(_STAGING)
        meta = client.get_collection(staging, embedding_function=None).metadata or {}
        if meta.get(_COMPLETE):
            if target in names:
                client.delete_collection(target)
            client.get_collection(staging, embedding_function=None).modify(name=target)
            log.info("repair finished", extra={"collection": target})
        else:
            client.delete_collection(staging)


def probe(path: Path, names: list[str]) -> dict[str, bool]:
    """Whether each collection is sound, asked in a child process: on some damage Chroma's
    vector index does not raise but crashes the process (a segmentation fault in `query`,
    seen after a kill), which must cost the child, not the repair. A collection the child
    died on is damaged; the ones after it are asked again in a fresh child."""
    sound: dict[str, bool] = {}
    while len(sound) < len(names):
        left = [n for n in names if n not in sound]
        code = "import sys; from index.repair import _probe_main; _probe_main(sys.argv[1:])"
        done = subprocess.run(
            [sys.executable, "-c", code, str(path), *left],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for line in done.stdout.splitlines():
            name, _, verdict = line.partition("\t")
            if name in left and verdict in ("sound", "damaged"):
                sound[name] = verdict == "sound"
        if done.returncode > 0:  # it failed (the store, not its vectors), it did not crash
            last = done.stderr.strip().splitlines()[-1:] or ["no message"]
            raise StoreUnavailable(f"the Chroma store failed: {last[0]}")
        if done.returncode < 0:
            crashed = next(n for n in left if n not in sound)
            log.warning(
                "damaged collection", extra={"collection": crashed, "signal": -done.returncode}
            )
            sound[crashed] = False
    return sound


def _probe_main(argv: list[str]) -> None:
    """The child's side of `probe`: one line per collection, `<name>\tsound|damaged`."""
    client = persistent_client(Path(argv[0]))
    for name in argv[1:]:
        collection = client.get_collection(name, embedding_function=None)
        print(f"{name}\t{'sound' if _sound(collection) else 'damaged'}", flush=True)


def _sound(collection: Collection) -> bool:
    """Whether the collection answers a count, a read of one vector and a query."""
    try:
        if collection.count() == 0:
            return True
        got = collection.get(limit=1, include=["embeddings"])
        vector = np.asarray(got["embeddings"], dtype=np.float32)[0]
        collection.query(query_embeddings=[vector], n_results=1, include=["distances"])
    except chromadb.errors.ChromaError as exc:
        if is_damage(exc):
            log.warning("damaged collection", extra={"collection": collection.name})
            return False
        raise
    return True


def _role(name: str) -> str:
    """What a collection of ours holds, by its name (see `index.store`)."""
    if name.endswith("-articles"):
        return "articles"
    if name.endswith("-meta"):
        return "meta"
    return "chunks"


def _rebuild(client: ClientAPI, path: Path, collection: Collection, embedder: Embedder) -> None:
    started = time.perf_counter()
    name = collection.name
    rows, segments, dimension = read_rows(path, str(collection.id))
    log.info("repairing", extra={"collection": name, "records": len(rows.ids)})
    vectors = _vectors(client, name, rows, dimension, embedder)
    staging = client.create_collection(
        name + _STAGING,
        configuration=None if _role(name) == "meta" else _SPACE,
        metadata={_COMPLETE: False},
        embedding_function=None,
    )
    for i in range(0, len(rows.ids), _BATCH):
        staging.add(
            ids=rows.ids[i : i + _BATCH],
            embeddings=vectors[i : i + _BATCH],
            documents=rows.documents[i : i + _BATCH],  # type: ignore[arg-type]
            metadatas=[m or None for m in rows.metadatas[i : i + _BATCH]],  # type: ignore[misc]
        )
    staging.modify(metadata={_COMPLETE: True})
    client.delete_collection(name)
    for segment in segments:  # Chroma leaves the damaged index files behind
        shutil.rmtree(path / segment, ignore_errors=True)
    staging.modify(name=name)
    log.info(
        "repaired",
        extra={
            "collection": name,
            "records": len(rows.ids),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )


def read_rows(path: Path, collection_id: str) -> tuple[Rows, list[str], int]:
    """A collection's records from the store's SQLite file (read-only), the ids of its
    vector segments (their folders), and its dimension."""
    db = sqlite3.connect(f"file:{path / 'chroma.sqlite3'}?mode=ro", uri=True)
    try:
        (dimension,) = db.execute(
            "SELECT coalesce(dimension, 0) FROM collections WHERE id = ?", (collection_id,)
        ).fetchone()
        segments = [
            str(row[0])
            for row in db.execute(
                "SELECT id FROM segments WHERE collection = ? AND scope = 'VECTOR'",
                (collection_id,),
            )
        ]
        records = db.execute(
            "SELECT e.id, e.embedding_id FROM embeddings e JOIN segments s"
            " ON e.segment_id = s.id WHERE s.collection = ? AND s.scope = 'METADATA'"
            " ORDER BY e.id",
            (collection_id,),
        ).fetchall()
        fields: dict[int, dict[str, Any]] = defaultdict(dict)
        for row_id, key, text, integer, number, flag in db.execute(
            "SELECT m.id, m.key, m.string_value, m.int_value, m.float_value, m.bool_value"
            " FROM embedding_metadata m JOIN embeddings e ON m.id = e.id"
            " JOIN segments s ON e.segment_id = s.id"
            " WHERE s.collection = ? AND s.scope = 'METADATA'",
            (collection_id,),
        ):
            fields[row_id][key] = (
                text
                if text is not None
                else integer
                if integer is not None
                else number
                if number is not None
                else bool(flag)
                if flag is not None
                else None
            )
    finally:
        db.close()
    ids, documents, metadatas = [], [], []
    for row_id, embedding_id in records:
        meta = fields.get(row_id, {})
        ids.append(str(embedding_id))
        documents.append(meta.get("chroma:document"))
        metadatas.append({k: v for k, v in meta.items() if not k.startswith("chroma:")})
    return Rows(ids, documents, metadatas), segments, int(dimension)


def _vectors(
    client: ClientAPI, name: str, rows: Rows, dimension: int, embedder: Embedder
) -> NDArray[np.float32]:
    """The vectors the records are written with, recomputed the way `index.store` made them."""
    role = _role(name)
    if role == "meta":
        return np.zeros((len(rows.ids), max(dimension, 1)), dtype=np.float32)
    texts = [d or "" for d in rows.documents]
    if role == "chunks":
        return _encode(texts, embedder, name)
    chunks = client.get_collection(name.removesuffix("-articles"), embedding_function=None)
    centroids = _centroids(chunks)
    vectors = np.zeros((len(rows.ids), embedder.dimensions), dtype=np.float32)
    missing = []
    for i, (article_id, meta) in enumerate(zip(rows.ids, rows.metadatas, strict=True)):
        centroid = centroids.get((article_id, str(meta.get("version", ""))))
        if centroid is None:
            missing.append(i)
        else:
            vectors[i] = centroid
    if missing:  # no chunks of its version: its own text stands in
        vectors[missing] = _encode([texts[i] for i in missing], embedder, name)
    return vectors


def _centroids(chunks: Collection) -> dict[tuple[str, str], NDArray[np.float32]]:
    """The normalised mean vector of each (article, version)'s chunks."""
    sums: dict[tuple[str, str], NDArray[np.float32]] = {}
    total = chunks.count()
    for offset in range(0, total, _BATCH):
        got = chunks.get(offset=offset, limit=_BATCH, include=["metadatas", "embeddings"])
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        for meta, vector in zip(got["metadatas"] or [], vectors, strict=True):
            key = (str(meta["article_id"]), str(meta.get("version", "")))
            sums[key] = sums.get(key, 0) + np.asarray(vector, dtype=np.float32)
    return {k: (v / (np.linalg.norm(v) or 1.0)).astype(np.float32) for k, v in sums.items()}


def _encode(texts: list[str], embedder: Embedder, name: str) -> NDArray[np.float32]:
    parts = []
    for i in range(0, len(texts), 2000):
        parts.append(embedder.encode(texts[i : i + 2000]))
        done = min(i + 2000, len(texts))
        log.info("re-embedding", extra={"collection": name, "done": done, "of": len(texts)})
    if not parts:
        return np.zeros((0, embedder.dimensions), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32)
