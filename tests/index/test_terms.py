"""Words as people type them: letters folded on both sides of every word match."""

import pytest

from index.keyword import KeywordIndex, chunk_terms
from index.terms import fold, terms, words

GAP = (
    "The Suwałki Gap is the 65-kilometre strip of Polish and Lithuanian land between Belarus and "
    "Russia’s Kaliningrad exclave."
)


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("Suwalki", "Suwałki"),
        ("Orsted", "Ørsted"),
        ("Strasse", "Straße"),
        ("naive cafe", "naïve café"),
        ("Krakow", "Kraków"),
        ("Russia's", "Russia’s"),
    ],
)
def test_terms_fold_letters_as_people_type_them(typed: str, written: str) -> None:
    assert terms(typed) == terms(written)


def test_fold_leaves_plain_text_as_lower_case() -> None:
    assert fold("What is the Suwalki Gap?") == "what is the suwalki gap?"
    assert words("“Fort Trump”") == ["fort", "trump"]


def test_keyword_search_finds_a_name_typed_without_its_letters() -> None:
    index = KeywordIndex()
    index.add_many(
        [
            ("g@1:0", "g", None, chunk_terms("Explainer", GAP)),
            ("o@1:0", "o", None, chunk_terms("Other", "The gap between the two parties narrowed.")),
        ]
    )
    hits = index.search("What is the Suwalki Gap?", 2)
    assert hits[0].chunk_id == "g@1:0"
