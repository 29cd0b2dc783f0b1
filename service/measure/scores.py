"""Scores of one benchmark question: article-level ranking figures and answer figures.

A ranked result is a *group*: the article shown plus the near-duplicate articles the
retriever folded into it (the same story published twice). A group counts as relevant
when any member is; `strict` figures count the shown article alone.
"""

import math
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence

_CITATION = re.compile(r"\s*\[\d+\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# Typographic quotes and dashes too: RealTime QA answers are quoted with them.
_PUNCTUATION = set(string.punctuation) | set("\u201c\u201d\u2018\u2019\u2013\u2014\u2026")

Group = tuple[str, ...]  # the shown doc id first


def gain(group: Group, relevant: Mapping[str, int], strict: bool = False) -> int:
    """The best grade of the group's members (of the shown doc alone when strict)."""
    members = group[:1] if strict else group
    return max((relevant.get(d, 0) for d in members), default=0)


def first_relevant(
    groups: Sequence[Group], relevant: Mapping[str, int], strict: bool = False
) -> int | None:
    """1-based rank of the first relevant group, or None."""
    return next((r for r, g in enumerate(groups, start=1) if gain(g, relevant, strict) > 0), None)


def ranking_scores(
    groups: Sequence[Group], relevant: Mapping[str, int], strict: bool = False
) -> dict[str, float]:
    """hit@1, hit@5, hit@10, MRR@10 and nDCG@10 of one ranking."""
    rank = first_relevant(groups, relevant, strict)
    scores = {f"hit@{k}": float(rank is not None and rank <= k) for k in (1, 5, 10)}
    scores["mrr@10"] = 1.0 / rank if rank is not None and rank <= 10 else 0.0
    scores["ndcg@10"] = ndcg(groups, relevant, 10, strict)
    return scores


def ndcg(
    groups: Sequence[Group], relevant: Mapping[str, int], k: int, strict: bool = False
) -> float:
    """Normalised discounted cumulative gain at k (linear gains, as BEIR's pytrec_eval)."""
    dcg, credited = 0.0, set()
    for rank, group in enumerate(groups[:k], start=1):
        members = [d for d in (group[:1] if strict else group) if d not in credited]
        best = max(members, key=lambda d: relevant.get(d, 0), default=None)
        if best is not None and relevant.get(best, 0) > 0:
            credited.add(best)
            dcg += relevant[best] / math.log2(rank + 1)
    ideal = sorted(relevant.values(), reverse=True)[:k]
    best_dcg = sum(g / math.log2(r + 1) for r, g in enumerate(ideal, start=1) if g > 0)
    return dcg / best_dcg if best_dcg else 0.0


def normalise(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, articles or extra spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_text(answer: str) -> str:
    """The answer without its [n] citation markers."""
    return _CITATION.sub("", answer).strip()


def contains_gold(answer: str, golds: Sequence[str]) -> bool:
    """True when the (normalised) answer contains a (normalised) gold answer."""
    said = f" {normalise(answer_text(answer))} "
    return any(f" {normalise(g)} " in said for g in golds if normalise(g))


def token_f1(answer: str, golds: Sequence[str]) -> float:
    """SQuAD token F1 of the answer against its best gold answer."""
    said = normalise(answer_text(answer)).split()
    best = 0.0
    for gold in golds:
        wanted = normalise(gold).split()
        common = sum((Counter(said) & Counter(wanted)).values())
        if common:
            precision, recall = common / len(said), common / len(wanted)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def mean(values: Sequence[float]) -> float:
    """The average, 0 for none."""
    return sum(values) / len(values) if values else 0.0
