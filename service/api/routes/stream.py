"""POST /api/ask/stream: the answer as typed Server-Sent Events, passages first."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from fastapi.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from service.api import sse
from service.api.admission import admit
from service.api.deps import AskingDep, SettingsDep
from service.api.error_models import responses
from service.api.schemas import AskRequest

router = APIRouter(prefix="/api", tags=["questions"])
EVENTS_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events, one of each type below per `event:` line: "
        "retrieval, delta..., citations, done (or error instead of the rest); `: ping` "
        "comments every RAG_SSE_PING seconds while the model works.",
        "content": {"text/event-stream": {"itemSchema": sse.item_schema()}},
    }
}


@router.post(
    "/ask/stream",
    # Not EventSourceResponse: FastAPI would then take the route for a generator endpoint.
    response_class=StreamingResponse,
    responses={**EVENTS_DOC, **responses(400, 408, 413, 422, 500, 503)},
)
async def ask_stream(
    body: AskRequest, asking: AskingDep, settings: SettingsDep
) -> EventSourceResponse:
    """Answer as Server-Sent Events: retrieval, delta..., citations, done (or error)."""
    await run_in_threadpool(asking.ready)
    ticket = admit()  # 429 now, before the stream starts, when the queue is full
    return sse.respond(sse.stream(asking.events(body.question_asked())), settings.sse_ping, ticket)
