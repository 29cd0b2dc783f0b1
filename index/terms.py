"""Words that carry meaning: lower-cased, stemmed, stop words dropped."""

import math
import re
from collections import Counter
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:['.-][^\W\d_]+)*", re.UNICODE)
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "according",
        "say",
        "said",
        "says",
        "tell",
        "told",
        "did",
        "does",
        "many",
        "much",
        "one",
        "two",
        "kind",
        "s",
        "t",
        "don",
        "didn",
        "doesn",
        "isn",
        "wasn",
        "weren",
    ]
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens; possessive endings removed."""
    found = _WORD.findall(text.lower().replace("’", "'"))
    return [re.sub(r"'s$", "", w) for w in found]


def terms(text: str) -> list[str]:
    """Stemmed content words of the text, in order (repeats kept)."""
    kept = [w for w in words(text) if w not in STOP_WORDS]
    return list(_stemmer().stemWords(kept))


def coverage(question_terms: set[str], texts: list[set[str]]) -> list[float]:
    """Share of the question's terms each text holds, a term weighing more the fewer of the
    texts hold it (an IDF over these texts alone), 0 to 1."""
    df = Counter(t for s in texts for t in s & question_terms)
    n = len(texts) + 1
    idf = {t: math.log(1 + n / (1 + df[t])) for t in question_terms}
    total = sum(idf.values()) or 1.0
    return [sum(idf[t] for t in question_terms & s) / total for s in texts]
