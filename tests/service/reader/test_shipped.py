"""The reader as the repository ships it: one small file of the layers training changed,
checked against its sha256, joined with the bundled base model into the folder the service
reads without training anything or reading outside the repository."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from service.reader.model import ReaderModel
from service.reader.shipped import (
    MANIFEST,
    SHIPPED,
    WEIGHTS,
    ShippedReaderError,
    base_model,
    built_from,
    load_into,
    manifest,
    pack,
    unpack,
)

READER = Path("models/reader")


def test_shipped_weights_are_small_and_match_their_checksum() -> None:
    assert (SHIPPED / WEIGHTS).stat().st_size <= 10 * 1024 * 1024
    meta = manifest()
    assert len(meta["sha256"]) == 64
    assert set(meta["calibration"]) == {"model", "rules"}
    # Never trained on the articles other measurements use, nor on the held-out ones.
    kept = {*meta["left_out_measured"], *meta["calibration_articles"], *meta["held_out"]}
    assert {"Super_Bowl_50", "Warsaw"} <= kept
    assert not set(meta["trained_on"]) & kept


def test_an_altered_weights_file_is_refused_naming_the_checksum(tmp_path: Path) -> None:
    copy = tmp_path / "weights"
    shutil.copytree(SHIPPED, copy)
    data = bytearray((copy / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (copy / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(ShippedReaderError, match="does not match its checksum"):
        manifest(copy)


def test_the_service_reads_the_reader_built_from_the_shipped_weights() -> None:
    assert built_from(READER) == manifest()["sha256"]


def test_packing_keeps_the_trained_layers_within_int8_rounding(tmp_path: Path) -> None:
    _, encoder = base_model()
    model = ReaderModel(encoder)
    torch.manual_seed(0)
    with torch.no_grad():
        model.encoder.encoder.layer[5].output.dense.weight.add_(torch.randn(384, 1536) * 0.01)
        model.head.scale.fill_(7.0)
    pack(model, [4, 5], tmp_path, {"note": "test"})
    assert json.loads((tmp_path / MANIFEST).read_text())["layers"] == [4, 5]
    trained, _head = unpack(tmp_path)
    assert all(name.startswith(("encoder.layer.4.", "encoder.layer.5.")) for name in trained)
    _, fresh = base_model()
    again = ReaderModel(fresh)
    load_into(again, tmp_path)
    want = model.encoder.encoder.layer[5].output.dense.weight
    got = again.encoder.encoder.layer[5].output.dense.weight
    step = want.abs().amax(dim=1, keepdim=True) / 127
    assert torch.all((got - want).abs() <= step / 2 + 1e-6)
    # The layers below were not shipped and stay the base model's.
    base = fresh.encoder.layer[0].attention.self.query.weight
    assert torch.equal(again.encoder.encoder.layer[0].attention.self.query.weight, base)
    assert float(again.head.scale.detach()) == 7.0
