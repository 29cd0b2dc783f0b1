"""What every answer backend offers (`extractive`, `generative`): all that the routes need
from one."""

from collections.abc import Iterator
from typing import Protocol

from service.answering.events import Event, Finished, Sampling


class Answering(Protocol):
    """An answer backend."""

    sampling: Sampling

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        """The question to search with, standing alone without the conversation."""
        ...

    def events(self, question: str, standalone: str, top_k: int) -> Iterator[Event]:
        """Retrieved, then deltas, then Finished."""
        ...

    def complete(self, question: str, standalone: str, top_k: int) -> Finished:
        """The final answer, once every event has run."""
        ...
