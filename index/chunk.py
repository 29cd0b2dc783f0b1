"""Pack an article's sentences (`index.sentences`) into token-sized, overlapping chunks.

Offsets are character positions into the cleaned article text, so every chunk can be shown
in context and highlighted.
"""

from dataclasses import dataclass

from index.sentences import Span, count_tokens, sentence_spans

# Span, count_tokens and sentence_spans live in index.sentences; they are named here too
# for the reader's training (service/measure/train_reader.py), which is being moved.
__all__ = ["Chunk", "Span", "chunk_text", "count_tokens", "sentence_spans"]


@dataclass(frozen=True)
class Chunk:
    """A passage: consecutive sentences of one article."""

    number: int
    start: int
    end: int
    text: str
    tokens: int


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
