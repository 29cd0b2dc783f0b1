"""Sentence splitting and token-sized chunks with offsets into the article text."""

import itertools

from index.chunk import chunk_text, count_tokens, sentence_spans

TEXT = (
    "The U.N. Security Council met on Monday. Sen. Rand Paul spoke after the vote! "
    "Did anyone expect it? The U.S. delegation left early.\n\nA new paragraph starts here."
)


def test_sentence_spans_respect_abbreviations() -> None:
    sentences = [TEXT[s.start : s.end] for s in sentence_spans(TEXT)]
    assert sentences == [
        "The U.N. Security Council met on Monday.",
        "Sen. Rand Paul spoke after the vote!",
        "Did anyone expect it?",
        "The U.S. delegation left early.",
        "A new paragraph starts here.",
    ]


def test_sentence_spans_offset_shifts_positions() -> None:
    spans = sentence_spans("One two three. Four five six.", offset=100)
    assert spans[1].start == 115


def test_chunk_text_packs_whole_sentences_within_budget() -> None:
    text = " ".join(f"Sentence number {i} talks about the Baltic Sea region." for i in range(40))
    chunks = chunk_text(text, max_tokens=50, overlap_tokens=12)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text.endswith(".") and chunk.text[0].isupper()
        assert count_tokens(chunk.text) <= 50
    assert [c.number for c in chunks] == list(range(len(chunks)))


def test_chunk_text_overlaps_consecutive_chunks() -> None:
    text = " ".join(f"Fact {i} is stated in this sentence." for i in range(30))
    chunks = chunk_text(text, max_tokens=40, overlap_tokens=10)
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end, "the next chunk repeats the end of the previous one"


def test_chunk_text_no_overlap_when_zero() -> None:
    text = " ".join(f"Fact {i} is stated in this sentence." for i in range(30))
    chunks = chunk_text(text, max_tokens=40, overlap_tokens=0)
    for a, b in itertools.pairwise(chunks):
        assert b.start > a.end
