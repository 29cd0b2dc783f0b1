"""What every answer backend offers (`extractive`, `generative`), and all that the use case
of asking (`service.answering.asking`) needs from one.

A backend is built for one question, with its parts (a retriever kept to the question's
date window, the question's sampling options) passed to its constructor: nothing changes
a backend's parts once it is built.
"""

from collections.abc import Iterator
from typing import Protocol

from service.answering.events import Event, Finished


class Answering(Protocol):
    """An answer backend."""

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        """The question to search with, standing alone without the conversation."""
        ...

    def events(self, question: str, standalone: str, top_k: int) -> Iterator[Event]:
        """Retrieved, then deltas, then Finished."""
        ...

    def complete(self, question: str, standalone: str, top_k: int) -> Finished:
        """The final answer, once every event has run."""
        ...
