"""The plain types every part reads: an article as the service shows and cites it, and a
passage (`Hit`) as search finds it. No storage library here: the Chroma adapter
(`index.chroma`) translates its records into these at the edge."""

import re
from dataclasses import dataclass, field
from datetime import date

_DATE = re.compile(r"^(\d{4})[-/](\d{2})[-/](\d{2})")


@dataclass(frozen=True)
class Article:
    """A cleaned story. Teasers found on a page get ids `<stem>-2`, `<stem>-3`, ... (a number
    another article holds is skipped)."""

    article_id: str
    source: str
    title: str
    text: str
    publisher: str | None = None
    published: str | None = None
    url: str | None = None
    host_id: str | None = None


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with where it comes from. `score`: higher is better (cosine
    similarity from the store; the fused score once the retriever ranked it).
    `duplicates`: other articles carrying the same story, folded into this hit.
    `version`: the version of its article the chunk belongs to (see `index.store`)."""

    chunk_id: str
    article_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    number: int
    score: float
    duplicates: tuple[str, ...] = ()
    day: int | None = None  # publication day as yyyymmdd, when the article has a date
    version: str = ""
    # Its sentences' vectors from the pass that embedded it, in the index's own packed form
    # (`index.embed.pack_vectors`), or "" when the chunk was written without them: read
    # them as arrays with `index.sentences.passage_vectors`.
    sentences: str = field(default="", repr=False, compare=False)


def day_number(published: str | None) -> int | None:
    """A publication date (`2022-06-12`, `2022/06/12`, or a timestamp) as 20220612."""
    match = _DATE.match(published.strip()) if published else None
    if not match:
        return None
    try:
        return int(date(*map(int, match.groups())).strftime("%Y%m%d"))
    except ValueError:
        return None
