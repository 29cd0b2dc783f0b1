"""The one place where errors become HTTP responses.

The answering errors (`service.answering.errors`, base ServiceError) and the index errors
(`index.errors`) map here: QuestionRejected, raised by the routes for a question that
cannot be answered as asked, is a 422; IndexNotReady and StoreUnavailable are 503s (a dead
or empty dependency); anything else raised on purpose is a 500 with a plain message.
"""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from index.errors import IndexError_, IndexNotReady, StoreUnavailable, UnreadableArticle
from index.ingest import ArticleConflict, ArticleNotFound, ArticleTooLarge
from service.answering.errors import ServiceError
from service.api.middleware import SECURITY_HEADERS

log = logging.getLogger(__name__)


class QuestionRejected(ServiceError):
    """The question is well-formed JSON but cannot be answered as asked."""


_STATUS: list[tuple[type[Exception], int]] = [
    (QuestionRejected, 422),
    (UnreadableArticle, 422),
    (ArticleNotFound, 404),
    (ArticleConflict, 409),
    (ArticleTooLarge, 413),
    (IndexNotReady, 503),
    (StoreUnavailable, 503),
]


def status_for(exc: Exception) -> int:
    """The HTTP status of an error raised on purpose."""
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)


def field_message(error: dict[str, object]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body",)]  # type: ignore[attr-defined]
    where = ".".join(loc) or "request body"
    msg = str(error.get("msg", "is invalid"))
    if error.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    if error.get("type") == "missing":
        return f"{where}: this field is required"
    if error.get("type") == "extra_forbidden":
        return f"{where}: unknown field (allowed fields are listed in /docs)"
    return f"{where}: {msg.removeprefix('Value error, ')}"


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    messages = [field_message(e) for e in exc.errors()]
    return JSONResponse(
        status_code=422, content={"detail": "; ".join(messages), "errors": messages}
    )


async def _domain_handler(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(status_code=status, content={"detail": str(exc)}, headers=headers)


async def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    # Starlette calls this outside every middleware, so it adds the security headers itself;
    # the traceback goes to the log, never to the client.
    log.error("request failed", exc_info=exc, extra={"path": request.url.path})
    return JSONResponse(
        status_code=500,
        content={"detail": "the service failed on this request; the failure is in its log"},
        headers=SECURITY_HEADERS,
    )


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(ServiceError, _domain_handler)
    app.add_exception_handler(IndexError_, _domain_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
