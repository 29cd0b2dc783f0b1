"""The typed Server-Sent Events of POST /api/ask/stream, each `event: <type>\\ndata: <json>`.

retrieval   {"standalone_question", "passages": [Passage]}   first, before any model runs
delta       {"text"}                                          zero or more; they add up
                                                              to the final answer
citations   {"citations": [Citation], "answer", "answerable", "reason"}
done        {"mode", "usage": {"prompt_tokens", "completion_tokens"} | null}
error       {"detail"}                                        instead of the rest
"""

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict

from pydantic import BaseModel, Field

from index.errors import IndexError_
from service.answering.errors import ServiceError
from service.answering.events import Answering, Delta, Event, Finished, Retrieved
from service.api.schemas import Citation, Passage, TokenUsage

log = logging.getLogger(__name__)


class RetrievalEvent(BaseModel):
    """The passages found, sent before the answer is written."""

    standalone_question: str = Field(description="The question that was searched.")
    passages: list[Passage] = Field(description="Retrieved passages, best first.")


class DeltaEvent(BaseModel):
    """A piece of the answer text."""

    text: str = Field(description="Append to the text received so far.")


class CitationsEvent(BaseModel):
    """The checked answer and its citations (the same schema as /api/ask)."""

    citations: list[Citation] = Field(description="Every passage the answer cites, by n.")
    answer: str = Field(description="The final answer text: the deltas joined.")
    answerable: bool = Field(description="False when the articles do not contain the answer.")
    reason: str | None = Field(description="Why there is no answer, or why the model was replaced.")


class DoneEvent(BaseModel):
    """How the answer was made and what it cost."""

    mode: str = Field(description="extractive, generated or fallback (see /api/ask).")
    usage: TokenUsage | None = Field(description="Model tokens; null when no model was used.")


def frame(kind: str, payload: BaseModel | dict[str, object]) -> str:
    """One event in the text/event-stream format."""
    data = payload.model_dump_json() if isinstance(payload, BaseModel) else json.dumps(payload)
    return f"event: {kind}\ndata: {data}\n\n"


def frames(event: Event) -> Iterator[str]:
    """The SSE frames of one answer event."""
    if isinstance(event, Retrieved):
        passages = [Passage.from_hit(h) for h in event.hits]
        yield frame(
            "retrieval", RetrievalEvent(standalone_question=event.standalone, passages=passages)
        )
    elif isinstance(event, Delta):
        yield frame("delta", DeltaEvent(text=event.text))
    elif isinstance(event, Finished):
        answer = event.answer
        citations = [Citation(**asdict(c)) for c in answer.citations]
        yield frame(
            "citations",
            CitationsEvent(
                citations=citations,
                answer=answer.text,
                answerable=answer.answerable,
                reason=answer.reason,
            ),
        )
        usage = TokenUsage(**asdict(event.usage)) if event.usage else None
        yield frame("done", DoneEvent(mode=answer.mode, usage=usage))


def stream(
    answerer: Answering, question: str, history: list[tuple[str, str]], top_k: int
) -> Iterator[str]:
    """Every frame of one answer; a failure after the response began becomes an error event."""
    try:
        standalone = answerer.rewrite(question, history)
        for event in answerer.events(question, standalone, top_k):
            yield from frames(event)
    except (ServiceError, IndexError_) as exc:
        yield frame("error", {"detail": str(exc)})
    # The status line is already sent, so this event is the only way left to tell the client;
    # the failure itself is logged with its traceback.
    except Exception:
        log.exception("answer stream failed")
        yield frame("error", {"detail": "the answer failed; see the service log"})
