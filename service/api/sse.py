"""Server-Sent Events: the typed events of POST /api/ask/stream, and the sending that both
streams (it and /v1/chat/completions) share.

Each event is `event: <type>` and `data: <json>`:

retrieval   {"standalone_question", "passages": [Passage]}   first, before any model runs
delta       {"text"}                                          zero or more; they add up
                                                              to the final answer
citations   {"citations": [Citation], "answer", "answerable", "reason"}
done        {"mode", "usage": {"prompt_tokens", "completion_tokens"} | null}
error       {"detail"}                                        instead of the rest

While the model works and nothing else is sent, a `: ping` comment goes out every
RAG_SSE_PING seconds so that proxies keep the connection open; parsers skip comments.
Events are encoded by FastAPI's `format_sse_event` and sent as its `EventSourceResponse`.
FastAPI's generator endpoints are not used: their keep-alive is a fixed private constant,
and /v1/chat/completions must answer JSON or a stream from one operation.
"""

import contextlib
import contextvars
import json
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from fastapi.sse import KEEPALIVE_COMMENT, EventSourceResponse, ServerSentEvent, format_sse_event
from pydantic import BaseModel, Field
from starlette.types import Receive, Scope, Send

from index.errors import IndexError_
from service.answering.errors import ServiceError
from service.answering.events import Delta, Event, Finished, Retrieved
from service.api.admission import Ticket
from service.api.error_models import REF
from service.api.schemas import CONFIDENCE_DESCRIPTION, Citation, Passage, TokenUsage

log = logging.getLogger(__name__)
NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_END = object()


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
    confidence: float = Field(ge=0.0, le=1.0, description=CONFIDENCE_DESCRIPTION)


class DoneEvent(BaseModel):
    """How the answer was made and what it cost."""

    mode: str = Field(description="extractive, generated or fallback (see /api/ask).")
    usage: TokenUsage | None = Field(description="Model tokens; null when no model was used.")


class ErrorEvent(BaseModel):
    """The answer failed after the stream began; no more events follow."""

    detail: str = Field(description="What failed.")


EVENTS: dict[str, type[BaseModel]] = {
    "retrieval": RetrievalEvent,
    "delta": DeltaEvent,
    "citations": CitationsEvent,
    "done": DoneEvent,
    "error": ErrorEvent,
}


def json_data(model: str) -> dict[str, Any]:
    """The schema of an event's `data` line: JSON of the named component schema."""
    return {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": {"$ref": REF + model},
    }


def item_schema() -> dict[str, Any]:
    """The OpenAPI `itemSchema` of the stream: one branch per event type."""
    return {
        "oneOf": [
            {
                "type": "object",
                "required": ["event", "data"],
                "properties": {"event": {"const": name}, "data": json_data(model.__name__)},
            }
            for name, model in EVENTS.items()
        ]
    }


def sse_events(event: Event) -> Iterator[ServerSentEvent]:
    """The events of one answer event."""
    if isinstance(event, Retrieved):
        passages = [Passage.from_hit(h) for h in event.hits]
        data = RetrievalEvent(standalone_question=event.standalone, passages=passages)
        yield ServerSentEvent(event="retrieval", data=data)
    elif isinstance(event, Delta):
        yield ServerSentEvent(event="delta", data=DeltaEvent(text=event.text))
    elif isinstance(event, Finished):
        answer = event.answer
        citations = CitationsEvent(
            citations=[Citation(**asdict(c)) for c in answer.citations],
            answer=answer.text,
            answerable=answer.answerable,
            reason=answer.reason,
            confidence=answer.confidence,
        )
        yield ServerSentEvent(event="citations", data=citations)
        usage = TokenUsage(**asdict(event.usage)) if event.usage else None
        yield ServerSentEvent(event="done", data=DoneEvent(mode=answer.mode, usage=usage))


def stream(events: Iterator[Event]) -> Iterator[ServerSentEvent]:
    """Every event of one answer (`Asking.events`); a failure after the response began
    becomes an error event."""
    try:
        for event in events:
            yield from sse_events(event)
    except (ServiceError, IndexError_) as exc:
        yield ServerSentEvent(event="error", data=ErrorEvent(detail=str(exc)))
    # The status line is already sent, so this event is the only way left to tell the client;
    # the failure itself is logged with its traceback.
    except Exception:
        log.exception("answer stream failed")
        yield ServerSentEvent(
            event="error", data=ErrorEvent(detail="the answer failed; see the log")
        )


def encode(item: ServerSentEvent) -> bytes:
    """One event on the wire."""
    data = item.raw_data
    if data is None and item.data is not None:
        data = (
            item.data.model_dump_json()
            if isinstance(item.data, BaseModel)
            else json.dumps(item.data)
        )
    return format_sse_event(data_str=data, event=item.event, comment=item.comment)


def respond(
    items: Iterator[ServerSentEvent], ping: float, ticket: Ticket | None = None
) -> EventSourceResponse:
    """The events as a text/event-stream response with keep-alive pings; the events are
    made once the ticket's turn comes (`service.api.admission.Work`)."""
    stop = threading.Event()
    return _Stream(keep_alive(items, ping, ticket, stop), stop, ticket)


class _Stream(EventSourceResponse):
    """The response, which gives the ticket's place back and stops the work however it ends:
    a client that hangs up before the first byte ends it before its body is ever iterated,
    so the events' own `finally` never runs (every place of the queue was once lost so)."""

    def __init__(self, body: Iterator[bytes], stop: threading.Event, ticket: Ticket | None):
        super().__init__(body, headers=NO_BUFFERING)
        self.stop, self.ticket = stop, ticket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.stop.set()
            if self.ticket is not None:
                self.ticket.abandon()


def keep_alive(
    items: Iterator[ServerSentEvent],
    ping: float,
    ticket: Ticket | None = None,
    stop: threading.Event | None = None,
) -> Iterator[bytes]:
    """The encoded events, and a ping comment after every `ping` seconds without one.

    The events are produced in a worker thread so that a model that writes nothing for a
    while does not silence the stream; the worker stops at its next event once the client
    has gone (or `stop` is set).
    """
    found: queue.Queue[object] = queue.Queue()
    stop = stop or threading.Event()
    # In this request's context: its id on the log lines, its deadline on the answer.
    context = contextvars.copy_context()
    worker = threading.Thread(
        target=context.run, args=(_pump, items, found, stop, ticket), daemon=True
    )
    worker.start()
    try:
        while True:
            try:
                item = found.get(timeout=ping)
            except queue.Empty:
                if stop.is_set():
                    return
                yield KEEPALIVE_COMMENT
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        stop.set()
        if ticket is not None:
            ticket.abandon()


def _pump(
    items: Iterator[ServerSentEvent],
    out: queue.Queue[object],
    stop: threading.Event,
    ticket: Ticket | None,
) -> None:
    if stop.is_set():  # the client left before the worker began
        return
    try:
        with ticket if ticket is not None else contextlib.nullcontext():
            for item in items:
                if stop.is_set():
                    return
                out.put(encode(item))
        out.put(_END)
    except ServiceError as exc:  # the turn never came within the deadline
        out.put(encode(ServerSentEvent(event="error", data=ErrorEvent(detail=str(exc)))))
        out.put(_END)
    # Handed to the consumer, which raises it where the response is being sent.
    except Exception as exc:
        out.put(exc)
