"""What answering a question streams, in order, whatever the backend: one `Retrieved`, then
`Delta` pieces of checked answer text, then one `Finished` with the final answer.

The deltas always add up to the final answer's text, so a client that only appends deltas
shows the same answer as one that waits for the end.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from index.passages import Hit
from service.answering.answer import Answer


@dataclass(frozen=True)
class Usage:
    """Tokens the model read and wrote for one answer (counted with tiktoken)."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Sampling:
    """A request's sampling options for the model (OpenAI's names); unset keeps the
    configured ones. The extractive backend, which writes nothing, has no use for them."""

    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()

    def options(self, max_tokens: int) -> dict[str, Any]:
        """Keyword arguments of a LangChain chat model call, at most `max_tokens` written."""
        found: dict[str, Any] = {"extra_body": {"max_tokens": max_tokens}}
        if self.temperature is not None:
            found["temperature"] = self.temperature
        if self.stop:
            found["stop"] = list(self.stop)
        return found


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


def finish(events: Iterable[Event]) -> Finished:
    """Run the events to the end and return the last one."""
    last: Event | None = None
    for last in events:  # noqa: B007 - only the final event matters
        pass
    if not isinstance(last, Finished):
        raise RuntimeError("an answer stream ended without its Finished event")
    return last
