"""The answer's confidence: the chance that it is right, 0 to 1.

It is the support of the answer's best sentence (the geometric mean of the rules' support and
the reader's probability; the rules' alone for `RAG_READER=rules` and follow-ups) mapped by
Platt scaling (a logistic curve over the support's logit), fitted on SQuAD 2.0 articles the
reader never trained on by `python -m service.measure.squad2 --calibrate --write`. Each way of
deciding has its own fit, kept in the shipped reader's manifest
(`service/reader/weights/reader.json`, key `calibration`). A request's `min_confidence` (by
default `RAG_MIN_CONFIDENCE`) is the least confidence the service answers with; below it the
answer is "The articles don't say.".
"""

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["model", "rules"]
MANIFEST = Path(__file__).parent.parent / "reader" / "weights" / "reader.json"
_EDGE = 1e-6
_RIDGE = 1e-3


@dataclass(frozen=True)
class Calibration:
    """confidence = 1 / (1 + exp(-(slope × logit(support) + intercept)))."""

    slope: float = 1.0
    intercept: float = 0.0

    def confidence(self, support: float) -> float:
        if support <= 0.0:
            return 0.0
        s = min(max(support, _EDGE), 1.0 - _EDGE)
        z = self.slope * math.log(s / (1.0 - s)) + self.intercept
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def support(self, confidence: float) -> float:
        """The support at which the confidence is `confidence` (the curve run backwards)."""
        if confidence <= 0.0:
            return 0.0
        c = min(max(confidence, _EDGE), 1.0 - _EDGE)
        z = (math.log(c / (1.0 - c)) - self.intercept) / self.slope
        return 1.0 / (1.0 + math.exp(-z))

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 6) for k, v in asdict(self).items()}

    @classmethod
    def shipped(cls, kind: Kind, manifest: Path = MANIFEST) -> "Calibration":
        """The fit kept in the manifest for `kind`; the identity when there is none."""
        try:
            fits = json.loads(manifest.read_text()).get("calibration", {})
        except (OSError, ValueError):
            return cls()
        return cls(**fits[kind]) if kind in fits else cls()

    def write(self, kind: Kind, manifest: Path = MANIFEST) -> None:
        """Keep this fit in the manifest for `kind` (the weights' checksum is not touched)."""
        meta = json.loads(manifest.read_text())
        meta.setdefault("calibration", {})[kind] = self.as_dict()
        manifest.write_text(json.dumps(meta, indent=1) + "\n")


def shipped_calibrations(manifest: Path = MANIFEST) -> dict[Kind, Calibration]:
    """Both fits kept in the manifest: with the reader, and the rules alone."""
    return {kind: Calibration.shipped(kind, manifest) for kind in ("model", "rules")}


def fit(supports: Sequence[float], right: Sequence[bool], steps: int = 50) -> Calibration:
    """Platt scaling by Newton's method: the logistic curve over the supports' logits that
    gives the rows' rightness the highest likelihood (answers of support 0 are left out: no
    sentence was found, and their confidence is 0 whatever the fit)."""
    rows = [(s, r) for s, r in zip(supports, right, strict=True) if s > 0.0]
    xs = [
        math.log(min(max(s, _EDGE), 1 - _EDGE) / (1 - min(max(s, _EDGE), 1 - _EDGE)))
        for s, _ in rows
    ]
    ys = [1.0 if r else 0.0 for _, r in rows]
    a, b = 1.0, 0.0
    for _ in range(steps):
        g_a = g_b = h_aa = h_ab = h_bb = 0.0
        for x, y in zip(xs, ys, strict=True):
            p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, a * x + b))))
            g_a += (p - y) * x
            g_b += p - y
            w = p * (1 - p) + 1e-9
            h_aa += w * x * x
            h_ab += w * x
            h_bb += w
        # A small ridge keeps the steps finite; no step moves a number by more than 1.
        h_aa, h_bb = h_aa + _RIDGE, h_bb + _RIDGE
        det = h_aa * h_bb - h_ab * h_ab
        da = (h_bb * g_a - h_ab * g_b) / det
        db = (h_aa * g_b - h_ab * g_a) / det
        scale = max(1.0, abs(da), abs(db))
        da, db = da / scale, db / scale
        a, b = a - da, b - db
        if abs(da) + abs(db) < 1e-9:
            break
    return Calibration(a, b)
