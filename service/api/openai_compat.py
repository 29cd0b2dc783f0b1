"""The service as an OpenAI-compatible chat model: the request it reads, and the translation
of answer events into `openai.types` completions and completion chunks.

The last user message is the question and earlier user and assistant messages are the
conversation (system messages are ignored: the service has its own prompt). What a request
asks for that the service cannot give (several choices, tools, a JSON format) is refused
with a 400 naming the field, never ignored. The checked citations travel beside the answer
in a top-level `citations` field, with the same schema as /api/ask, on the completion and on
the chunk that ends the answer; the completion's message also carries them as
`url_citation` annotations.
"""

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi.sse import ServerSentEvent
from openai.types import CompletionUsage, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta
from openai.types.chat.chat_completion_message import Annotation, AnnotationURLCitation
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from service.answering.answer import MAX_QUESTION_CHARS
from service.answering.asking import Question
from service.answering.events import Delta, Event, Finished, Sampling
from service.api.schemas import (
    CONFIDENCE_DESCRIPTION,
    MAX_TURN_CHARS,
    Citation,
    MinConfidence,
    unicode_text,
)

MODEL_ID = "newsrag"
_MARKER = re.compile(r"\[(\d+)\]")
Mode = Literal["extractive", "generated", "fallback"]


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


class NewsragOptions(BaseModel):
    """Retrieval options of /api/ask, sent as `extra_body={"newsrag": {...}}` by OpenAI's
    clients."""

    model_config = ConfigDict(extra="forbid")

    top_k: Annotated[StrictInt, Field(ge=1, le=20)] | None = Field(
        None, description="Passages to retrieve (1-20); RAG_TOP_K without it."
    )
    since: date | None = Field(None, description="Only articles published on or after this date.")
    until: date | None = Field(None, description="Only articles published on or before this date.")
    min_confidence: MinConfidence = None


class StreamOptions(BaseModel):
    """OpenAI's stream options."""

    include_usage: StrictBool = Field(
        False, description="Send a last chunk with the token usage and no choices."
    )


