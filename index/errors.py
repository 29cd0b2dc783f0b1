"""Errors raised by the index package.

    IndexError_ (base: anything the index cannot do)
    ├── UnreadableArticle   a seed file is binary, badly encoded or empty; it is skipped
    ├── ManifestError       the metadata manifest beside the seeds cannot be parsed
    ├── IndexNotReady       the index is missing or holds no chunks yet
    ├── ArticleNotFound     no article has the id given
    ├── ArticleConflict     a write would overwrite what it may not (a seed, another story)
    │   └── ArticleIdHeld   the id holds other content, and replacing was not asked for
    ├── ArticleTooLarge     an article's text is over the size limit
    └── StoreUnavailable    the Chroma store cannot be reached or answers with an error
        └── WriteUncertain  it failed during a write, which may or may not have taken effect

They speak of articles and the store; the service maps them to HTTP status codes and
responses in one place (`service.api.errors`).
"""


class IndexError_(Exception):
    """Base class for everything the index package raises on purpose."""


class UnreadableArticle(IndexError_):
    """A seed file that cannot be turned into article text."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ManifestError(IndexError_):
    """The article metadata manifest is malformed."""


class IndexNotReady(IndexError_):
    """The index does not exist yet or is empty."""


class StoreUnavailable(IndexError_):
    """The vector store cannot be reached."""


class ArticleNotFound(IndexError_):
    """No article has that id."""

    def __init__(self, article_id: str) -> None:
        super().__init__(f"no article with id {article_id!r}")
        self.article_id = article_id


class ArticleConflict(IndexError_):
    """The write would overwrite what it may not: another article, or one of `seeds/`."""


class ArticleIdHeld(ArticleConflict):
    """An article of other content has the id, and the write did not ask to replace it."""

    def __init__(self, article_id: str) -> None:
        super().__init__(f"an article with id {article_id!r} already holds other content")
        self.article_id = article_id


class ArticleTooLarge(IndexError_):
    """The article's text is over the size limit."""


class WriteUncertain(StoreUnavailable):
    """The store failed during a write, which may or may not have taken effect (a reply
    lost after Chroma committed it): the same write again is safe."""

    @classmethod
    def of(cls, failure: StoreUnavailable) -> "WriteUncertain":
        """The failure, said as what it means for the write."""
        if isinstance(failure, cls):
            return failure
        return cls(
            f"{failure} The write may or may not have taken effect; sending the same request "
            "again is safe."
        )
