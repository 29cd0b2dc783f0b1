"""`python -m service.measure.squad2`: refusals and answers on SQuAD 2.0 articles the reader
never trained on, through the service's own retrieval and answerer.

The corpus is every SQuAD v1.1 dev paragraph (2,067, `../shared/bench/squad-v1.1`), indexed
once into `--index` (kept between runs; `index.build.sync` skips what is unchanged). Each
question of the chosen articles (`--articles calibration` or `test`, named in
`service.reader.train`) is searched and answered by the configured extractive answerer with no
refusal threshold, and its best answer's support and calibrated confidence are kept, so one
run gives every threshold's figures:

- an answerable question is *answered right* when an answer it would give cites a sentence of
  its gold paragraph holding a gold span;
- an unanswerable one is *refused* when the confidence is below the threshold.

`--calibrate` fits the confidence (Platt scaling of the support's logit) on the rows and
writes it into the shipped reader's manifest (or `--rules`: the rules' own); the report gives
expected calibration error, the risk–coverage curve and the refusals at 72% answered right.
"""

import argparse
import json
import math
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from index.build import sync
from index.embed import Embedder
from newsrag_client import NewsRAG
from service.answering.confidence import Calibration, fit
from service.api.app import create_app
from service.measure.datasets import load
from service.measure.public_sets import _doc_mapper, write_seeds
from service.measure.scores import normalise
from service.reader.data import ANSWERED_RIGHT, CALIBRATION, TEST, V1, V2
from service.settings import Settings

BINS = 10


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.rows is not None and args.rows.exists() and not args.ask:
        rows = [json.loads(line) for line in args.rows.open()]
    else:
        rows = ask(args)
        if args.rows is not None:
            args.rows.parent.mkdir(parents=True, exist_ok=True)
            args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report: dict[str, Any] = {"articles": args.articles, "reader": args.reader}
    if args.calibrate:
        calibration = fit([r["support"] for r in rows], [r["right"] for r in rows])
        report["calibration"] = calibration.as_dict()
        if args.write:
            calibration.write(args.reader)
    else:
        calibration = Calibration.shipped(args.reader)
    for r in rows:
        r["confidence"] = calibration.confidence(r["support"])
    report.update(figures(rows, args.threshold))
    if args.svg is not None:
        title = f"SQuAD 2.0 {args.articles} articles, through the service ({len(rows)} questions)"
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(svg(rows, args.threshold, title))
    print(json.dumps(report))
    return 0


