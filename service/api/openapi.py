"""The OpenAPI document: FastAPI's, with the schemas that routes name only by reference
(error bodies, stream events, completion chunks) added to its components, and without the
422 that FastAPI documents on /v1, where a bad request is a 400."""

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service.api import error_models, openai_compat, sse
from service.api.article_models import ArticleIn, BulkLine
from service.api.error_models import REF, is_openai

REFERENCED: list[type[BaseModel]] = [
    *error_models.SCHEMAS,
    *sse.EVENTS.values(),
    openai_compat.CompletionChunk,
    BulkLine,
]
# Request bodies read by hand (the article routes take JSON or a multipart upload).
READ: list[type[BaseModel]] = [ArticleIn]
_UNUSED = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI) -> None:
    """Serve this document at /openapi.json."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def build(app: FastAPI) -> dict[str, Any]:
    """The document of the app's routes."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            found = operation["responses"]
            # FastAPI's own 422 (a list of {loc, msg, type}) is never sent: ours is declared
            # where a body can fail, and /v1 answers 400.
            if is_openai(path) or "HTTPValidationError" in json.dumps(found.get("422", {})):
                found.pop("422", None)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    _merge(schemas, _referenced())
    for name in _UNUSED:
        if f'"{REF}{name}"' not in json.dumps(doc):
            schemas.pop(name, None)
    return doc


def _referenced() -> dict[str, Any]:
    _, top = models_json_schema(
        [(m, "serialization") for m in REFERENCED] + [(m, "validation") for m in READ],
        ref_template=REF + "{model}",
    )
    return dict(top.get("$defs", {}))


def _merge(schemas: dict[str, Any], extra: dict[str, Any]) -> None:
    """Add `extra` to `schemas`; a name FastAPI already used for another schema (openai's
    two `Choice` classes, say) is renamed in `extra` first."""
    renamed = {
        name: f"{name}_{index}"
        for index, (name, schema) in enumerate(extra.items())
        if name in schemas and _plain(schemas[name]) != _plain(schema)
    }
    text = json.dumps(extra)
    for old, new in renamed.items():
        text = text.replace(f'"{REF}{old}"', f'"{REF}{new}"')
    for name, schema in json.loads(text).items():
        schemas.setdefault(renamed.get(name, name), schema)


def _plain(schema: Any) -> Any:
    """A schema without its `default`s, which FastAPI leaves out of response schemas."""
    if isinstance(schema, dict):
        return {k: _plain(v) for k, v in schema.items() if k != "default"}
    if isinstance(schema, list):
        return [_plain(v) for v in schema]
    return schema
