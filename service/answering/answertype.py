"""What kind of answer a question asks for, and whether a sentence holds one.

"How many ..." wants a number, "When ..." a date, "Who ..." a name. A sentence that talks
about the right things but holds no answer of the asked kind is weak support: this is one
of the signals the extractive answerer uses to refuse rather than guess.
"""

import re
from typing import Literal

AnswerType = Literal["number", "time", "person"]

_NUMBER_Q = re.compile(
    r"\b(how (many|much|long|far|big|large|old|high|wide|tall|deep|heavy|fast)|"
    r"what (percentage|share|number|amount|proportion|level|size)|"
    r"what (is|was|are|were) (the )?(\w+ )?(population|range|length|"
    r"distance|cost|price|budget|area|height|weight|speed|capacity|death toll) of)\b",
    re.IGNORECASE,
)
_TIME_Q = re.compile(
    r"\b(when|what year|which year|(what|which) (exact |specific )?(date|day)|what month|"
    r"which month|since when|in what year|how long ago)\b",
    re.IGNORECASE,
)
# A question for a date or a day is not answered by a year alone.
_DATE_Q = re.compile(r"\b(what|which) (exact |specific )?(date|day)\b", re.IGNORECASE)
_CALENDAR = (
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday"
)
_DAY = re.compile(
    rf"\b({_CALENDAR}|tomorrow|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b|"
    r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b",
    re.IGNORECASE,
)
_PERSON_Q = re.compile(
    r"^\s*(who|whom|whose)\b|\b(which|what) (senator|president|leader|minister|official|"
    r"person|politician|commander|general|journalist|author)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|hundreds|thousand|thousands|million|billion|dozens?|half|double"
)
_NUMBER = re.compile(rf"\d|\b(one|{_NUMBER_WORDS})\b", re.IGNORECASE)
# A quantity: a number that is not part of a name or model ("S-400", "F-35", "G7") and not a
# year standing alone; or a number word.
_QUANTITY = re.compile(
    rf"(?<![\w-])(?!(?:1[89]|20)\d\d\b)\d[\d,.]*(?![\w-]*[A-Za-z])|\b({_NUMBER_WORDS})\b",
    re.IGNORECASE,
)
_TIME = re.compile(
    rf"\b(1[89]\d\d|20\d\d)\b|\b({_CALENDAR}|this (week|month|year)|last (week|month|year)|"
    r"spring|summer|autumn|winter)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zà-ÿ’'-]+(?:\s+[A-Z][a-zà-ÿ’'-]+)*")


def asked_type(question: str) -> AnswerType | None:
    """The kind of answer the question asks for, if it is one we can check."""
    if _TIME_Q.search(question):
        return "time"
    if _NUMBER_Q.search(question):
        return "number"
    if _PERSON_Q.search(question):
        return "person"
    return None


def holds_type(sentence: str, question: str, kind: AnswerType | None) -> bool:
    """True when the sentence holds an answer of the asked kind that the question lacks."""
    if kind is None:
        return True
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "time":
        return bool((_DAY if _DATE_Q.search(question) else _TIME).search(sentence))
    asked = question.lower()
    return any(name.lower() not in asked for name in _NAME.findall(sentence))


def holds_quantity(sentence: str) -> bool:
    """True when the sentence states a quantity (see `_QUANTITY`)."""
    return bool(_QUANTITY.search(sentence))


_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")


def years_agree(text: str, question: str) -> bool:
    """False when the question names a year and the text names other years but not it: "the
    2025 summit in Kuala Lumpur" does not answer "which country hosts the summit in 2026?".
    Text naming no year at all passes: the year may be given elsewhere in the article."""
    asked = set(_YEAR.findall(question))
    named = set(_YEAR.findall(text))
    return not asked or not named or bool(asked & named)


def can_answer(sentence: str, question: str, kind: AnswerType | None) -> bool:
    """False when the sentence cannot hold the answer's form at all: a number question with
    no quantity in the sentence, or a question for a date or day with no day in it. (Names
    and times are only weighed, as `holds_type`: the checks are too rough to gate on.)"""
    if kind == "number":
        return holds_quantity(sentence)
    if kind == "time" and _DATE_Q.search(question):
        return bool(_DAY.search(sentence))
    return True
