"""Errors the service raises, and the one place where they become HTTP responses.

    ServiceError (base)
    ├── QuestionRejected   the question cannot be answered as asked (422)
    ├── PromptError        a prompt file is missing, malformed or has wrong variables
    │                      (service.prompts; stops the start)
    ├── BackendError       the configured answer backend cannot be set up (service.llm)
    └── LLMError           the language model failed (service.llm): LLMUnavailable,
                           LLMTimeout. Never reaches a client: the answer falls back to
                           the extractive one with mode=fallback.

Errors from the index package map here too: IndexNotReady and StoreUnavailable are 503s
(a dead or empty dependency), ManifestError is a 500 with a plain message.
"""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from index.errors import IndexError_, IndexNotReady, StoreUnavailable


class ServiceError(Exception):
    """Base class for errors raised by the service on purpose."""

    status_code = 500


class QuestionRejected(ServiceError):
    """The question is well-formed JSON but cannot be answered as asked."""

    status_code = 422


def _status_for(exc: Exception) -> int:
    if isinstance(exc, ServiceError):
        return exc.status_code
    if isinstance(exc, (IndexNotReady, StoreUnavailable)):
        return 503
    return 500


def _field_message(error: dict[str, object]) -> str:
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
    messages = [_field_message(e) for e in exc.errors()]
    return JSONResponse(
        status_code=422, content={"detail": "; ".join(messages), "errors": messages}
    )


async def _domain_handler(request: Request, exc: Exception) -> JSONResponse:
    status = _status_for(exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(status_code=status, content={"detail": str(exc)}, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(ServiceError, _domain_handler)
    app.add_exception_handler(IndexError_, _domain_handler)
