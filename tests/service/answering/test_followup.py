"""The rule-based follow-up rewriter of the extractive backend."""

from service.answering.followup import names, standalone
from service.api.schemas import MAX_QUESTION_CHARS


def test_standalone_adds_previous_names_to_a_follow_up() -> None:
    history = [("user", "Where is the Baltic Fleet based?"), ("assistant", "In Baltiysk. [1]")]
    assert standalone("How many people live there?", history) == (
        "How many people live there? (about Baltic Fleet, Baltiysk)"
    )


def test_standalone_leaves_a_self_contained_question() -> None:
    history = [("user", "Where is the Baltic Fleet based?")]
    question = "What was Kaliningrad called before 1946?"
    assert standalone(question, history) == question


def test_standalone_from_long_turns_stays_within_question_limit() -> None:
    turn = " ".join(["Aldo Brenner Castile Dorrance"] * 280)[:7990] + "."
    rewritten = standalone("And there?", [("user", turn), ("assistant", turn)])
    assert rewritten.startswith("And there?")
    assert len(rewritten) <= MAX_QUESTION_CHARS


def test_names_never_merges_a_run_of_capitals_into_one_long_name() -> None:
    found = names(" ".join(["Aldo Brenner"] * 50))
    assert found and all(len(n.split()) <= 4 for n in found)