class ResponseFormat(BaseModel):
    """OpenAI's response format; only `text` is written here."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`text`; `json_object` and `json_schema` are refused.")


def _refuse(field: str, value: object, why: str) -> None:
    raise ValueError(f"{why} ({field}={value!r} is not supported)")


class ChatRequest(BaseModel):
    """An OpenAI chat completion request.

    Honoured: `messages`, `stream`, `stream_options.include_usage`, and with a model backend
    `temperature`, `max_tokens` / `max_completion_tokens` (at most RAG_LLM_MAX_TOKENS) and
    `stop`; the extractive backend quotes whole sentences and has no use for the last three.
    Refused with a 400: `n` above 1, `tools`, `functions`, a `tool_choice` that calls one,
    a `response_format` other than text, `logprobs`. Other OpenAI fields (`user`, `seed`,
    `top_p`, penalties, `metadata`...) are accepted and have no effect.
    """

    # OpenAI clients and tools send many optional fields; those that would change what is
    # written are refused below, the rest cannot change an answer and are let through.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [
                        {"role": "user", "content": "Where is the Russian Baltic Fleet based?"}
                    ],
                    "newsrag": {"top_k": 5, "since": "2025-01-01"},
                }
            ]
        },
    )

    model: str = Field(MODEL_ID, description="`newsrag`, the one model (GET /v1/models).")
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=100)]
    stream: StrictBool = Field(False, description="Send chunks as Server-Sent Events.")
    stream_options: StreamOptions | None = Field(None, description="With `stream` only.")
    temperature: Annotated[float, Field(ge=0, le=2)] | None = Field(
        None, description="Sampling temperature of the model backends (RAG_LLM_TEMPERATURE)."
    )
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = Field(
        None, description="Most tokens the model writes; lowers RAG_LLM_MAX_TOKENS."
    )
    max_completion_tokens: Annotated[StrictInt, Field(ge=1)] | None = Field(
        None, description="The same as max_tokens (OpenAI's newer name)."
    )
    stop: str | Annotated[list[str], Field(max_length=4)] | None = Field(
        None, description="Up to 4 sequences at which the model stops writing."
    )
    n: StrictInt | None = Field(None, description="Choices to write: only 1.")
    tools: list[dict[str, Any]] | None = Field(None, description="Refused: no tool calls.")
    functions: list[dict[str, Any]] | None = Field(None, description="Refused: no tool calls.")
    tool_choice: str | dict[str, Any] | None = Field(None, description="`none` or `auto` only.")
    response_format: ResponseFormat | None = Field(None, description="`text` only.")
    logprobs: StrictBool | None = Field(None, description="Refused when true.")
    newsrag: NewsragOptions | None = Field(
        None, description="Retrieval options (top_k, since, until), an extension of ours."
    )

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int | None) -> int | None:
        if n is not None and n != 1:
            _refuse("n", n, "one choice is written per request; send the request again for more")
        return n

    @field_validator("tools", "functions")
    @classmethod
    def _no_tools(
        cls, tools: list[dict[str, Any]] | None, info: ValidationInfo
    ) -> list[dict[str, Any]] | None:
        if tools:
            name = str(info.field_name)
            _refuse(name, f"{len(tools)} given", "the service answers from its articles alone")
        return tools

    @field_validator("tool_choice")
    @classmethod
    def _no_tool_choice(cls, choice: str | dict[str, Any] | None) -> object:
        if choice not in (None, "none", "auto"):
            _refuse("tool_choice", choice, "the service calls no tools")
        return choice

    @field_validator("response_format")
    @classmethod
    def _text_only(cls, form: ResponseFormat | None) -> ResponseFormat | None:
        if form is not None and form.type != "text":
            _refuse("response_format", form.type, "answers are text with [n] citation markers")
        return form

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, logprobs: bool | None) -> bool | None:
        if logprobs:
            _refuse("logprobs", logprobs, "answers are checked sentences, not sampled tokens")
        return logprobs

    def conversation(self) -> tuple[str, list[tuple[str, str]]] | None:
        """(question, history) from the messages; None without a user message."""
        turns = [(str(m.role), m.text) for m in self.messages if m.role in ("user", "assistant")]
        last = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=None)
        if last is None or not turns[last][1].strip() or len(turns[last][1]) > MAX_QUESTION_CHARS:
            return None
        return turns[last][1].strip(), turns[:last]

    def sampling(self) -> Sampling:
        """The sampling options for the model backends."""
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        limit = self.max_completion_tokens or self.max_tokens
        return Sampling(temperature=self.temperature, max_tokens=limit, stop=stop)

    def question_asked(self) -> Question | None:
        """The question with its conversation and options; None without a user message."""
        conversation = self.conversation()
        if conversation is None:
            return None
        options = self.options()
        text, history = conversation
        return Question(
            text,
            history,
            options.top_k,
            options.since,
            options.until,
            self.sampling(),
            options.min_confidence,
        )

    def options(self) -> NewsragOptions:
        """The retrieval options, defaults when none were sent."""
        return self.newsrag or NewsragOptions()


class Completion(ChatCompletion):
    """An OpenAI chat completion, with the answer's checked citations beside it."""

    citations: list[Citation] = Field(description="The same schema as /api/ask citations.")
    mode: Mode = Field(description="extractive, generated or fallback (see /api/ask).")
    confidence: float = Field(ge=0.0, le=1.0, description=CONFIDENCE_DESCRIPTION)


class CompletionChunk(ChatCompletionChunk):
    """An OpenAI chat completion chunk; the one that ends the answer carries its citations."""

    citations: list[Citation] | None = Field(
        None, description="On the chunk with finish_reason only: every passage cited."
    )
    mode: Mode | None = Field(None, description="On the chunk with finish_reason only.")
    confidence: float | None = Field(
        None, ge=0.0, le=1.0, description="On the chunk with finish_reason only: as /api/ask's."
    )


