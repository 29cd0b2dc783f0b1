"""What answering a question streams, in order, whatever the backend: one `Retrieved`, then
`Delta` pieces of checked answer text, then one `Finished` with the final answer.

The deltas always add up to the final answer's text, so a client that only appends deltas
shows the same answer as one that waits for the end. `ExtractiveBackend` is the extractive
answerer made to stream: its single delta is the whole quoted answer.
"""

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, cast

from index.retrieve import Retriever
from index.store import Hit
from service.answer import Answer, ExtractiveAnswerer
from service.followup import standalone


@dataclass(frozen=True)
class Usage:
    """Tokens the model read and wrote for one answer (counted with tiktoken)."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Retrieved:
    """The passages found for the (rewritten) question; sent before any model starts."""

    standalone: str
    hits: list[Hit]


@dataclass(frozen=True)
class Delta:
    """A piece of the answer text."""

    text: str


@dataclass(frozen=True)
class Finished:
    """The final answer with checked citations, and the model's token use (None without one)."""

    answer: Answer
    usage: Usage | None


Event = Retrieved | Delta | Finished


class Answering(Protocol):
    """What the routes need from an answer backend."""

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        """The question to search with, standing alone without the conversation."""
        ...

    def events(self, question: str, standalone: str, top_k: int) -> Iterator[Event]:
        """Retrieved, then deltas, then Finished."""
        ...


def finish(events: Iterable[Event]) -> Finished:
    """Run the events to the end and return the last one."""
    last: Event | None = None
    for last in events:  # noqa: B007 - only the final event matters
        pass
    if not isinstance(last, Finished):
        raise RuntimeError("an answer stream ended without its Finished event")
    return last


class GivenHits:
    """A stand-in retriever that returns passages already found."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits

    def search(self, query: str, k: int, **filters: object) -> list[Hit]:
        """The given passages, best first, at most k."""
        return self.hits[:k]


class ExtractiveBackend(ExtractiveAnswerer):
    """The extractive answerer, streaming its answer and rewriting follow-ups by rule."""

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        """The question with the conversation's names added when it leans on them."""
        return standalone(question, history)

    def quote(self, question: str, standalone: str, hits: list[Hit]) -> Answer:
        """The extractive answer from passages already retrieved."""
        given = copy.copy(self)
        given.retriever = cast(Retriever, GivenHits(hits))
        return ExtractiveAnswerer.answer(given, question, standalone, max(1, len(hits)))

    def complete(self, question: str, standalone: str, top_k: int) -> Finished:
        """The final answer and token use, once every event has run."""
        return finish(self.events(question, standalone, top_k))

    def events(self, question: str, standalone: str, top_k: int) -> Iterator[Event]:
        """Retrieved, the quoted answer as one delta, Finished."""
        hits = self.retriever.search(standalone, top_k)
        yield Retrieved(standalone, hits)
        answer = self.quote(question, standalone, hits)
        yield Delta(answer.text)
        yield Finished(answer, None)
