"""Schemathesis over the live OpenAPI schema: every operation is called with data generated
from its schema, valid and not, against the app served on loopback over a throwaway index.
No response may be a 5xx, and every response must match what the schema documents (status,
content type, body and headers). Prints what it tried and what held."""

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from index.build import sync
from index.embed import Embedder
from index.store import open_store
from service.api.app import create_app
from tests.conftest import SEEDS, make_settings
from tests.processes import serve

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Enough to reach every branch of the small schemas, bounded for a 2-core machine.
EXAMPLES = 25


@schemathesis.serializer("application/x-ndjson")
def ndjson_lines(ctx: Any, value: Any) -> bytes:
    """The bulk route's body: one JSON value a line (a generated list is several lines)."""
    items = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    settings = make_settings(SEEDS, tmp_path_factory.mktemp("fuzz"), log_level="WARNING")
    sync(settings, open_store(settings), embedder)
    with serve(create_app(settings, embedder)) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def live_schema(live: str) -> Any:
    return schemathesis.openapi.from_url(f"{live}/openapi.json", wait_for_schema=30)


def operations(live_schema: Any) -> list[Any]:
    return [result.ok() for result in live_schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzz_no_5xx_and_every_response_as_documented(live_schema: Any, mode: Any) -> None:
    """Each operation in turn: valid data (positive) or data its schema forbids (negative)."""
    tried: Counter[str] = Counter()
    cases = [
        (op, media)
        for op in operations(live_schema)
        for media in [body.media_type for body in op.body] or [None]
    ]
    for operation, media in cases:

        @hypothesis.given(operation.as_strategy(mode, media_type=media))
        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,  # the same cases on every run: a failure can be replayed
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        def check(case: Any) -> None:
            response = case.call(timeout=60)
            kind = case.media_type or ""
            tried[f"{case.operation.label} {kind} -> {response.status_code}"] += 1
            assert response.status_code < 500, f"{case.operation.label}: {response.text[:500]}"
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except hypothesis.errors.Unsatisfiable:
            # Nothing to break: an operation without parameters or body (GET /health).
            assert mode == GenerationMode.NEGATIVE
            tried[f"{operation.label}: no input to make invalid"] += 0
    print(f"{mode.value} cases, by operation and status:")
    print("\n".join(f"{n:4} {label}" for label, n in sorted(tried.items())))
    assert sum(tried.values()) >= EXAMPLES
