"""Articles (`index.passages.Article`) made from a seed file: one per story found in it."""

from collections.abc import Callable
from pathlib import PurePath

from index.clean import first_headline, split_stories
from index.errors import UnreadableArticle
from index.load import RawArticle
from index.passages import Article

_MAX_FALLBACK_TITLE_WORDS = 14


def nothing_held(ids: list[str]) -> set[str]:
    """No id is held by another article."""
    return set()


def articles_from(
    raw: RawArticle, held: Callable[[list[str]], set[str]] = nothing_held
) -> list[Article]:
    """The host story and any teasers, titled from the manifest or from the page itself.
    `held` names which of some ids other articles hold: a teaser skips them."""
    stem = PurePath(raw.source).stem
    stories = split_stories(raw.text)
    if not stories:
        raise UnreadableArticle(raw.source, "holds no article text once page chrome is removed")
    title = raw.meta.get("title") or first_headline(raw.text) or _title_from(stories[0].text)
    common = {k: raw.meta.get(k) for k in ("publisher", "published", "url")}
    host = Article(stem, raw.source, title, stories[0].text, **common)
    teasers = [
        Article(
            article_id,
            raw.source,
            story.headline or _title_from(story.text),
            story.text,
            publisher=common["publisher"],
            host_id=stem,
        )
        for article_id, story in zip(
            teaser_ids(stem, len(stories) - 1, held), stories[1:], strict=True
        )
    ]
    return [host, *teasers]


def teaser_ids(stem: str, count: int, held: Callable[[list[str]], set[str]]) -> list[str]:
    """`<stem>-2`, `<stem>-3`, ... with the numbers other articles hold skipped: a teaser's
    id once took the id of another article (`victim-2`) and replaced it."""
    ids: list[str] = []
    number = 2
    while len(ids) < count:
        tried = [f"{stem}-{n}" for n in range(number, number + count - len(ids))]
        taken = held(tried)
        ids += [i for i in tried if i not in taken]
        number += len(tried)
    return ids


def _title_from(text: str) -> str:
    """A title made of the article's own first words when nothing better is known."""
    words = text.split()
    head = " ".join(words[:_MAX_FALLBACK_TITLE_WORDS])
    return head + ("…" if len(words) > _MAX_FALLBACK_TITLE_WORDS else "")
