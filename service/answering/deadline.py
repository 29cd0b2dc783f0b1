"""A request's deadline (`RAG_REQUEST_TIMEOUT`), set by the API for each request and kept by
the answering code: model calls get no more time than is left, and an answer past it stops
at its next step with `AnswerTimeout` (a 504), which frees the thread it ran in."""

import time
from contextvars import ContextVar

from service.answering.errors import AnswerTimeout

deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


def remaining(limit: float) -> float:
    """Seconds a step may take: `limit`, or less when the request's deadline is nearer."""
    end = deadline.get()
    return limit if end is None else max(0.0, min(limit, end - time.monotonic()))


def check() -> None:
    """Raise AnswerTimeout once the request's deadline has passed."""
    end = deadline.get()
    if end is not None and time.monotonic() > end:
        raise AnswerTimeout(
            "the answer took longer than RAG_REQUEST_TIMEOUT allows; ask again, or narrower"
        )
