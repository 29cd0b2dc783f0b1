"""Asking: the one way every answering route (/api/ask, /api/ask/stream,
/v1/chat/completions) puts a question, whatever HTTP shape it came in.

A route turns its request into a `Question` and hands it to `Asking`, which checks that the
index is ready, builds the backend for that question (its retriever kept to the question's
date window, its sampling), rewrites a follow-up to stand alone, and answers: every event
for a stream, or the finished answer. A per-request option is one more field of `Question`,
read here.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from service.answering.events import Event, Finished, Sampling
from service.answering.protocol import Answering


@dataclass(frozen=True)
class Question:
    """A question with its conversation and the options of its request; unset options keep
    the configured ones."""

    text: str
    history: list[tuple[str, str]] = field(default_factory=list)
    top_k: int | None = None
    since: date | None = None
    until: date | None = None
    sampling: Sampling = field(default_factory=Sampling)
    # The least confidence to answer with (service.answering.confidence); None: the setting.
    min_confidence: float | None = None


# A backend for one question: built with the question's options, never changed after.
Backend = Callable[[Question], Answering]


class Asking:
    """Answers questions: `ready` first, then `rewrite` and `complete`, or `events`."""

    def __init__(self, backend: Backend, ready: Callable[[], None], top_k: int) -> None:
        self.backend = backend
        self._ready = ready
        self.top_k = top_k

    def ready(self) -> None:
        """Raise the index's error (a 503 at the edge) unless it can answer now."""
        self._ready()

    def rewrite(self, question: Question) -> str:
        """The question to search with, standing alone without its conversation."""
        return self.backend(question).rewrite(question.text, question.history)

    def complete(self, question: Question, standalone: str) -> Finished:
        """The finished answer to the question, searched as `standalone`."""
        return self.backend(question).complete(question.text, standalone, self._k(question))

    def events(self, question: Question) -> Iterator[Event]:
        """Every event of the answer, the follow-up rewritten first (nothing runs until the
        first event is asked for)."""
        answerer = self.backend(question)
        standalone = answerer.rewrite(question.text, question.history)
        yield from answerer.events(question.text, standalone, self._k(question))

    def _k(self, question: Question) -> int:
        return question.top_k or self.top_k
