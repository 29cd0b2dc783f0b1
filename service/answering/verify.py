"""Check a generated answer sentence by sentence against the passages the model was given.

Each sentence (its `[n]` markers read, then removed) is scored against every sentence of the
numbered passages with the extractive answerer's support score: embedding similarity
blended with the share of the sentence's words the passage sentence holds. Then:

- a sentence supported by a passage it cites keeps that citation, quoting the best sentence;
- a sentence that cites a wrong passage, or none, is re-pointed to the passage that does
  support it (small models rarely cite on their own);
- a sentence is dropped when it adds nothing to the question but words of the articles'
  titles, when its quote lacks the words it adds, when no passage sentence supports it,
  when it states a number absent from its quote or a name absent from the question and the
  quoted passage, or (when the caller names the passage sentences that bear on the
  question) when only others do.

Citations are numbered in the order the checked answer first uses them.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.passages import Hit
from index.sentences import sentence_spans
from index.terms import terms
from service.answering.answer import Cited, as_answer_text
from service.answering.candidates import Candidate
from service.answering.extractive import ExtractiveBackend

_MARKER = re.compile(
    r"\s*[\[【]\s*(?:passages?\s*)?(\d+(?:\s*[,;]\s*\d+)*)\s*[\]】]", re.IGNORECASE
)
_LEADING_MARKERS = re.compile(rf"^(?:{_MARKER.pattern})+", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"(?<=\d)[ \u00a0\u202f,](?=\d{3}\b)")
_NAME = re.compile(r"\b[A-Z][\w\u2019'-]+")
_REFUSAL = re.compile(
    r"\b(?:don'?t|do not|does not|doesn'?t|cannot|can'?t|not)\b.{0,40}"
    r"\b(?:say|contain|mention|provide|state|answer|found|mentioned|provided|stated)\b",
    re.IGNORECASE,
)
# Small models often label their lines ("Answer: ...") or echo the prompt's headings.
_LABEL = re.compile(
    r"^\s*(?:[-*•]\s+|(?:the\s+)?(?:answer|question|premise|passage\s*\[?\d*\]?)(?:\s+is)?\s*:\s*)+",
    re.I,
)
_MIN_WORDS = 3
# Words with which models talk about their sources rather than state facts.
_META = frozenset(
    terms("article passage text question answer states stated mention mentions report reports")
)


@dataclass(frozen=True)
class Passage:
    """A numbered passage as the model saw it: whole sentences of one retrieved hit."""

    n: int
    hit: Hit
    sentences: list[Candidate]

    @property
    def text(self) -> str:
        """The passage text shown to the model (without the article's own `[n]`, which the
        model would copy as citation markers)."""
        return " ".join(as_answer_text(c.quote) for c in self.sentences)


@dataclass(frozen=True)
class Claim:
    """One sentence of a generated answer, without markers, and the passages it cites."""

    text: str
    cited: frozenset[int]


def split(text: str) -> list[tuple[int, Claim]]:
    """The sentences of `text` with their start offsets; a marker opening a sentence is
    given back to the one before it (sentence splitting cuts before `[1]`)."""
    found: list[tuple[int, str]] = []
    for span in sentence_spans(text):
        piece = text[span.start : span.end]
        lead = _LEADING_MARKERS.match(piece)
        if lead and found:
            found[-1] = (found[-1][0], found[-1][1] + lead.group())
            piece = piece[lead.end() :].strip()
            if not piece:
                continue
            span_start = span.end - len(piece)
        else:
            span_start = span.start
        found.append((span_start, piece))
    return [(start, _claim(piece)) for start, piece in found]


def complete(buffer: str) -> tuple[list[Claim], str]:
    """The finished sentences of a growing answer, and the unfinished rest to wait on.

    A sentence is finished once another one has begun after it (with text, not a marker
    that may still belong to it)."""
    pieces = split(buffer)
    if pieces and buffer[pieces[-1][0] :].lstrip().startswith(("[", "【")):
        pieces = pieces[:-1]
    if len(pieces) < 2:
        return [], buffer
    rest = pieces[-1][0]
    return [claim for _, claim in pieces[:-1]], buffer[rest:]


def is_refusal(text: str) -> bool:
    """True when the model says the passages hold no answer."""
    return bool(_REFUSAL.search(text))


def _claim(piece: str) -> Claim:
    cited = {int(n) for m in _MARKER.finditer(piece) for n in re.split(r"[,;]", m.group(1))}
    return Claim(_LABEL.sub("", _MARKER.sub("", piece)).strip(), frozenset(cited))


class Verifier:
    """Checks the sentences of one answer and collects the citations they keep."""

    def __init__(
        self,
        scorer: ExtractiveBackend,
        passages: Sequence[Passage],
        question: str,
        min_support: float,
        relevant: set[tuple[str, int]] | None = None,
    ) -> None:
        self.scorer = scorer
        self.passages = list(passages)
        self.sentences = [(p.n, c) for p in self.passages for c in p.sentences]
        self.relevant = relevant
        self.question_terms = set(terms(question))
        self.question_numbers = _numbers(question)
        # A claim that adds only words of the articles' titles ("the corridor is
        # Kaliningrad") names no fact of its own.
        self.topic = set(terms(" ".join({p.hit.title for p in self.passages})))
        self.min_support = min_support
        self.cited: list[Cited] = []
        self.dropped: list[str] = []

    def check(self, claim: Claim) -> str | None:
        """The sentence with its checked `[n]`, or None when no passage supports it."""
        if len(claim.text.split()) < _MIN_WORDS or not terms(claim.text):
            return None
        if claim.text.endswith("?") or not self.novel(claim.text) - self.topic:
            self.dropped.append(claim.text)
            return None
        best = self.support(claim)
        if best is None:
            self.dropped.append(claim.text)
            return None
        score, candidate = best
        return f"{claim.text} [{self.cite(candidate, score).n}]"

    def support(self, claim: Claim) -> tuple[float, Candidate] | None:
        """The best supporting passage sentence: among the cited passages when one of them
        supports the claim, else among all passages; None when none does."""
        if not self.sentences:
            return None
        scores = self.scorer.score(claim.text, [c for _, c in self.sentences])
        ranked = sorted(
            (
                (s, n, c)
                for s, (n, c) in zip(scores, self.sentences, strict=True)
                if s >= self.min_support
                and self.on_point(c)
                and self.covers(claim.text, c)
                and self.grounded(claim.text, c)
            ),
            key=lambda t: -t[0],
        )
        cited = [t for t in ranked if t[1] in claim.cited]
        if not (cited or ranked):
            return None
        score, _, chosen = (cited or ranked)[0]
        return score, chosen

    def novel(self, claim: str) -> set[str]:
        """The claim's content words that the question does not already hold: what it adds."""
        return set(terms(claim)) - self.question_terms - _META

    def covers(self, claim: str, candidate: Candidate) -> bool:
        """The quote holds what the claim adds to the question (one word in five may differ,
        for paraphrase): word overlap alone forgives a claim that only restates the question
        with a wrong name or a description of the passages added."""
        novel = self.novel(claim)
        return len(novel - set(terms(candidate.quote))) <= len(novel) // 5

    def on_point(self, candidate: Candidate) -> bool:
        """The passage sentence bears on the question (all do when no set was given)."""
        return self.relevant is None or (candidate.hit.article_id, candidate.start) in self.relevant

    def grounded(self, claim: str, candidate: Candidate) -> bool:
        """Numbers come from the quote (or the question); names from the quote, its passage
        or the question. This catches the confident additions that word overlap forgives."""
        if not _numbers(claim) <= _numbers(candidate.quote) | self.question_numbers:
            return False
        context = set(terms(f"{candidate.hit.title} {candidate.hit.text}")) | self.question_terms
        return all(set(terms(name)) <= context for name in _names(claim))

    def cite(self, candidate: Candidate, score: float) -> Cited:
        """The citation for a quote, reusing its number when an earlier sentence cited it."""
        hit = candidate.hit
        for cited in self.cited:
            if (cited.article_id, cited.start, cited.end) == (
                hit.article_id,
                candidate.start,
                candidate.end,
            ):
                return cited
        cited = Cited(
            len(self.cited) + 1,
            hit.article_id,
            hit.title,
            hit.source,
            candidate.quote,
            candidate.start,
            candidate.end,
            round(score, 4),
        )
        self.cited.append(cited)
        return cited


def _numbers(text: str) -> set[str]:
    """Numbers in the text, thousands separators removed ("15 000" and "15,000" match)."""
    joined = _THOUSANDS.sub("", text)
    return {m.replace(",", "") for m in _NUMBER.findall(joined)}


def _names(text: str) -> list[str]:
    """Capitalised words after the first word: names, mostly."""
    return [m.group() for m in _NAME.finditer(text) if m.start() > 0]
