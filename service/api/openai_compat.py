"""The service as an OpenAI-compatible chat model: request and response shapes, and the
translation of answer events into completions and completion chunks.

The last user message is the question and earlier user and assistant messages are the
conversation (system messages are ignored: the service has its own prompt). The checked
citations travel beside the answer in a top-level `citations` field, with the same schema
as /api/ask, on the completion and on the final chunk of a stream.
"""

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from service.answering.answer import MAX_QUESTION_CHARS
from service.answering.events import Answering, Delta, Event, Finished
from service.api.schemas import MAX_TURN_CHARS, Citation, unicode_text

MODEL_ID = "newsrag"


class ChatMessage(BaseModel):
    """One message of the conversation; text parts of a list content are joined."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"] = Field(
        description="Who speaks."
    )
    content: str | Annotated[list[dict[str, Any]], Field(max_length=100)] | None = Field(
        None, description=f"Text, or a list of parts; at most {MAX_TURN_CHARS} characters."
    )

    @field_validator("content")
    @classmethod
    def _bounded(cls, content: str | list[dict[str, Any]] | None) -> object:
        """The same limits as an /api/ask turn: bounded, and text the tokenizers can read."""
        text = _text(content)
        if len(text) > MAX_TURN_CHARS:
            raise ValueError(f"at most {MAX_TURN_CHARS} characters a message, not {len(text)}")
        unicode_text(text)
        return content

    @property
    def text(self) -> str:
        """The message's text."""
        return _text(self.content)


def _text(content: str | list[dict[str, Any]] | None) -> str:
    """A message's text: text parts of a list content are joined."""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


class ChatRequest(BaseModel):
    """An OpenAI chat completion request; sampling options are accepted and ignored."""

    # OpenAI clients and tools send many optional fields (temperature, n, user, tools...);
    # refusing them would break those clients, so unknown fields are ignored here.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [
                        {"role": "user", "content": "Where is the Russian Baltic Fleet based?"}
                    ],
                }
            ]
        },
    )

    model: str = Field(MODEL_ID, description="Any name; the service answers as `newsrag`.")
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=100)]
    stream: StrictBool = Field(False, description="Send chunks as Server-Sent Events.")

    def conversation(self) -> tuple[str, list[tuple[str, str]]] | None:
        """(question, history) from the messages; None without a user message."""
        turns = [(str(m.role), m.text) for m in self.messages if m.role in ("user", "assistant")]
        last = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=None)
        if last is None or not turns[last][1].strip() or len(turns[last][1]) > MAX_QUESTION_CHARS:
            return None
        return turns[last][1].strip(), turns[:last]


class CompletionUsage(BaseModel):
    """Token counts in OpenAI's shape."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """An OpenAI chat completion, with the answer's checked citations beside it."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: CompletionUsage
    citations: list[Citation] = Field(description="The same schema as /api/ask citations.")
    mode: str = Field(description="extractive, generated or fallback (see /api/ask).")


def completion(done: Finished) -> ChatCompletion:
    """The non-streamed completion of a finished answer."""
    message = {"role": "assistant", "content": done.answer.text}
    return ChatCompletion(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=MODEL_ID,
        choices=[{"index": 0, "message": message, "finish_reason": "stop"}],
        usage=_usage(done),
        citations=[Citation(**asdict(c)) for c in done.answer.citations],
        mode=done.answer.mode,
    )


def chunks(
    answerer: Answering, question: str, history: list[tuple[str, str]], top_k: int
) -> Iterator[str]:
    """The `data:` lines of a streamed completion, ending with `[DONE]`."""
    head = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL_ID,
    }
    yield _data({**head, "choices": [_choice({"role": "assistant", "content": ""})]})
    standalone = answerer.rewrite(question, history)
    for event in answerer.events(question, standalone, top_k):
        yield from _chunk(head, event)
    yield "data: [DONE]\n\n"


def _chunk(head: dict[str, Any], event: Event) -> Iterator[str]:
    if isinstance(event, Delta):
        yield _data({**head, "choices": [_choice({"content": event.text})]})
    elif isinstance(event, Finished):
        citations = [
            json.loads(Citation(**asdict(c)).model_dump_json()) for c in event.answer.citations
        ]
        yield _data(
            {
                **head,
                "choices": [_choice({}, "stop")],
                "usage": _usage(event).model_dump(),
                "citations": citations,
                "mode": event.answer.mode,
            }
        )


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish}


def _usage(done: Finished) -> CompletionUsage:
    prompt, written = (
        (done.usage.prompt_tokens, done.usage.completion_tokens) if done.usage else (0, 0)
    )
    return CompletionUsage(
        prompt_tokens=prompt, completion_tokens=written, total_tokens=prompt + written
    )


def _data(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def error_chunk(detail: str) -> str:
    """An error inside a stream, as OpenAI sends one (its client raises on it)."""
    return _data({"error": {"message": detail, "type": "server_error"}})
