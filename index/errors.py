"""Errors raised by the index package.

    IndexError_ (base: anything the index cannot do)
    ├── UnreadableArticle   a seed file is binary, badly encoded or empty; it is skipped
    ├── ManifestError       the metadata manifest beside the seeds cannot be parsed
    ├── IndexNotReady       the index is missing or holds no chunks yet
    └── StoreUnavailable    the Chroma store cannot be reached or answers with an error

The service maps these to HTTP status codes in one place (`service.errors`).
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
