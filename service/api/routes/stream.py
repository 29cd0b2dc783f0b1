"""POST /api/ask/stream: the answer as typed Server-Sent Events, passages first."""

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from service.api import sse
from service.api.deps import AnswererDep, SettingsDep, StoreDep
from service.api.schemas import AskRequest

router = APIRouter(prefix="/api", tags=["questions"])
NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
EVENTS_DOC = {200: {"description": sse.__doc__, "content": {"text/event-stream": {}}}}


@router.post("/ask/stream", response_class=StreamingResponse, responses=EVENTS_DOC)  # type: ignore[arg-type]
async def ask_stream(
    body: AskRequest, answerer: AnswererDep, store: StoreDep, settings: SettingsDep
) -> StreamingResponse:
    """Answer as Server-Sent Events: retrieval, delta..., citations, done (or error)."""
    await run_in_threadpool(store.require_ready)
    answerer.retriever = answerer.retriever.within(body.since, body.until)  # built per request
    history = [(str(t.role), t.content) for t in body.history]
    frames = sse.stream(answerer, body.question, history, body.top_k or settings.top_k)
    return StreamingResponse(frames, media_type="text/event-stream", headers=NO_BUFFERING)
