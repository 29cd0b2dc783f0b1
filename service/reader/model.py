"""The reader: a small model that reads a question beside one candidate sentence (with the
sentences around it) and says how likely that sentence answers it, and which of its words are
the answer.

It is all-MiniLM-L6-v2 (the embedding model the index already uses) fine-tuned as a
cross-encoder by `make train-reader` (`service.reader.train`) on SQuAD v1.1 and SQuAD 2.0
articles no measured question comes from, the unanswerable questions of SQuAD 2.0 included,
with a small head (`Head`): the answer logit is the similarity of the question's and the
sentence's mean word-piece vectors inside the joint pass, scaled, plus a correction from the
first token's row; every token's row gives a start and an end logit for the short answer. One
pass of the model gives both. The answerer uses the probability; the short answer is measured
but not shown. The weights ship in the repository (`service.reader.shipped`); `make setup`
builds from them the folder this reads (`RAG_READER_PATH`), with the encoder exported for
ONNX Runtime, which reads with it (the head stays in torch; torch reads when there is no
export).
"""

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from index.embed import SerialTokenizer
from index.encoder import OnnxEncoder, usable

# The model reads at most this many word pieces of a pair; a question and a sentence with its
# neighbours rarely need more (the sentence comes first, so only the neighbours are cut).
MAX_LENGTH = 160
# A short answer longer than this many word pieces is not a short answer.
MAX_SPAN_PIECES = 24
WEIGHTS_FILE = "head.pt"
META_FILE = "reader.json"
# The encoder's ONNX export, inside the reader's folder (written by `make train-reader`).
ONNX_FOLDER = "onnx"
# Bumped whenever the input format or the head changes: older weights are then refused.
FORMAT = 3


class ReaderMissing(RuntimeError):
    """The reader has not been built on this machine."""


class Head(nn.Module):
    """The learned layer on the encoder: the answer logit starts as the similarity of the
    question's and the sentence's mean word-piece vectors in the joint pass (which ranks a
    paragraph's sentences nearly as well as the embedding model does, before any training),
    plus a correction from the first token's row; start and end logits from every row."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden, 3)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.scale = nn.Parameter(torch.tensor(10.0))
        self.centre = nn.Parameter(torch.tensor(0.5))

    def logits(
        self, hidden: torch.Tensor, question: torch.Tensor, inside: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Answer logits (batch), start and end logits (batch × pieces), from the encoder's
        last layer and the masks of the question's and of the candidate sentence's pieces."""
        out = self.linear(hidden)
        similarity = nn.functional.cosine_similarity(
            _mean(hidden, question), _mean(hidden, inside), dim=-1
        )
        answer = self.scale * (similarity - self.centre) + out[:, 0, 0]
        return answer, out[:, :, 1], out[:, :, 2]


class ReaderModel(nn.Module):
    """The encoder with its head."""

    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = Head(int(encoder.config.hidden_size))

    def forward(
        self, question: torch.Tensor, inside: torch.Tensor, **features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Answer logits (batch), start and end logits (batch × pieces), from the pairs'
        word pieces and the masks of the question's and of the candidate sentence's."""
        return self.head.logits(self.encoder(**features).last_hidden_state, question, inside)


def _mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def pair_text(sentence: str, before: str = "", after: str = "") -> str:
    """The second half of a pair: the candidate first, then its neighbours for context."""
    around = " … ".join(p for p in (before, after) if p)
    return f"{sentence} [SEP] {around}" if around else sentence


def encode_pairs(tokenizer: Any, questions: Sequence[str], texts: Sequence[str]) -> Any:
    """Word pieces of (question, text) pairs, padded, with their character offsets."""
    return tokenizer(
        list(questions),
        list(texts),
        truncation="only_second",
        max_length=MAX_LENGTH,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )


def sentence_mask(features: Any, lengths: Sequence[int]) -> torch.Tensor:
    """Which word pieces are inside each pair's candidate sentence (its first `length`
    characters of the second text): the only places a short answer may start or end."""
    sequence = torch.tensor(
        [
            [s if s is not None else -1 for s in features.sequence_ids(i)]
            for i in range(len(lengths))
        ]
    )
    ends: torch.Tensor = features["offset_mapping"][:, :, 1]
    limit = torch.tensor(lengths).unsqueeze(1)
    inside: torch.Tensor = (sequence == 1) & (ends <= limit) & (ends > 0)
    return inside


def question_mask(features: Any, count: int) -> torch.Tensor:
    """Which word pieces are the question's (special tokens aside)."""
    return torch.tensor(
        [[s == 0 for s in features.sequence_ids(i)] for i in range(count)], dtype=torch.bool
    )


