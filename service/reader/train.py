"""`python -m service.reader.train`: train the reader (`service.reader.model`) and write the
weights the repository ships (`service/reader/weights/`, `service.reader.shipped`).

Data, read in place from `../shared/bench` (CC BY-SA 4.0): SQuAD v1.1 dev and the half of
SQuAD 2.0 dev whose unanswerable questions were written to look answerable from their
paragraph. Whole articles are kept out: the two the first 1,000 SQuAD v1.1 questions come
from (Super Bowl 50 and Warsaw, on which answers are measured elsewhere), `CALIBRATION`
(the reader's confidence is calibrated and its threshold chosen on them) and `TEST` (the
figures reported as held out); the rest train.

Each answerable training question gives three pairs, the candidate sentence read with its
neighbours as the service reads it: the sentence holding the first gold answer span (answers,
with the span as the short answer), the sentence of the same paragraph sharing the most words
with the question (does not answer: the passage nearly answers), and such a sentence from
another paragraph of the same article (does not answer: on topic, wrong passage). Each
unanswerable one gives two: the sentence holding its plausible answer (the span a careless
reader gives: the hard negative) and the sentence of its paragraph sharing most words with it;
neither answers. The seed question sets and RealTime QA are never read: they measure.

Fixed seed; prints progress as JSON lines and, at the end, figures of the shipped (int8)
weights on the calibration articles with the gold paragraph given.
"""

import argparse
import json
import logging
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from index.logs import configure
from service.reader.data import (
    CALIBRATION,
    MEASURED,
    SEED,
    TEST,
    V2,
    Pair,
    load,
    pairs_of,
    refusal_pairs_of,
    split,
)
from service.reader.figures import measure, refusals
from service.reader.model import (
    Reader,
    ReaderModel,
    encode_pairs,
    pair_text,
    question_mask,
    sentence_mask,
)
from service.reader.shipped import MANIFEST, SHIPPED, base_model, build, pack

log = logging.getLogger("train_reader")

HEAD_RATE = 20
SPAN_WEIGHT = 0.5


