"""What answering gives back, whatever the backend: an answer whose sentences cite passages."""

import re
from dataclasses import dataclass

NO_ANSWER = "The articles don't say."
MAX_QUESTION_CHARS = 2000
# An article's own bracketed numbers ("...harbour [7].", "[2, 3]"): in an answer they would
# read as our citation markers.
_ARTICLE_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")


def as_answer_text(quote: str) -> str:
    """A quote as an answer (or a model's passage) shows it: every `[n]` left in an answer is
    one of its citations, so the article's own bracketed numbers are dropped. The citation
    keeps the exact quote."""
    return _ARTICLE_MARKER.sub("", quote)


@dataclass(frozen=True)
class Cited:
    """A sentence (or passage) cited as [n]: where it comes from and how well it supports."""

    n: int
    article_id: str
    title: str
    source: str
    quote: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Answer:
    """An answer with its citations, or a refusal with its reason."""

    question: str
    standalone_question: str
    text: str
    answerable: bool
    reason: str | None
    mode: str
    citations: list[Cited]
    # The chance the answer is right (service.answering.confidence); for a refusal, the chance
    # the best passage found would have answered.
    confidence: float = 0.0
