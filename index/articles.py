"""Articles as the service shows and cites them: one per story found in a seed file."""

from dataclasses import asdict, dataclass
from pathlib import PurePath

from index.clean import first_headline, split_stories
from index.errors import UnreadableArticle
from index.load import RawArticle

_MAX_FALLBACK_TITLE_WORDS = 14


@dataclass(frozen=True)
class Article:
    """A cleaned story. Teasers found on a page get ids `<stem>-2`, `<stem>-3`, ..."""

    article_id: str
    source: str
    title: str
    text: str
    publisher: str | None = None
    published: str | None = None
    url: str | None = None
    host_id: str | None = None

    def metadata(self) -> dict[str, str]:
        """Flat metadata for the vector store (no None values, no text)."""
        return {k: v for k, v in asdict(self).items() if v is not None and k != "text"}


def articles_from(raw: RawArticle) -> list[Article]:
    """The host story and any teasers, titled from the manifest or from the page itself."""
    stem = PurePath(raw.source).stem
    stories = split_stories(raw.text)
    if not stories:
        raise UnreadableArticle(raw.source, "holds no article text once page chrome is removed")
    title = raw.meta.get("title") or first_headline(raw.text) or _title_from(stories[0].text)
    common = {k: raw.meta.get(k) for k in ("publisher", "published", "url")}
    host = Article(stem, raw.source, title, stories[0].text, **common)
    teasers = [
        Article(
            f"{stem}-{i}",
            raw.source,
            story.headline or _title_from(story.text),
            story.text,
            publisher=common["publisher"],
            host_id=stem,
        )
        for i, story in enumerate(stories[1:], start=2)
    ]
    return [host, *teasers]


def _title_from(text: str) -> str:
    """A title made of the article's own first words when nothing better is known."""
    words = text.split()
    head = " ".join(words[:_MAX_FALLBACK_TITLE_WORDS])
    return head + ("…" if len(words) > _MAX_FALLBACK_TITLE_WORDS else "")
