"""Rule-based follow-up rewriting for the extractive answerer.

A question that leans on the conversation ("How many people live in that region?") is
searched together with the names from the previous question and answer, and the rewritten
question is returned to the caller so a wrong guess can be seen.
"""

import re

from service.answering.answer import MAX_QUESTION_CHARS

_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|there|that|this|these|those|he|she|his|her|him|the same|"
    r"the region|the country|the city|the area)\b",
    re.IGNORECASE,
)
_OPENERS = re.compile(r"^\s*(and|also|what about|how about|why|so)\b", re.IGNORECASE)
# A name is at most four capitalised words ("Secretary of State Marco Rubio" gives two): a
# longer run of capitals is a headline or a list, and merged into one it could be any length.
_NAME = re.compile(r"\b([A-Z][\w’'-]{0,39}(?:\s+(?:of\s+)?[A-Z][\w’'-]{0,39}){0,3})(?![\w’'-])")
_MARKER = re.compile(r"\s*\[\d+\]")
_QUESTION_WORDS = {
    "Who",
    "What",
    "When",
    "Where",
    "Why",
    "How",
    "Which",
    "Is",
    "Are",
    "Does",
    "Did",
    "Do",
    "Can",
    "And",
    "The",
    "In",
    "It",
}
_MAX_NAMES = 6


def names(text: str) -> list[str]:
    """Capitalised names in the text, in order, each once, question words left out."""
    found: list[str] = []
    for match in _NAME.finditer(_MARKER.sub("", text)):
        words = match.group(1).split()
        while words and words[0] in _QUESTION_WORDS:
            words = words[1:]
        name = " ".join(words)
        if name and name not in found:
            found.append(name)
    return found


def is_follow_up(question: str) -> bool:
    """True when the question refers back to something it does not name."""
    return (
        bool(_ANAPHORA.search(question) or _OPENERS.match(question)) or len(question.split()) <= 3
    )


def standalone(question: str, history: list[tuple[str, str]]) -> str:
    """The question to search with: unchanged, or with the conversation's names added.

    `history` holds (role, content) pairs, oldest first.
    """
    previous = [c for r, c in history if r == "user"]
    if not previous or not is_follow_up(question):
        return question
    last_answer = next((c for r, c in reversed(history) if r == "assistant"), "")
    carried = [
        n for n in dict.fromkeys(names(previous[-1]) + names(last_answer)) if n not in question
    ]
    kept: list[str] = []
    for name in carried[:_MAX_NAMES]:
        if len(_with_names(question, [*kept, name])) <= MAX_QUESTION_CHARS:
            kept.append(name)
    return _with_names(question, kept)


def _with_names(question: str, carried: list[str]) -> str:
    return f"{question} (about {', '.join(carried)})" if carried else question