class ModelList(BaseModel):
    """OpenAI's list of models: this service is one."""

    object: Literal["list"] = "list"
    data: list[Model] = Field(description="One model: newsrag.")


def completion(done: Finished, article_url: str) -> Completion:
    """The non-streamed completion of a finished answer; `article_url` is the address of
    /api/articles/ on this service, for the annotations."""
    message = ChatCompletionMessage(
        role="assistant", content=done.answer.text, annotations=annotations(done, article_url)
    )
    return Completion(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        object="chat.completion",
        created=int(time.time()),
        model=MODEL_ID,
        choices=[Choice(index=0, message=message, finish_reason="stop")],
        usage=_usage(done),
        citations=[Citation(**asdict(c)) for c in done.answer.citations],
        mode=done.answer.mode,
        confidence=done.answer.confidence,
    )


def annotations(done: Finished, article_url: str) -> list[Annotation]:
    """One `url_citation` per `[n]` marker: its span in the answer, the cited article's
    title, and the article's address on this service (its text, where `start`/`end` of the
    citation locate the quote; its original address, when known, is that record's `url`)."""
    cited = {c.n: c for c in done.answer.citations}
    return [
        Annotation(
            type="url_citation",
            url_citation=AnnotationURLCitation(
                start_index=m.start(),
                end_index=m.end(),
                title=cited[int(m.group(1))].title,
                url=article_url + cited[int(m.group(1))].article_id,
            ),
        )
        for m in _MARKER.finditer(done.answer.text)
        if int(m.group(1)) in cited
    ]


def chunks(events: Iterator[Event], include_usage: bool) -> Iterator[ServerSentEvent]:
    """The events of a streamed completion of an answer's events (`Asking.events`), ending
    with `[DONE]`."""
    head: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL_ID,
        **({"usage": None} if include_usage else {}),
    }
    yield _event(head, [_choice(ChoiceDelta(role="assistant", content=""))])
    for event in events:
        yield from _chunk(head, event, include_usage)
    yield ServerSentEvent(raw_data="[DONE]")


def _chunk(head: dict[str, Any], event: Event, include_usage: bool) -> Iterator[ServerSentEvent]:
    if isinstance(event, Delta):
        yield _event(head, [_choice(ChoiceDelta(content=event.text))])
    elif isinstance(event, Finished):
        citations = [Citation(**asdict(c)) for c in event.answer.citations]
        end = [_choice(ChoiceDelta(), "stop")]
        answer = event.answer
        yield _event(head, end, citations=citations, mode=answer.mode, confidence=answer.confidence)
        if include_usage:
            yield _event({**head, "usage": _usage(event)}, [])


def _event(head: dict[str, Any], choices: list[ChunkChoice], **extra: Any) -> ServerSentEvent:
    chunk = CompletionChunk(**head, choices=choices, **extra)
    return ServerSentEvent(raw_data=chunk.model_dump_json(exclude_unset=True))


def _choice(delta: ChoiceDelta, finish: Literal["stop"] | None = None) -> ChunkChoice:
    return ChunkChoice(index=0, delta=delta, finish_reason=finish)


def _usage(done: Finished) -> CompletionUsage:
    prompt, written = (
        (done.usage.prompt_tokens, done.usage.completion_tokens) if done.usage else (0, 0)
    )
    return CompletionUsage(
        prompt_tokens=prompt, completion_tokens=written, total_tokens=prompt + written
    )


def stream_schema() -> dict[str, Any]:
    """The OpenAPI `itemSchema` of a streamed completion: chunks, an error, then `[DONE]`."""
    return {
        "oneOf": [
            {"type": "object", "required": ["data"], "properties": {"data": _json(name)}}
            for name in ("CompletionChunk", "OpenAIError")
        ]
        + [{"type": "object", "required": ["data"], "properties": {"data": {"const": "[DONE]"}}}]
    }


def _json(model: str) -> dict[str, Any]:
    return {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": {"$ref": "#/components/schemas/" + model},
    }
