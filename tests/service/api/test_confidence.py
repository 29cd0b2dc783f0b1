"""Every answer carries its confidence (the calibrated chance it is right), and every
answering route takes `min_confidence`: /api/ask, its stream, /v1/chat/completions (an
extension field both ways) and the Python client. Below it the answer is a refusal."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsrag_client import NewsRAG
from service.answering.confidence import Calibration, fit
from tests.service.api.test_stream import collect

FLEET = "Where is the Russian Baltic Fleet based?"


def ask(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/ask", json={"question": FLEET, **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_ask_answers_with_its_confidence_and_refuses_below_min_confidence(
    client: TestClient,
) -> None:
    answered = ask(client)
    assert answered["answerable"] and 0.0 < answered["confidence"] <= 1.0
    assert ask(client, min_confidence=0.0)["answer"] == answered["answer"]
    refused = ask(client, min_confidence=1.0)
    assert not refused["answerable"] and refused["citations"] == []
    # The refusal says how likely the passage it did not give would have been to answer.
    assert refused["confidence"] == answered["confidence"]


def test_min_confidence_outside_zero_to_one_is_refused_in_words(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": FLEET, "min_confidence": 1.5})
    assert response.status_code == 422
    assert "min_confidence" in response.text


def test_stream_final_event_carries_confidence_and_honours_min_confidence(
    client: TestClient,
) -> None:
    events = collect(client, {"question": FLEET})
    citations = dict(events)["citations"]
    assert citations["answerable"] and 0.0 < citations["confidence"] <= 1.0
    refused = dict(collect(client, {"question": FLEET, "min_confidence": 1.0}))["citations"]
    assert not refused["answerable"] and refused["confidence"] == citations["confidence"]


def test_openai_endpoint_carries_confidence_and_takes_min_confidence(client: TestClient) -> None:
    body = {"model": "newsrag", "messages": [{"role": "user", "content": FLEET}]}
    answered = client.post("/v1/chat/completions", json=body).json()
    assert 0.0 < answered["confidence"] <= 1.0
    strict = {**body, "newsrag": {"min_confidence": 1.0}}
    refused = client.post("/v1/chat/completions", json=strict).json()
    assert refused["choices"][0]["message"]["content"] == "The articles don't say."
    assert refused["confidence"] == answered["confidence"]
    with client.stream("POST", "/v1/chat/completions", json={**strict, "stream": True}) as r:
        chunks = [line for line in r.iter_lines() if line.startswith("data: {")]
    assert '"confidence":' in chunks[-1]


def test_python_client_reads_confidence_and_sends_min_confidence(client: TestClient) -> None:
    api = NewsRAG(http=client)  # the session's app; not closed here
    answered = api.ask(FLEET)
    assert answered.answerable and answered.confidence > 0.0
    assert not api.ask(FLEET, min_confidence=1.0).answerable


def test_platt_fit_follows_the_rows_and_runs_both_ways() -> None:
    supports = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] * 4
    right = [s > 0.5 or (s == 0.5 and n % 2 == 0) for n, s in enumerate(supports)]
    fitted = fit(supports, right)
    assert fitted.slope > 1.0
    assert fitted.confidence(0.9) > 0.9 and fitted.confidence(0.1) < 0.1
    assert fitted.support(fitted.confidence(0.42)) == pytest.approx(0.42, abs=1e-6)
    assert Calibration().confidence(0.3) == pytest.approx(0.3)
    assert Calibration().confidence(0.0) == 0.0