@dataclass(frozen=True)
class Reading:
    """What the reader made of one candidate: the chance it answers, and (when asked for) the
    short answer's characters inside the sentence (start, end)."""

    probability: float
    short: tuple[int, int] | None = None
    # How sure the reader is of the short answer: the product of its start's and its end's
    # probability among the sentence's word pieces.
    confidence: float = 0.0


class Reader:
    """The trained reader, loaded once and shared by every request."""

    def __init__(
        self, path: Path, batch_size: int = 16, threads: int = 0, onnx: bool = True
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        meta = json.loads((path / META_FILE).read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(
                f"the reader at {path} was trained for another input format "
                f"({meta.get('format')}, this code reads {FORMAT}): run `make setup`"
            )
        self.batch_size = batch_size
        # Answers may run in several threads at once (RAG_MAX_ANSWERING over 1).
        self.tokenizer = SerialTokenizer(
            AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        )
        self.head = Head(int(json.loads((path / "config.json").read_text())["hidden_size"]))
        self.head.load_state_dict(torch.load(path / WEIGHTS_FILE, weights_only=True))
        self.head.eval()
        # The encoder exported to ONNX at training (`index.encoder`): the same logits, faster;
        # the torch weights only when there is no export.
        self.runtime = "onnx" if onnx and usable(path / ONNX_FOLDER) else "torch"
        self._onnx = OnnxEncoder(path / ONNX_FOLDER, threads) if self.runtime == "onnx" else None
        self._encoder = (
            None
            if self._onnx
            else AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        )
        self._lock = threading.Lock()

    def read(
        self, question: str, candidates: Sequence[tuple[str, str, str]], spans: bool = False
    ) -> list[Reading]:
        """One reading per (sentence, before, after); with `spans`, each with its short answer
        (which the answerer does not use yet, so it is not worked out for every question)."""
        readings: list[Reading] = []
        for at in range(0, len(candidates), self.batch_size):
            batch = candidates[at : at + self.batch_size]
            texts = [pair_text(s, b, a) for s, b, a in batch]
            features = encode_pairs(self.tokenizer, [question] * len(batch), texts)
            inside = sentence_mask(features, [len(s) for s, _, _ in batch])
            offsets = features.pop("offset_mapping")
            question_pieces = question_mask(features, len(batch))
            with torch.inference_mode():
                answer, start, end = self.head.logits(
                    self._hidden(features), question_pieces, inside
                )
            for i in range(len(batch)):
                probability = float(torch.sigmoid(answer[i]))
                found = best_span(start[i], end[i], inside[i]) if spans else None
                chars, confidence = None, 0.0
                if found is not None:
                    (first, last), confidence = found
                    chars = (int(offsets[i, first, 0]), int(offsets[i, last, 1]))
                readings.append(Reading(probability, chars, confidence))
        return readings

    def _hidden(self, features: Any) -> torch.Tensor:
        if self._onnx is not None:
            return torch.from_numpy(self._onnx.hidden({k: v.numpy() for k, v in features.items()}))
        assert self._encoder is not None
        with self._lock:
            hidden: torch.Tensor = self._encoder(**features).last_hidden_state
        return hidden


def best_span(
    start: torch.Tensor, end: torch.Tensor, inside: torch.Tensor
) -> tuple[tuple[int, int], float] | None:
    """The word pieces (first, last) of the likeliest short answer inside the sentence, and
    its confidence."""
    allowed = inside.numpy()
    if not allowed.any():
        return None
    s = _log_softmax(np.where(allowed, start.numpy().astype(np.float64), -np.inf))
    e = _log_softmax(np.where(allowed, end.numpy().astype(np.float64), -np.inf))
    scores = s[:, None] + e[None, :]
    n = len(s)
    rows, cols = np.indices((n, n))
    scores[(cols < rows) | (cols - rows >= MAX_SPAN_PIECES)] = -np.inf
    first, last = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return (int(first), int(last)), float(np.exp(scores[first, last]))


def _log_softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    top = float(np.max(logits))
    shifted: NDArray[np.float64] = logits - top
    return shifted - float(np.log(np.sum(np.exp(shifted))))
