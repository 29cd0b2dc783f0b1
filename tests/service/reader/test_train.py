"""The reader's training recipe: how pairs are batched, and the pick-one loss (the training
itself runs in `make train-reader`, which the reader's tests load)."""

import random

import torch

from service.reader.data import Pair, _pick
from service.reader.train import _listwise, batches_of


def group(question: str, sentences: int) -> list[Pair]:
    return [Pair(question, "word " * (n + len(question)), "", "", n == 0) for n in range(sentences)]


GROUPS = [group(f"question {n}" + "?" * n, 1 + n % 4) for n in range(40)]
random.Random(3).shuffle(GROUPS)


def spread(batches: list[list[Pair]]) -> float:
    """The mean difference between a batch's longest and shortest question."""
    return sum(
        max(len(p.question) for p in b) - min(len(p.question) for p in b) for b in batches
    ) / len(batches)


def test_without_buckets_every_pair_is_batched_once_in_batches_of_the_size() -> None:
    batches = batches_of(GROUPS, 8, random.Random(1), bucket=0)
    pairs = [p for b in batches for p in b]
    assert sorted(map(id, pairs)) == sorted(id(p) for g in GROUPS for p in g)
    assert all(len(b) == 8 for b in batches[:-1])


def test_buckets_keep_each_questions_pairs_together_and_batch_like_lengths() -> None:
    batches = batches_of(GROUPS, 8, random.Random(1), bucket=4)
    assert sum(len(b) for b in batches) == sum(len(g) for g in GROUPS)
    for batch in batches:
        assert len(batch) <= 8
        for question in {p.question for p in batch}:
            assert sum(p.question == question for p in batch) == sum(
                p.question == question for g in GROUPS for p in g
            )
    # Sorted within runs: far less padding than batches drawn at random.
    assert spread(batches) < 0.5 * spread(batches_of(GROUPS, 8, random.Random(1), bucket=0))


def test_pick_one_loss_is_low_when_the_answering_pair_reads_best() -> None:
    batch = group("a?", 3) + group("bb?", 2)
    right = torch.tensor([4.0, -1.0, -2.0, 3.0, -3.0])
    wrong = torch.tensor([-4.0, 1.0, 2.0, -3.0, 3.0])
    assert float(_listwise(right, batch)) < 0.05 < 2.0 < float(_listwise(wrong, batch))
    # A question alone in its batch with nothing to compare adds nothing.
    assert float(_listwise(torch.tensor([1.0]), group("c?", 1))) == 0.0


def test_one_pick_draws_as_the_committed_recipe_did() -> None:
    pool = list(range(5))
    assert _pick(random.Random(7), pool, 1) == [random.Random(7).choice(pool)]
    assert len(set(_pick(random.Random(7), pool, 3))) == 3
    assert len(_pick(random.Random(7), pool[:2], 3)) == 2
