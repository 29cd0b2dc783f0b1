"""POST /api/ask: a question in, an answer with checked citations out."""

from dataclasses import asdict

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from service.answering.answer import Answer
from service.answering.events import Usage
from service.api.admission import within_deadline
from service.api.deps import AskingDep
from service.api.error_models import responses
from service.api.schemas import AskRequest, AskResponse, Citation, TokenUsage

router = APIRouter(prefix="/api", tags=["questions"])


def to_response(answer: Answer, usage: Usage | None = None) -> AskResponse:
    """The HTTP shape of an answer."""
    return AskResponse(
        question=answer.question,
        standalone_question=answer.standalone_question,
        answer=answer.text,
        answerable=answer.answerable,
        reason=answer.reason,
        mode=answer.mode,
        citations=[Citation(**asdict(c)) for c in answer.citations],
        confidence=answer.confidence,
        usage=TokenUsage(**asdict(usage)) if usage else None,
    )


@router.post(
    "/ask", response_model=AskResponse, responses=responses(400, 408, 413, 422, 500, 503, 504)
)
async def ask(body: AskRequest, asking: AskingDep) -> AskResponse:
    """Answer a question from the articles; every sentence cites its passage."""
    await run_in_threadpool(asking.ready)
    question = body.question_asked()
    standalone = await within_deadline(asking.rewrite, question)
    done = await within_deadline(asking.complete, question, standalone)
    return to_response(done.answer, done.usage)
