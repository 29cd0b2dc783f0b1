"""`python -m service.measure.fit_support QUESTIONS.jsonl`: fit the support score's weights.

Indexes the seeds into a throwaway folder, retrieves each question's passages as the service
does, and takes every candidate sentence that passes the answerer's gates as one example:
positive when it is from the expected article and holds an expected string, negative
otherwise (every candidate of an unanswerable question is negative). A logistic regression
over the five `SIGNALS`, read from the sentence vectors stored at index time, gives
`SHORTLIST_WEIGHTS` and `SHORTLIST_BIAS` of `service.answering.support`, last fitted this
way on `tests/data/seed_questions.jsonl` (`make fit-support`), never on a held-out set.
`--alone` fits on sentences and windows encoded alone, as the final score reads them: it
gives weights near `WEIGHTS` (2.7 / 1.97 / 4.41 / 2.07 / 1.26, bias -7.51, against 3.1 /
2.25 / 4.01 / 2.32 / 1.56, -8.28), whose own fitting script was not kept.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from service.answering.candidates import candidates
from service.answering.support import SIGNALS, Evidence, SupportScorer, evidence_of
from service.components import Components
from service.measure.evaluate import load_questions, seeded


def examples(
    components: Components, questions: list[dict[str, object]], alone: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Signals and labels of every gated-in candidate sentence of every question."""
    retriever = components.retriever()
    scorer = SupportScorer(components.embedder)
    rows, labels = [], []
    for item in questions:
        question = str(item["question"])
        found = candidates(retriever.search(question, components.settings.top_k))
        evidence = (
            [Evidence(c.quote, c.window) for c in found]
            if alone
            else evidence_of(found, components.embedder)
        )
        expected = [str(e).lower() for e in item["expected"]]  # type: ignore[attr-defined]
        passed = scorer.gates(question, evidence)
        for cand, row, ok in zip(found, scorer.signals(question, evidence), passed, strict=True):
            if not ok:
                continue
            rows.append(row)
            labels.append(
                bool(item["answerable"])
                and cand.hit.article_id == item["article_id"]
                and any(e in cand.quote.lower() for e in expected)
            )
    return np.array(rows), np.array(labels)


def fit(rows: np.ndarray, labels: np.ndarray) -> tuple[dict[str, float], float]:
    """Weights by signal name, and the bias."""
    model = LogisticRegression(C=1.0, max_iter=1000).fit(rows, labels)
    weights = {name: round(float(w), 2) for name, w in zip(SIGNALS, model.coef_[0], strict=True)}
    return weights, round(float(model.intercept_[0]), 2)


def main(argv: list[str] | None = None) -> int:
    """Index the seeds, gather the examples, print the fitted weights."""
    parser = argparse.ArgumentParser(
        prog="python -m service.measure.fit_support", description=__doc__
    )
    parser.add_argument("questions", type=Path)
    parser.add_argument("--alone", action="store_true", help="encode sentences and windows alone")
    args = parser.parse_args(argv)
    with seeded() as components:
        rows, labels = examples(components, load_questions(args.questions), args.alone)
    weights, bias = fit(rows, labels)
    print(f"examples: {len(labels)} ({int(labels.sum())} positive)")
    name = "" if args.alone else "SHORTLIST_"
    print(f"{name}WEIGHTS = {weights}")
    print(f"{name}BIAS = {bias}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
