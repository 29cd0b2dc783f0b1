"""`python -m service.measure.evaluate QUESTIONS.jsonl`: answer a question set over the seeds
and score it.

Each line: {"question", "answerable", "expected": [any of these strings must appear],
"article_id", "title"}. The seeds are indexed into a throwaway folder so the figures never
depend on a local index. Prints the share of answers holding the expected fact, the share
citing the right article, the share of unanswerable questions refused, the median answer
length in words, and (with --sweep) the figures at every confidence threshold
(`min_confidence`) the answers cross.
"""

import argparse
import json
import re
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from index.build import sync
from index.embed import Embedder
from index.store import open_store
from service.answering.answer import Answer
from service.answering.protocol import Answering
from service.components import Components
from service.measure.squad2 import svg
from service.settings import Settings

_MARKER = re.compile(r"\s*\[\d+\]")


@dataclass(frozen=True)
class Outcome:
    """One question's result."""

    item: dict[str, object]
    answer: Answer
    raw: Answer
    confidence: float

    @property
    def has_fact(self) -> bool:
        """The answer holds one of the expected strings."""
        return self.answer.answerable and _holds_fact(self.raw, self.item)

    @property
    def raw_has_fact(self) -> bool:
        """The answer before the confidence threshold holds one of the expected strings."""
        return _holds_fact(self.raw, self.item)

    @property
    def right_article(self) -> bool:
        """Some citation is from the expected article."""
        return any(c.article_id == self.item["article_id"] for c in self.answer.citations)


def _holds_fact(answer: Answer, item: dict[str, object]) -> bool:
    text = _MARKER.sub("", answer.text).lower()
    return any(str(e).lower() in text for e in item["expected"])  # type: ignore[attr-defined]


@contextmanager
def seeded() -> Iterator[Components]:
    """The service's components over the seeds, indexed into a throwaway folder."""
    with tempfile.TemporaryDirectory(prefix="newsrag-eval-") as tmp:
        settings = Settings(data_dir=Path(tmp), progress=False)
        embedder = Embedder(
            settings.device, settings.embed_batch, settings.encoder_path, settings.torch_threads
        )
        sync(settings, open_store(settings), embedder)
        yield Components(settings, embedder)


def load_questions(path: Path) -> list[dict[str, object]]:
    """The question set, one JSON object per line."""
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def run(components: Components, questions: list[dict[str, object]]) -> list[Outcome]:
    """Answer every question with the configured answerer (refusing nothing, for the sweep)."""
    if components.chat is not None:
        generative = components.answerer()
        return [_generated(generative, components, item) for item in questions]
    answerer = components.extractive(components.retriever(), min_confidence=0.0)
    threshold = components.settings.min_confidence
    outcomes = []
    for item in questions:
        q = str(item["question"])
        raw = answerer.answer(q, q, components.settings.top_k)
        final = raw if raw.confidence >= threshold else answerer.refusal(q, q, None, raw.confidence)
        outcomes.append(Outcome(item, final, raw, raw.confidence))
    return outcomes


def _generated(answerer: Answering, components: Components, item: dict[str, object]) -> Outcome:
    """A model backend's answer as the service gives it (its own refusals, no sweep)."""
    q = str(item["question"])
    answer = answerer.complete(q, q, components.settings.top_k).answer
    return Outcome(item, answer, answer, answer.confidence)


def report(outcomes: list[Outcome]) -> dict[str, float]:
    """The headline figures."""
    answerable = [o for o in outcomes if o.item["answerable"]]
    unanswerable = [o for o in outcomes if not o.item["answerable"]]
    answered = [o for o in outcomes if o.answer.answerable]
    return {
        "questions": len(outcomes),
        "fact_in_answer": sum(o.has_fact for o in answerable) / max(1, len(answerable)),
        "right_article": sum(o.right_article for o in answerable) / max(1, len(answerable)),
        "refused_unanswerable": sum(not o.answer.answerable for o in unanswerable)
        / max(1, len(unanswerable)),
        "median_answer_words": statistics.median(
            [len(_MARKER.sub("", o.answer.text).split()) for o in answered] or [0]
        ),
    }


def sweep(outcomes: list[Outcome]) -> list[tuple[float, float, float]]:
    """(threshold, facts kept, refusals) for thresholds between the observed confidences."""
    rows = []
    for t in sorted({round(o.confidence, 3) for o in outcomes}):
        kept = [o for o in outcomes if o.item["answerable"]]
        facts = sum(o.raw_has_fact and o.confidence >= t for o in kept) / max(1, len(kept))
        bad = [o for o in outcomes if not o.item["answerable"]]
        refused = sum(o.confidence < t for o in bad) / max(1, len(bad))
        rows.append((t, facts, refused))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Index the seeds into a temp folder, answer the set, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m service.measure.evaluate", description=__doc__)
    parser.add_argument("questions", type=Path)
    parser.add_argument(
        "--sweep", action="store_true", help="print figures per confidence threshold"
    )
    parser.add_argument("--show", action="store_true", help="print every question and answer")
    parser.add_argument(
        "--svg", type=Path, help="draw the risk–coverage curve here, the default threshold marked"
    )
    args = parser.parse_args(argv)
    with seeded() as components:
        outcomes = run(components, load_questions(args.questions))
    if args.show:
        for o in outcomes:
            good = o.has_fact if o.item["answerable"] else not o.answer.answerable
            where = "" if not o.item["answerable"] or o.right_article else " (wrong article)"
            print(f"{'ok ' if good else 'BAD'} {o.confidence:.3f} {o.item['question']}{where}")
            print(f"     -> {o.raw.text[:160]}")
    if args.sweep:
        for t, facts, refused in sweep(outcomes):
            print(f"threshold {t:.3f}: fact {facts:.2f}  refused {refused:.2f}")
    if args.svg is not None:
        rows = [
            {"confidence": o.confidence, "right": o.raw_has_fact if o.item["answerable"] else False}
            for o in outcomes
        ]
        title = (
            f"{args.questions.name}: answers right against answers given ({len(rows)} questions)"
        )
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(svg(rows, Settings().min_confidence, title))
    figures = report(outcomes)
    print(f"questions: {figures['questions']}")
    print(f"answers containing the expected fact: {figures['fact_in_answer']:.1%}")
    print(f"answers citing the right article:     {figures['right_article']:.1%}")
    print(f"unanswerable questions refused:       {figures['refused_unanswerable']:.1%}")
    print(f"median answer length (words):         {figures['median_answer_words']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
