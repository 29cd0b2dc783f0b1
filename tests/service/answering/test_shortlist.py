"""The extractive answerer reads alone only the candidates the stored sentence vectors rank
best, and scores them exactly as if it had read every candidate."""

from dataclasses import replace

import numpy as np
import pytest

from index.embed import Embedder
from service.answering.candidates import Candidate, candidates
from service.answering.extractive import SHORTLIST, ExtractiveBackend
from service.answering.support import Evidence, evidence_of
from service.components import Components
from service.settings import Settings

QUESTION = "Where is the Russian Baltic Fleet based?"


@pytest.fixture
def answerer(seeded_settings: Settings, embedder: Embedder) -> ExtractiveBackend:
    return Components(seeded_settings, embedder).answerer()


@pytest.fixture
def found(answerer: ExtractiveBackend, seeded_settings: Settings) -> list[Candidate]:
    return candidates(answerer.retriever.search(QUESTION, seeded_settings.top_k))


def test_answer_reads_only_the_shortlist_and_scores_it_as_a_full_read(
    answerer: ExtractiveBackend, found: list[Candidate], encoded: list[str]
) -> None:
    assert len(found) > 3 * SHORTLIST  # enough candidates for the shortlist to matter
    scores = answerer.scores(QUESTION, found)
    read = [t for t in encoded if t != QUESTION]
    # At most the shortlist and the sentences they lean back on, each with its window.
    assert 0 < len(read) <= 2 * 2 * SHORTLIST
    assert sum(s > 0 for s in scores) <= 2 * SHORTLIST
    # Reading every candidate gives the same score to each one the shortlist read.
    full = answerer.support.score(QUESTION, [Evidence(c.quote, c.window) for c in found])
    for own, every in zip(scores, full, strict=True):
        assert own == 0.0 or own == pytest.approx(every, abs=1e-6)
    assert int(np.argmax(scores)) == int(np.argmax(full))
    assert "Baltiysk" in found[int(np.argmax(scores))].quote


def test_evidence_reads_stored_vectors_without_the_model(
    embedder: Embedder, found: list[Candidate], encoded: list[str]
) -> None:
    assert all(c.hit.sentences for c in found)
    evidence = evidence_of(found, embedder)
    assert encoded == []
    for item in evidence:
        assert item.vector is not None and item.window_vector is not None
        assert np.linalg.norm(item.vector) == pytest.approx(1.0, abs=1e-4)
        assert np.linalg.norm(item.window_vector) == pytest.approx(1.0, abs=1e-4)
    # A passage stored without them (written before they were kept) is read once, whole,
    # by the pass that indexes it, and gives the same vectors (up to their int8 rounding).
    bare = [replace(c, hit=replace(c.hit, sentences="")) for c in found]
    again = evidence_of(bare, embedder)
    passages = {c.hit.chunk_id for c in found}
    assert len(encoded) == len(passages)
    for stored, read in zip(evidence, again, strict=True):
        assert stored.vector is not None and read.vector is not None
        assert float(stored.vector @ read.vector) > 0.999
