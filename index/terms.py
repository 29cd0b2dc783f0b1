"""Words that carry meaning: lower-cased, letters folded, stemmed, stop words dropped.

Names are matched as people type them: letters are folded to plain ones (`fold`: accents
dropped, "ł" to "l", "ø" to "o", "ß" to "ss", curly quotes to straight), on both sides of
every word match (the keyword index, the word-overlap signals). Only the words compared are
folded, never the text quoted or its offsets.
"""

import math
import re
import unicodedata
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


# Letters that no Unicode decomposition takes to a plain one, and the quotes people type
# straight.
_FOLDED = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "“": '"',
        "”": '"',
        "„": '"',
    }
)


def fold(text: str) -> str:
    """Lower-cased, with accents dropped and letters and quotes folded to plain ones ("Suwałki"
    and "Suwalki" both read "suwalki")."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered.translate(_FOLDED))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Folded word tokens (`fold`); possessive endings removed."""
    found = _WORD.findall(fold(text))
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
