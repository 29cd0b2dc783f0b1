"""POST /v1/chat/completions and GET /v1/models: the service as an OpenAI-compatible model."""

import logging
import time
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from index.errors import IndexError_
from service.answering.answer import MAX_QUESTION_CHARS
from service.answering.errors import ServiceError
from service.answering.events import Answering
from service.api import openai_compat as compat
from service.api.deps import AnswererDep, SettingsDep, StoreDep
from service.api.errors import QuestionRejected
from service.api.routes.stream import NO_BUFFERING

router = APIRouter(prefix="/v1", tags=["openai"])
log = logging.getLogger(__name__)


@router.get("/models")
async def list_models() -> dict[str, object]:
    """The one model this service is: `newsrag`."""
    model = {
        "id": compat.MODEL_ID,
        "object": "model",
        "created": int(time.time()),
        "owned_by": "newsrag",
    }
    return {"object": "list", "data": [model]}


@router.post("/chat/completions", response_model=compat.ChatCompletion)
async def chat_completions(
    body: compat.ChatRequest, answerer: AnswererDep, store: StoreDep, settings: SettingsDep
) -> compat.ChatCompletion | StreamingResponse:
    """Answer the last user message from the articles, with `citations` beside the answer."""
    conversation = body.conversation()
    if conversation is None:
        limit = MAX_QUESTION_CHARS
        raise QuestionRejected(
            f"the last user message must be a question of 1 to {limit} characters"
        )
    await run_in_threadpool(store.require_ready)
    question, history = conversation
    if body.stream:
        chunks = _guarded(answerer, question, history, settings.top_k)
        return StreamingResponse(chunks, media_type="text/event-stream", headers=NO_BUFFERING)
    standalone = await run_in_threadpool(answerer.rewrite, question, history)
    done = await run_in_threadpool(answerer.complete, question, standalone, settings.top_k)
    return compat.completion(done)


def _guarded(
    answerer: Answering, question: str, history: list[tuple[str, str]], top_k: int
) -> Iterator[str]:
    """The chunks; a failure after the stream began becomes an OpenAI error chunk."""
    try:
        yield from compat.chunks(answerer, question, history, top_k)
    except (ServiceError, IndexError_) as exc:
        yield compat.error_chunk(str(exc))
    # The status line is already sent: this chunk is the only way left to tell the client.
    except Exception:
        log.exception("chat completion stream failed")
        yield compat.error_chunk("the answer failed; see the service log")