def _batch_targets(
    features: Any, batch: Sequence[Pair]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Word-piece positions of each positive's short answer (0 where none) and the mask of
    pairs that have one."""
    offsets = features["offset_mapping"]
    inside = sentence_mask(features, [len(p.sentence) for p in batch])
    starts, ends, has = [], [], []
    for i, pair in enumerate(batch):
        first = last = 0
        if pair.short is not None:
            s, e = pair.short
            pieces = torch.nonzero(inside[i]).flatten().tolist()
            covering = [j for j in pieces if offsets[i, j, 1] > s and offsets[i, j, 0] < e]
            if covering:
                first, last = covering[0], covering[-1]
        starts.append(first)
        ends.append(last)
        has.append(first > 0)
    return torch.tensor(starts), torch.tensor(ends), torch.tensor(has), inside


def batches_of(
    groups: list[list[Pair]], size: int, rng: random.Random, bucket: int
) -> list[list[Pair]]:
    """The pairs in batches of `size`. Without `bucket`: the pairs shuffled. With it: the
    questions shuffled, each question's pairs kept together (the listwise loss compares them),
    in batches of about `size` pairs of about the same length (sorted within runs of `bucket`
    batches, then the batches shuffled): a batch is padded to its longest pair, and random
    batches were a third padding."""
    if not bucket:
        pairs = [p for g in groups for p in g]
        rng.shuffle(pairs)
        return [pairs[i : i + size] for i in range(0, len(pairs), size)]

    def length(group: list[Pair]) -> int:
        return max(len(p.question) + len(pair_text(p.sentence, p.before, p.after)) for p in group)

    groups = list(groups)
    rng.shuffle(groups)
    out: list[list[Pair]] = []
    per_run = max(1, size * bucket // max(1, max(len(g) for g in groups)))
    for at in range(0, len(groups), per_run):
        batch: list[Pair] = []
        for group in sorted(groups[at : at + per_run], key=length):
            if batch and len(batch) + len(group) > size:
                out.append(batch)
                batch = []
            batch += group
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def _listwise(answer: torch.Tensor, batch: Sequence[Pair]) -> torch.Tensor:
    """Cross-entropy of each question's answering pair among all of its pairs in the batch:
    the reader is used to pick one sentence among several."""
    losses = []
    for question in dict.fromkeys(p.question for p in batch):
        rows = [i for i, p in enumerate(batch) if p.question == question]
        right = [k for k, i in enumerate(rows) if batch[i].answers]
        if right and len(rows) > 1:
            losses.append(
                torch.nn.functional.cross_entropy(
                    answer[rows].unsqueeze(0), torch.tensor([right[0]])
                )
            )
    return torch.stack(losses).mean() if losses else answer.sum() * 0.0


def train(
    model: ReaderModel,
    tokenizer: Any,
    batches: list[list[Pair]],
    rate: float,
    listwise: float = 0.0,
) -> None:
    """One pass over the batches: answer BCE, plus `listwise` times each question's
    answering pair's cross-entropy among its pairs, plus short-answer start/end
    cross-entropy."""
    # The head starts from nothing, so it learns faster than the encoder it sits on.
    encoder = [p for p in model.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder, "lr": rate},
            {"params": list(model.head.parameters()), "lr": rate * HEAD_RATE},
        ],
        weight_decay=0.01,
    )
    steps = len(batches)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / (steps - warmup))),
    )
    model.train()
    began = time.monotonic()
    for step in range(steps):
        batch = batches[step]
        features = encode_pairs(
            tokenizer,
            [p.question for p in batch],
            [pair_text(p.sentence, p.before, p.after) for p in batch],
        )
        starts, ends, has, inside = _batch_targets(features, batch)
        features.pop("offset_mapping")
        answer, start, end = model(question_mask(features, len(batch)), inside, **features)
        labels = torch.tensor([float(p.answers) for p in batch])
        answer_loss = torch.nn.functional.binary_cross_entropy_with_logits(answer, labels)
        loss = answer_loss + listwise * _listwise(answer, batch) if listwise else answer_loss
        if has.any():
            masked_start = start.masked_fill(~inside, -1e4)[has]
            masked_end = end.masked_fill(~inside, -1e4)[has]
            span = torch.nn.functional.cross_entropy(masked_start, starts[has])
            span = span + torch.nn.functional.cross_entropy(masked_end, ends[has])
            loss = loss + SPAN_WEIGHT * span
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 25 == 0 or step == steps - 1:
            log.info(
                "training",
                extra={
                    "step": step + 1,
                    "steps": steps,
                    "loss": round(loss.item(), 4),
                    "answer_loss": round(answer_loss.item(), 4),
                    "seconds": round(time.monotonic() - began, 1),
                },
            )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure("INFO")
    if not (args.bench / V2 / "questions.jsonl").exists():
        print(f"error: no SQuAD questions at {args.bench}/{V2}/questions.jsonl", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    began = time.monotonic()
    paragraphs, questions, measured = load(args.bench)
    train_titles, train_questions, calibration = split(questions, measured)
    by_title: dict[str, list[str]] = defaultdict(list)
    for doc_id, para in paragraphs.items():
        by_title[para.title].append(doc_id)
    if args.measured:
        first = [q for q in questions if q["title"] in measured][:MEASURED]
        figures = measure(Reader(args.out), first, paragraphs, by_title, rng)
        print(json.dumps({"reader": str(args.out), "set": "first 1,000", **figures}))
        return 0
    # The answerable questions of the articles with unanswerable ones come first: the same
    # sentence answers one and only seems to answer the other.
    contrasted = {q["title"] for q in train_questions if not q["answerable"]}
    answerable = [q for q in train_questions if q["answerable"] and q["title"] in contrasted]
    elsewhere = [q for q in train_questions if q["answerable"] and q["title"] not in contrasted]
    unanswerable = [q for q in train_questions if not q["answerable"]]
    rng.shuffle(answerable)
    rng.shuffle(elsewhere)
    rng.shuffle(unanswerable)
    answerable += elsewhere
    groups = [
        g
        for q in answerable[: args.questions]
        if (g := pairs_of(q, paragraphs, by_title, rng, args.same, args.other))
    ] + [g for q in unanswerable[: args.unanswerable] if (g := refusal_pairs_of(q, paragraphs))]
    pairs = [p for g in groups for p in g]
    log.info("pairs", extra={"pairs": len(pairs), "answering": sum(p.answers for p in pairs)})

    tokenizer, encoder = base_model()
    model = ReaderModel(encoder)
    layers = list(range(max(0, args.freeze), len(model.encoder.encoder.layer)))
    if args.freeze >= 0:
        for part in [model.encoder.embeddings, *model.encoder.encoder.layer[: args.freeze]]:
            part.requires_grad_(False)
    train(
        model,
        tokenizer,
        batches_of(groups, args.batch, rng, args.bucket),
        args.rate,
        args.listwise,
    )
    trained = time.monotonic() - began
    meta: dict[str, Any] = {
        "seed": SEED,
        "data": "SQuAD v1.1 dev and SQuAD 2.0 dev (half), CC BY-SA 4.0",
        "trained_on": train_titles,
        "calibration_articles": list(CALIBRATION),
        "held_out": list(TEST),
        "left_out_measured": measured,
        "answerable_questions": min(args.questions, len(answerable)),
        "unanswerable_questions": min(args.unanswerable, len(unanswerable)),
        "pairs": len(pairs),
        "rate": args.rate,
        "negatives": {"same_paragraph": args.same, "other_paragraphs": args.other},
        "listwise": args.listwise,
        "bucket": args.bucket,
        "batch": args.batch,
        "frozen_layers": args.freeze,
        "threads": args.threads,
        "train_seconds": round(trained),
    }
    digest = pack(model, layers, args.weights, meta)
    log.info("packed", extra={"weights": str(args.weights), "sha256": digest})
    # Measured as shipped: the int8 weights, built as the service builds them.
    build(args.out, args.weights)
    reader = Reader(args.out)
    figures = {
        **measure(reader, [q for q in calibration if q["answerable"]], paragraphs, by_title, rng),
        **refusals(reader, calibration, paragraphs),
    }
    shipped = json.loads((args.weights / MANIFEST).read_text())
    shipped["gold_paragraph_figures"] = figures
    (args.weights / MANIFEST).write_text(json.dumps(shipped, indent=1) + "\n")
    print(json.dumps({"reader": str(args.out), "sha256": digest, **figures, **meta}))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service.reader.train")
    parser.add_argument("--bench", type=Path, default=Path("../shared/bench"))
    parser.add_argument("--out", type=Path, default=Path("models/reader"))
    parser.add_argument("--weights", type=Path, default=SHIPPED, help="where to ship them")
    parser.add_argument(
        "--questions", type=int, default=3000, help="answerable questions (three pairs each)"
    )
    parser.add_argument(
        "--unanswerable", type=int, default=2000, help="unanswerable questions (two pairs each)"
    )
    parser.add_argument(
        "--same", type=int, default=1, help="negatives from the gold paragraph, per question"
    )
    parser.add_argument(
        "--other", type=int, default=1, help="negatives from other paragraphs, per question"
    )
    parser.add_argument(
        "--listwise", type=float, default=0.0, help="weight of the pick-one-of-the-group loss"
    )
    parser.add_argument(
        "--bucket",
        type=int,
        default=0,
        help="sort pairs by length within runs of this many batches, keeping each question's "
        "together (0: pairs shuffled one by one)",
    )
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rate", type=float, default=4e-5)
    parser.add_argument(
        "--freeze", type=int, default=2, help="lowest layers kept as they are (-1: none)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (fixed: sums split by thread)"
    )
    parser.add_argument(
        "--measured",
        action="store_true",
        help="train nothing: read the first 1,000 questions (Super Bowl 50, Warsaw) with the "
        "reader at --out, gold paragraph given, and print its figures",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
