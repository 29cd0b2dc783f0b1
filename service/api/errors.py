"""The one place where errors become HTTP responses.

The answering errors (`service.answering.errors`, base ServiceError) and the index errors
(`index.errors`) map here: QuestionRejected, raised by the routes for a question that
cannot be answered as asked, is a 422; IndexNotReady and StoreUnavailable are 503s (a dead
or empty dependency); anything else raised on purpose is a 500 with a plain message.
Bodies are built by `error_models`: `{"detail"}` on /api, OpenAI's envelope on /v1, where a
422 is a 400 as OpenAI's clients expect.
"""

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from index.errors import (
    ArticleConflict,
    ArticleIdHeld,
    ArticleNotFound,
    ArticleTooLarge,
    IndexError_,
    IndexNotReady,
    StoreUnavailable,
    UnreadableArticle,
)
from index.logs import request_id
from service.answering.errors import AnswerTimeout, ServiceError
from service.api.error_models import error_body, is_openai, openai_body, openai_status
from service.api.middleware import SECURITY_HEADERS

log = logging.getLogger(__name__)


class QuestionRejected(ServiceError):
    """The question is well-formed JSON but cannot be answered as asked."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ModelNotFound(ServiceError):
    """A /v1 request names a model other than `newsrag`."""

    param = "model"
    code = "model_not_found"

    def __init__(self, model: str) -> None:
        super().__init__(f"the model {model!r} does not exist; this service is 'newsrag'")


_STATUS: list[tuple[type[Exception], int]] = [
    (QuestionRejected, 422),
    (UnreadableArticle, 422),
    (ArticleNotFound, 404),
    (ModelNotFound, 404),
    (ArticleConflict, 409),
    (ArticleTooLarge, 413),
    (AnswerTimeout, 504),
    (IndexNotReady, 503),
    (StoreUnavailable, 503),
]


def status_for(exc: Exception) -> int:
    """The HTTP status of an error raised on purpose."""
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)


def detail_for(exc: Exception) -> str:
    """What the client is told of an error raised on purpose: its own words, and the
    request that resolves it where there is one."""
    if isinstance(exc, ArticleIdHeld):
        return f"{exc}: replace it with PUT /api/articles/{exc.article_id}"
    if isinstance(exc, ArticleNotFound):
        return f"{exc}; see /api/articles"
    return str(exc)


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
    found = exc.errors()
    messages = [field_message(e) for e in found]
    if is_openai(request.url.path):
        loc = [str(p) for p in found[0].get("loc", ()) if p != "body"] if found else []
        body = openai_body(400, "; ".join(messages), param=".".join(loc) or None)
        return JSONResponse(status_code=400, content=body)
    return JSONResponse(
        status_code=422, content=error_body(request.url.path, 422, "; ".join(messages), messages)
    )


# FastAPI's answer to a body its JSON parser raised on with anything but a JSONDecodeError.
_UNPARSED = "There was an error parsing the body"


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSED:
        return _respond(request, 422, unparsed_body(exc.__cause__))
    return _respond(request, exc.status_code, str(exc.detail), exc.headers)


def unparsed_body(cause: BaseException | None) -> str:
    """In words, why a body could not be parsed: the 422 of every route that reads JSON
    (FastAPI's own answer was a 400 without a reason, where /api/articles said 422)."""
    if isinstance(cause, UnicodeError):
        return (
            "the request body is not valid JSON: it is not UTF-8 text (a compressed body is "
            "not read; send it plain)"
        )
    if isinstance(cause, RecursionError):
        return "the request body is not valid JSON: it is nested too deeply"
    return "the request body is not valid JSON"


async def _domain_handler(request: Request, exc: Exception) -> JSONResponse:
    return _respond(
        request,
        status_for(exc),
        detail_for(exc),
        param=getattr(exc, "param", None),
        code=getattr(exc, "code", None),
    )


def _respond(
    request: Request,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    param: str | None = None,
    code: str | None = None,
) -> JSONResponse:
    if status == 503:
        headers = {**(headers or {}), "Retry-After": "5"}
    if is_openai(request.url.path):
        status = openai_status(status)
        body = openai_body(status, message, param, code)
    else:
        body = error_body(request.url.path, status, message)
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    # Starlette calls this outside every middleware, so it adds the security headers itself;
    # the traceback goes to the log, never to the client.
    log.error("request failed", exc_info=exc, extra={"path": request.url.path})
    current = request_id.get()
    return JSONResponse(
        status_code=500,
        content=error_body(
            request.url.path, 500, "the service failed on this request; the failure is in its log"
        ),
        headers={**SECURITY_HEADERS, **({"X-Request-ID": current} if current else {})},
    )


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(HTTPException, _http_handler)
    app.add_exception_handler(ServiceError, _domain_handler)
    app.add_exception_handler(IndexError_, _domain_handler)
    app.add_exception_handler(Exception, _unexpected_handler)
