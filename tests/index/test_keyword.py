"""The in-memory BM25 keyword index on its own: scores, windows, changes in place."""

import bm25s
import numpy as np
import pytest

from index.keyword import KeywordIndex, chunk_terms
from index.terms import terms

HARBOUR = (
    "The harbour master of Port Veltrano counted forty trawlers in the quarantine basin this "
    "week, the largest number since the zorbulite spill closed the northern quay in spring."
)
CHEESE = (
    "Cheese makers in the valley raised their prices by twelve percent after a dry summer "
    "left the pastures brown and the dairy herds short of fresh grass for months."
)
RAIL = (
    "The regional railway will run night trains to the coast from June, the operator said, "
    "after passenger numbers on the evening services doubled over the last two years."
)
ROWS = [
    ("h@1:0", "h", 20220610, chunk_terms("Harbour", HARBOUR)),
    ("c@1:0", "c", 20210101, chunk_terms("Cheese", CHEESE)),
    ("r@1:0", "r", None, chunk_terms("Trains", RAIL)),
]


@pytest.fixture
def keyword() -> KeywordIndex:
    index = KeywordIndex()
    index.add_many(ROWS)
    return index


def test_keyword_search_finds_rare_term(keyword: KeywordIndex) -> None:
    hits = keyword.search("zorbulite spill", 3)
    assert [h.chunk_id for h in hits] == ["h@1:0"]
    assert hits[0].score > 0


def test_keyword_search_window_leaves_out_other_days_and_undated(keyword: KeywordIndex) -> None:
    assert keyword.search("prices twelve percent", 3, days=(20220101, 20221231)) == []
    assert [h.chunk_id for h in keyword.search("prices", 3, days=(20200101, 20211231))] == ["c@1:0"]
    assert keyword.search("night trains coast", 3, days=(0, 99991231)) == []


def test_keyword_search_stop_words_only_finds_nothing(keyword: KeywordIndex) -> None:
    assert keyword.search("the of and", 3) == []


def test_keyword_remove_article_forgets_its_chunks(keyword: KeywordIndex) -> None:
    keyword.remove_article("h")
    assert keyword.search("zorbulite", 3) == []
    assert keyword.chunk_ids() == {"c@1:0", "r@1:0"}


def test_keyword_scores_equal_bm25s_built_from_scratch(keyword: KeywordIndex) -> None:
    # Changed in place (a removal, an addition, a replacement), it scores as bm25s did.
    keyword.remove_article("c")
    keyword.add_many([("n@1:0", "n", None, terms("A quokka parade filled the harbour square."))])
    keyword.add_many([("r@1:0", "r", None, chunk_terms("Trains", RAIL + " Harbour trains."))])
    held = {
        "h@1:0": ROWS[0][3],
        "r@1:0": chunk_terms("Trains", RAIL + " Harbour trains."),
        "n@1:0": terms("A quokka parade filled the harbour square."),
    }
    reference = bm25s.BM25()
    reference.index(list(held.values()), show_progress=False)
    for query in ("harbour trains", "quokka parade harbour", "zorbulite harbour harbour"):
        expected = reference.get_scores(terms(query))
        got = keyword.scores_for(query, list(held))
        assert np.allclose([got[c] for c in held], expected, rtol=1e-5), query


def test_keyword_fingerprint_is_shared_by_copies(keyword: KeywordIndex) -> None:
    keyword.add_many([("h2@1:0", "h2", None, chunk_terms("Harbour", HARBOUR))])
    assert keyword.fingerprint("h") == keyword.fingerprint("h2")
    assert not keyword.fingerprint("h") & keyword.fingerprint("c")


def test_keyword_compacts_after_many_removals() -> None:
    index = KeywordIndex()
    for n in range(1500):
        index.add_many([(f"a{n}@1:0", f"a{n}", None, terms(CHEESE))])
    for n in range(1200):
        index.remove_article(f"a{n}")
    assert len(index) == 300 and len(index._ids) < 1500  # the removed slots are gone
    assert len(index.search("cheese prices", 500)) == 300
