"""The embedding model exported for ONNX Runtime (`make setup`, which `make test` runs first):
it is what the service runs, it gives torch's vectors, a bad export is refused, and without
one the model runs in torch."""

import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import encoder
from index.chunk import sentence_spans
from index.embed import ENCODER_PATH, Embedder
from tests.conftest import ROOT

TEXTS = [
    "Who won?",
    "The Baltic Fleet is headquartered in Baltiysk. It lies between Poland and Lithuania.",
    "A passage longer than the model reads: " + "the harbour reopened on Tuesday. " * 80,
]


@pytest.fixture(scope="module")
def in_torch() -> Embedder:
    return Embedder(encoder=None)


def test_the_service_embeds_with_the_export_and_gets_torchs_vectors(
    embedder: Embedder, in_torch: Embedder
) -> None:
    assert encoder.usable(ENCODER_PATH)
    assert embedder.runtime == "onnx"
    assert in_torch.runtime == "torch"
    assert np.allclose(embedder.encode(TEXTS), in_torch.encode(TEXTS), atol=1e-5)
    spans = [[(s.start, s.end) for s in sentence_spans(t)] for t in TEXTS]
    vectors, sentences = embedder.encode_passages(TEXTS, spans)
    expected, expected_sentences = in_torch.encode_passages(TEXTS, spans)
    assert np.allclose(vectors, expected, atol=1e-5)
    for got, want in zip(sentences, expected_sentences, strict=True):
        assert got.shape == want.shape
        assert np.allclose(got, want, atol=1e-5)
    _, tokens = embedder.encode_with_tokens(TEXTS)
    _, expected_tokens = in_torch.encode_with_tokens(TEXTS)
    for got_tokens, want_tokens in zip(tokens, expected_tokens, strict=True):
        assert got_tokens.ids.tolist() == want_tokens.ids.tolist()
        assert np.allclose(got_tokens.vectors, want_tokens.vectors, atol=1e-3)


def test_an_export_unlike_torch_is_refused(embedder: Embedder) -> None:
    from transformers import AutoModel, AutoTokenizer

    source = encoder.model_path()
    model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    real = encoder.OnnxEncoder(ENCODER_PATH)
    assert encoder._check(real, model, tokenizer) < encoder.TOLERANCE

    class Off:
        def hidden(self, features: Any) -> Any:
            return real.hidden(features) + 0.01

    with pytest.raises(ValueError, match="differs from torch"):
        encoder._check(Off(), model, tokenizer)  # type: ignore[arg-type]


def test_a_failed_export_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("export stopped")

    monkeypatch.setattr(torch.onnx, "export", broken)
    with pytest.raises(RuntimeError, match="export stopped"):
        encoder.export(encoder.model_path(), tmp_path / "encoder")
    assert list(tmp_path.iterdir()) == []


def test_without_a_usable_export_the_model_runs_in_torch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert not encoder.usable(tmp_path)
    (tmp_path / encoder.ONNX_FILE).write_bytes(b"")
    (tmp_path / encoder.META_FILE).write_text(json.dumps({"format": encoder.FORMAT - 1}))
    assert not encoder.usable(tmp_path)
    with caplog.at_level(logging.WARNING, logger="index.embed"):
        fallback = Embedder(encoder=tmp_path)
    assert fallback.runtime == "torch"
    assert "no ONNX export" in caplog.text
    assert fallback.encode(["Who won?"]).shape == (1, fallback.dimensions)


def test_export_command_writes_an_export_the_embedder_uses(tmp_path: Path) -> None:
    out = tmp_path / "encoder"
    assert encoder.main(["--out", str(out)]) == 0
    meta = json.loads((out / encoder.META_FILE).read_text())
    assert meta["format"] == encoder.FORMAT
    assert meta["max_difference"] < encoder.TOLERANCE
    assert Embedder(encoder=out).runtime == "onnx"


@pytest.mark.parametrize("target", ["run", "test", "lint", "eval", "bench", "bench-scale"])
def test_every_entry_command_exports_the_model_on_a_fresh_clone(
    tmp_path: Path, target: str
) -> None:
    """`make test` alone on a fresh clone once skipped the export (only `setup` asked for it,
    and `make test` reached the venv another way): each entry point must ask for it."""
    for name in (
        "Makefile",
        "pyproject.toml",
        "clients/python/pyproject.toml",
        "index/encoder.py",
        # The reader is built from these (the Makefile's $(READER)).
        "service/reader/shipped.py",
        "service/reader/model.py",
        "service/reader/weights/reader.json",
        "service/reader/weights/reader.safetensors",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    plan = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", target],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "-m index.encoder --out models/encoder" in plan


def test_embedder_tokenizer_never_called_by_two_threads_at_once(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its padding and truncation are state of one shared tokenizer: a search beside a write
    once had a padded batch come back unpadded ("setting an array element with a
    sequence"). Each call is held open a moment here, so any overlap shows."""
    import threading
    import time

    from transformers.tokenization_utils_base import PreTrainedTokenizerBase

    real = PreTrainedTokenizerBase.__call__
    inside, overlaps = [0], []
    lock = threading.Lock()

    def probed(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            inside[0] += 1
            if inside[0] > 1:
                overlaps.append(inside[0])
        try:
            time.sleep(0.01)
            return real(self, *args, **kwargs)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(PreTrainedTokenizerBase, "__call__", probed)
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                texts = [f"{TEXTS[1]} ({n}, {i})", TEXTS[0]]
                if n % 2:
                    embedder.encode(texts)
                else:
                    embedder.encode_passages(texts, [[(0, 10)], [(0, 3)]])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures and not overlaps, (failures, len(overlaps))
