"""The bodies of error responses, one shape for each audience, and the OpenAPI entries that
document them.

`/api/*` and `/health` answer `{"detail": "<sentence>"}` (FastAPI's shape), and a 422 adds
`errors`, one sentence per problem. `/v1/*` answers as OpenAI does,
`{"error": {"message", "type", "param", "code"}}`, with 400 for a bad request. The
middleware, the exception handlers and the schema all build them here, so that what the
schema says is what every layer sends.
"""

from typing import Any

from openai.types.shared import ErrorObject
from pydantic import BaseModel, Field

OPENAI_PREFIX = "/v1/"
REF = "#/components/schemas/"


class ErrorDetail(BaseModel):
    """What went wrong, as a sentence a person can act on."""

    detail: str = Field(description="What went wrong and, where it helps, what to do instead.")


class InvalidRequest(ErrorDetail):
    """The request is malformed; `detail` joins the problems, `errors` lists them."""

    errors: list[str] = Field(
        description="One sentence per problem, each naming its field "
        "(`question: must not be empty or only spaces`)."
    )


class OpenAIError(BaseModel):
    """OpenAI's error envelope, which its clients read into typed exceptions."""

    error: ErrorObject = Field(description="message, type, param (the field at fault), code.")


# OpenAI's error type and code for each status it uses.
_OPENAI_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "insufficient_permissions"),
    429: ("requests", "rate_limit_exceeded"),
    504: ("server_error", "timeout"),
    404: ("invalid_request_error", "not_found"),
    408: ("invalid_request_error", "timeout"),
    413: ("invalid_request_error", "request_too_large"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}


def is_openai(path: str) -> bool:
    """Whether the path is one of the OpenAI-compatible routes."""
    return path.startswith(OPENAI_PREFIX)


def openai_body(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The OpenAI error envelope for a status."""
    kind, default_code = _OPENAI_KINDS.get(status, ("invalid_request_error", None))
    return {
        "error": {"message": message, "type": kind, "param": param, "code": code or default_code}
    }


def error_body(path: str, status: int, message: str, problems: list[str] | None = None) -> Any:
    """The error body a request to `path` gets: OpenAI's envelope under /v1 (422 becomes
    400 there), ours elsewhere (with `errors` on a 422)."""
    if is_openai(path):
        return openai_body(status, message)
    if status == 422:
        return InvalidRequest(detail=message, errors=problems or [message]).model_dump()
    return ErrorDetail(detail=message).model_dump()


def openai_status(status: int) -> int:
    """OpenAI answers a malformed request with 400, not 422."""
    return 400 if status == 422 else status


DESCRIPTIONS = {
    400: "The request is malformed, or its Host is not one the service answers to",
    401: "No API key, or an unknown one (RAG_API_KEYS is set)",
    403: "The API key lacks this route's scope",
    429: "Too many requests from this caller (RAG_RATE_LIMIT); retry after Retry-After",
    504: "The answer took longer than RAG_REQUEST_TIMEOUT",
    404: "No such article",
    408: "The request body did not arrive within RAG_BODY_TIMEOUT",
    409: "The id belongs to other content, or to an article of the seeds folder",
    413: "The request body or the article is over its size limit",
    415: "The uploaded file is not .txt, .md or .html",
    422: "The request is malformed: `detail` says what is wrong, `errors` each problem",
    500: "The service failed; the failure is in its log",
    503: "The store cannot be reached, or the index is missing or empty; retry later",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": 'How to authenticate: `Bearer realm="newsrag"`.',
            "schema": {"type": "string"},
        }
    },
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}


def responses(*statuses: int, openai: bool = False, **described: str) -> dict[int | str, Any]:
    """OpenAPI `responses` entries for these error statuses; `described` overrides a
    description by status (`s404="No such model"`)."""
    entries: dict[int | str, Any] = {}
    for status in statuses:
        model = "OpenAIError" if openai else "InvalidRequest" if status == 422 else "ErrorDetail"
        entry: dict[str, Any] = {
            "description": described.get(f"s{status}", DESCRIPTIONS[status]),
            "content": {"application/json": {"schema": {"$ref": REF + model}}},
        }
        if status in HEADERS:
            entry["headers"] = HEADERS[status]
        entries[status] = entry
    return entries


SCHEMAS: list[type[BaseModel]] = [ErrorDetail, InvalidRequest, OpenAIError]