def ask(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Index the corpus (unless it already is) and answer every question of the articles."""
    bench = load(args.bench / V1)
    assert bench.docs is not None
    work: Path = args.index
    settings = Settings(
        data_dir=work / "data",
        seeds_dir=work / "seeds",
        collection="squad",
        log_level="WARNING",
        chroma_mode="embedded",
        answer_backend="extractive",
        reader=args.reader,
        reader_path=args.reader_path,
    )
    files = write_seeds(bench.docs, settings.seeds_dir)
    doc_of = _doc_mapper(files)
    embedder = Embedder(settings.device, settings.embed_batch, settings.encoder_path)
    app = create_app(settings, embedder)
    titles = CALIBRATION if args.articles == "calibration" else TEST
    questions = [
        q
        for line in (args.bench / V2 / "questions.jsonl").open()
        if (q := json.loads(line))["title"] in titles
    ][: args.limit or None]
    rows = []
    with NewsRAG.in_process(app):
        components = app.state.components
        started = time.perf_counter()
        sync(settings, components.store(), embedder)
        print(json.dumps({"indexed_seconds": round(time.perf_counter() - started, 1)}))
        answerer = components.extractive(components.retriever(), min_confidence=0.0)
        for n, q in enumerate(questions, start=1):
            hits = answerer.retriever.search(q["question"], settings.top_k)
            answer = answerer.quote(q["question"], q["question"], hits)
            rows.append(_row(q, answer, doc_of))
            if n % 50 == 0:
                print(json.dumps({"asked": n, "of": len(questions)}), file=sys.stderr)
    return rows


def _row(q: dict[str, Any], answer: Any, doc_of: Any) -> dict[str, Any]:
    gold = q["gold_doc_ids"][0]
    spans = [normalise(a) for a in q["answers"] if normalise(a)]
    cited = [c for c in answer.citations if doc_of(c.article_id) == gold]
    right = bool(q["answerable"]) and any(s in normalise(c.quote) for c in cited for s in spans)
    return {
        "qid": q["qid"],
        "title": q["title"],
        "answerable": q["answerable"],
        "support": max((c.score for c in answer.citations), default=0.0),
        "right": right,
        "gold_paragraph_cited": bool(cited),
    }


def figures(rows: Sequence[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Refusals at the given confidence threshold and at `ANSWERED_RIGHT` answered right;
    expected calibration error; the risk–coverage curve."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]

    def at(t: float) -> dict[str, float]:
        return {
            "threshold": round(t, 4),
            "answered_right": _share(r["right"] and r["confidence"] >= t for r in answerable),
            "refused": _share(r["confidence"] < t for r in unanswerable),
            "answered": _share(r["confidence"] >= t for r in rows),
        }

    ranked = sorted((r["confidence"] for r in answerable if r["right"]), reverse=True)
    needed = math.ceil(ANSWERED_RIGHT * len(answerable))
    reach = at(ranked[needed - 1]) if 0 < needed <= len(ranked) else None
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "at_threshold": at(threshold),
        f"at_{round(100 * ANSWERED_RIGHT)}_answered_right": reach,
        "best_possible_answered_right": _share(r["right"] for r in answerable),
        "ece": round(ece(rows), 4),
        "risk_coverage": curve(rows),
    }


def ece(rows: Sequence[dict[str, Any]]) -> float:
    """Expected calibration error: in `BINS` equal-width bins of confidence, the gap between
    the mean confidence and the share right, weighted by the bin's share of answers."""
    total = 0.0
    for b in range(BINS):
        inside = [
            r
            for r in rows
            if b / BINS <= r["confidence"] < (b + 1) / BINS
            or (b == BINS - 1 and r["confidence"] == 1.0)
        ]
        if inside:
            gap = abs(sum(r["confidence"] for r in inside) - sum(r["right"] for r in inside))
            total += gap / len(rows)
    return total


def curve(rows: Sequence[dict[str, Any]], points: int = 20) -> list[dict[str, float]]:
    """Coverage (share answered) against accuracy (share of the answered that are right), the
    most confident first, at `points` coverages."""
    ranked = sorted(rows, key=lambda r: -r["confidence"])
    out = []
    for k in range(1, points + 1):
        n = max(1, round(k * len(ranked) / points))
        top = ranked[:n]
        out.append(
            {
                "coverage": round(n / len(ranked), 4),
                "accuracy": round(sum(r["right"] for r in top) / n, 4),
                "threshold": round(top[-1]["confidence"], 4),
            }
        )
    return out


def svg(rows: Sequence[dict[str, Any]], threshold: float, title: str) -> str:
    """The risk–coverage curve as a picture: share answered (x) against share of the answers
    that are right (y), the most confident first, with the default threshold marked."""
    ranked = sorted(rows, key=lambda r: -r["confidence"])
    width, height, pad = 480, 320, 48
    right = 0
    points = []
    for n, r in enumerate(ranked, start=1):
        right += r["right"]
        points.append((n / len(ranked), right / n))

    def xy(coverage: float, accuracy: float) -> str:
        x = pad + coverage * (width - 2 * pad)
        y = height - pad - accuracy * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(c, a) for c, a in points[:: max(1, len(points) // 400)])
    kept = [r for r in ranked if r["confidence"] >= threshold]
    mark = (len(kept) / len(ranked), sum(r["right"] for r in kept) / max(1, len(kept)))
    ticks = "".join(
        f'<text x="{pad + t * (width - 2 * pad):.0f}" y="{height - pad + 16}" '
        f'text-anchor="middle">{t:.0%}</text>'
        f'<text x="{pad - 6}" y="{height - pad - t * (height - 2 * pad) + 4:.0f}" '
        f'text-anchor="end">{t:.0%}</text>'
        for t in (0.0, 0.25, 0.5, 0.75, 1.0)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">'
        f'<rect width="{width}" height="{height}" fill="white"/>'
        f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="13">{title}</text>'
        f'<polyline fill="none" stroke="#999" points="{xy(0, 0)} {xy(1, 0)} {xy(1, 1)}"/>'
        f'<polyline fill="none" stroke="#999" points="{xy(0, 1)} {xy(0, 0)}"/>{ticks}'
        f'<text x="{width / 2:.0f}" y="{height - 10}" text-anchor="middle">'
        "share of questions answered (coverage)</text>"
        f'<text transform="translate(14,{height / 2:.0f}) rotate(-90)" text-anchor="middle">'
        "share of answers right</text>"
        f'<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{line}"/>'
        f'<circle cx="{xy(*mark).split(",")[0]}" cy="{xy(*mark).split(",")[1]}" r="5" '
        f'fill="#c0392b"/><text x="{xy(*mark).split(",")[0]}" '
        f'y="{float(xy(*mark).split(",")[1]) - 9:.1f}" text-anchor="middle" fill="#c0392b">'
        f"default min_confidence {threshold:g}: {mark[0]:.0%} answered, {mark[1]:.0%} right"
        "</text></svg>\n"
    )


def _share(flags: Iterable[bool]) -> float:
    values = [bool(f) for f in flags]
    return round(sum(values) / max(1, len(values)), 4)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service.measure.squad2")
    parser.add_argument("--bench", type=Path, default=Path("../shared/bench"))
    parser.add_argument("--articles", choices=("calibration", "test"), default="test")
    parser.add_argument("--index", type=Path, default=Path("bench/index/squad"))
    parser.add_argument("--reader", choices=("model", "rules"), default="model")
    parser.add_argument("--reader-path", type=Path, default=Path("models/reader"))
    parser.add_argument("--rows", type=Path, help="keep the answers here (read again unless --ask)")
    parser.add_argument("--ask", action="store_true", help="ask again even if --rows exists")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--svg", type=Path, help="draw the risk–coverage curve here")
    parser.add_argument("--threshold", type=float, default=0.5, help="confidence to refuse below")
    parser.add_argument("--calibrate", action="store_true", help="fit the confidence on these rows")
    parser.add_argument("--write", action="store_true", help="with --calibrate: ship the fit")
    return parser


if __name__ == "__main__":
    sys.exit(main())
