"""What answering gives back, whatever the backend: an answer whose sentences cite passages."""

from dataclasses import dataclass

NO_ANSWER = "The articles don't say."


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
