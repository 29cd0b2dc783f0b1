"""POST /v1/chat/completions, GET /v1/models: the service as an OpenAI-compatible model."""

import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from openai.types import Model
from starlette.concurrency import run_in_threadpool

from index.errors import IndexError_
from service.answering.answer import MAX_QUESTION_CHARS
from service.answering.errors import ServiceError
from service.answering.events import Event
from service.api import openai_compat as compat
from service.api import sse
from service.api.admission import admit, within_deadline
from service.api.deps import AskingDep, SettingsDep
from service.api.error_models import openai_body, responses
from service.api.errors import ModelNotFound, QuestionRejected

router = APIRouter(prefix="/v1", tags=["openai"])
log = logging.getLogger(__name__)
STARTED = int(time.time())
COMPLETION_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A completion; with `stream`, Server-Sent Events of `data:` chunks "
        "ending with `data: [DONE]` (and `: ping` comments while the model works).",
        "content": {"text/event-stream": {"itemSchema": compat.stream_schema()}},
    }
}


def _model() -> Model:
    return Model(id=compat.MODEL_ID, object="model", created=STARTED, owned_by="newsrag")


@router.get("/models", response_model=compat.ModelList, responses=responses(400, 500, openai=True))
async def list_models() -> compat.ModelList:
    """The one model this service is: `newsrag`."""
    return compat.ModelList(data=[_model()])


@router.get(
    "/models/{model}",
    response_model=Model,
    responses=responses(400, 404, 500, openai=True, s404="No such model"),
)
async def retrieve_model(model: str) -> Model:
    """The model `newsrag`; any other name is a 404."""
    if model != compat.MODEL_ID:
        raise ModelNotFound(model)
    return _model()


@router.post(
    "/chat/completions",
    response_model=compat.Completion,
    responses={
        **COMPLETION_DOC,
        **responses(400, 404, 408, 413, 500, 503, 504, openai=True, s404="No such model"),
    },
)
async def create_chat_completion(
    body: compat.ChatRequest, request: Request, asking: AskingDep, settings: SettingsDep
) -> compat.Completion | EventSourceResponse:
    """Answer the last user message from the articles, with `citations` beside the answer."""
    if body.model != compat.MODEL_ID:
        raise ModelNotFound(body.model)
    question = body.question_asked()
    if question is None:
        limit = MAX_QUESTION_CHARS
        raise QuestionRejected(
            f"the last user message must be a question of 1 to {limit} characters", "messages"
        )
    await run_in_threadpool(asking.ready)
    if body.stream:
        usage = bool(body.stream_options and body.stream_options.include_usage)
        ticket = admit()  # waits its turn in this worker's queue, like every other answer
        return sse.respond(_guarded(asking.events(question), usage), settings.sse_ping, ticket)
    standalone = await within_deadline(asking.rewrite, question)
    done = await within_deadline(asking.complete, question, standalone)
    return compat.completion(done, f"{request.base_url}api/articles/")


def _guarded(events: Iterator[Event], include_usage: bool) -> Iterator[ServerSentEvent]:
    """The chunks; a failure after the stream began becomes an OpenAI error event (its
    client raises on it)."""
    try:
        yield from compat.chunks(events, include_usage)
    except (ServiceError, IndexError_) as exc:
        yield ServerSentEvent(data=openai_body(500, str(exc)))
    # The status line is already sent: this event is the only way left to tell the client.
    except Exception:
        log.exception("chat completion stream failed")
        yield ServerSentEvent(data=openai_body(500, "the answer failed; see the service log"))
