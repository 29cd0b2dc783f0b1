"""The rules that let the extractive answerer refuse a sentence of the wrong form."""

import pytest

from index.embed import Embedder
from index.passages import Hit
from service.answering import support
from service.answering.answertype import asked_type, can_answer, holds_quantity, years_agree
from service.answering.candidates import candidates
from service.answering.extractive import _LEANS_BACK
from service.answering.support import (
    COUNT_SIMILARITY,
    ROLE_SIMILARITY,
    Evidence,
    SupportScorer,
    focus_of,
)


@pytest.mark.parametrize(
    ("sentence", "quantity"),
    [
        ("It covers roughly 15,000 square kilometers.", True),
        ("Transferring more than 1,000 of those forces eastward.", True),
        ("A share of 12.5 percent.", True),
        ("Three regiments were moved.", True),
        ("The exclave hosts Iskander missiles and S-400 air defense systems.", False),
        ("NATO has increased its presence since 2016.", False),  # a year is not a count
        ("F-35 jets flew over the G7 summit.", False),
        ("One of the reasons was the treaty.", False),
    ],
)
def test_holds_quantity(sentence: str, quantity: bool) -> None:
    assert holds_quantity(sentence) is quantity


def test_number_and_date_questions_need_their_form() -> None:
    many = "How many nuclear warheads are stored in Kaliningrad?"
    assert asked_type(many) == "number"
    assert not can_answer("It hosts missiles capable of carrying nuclear warheads.", many, "number")
    assert can_answer("It stores about 100 nuclear warheads.", many, "number")
    assert asked_type("What is the maximum range of the Iskander missile?") == "number"
    assert asked_type("How wide is the Suwałki Gap?") == "number"
    date = "On what exact date did the sanctions snap back?"
    assert asked_type(date) == "time"
    assert not can_answer("All pre-2015 sanctions snapped back.", date, "time")
    assert can_answer("The sanctions snapped back on September 28.", date, "time")
    year = "In what year did Lithuania join NATO?"
    assert can_answer("Lithuania joined in 2004.", year, "time")  # a year answers "what year"
    assert can_answer("Anything at all.", "Why did Russia respond?", None)


def test_focus_of_roles_is_stricter_and_counts_look_in_the_sentence() -> None:
    role = focus_of("Who is the Secretary-General of ASEAN?")
    assert role is not None and role.words == ["secretary-general"]
    assert role.similarity == ROLE_SIMILARITY and role.scope == "window"
    count = focus_of("How many warships does the Russian Baltic Fleet have?")
    assert count is not None and count.words == ["warships"] and count.scope == "sentence"
    assert focus_of("Where is the Russian Baltic Fleet based?") is None


def test_role_focus_is_not_met_by_another_office(embedder: Embedder) -> None:
    scorer = SupportScorer(embedder)
    # "president" sits close to "secretary-general" (about 0.6), but it is another office.
    window = "The summit opened today and the president of Malaysia spoke first."
    assert not scorer.mentions(window, ["secretary-general"], ROLE_SIMILARITY)
    assert scorer.mentions(window, ["president"], ROLE_SIMILARITY)
    asked = "Who is the Secretary-General of ASEAN?"
    [support] = scorer.score(asked, [Evidence(window, window)])
    assert support == 0.0


def test_leans_back_on_pronouns_and_pointers() -> None:
    assert _LEANS_BACK.match("As early as 2017, some of those controversial missiles arrived.")
    assert _LEANS_BACK.match("In the event of a conflict, this would complicate operations.")
    assert _LEANS_BACK.match("Initial reports suggested her aircraft was jammed.")
    assert not _LEANS_BACK.match("This week the summit opened in Kuala Lumpur.")
    assert not _LEANS_BACK.match("It hosts Russia's only ice-free ports on the Baltic Sea.")


def test_section_heads_are_never_answer_sentences() -> None:
    text = (
        "GPS Jamming Allegations and Information Warfare\n\n"
        "Western officials describe the jamming as part of a hybrid campaign against NATO."
    )
    hit = Hit("a:0", "a", "T", "a.txt", text, 0, len(text), 0, 1.0)
    quotes = [c.quote for c in candidates([hit])]
    assert quotes == [text.split("\n\n")[1]]


def test_a_year_in_the_question_must_not_be_contradicted() -> None:
    asked = "Which country will host the ASEAN summit in 2026?"
    assert not years_agree("The 2025 ASEAN summit opens in Kuala Lumpur today.", asked)
    assert years_agree(
        "Malaysia hosts the summit in 2025; the Philippines takes over in 2026.", asked
    )
    assert years_agree("The Philippines will host the next summit.", asked)  # names no year
    assert years_agree(
        "Russia considers all pre-2015 sanctions annulled.", "What of the pre-2015 sanctions?"
    )
    assert years_agree("Anything from 2025.", "Who hosts the summit?")


def test_year_gate_refuses_a_sentence_about_another_year(embedder: Embedder) -> None:
    scorer = SupportScorer(embedder)
    sentence = "The 2025 ASEAN Summit is being held in Kuala Lumpur, Malaysia, this week."
    [wrong_year] = scorer.score(
        "Which country hosts the ASEAN summit in 2026?", [Evidence(sentence, sentence)]
    )
    [right_year] = scorer.score(
        "Which country hosts the ASEAN summit in 2025?", [Evidence(sentence, sentence)]
    )
    assert wrong_year == 0.0 < right_year


def test_count_focus_needs_a_close_word_in_the_sentence(embedder: Embedder) -> None:
    scorer = SupportScorer(embedder)
    # MiniLM puts "sea" at about 0.59 from "warships": near enough for a topic, not for what
    # is being counted.
    planes = "There were dozens of interceptions of NATO planes in the Black Sea and Baltic Sea."
    assert not scorer.mentions(planes, ["warships"], COUNT_SIMILARITY)
    assert scorer.mentions("The fleet has about 50 ships.", ["warships"], COUNT_SIMILARITY)
    [support] = scorer.score("How many warships does the fleet have?", [Evidence(planes, planes)])
    assert support == 0.0


def test_words_about_the_article_itself_do_not_dilute_the_overlap(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorer = SupportScorer(embedder)
    sentence = (
        "Although both sides can be faulted, the Western powers deserve the bulk of the blame."
    )
    asked = "Which side does the author think is most to blame for the dangerous encounters?"
    [kept_out] = scorer.score(asked, [Evidence(sentence, sentence)])
    monkeypatch.setattr(support, "_ABOUT_THE_ARTICLE", frozenset())
    [counted] = scorer.score(asked, [Evidence(sentence, sentence)])
    assert kept_out > counted


def test_a_count_question_without_an_auxiliary_still_has_a_focus() -> None:
    focus = focus_of("How many troops took part in the January 2020 exercise?")
    assert focus is not None and focus.words == ["troops"] and focus.scope == "sentence"
