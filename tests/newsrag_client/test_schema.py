"""The client's own models against the service's live /openapi.json: every field, its type and
whether it is required, for each model the client reads. A field renamed, retyped or made
optional on either side fails here."""

import copy
from typing import Any

import pytest
from pydantic import BaseModel

from newsrag_client import models
from tests.conftest import live_contract

# Every response model of the client, by its name in the service's components.
CLIENT_MODELS: list[type[BaseModel]] = [
    models.Passage,
    models.Citation,
    models.SearchHit,
    models.TokenUsage,
    models.AskResponse,
    models.SearchResponse,
    models.Health,
    models.ArticleSummary,
    models.ArticleDetail,
    models.ArticleWritten,
    models.RetrievalEvent,
    models.DeltaEvent,
    models.CitationsEvent,
    models.DoneEvent,
    models.ErrorEvent,
]


def shape(schema: dict[str, Any]) -> str:
    """A property's type, with descriptions, titles and examples left out."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1].removesuffix("-Output")
    if "anyOf" in schema:
        return " | ".join(sorted(shape(s) for s in schema["anyOf"]))
    if "enum" in schema:
        return "enum" + str(sorted(schema["enum"]))
    if "const" in schema:
        return f"const[{schema['const']}]"
    if schema.get("type") == "array":
        return f"array[{shape(schema.get('items', {}))}]"
    return str(schema.get("type", "any"))


def fields(schema: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Field -> (type, required) of one object schema."""
    required = set(schema.get("required", []))
    return {name: (shape(s), name in required) for name, s in schema["properties"].items()}


def mismatches(components: dict[str, Any]) -> list[str]:
    """How the client's models differ from the service's component schemas."""
    found = []
    for model in CLIENT_MODELS:
        name = model.__name__
        server = components.get(name) or components.get(f"{name}-Output")
        if server is None:
            found.append(f"{name}: not in the service's schemas")
            continue
        ours, theirs = fields(model.model_json_schema()), fields(server)
        for field in sorted(set(ours) | set(theirs)):
            if ours.get(field) != theirs.get(field):
                found.append(
                    f"{name}.{field}: client {ours.get(field)}, service {theirs.get(field)}"
                )
    return found


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    schemas: dict[str, Any] = live_contract().doc["components"]["schemas"]
    return schemas


def test_schema_client_models_match_the_live_openapi(components: dict[str, Any]) -> None:
    assert mismatches(components) == []


def test_schema_renamed_service_field_is_caught(components: dict[str, Any]) -> None:
    renamed = copy.deepcopy(components)
    ask = renamed["AskResponse"]
    ask["properties"]["verdict"] = ask["properties"].pop("answerable")
    ask["required"] = ["verdict" if f == "answerable" else f for f in ask["required"]]
    assert mismatches(renamed) == [
        "AskResponse.answerable: client ('boolean', True), service None",
        "AskResponse.verdict: client None, service ('boolean', True)",
    ]
