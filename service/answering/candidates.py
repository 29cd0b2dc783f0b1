"""The sentences of retrieved passages that may answer a question, each located in its article."""

import re
from dataclasses import dataclass

from index.passages import Hit
from index.sentences import sentence_spans

MIN_SENTENCE_WORDS = 5
# A section head ("GPS Jamming Allegations and Information Warfare") names a topic; it never
# answers: short, and no sentence punctuation at its end.
_HEADING_WORDS = 12
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’)\]]*\s*$")


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, located in its article."""

    hit: Hit
    start: int
    end: int
    quote: str
    before: str = ""
    after: str = ""
    # Which of its passage's sentences (`sentence_spans` of the hit's text) it is: the row of
    # its vector among those stored with the passage (`Hit.sentences`).
    position: int = -1

    @property
    def window(self) -> str:
        """The sentence with its neighbours in the passage."""
        return " ".join(p for p in (self.before, self.quote, self.after) if p)


def candidates(hits: list[Hit]) -> list[Candidate]:
    """Sentences of the hits, each once, skipping headings and fragments."""
    seen: set[tuple[str, int]] = set()
    found: list[Candidate] = []
    for hit in hits:
        spans = sentence_spans(hit.text, offset=hit.start)
        texts = [hit.text[s.start - hit.start : s.end - hit.start] for s in spans]
        for i, (span, quote) in enumerate(zip(spans, texts, strict=True)):
            key = (hit.article_id, span.start)
            if key in seen or len(quote.split()) < MIN_SENTENCE_WORDS or _is_heading(quote):
                continue
            seen.add(key)
            before = texts[i - 1] if i > 0 else ""
            after = texts[i + 1] if i + 1 < len(texts) else ""
            found.append(Candidate(hit, span.start, span.end, quote, before, after, i))
    return found


def _is_heading(text: str) -> bool:
    return len(text.split()) < _HEADING_WORDS and not _SENTENCE_END.search(text)
