"""The trained reader (`make train-reader`, which `make test` runs first): it loads, reads a
question beside candidate sentences, finds the short answer inside the right one, and in the
answerer it refuses and answers where the hand-written rules went wrong."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.embed import Embedder
from service.answering.extractive import ExtractiveBackend
from service.components import Components, load_reader, reader_missing
from service.reader.model import FORMAT, META_FILE, Reader
from service.settings import Settings
from tests.processes import free_port

READER = Path("models/reader")


@pytest.fixture(scope="module")
def reader() -> Reader:
    return load_reader(Settings(reader_path=READER))


def test_reader_was_trained_on_squad_articles_no_measured_question_comes_from(
    reader: Reader,
) -> None:
    meta = json.loads((READER / META_FILE).read_text())
    assert meta["format"] == FORMAT
    assert set(meta["left_out_measured"]) == {"Super_Bowl_50", "Warsaw"}
    kept = {*meta["left_out_measured"], *meta["held_out"], *meta["calibration_articles"]}
    assert not set(meta["trained_on"]) & kept
    # On the calibration articles, gold paragraph given, the sentence it reads best holds the
    # answer far more often than a paragraph's sentence taken at random.
    assert meta["gold_paragraph_figures"]["top_sentence_holds_answer"] > 0.6


def test_reader_tells_the_answering_sentence_and_finds_its_short_answer(reader: Reader) -> None:
    question = "Where is the home base of the Russian Baltic Fleet?"
    answering = (
        "It hosts Russia’s only ice-free ports on the Baltic Sea, including Baltiysk, which "
        "serves as the home base of the Russian Baltic Fleet."
    )
    other = "The exclave has a population of about one million people, most of them Russian."
    near = "The Baltic Fleet held exercises in the region last summer, officials said."
    readings = reader.read(
        question, [(other, "", ""), (answering, "", ""), (near, "", "")], spans=True
    )
    assert all(0.0 <= r.probability <= 1.0 for r in readings)
    assert readings[1].probability > max(readings[0].probability, readings[2].probability)
    span = readings[1].short
    assert span is not None
    assert "Baltiysk" in answering[span[0] : span[1]]


def test_reader_reads_in_onnx_runtime_as_it_would_in_torch(reader: Reader) -> None:
    assert reader.runtime == "onnx"  # exported by `make train-reader`
    in_torch = Reader(READER, onnx=False)
    assert in_torch.runtime == "torch"
    question = "Who commands the Baltic Fleet?"
    candidates = [
        ("Admiral Vladimir Vorobyov was named commander of the Baltic Fleet in 2024.", "", ""),
        ("The fleet is based in Baltiysk.", "It has ice-free ports.", "Exercises began."),
        ("Tea was served.", "", ""),
    ]
    got = reader.read(question, candidates, spans=True)
    expected = in_torch.read(question, candidates, spans=True)
    for a, b in zip(got, expected, strict=True):
        assert a.probability == pytest.approx(b.probability, abs=1e-4)
        assert a.short == b.short


def test_service_refuses_to_start_without_a_trained_reader(tmp_path: Path) -> None:
    settings = Settings(reader_path=tmp_path / "none")
    problem = reader_missing(settings)
    assert problem is not None and "make setup" in problem
    assert reader_missing(Settings(reader_path=tmp_path, reader="rules")) is None
    env = {**os.environ, "RAG_READER_PATH": str(tmp_path / "none"), "PORT": str(free_port())}
    started = subprocess.run(
        [sys.executable, "-m", "service"], env=env, capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 1
    assert "error: no reader built" in started.stderr and "RAG_READER=rules" in started.stderr
    assert "Traceback" not in started.stderr


@pytest.fixture(scope="module")
def both(
    seeded_settings: Settings, embedder: Embedder
) -> tuple[ExtractiveBackend, ExtractiveBackend]:
    """The answerer with the reader, and with the hand-written rules alone, each at its own
    calibrated threshold."""
    rules = seeded_settings.model_copy(update={"reader": "rules"})
    return (
        Components(seeded_settings, embedder).answerer(),
        Components(rules, embedder).answerer(),
    )


@pytest.mark.parametrize(
    "question",
    [
        # Unanswerable questions of our set and of held-out set 4 that the rules answered.
        "What trade deals did Trump sign at the Kuala Lumpur summit?",
        "When did Iran first start enriching uranium to 60%?",
    ],
)
def test_reader_refuses_what_the_rules_answered(
    both: tuple[ExtractiveBackend, ExtractiveBackend], seeded_settings: Settings, question: str
) -> None:
    reader, rules = both
    assert rules.answer(question, question, seeded_settings.top_k).answerable
    refused = reader.answer(question, question, seeded_settings.top_k)
    assert not refused.answerable
    assert refused.citations == []


def test_reader_finds_a_fact_the_rules_once_refused(
    both: tuple[ExtractiveBackend, ExtractiveBackend], seeded_settings: Settings
) -> None:
    # Held-out set 3: the rules alone refused it at their threshold before the confidence
    # (2026-12-02); with their calibration they now answer it too.
    question = (
        "What two contrasting qualities does the author see in Kaliningrad's geographic position?"
    )
    reader, _ = both
    found = reader.answer(question, question, seeded_settings.top_k)
    assert found.answerable
    assert "vulnerability" in found.text.lower()
