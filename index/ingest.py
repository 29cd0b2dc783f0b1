"""Articles sent to the service: read as a file of `seeds/` is (HTML through trafilatura, the same
cleaning and teaser split), and written under their own origin, `api`, as the source
`api/<article id>`, so that `make index`, which only syncs the `seeds` origin, never
removes them.

An article's id is the one given, or one made from its text (`art-` and 16 hex digits), so
the same text sent twice is one article. Sending what is already stored changes nothing.
"""

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from index.articles import articles_from
from index.embed import Embedder
from index.errors import (
    ArticleConflict,
    ArticleIdHeld,
    ArticleNotFound,
    ArticleTooLarge,
    IndexError_,
    StoreUnavailable,
    UnreadableArticle,
    WriteUncertain,
)
from index.load import RawArticle, decode_bytes, digest_of, page_metadata
from index.passages import Article
from index.records import Record
from index.settings import Settings
from index.store import Store
from index.write import SourceWriter, signature

ARTICLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
PREFIX = "api/"
Status = Literal["created", "replaced", "unchanged"]


@dataclass(frozen=True)
class Submission:
    """An article as sent: its text (or a file's bytes and name) and optional metadata."""

    text: str = ""
    title: str | None = None
    published: str | None = None
    url: str | None = None
    publisher: str | None = None
    article_id: str | None = None
    data: bytes | None = None
    filename: str | None = None

    def read(self) -> str:
        """The text, from the file's bytes when it came as one."""
        if self.data is None:
            return self.text.replace("\r\n", "\n").replace("\r", "\n")
        return decode_bytes(self.data, self.filename or "upload.txt")

    def meta(self) -> dict[str, str]:
        """The metadata given, blank values left out, over what an HTML file says of itself."""
        given = {
            "title": self.title,
            "published": self.published,
            "url": self.url,
            "publisher": self.publisher,
        }
        page = page_metadata(self.data, self.filename or "") if self.data is not None else {}
        return page | {k: v.strip() for k, v in given.items() if v and v.strip()}


@dataclass(frozen=True)
class Outcome:
    """What writing one article did."""

    article_id: str
    chunks: int
    status: Status
    articles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Prepared:
    article_id: str
    raw: RawArticle
    articles: list[Article]


class Ingest:
    """Adds, replaces and deletes articles of the `api` origin."""

    def __init__(
        self, store: Store, embedder: Embedder, settings: Settings, max_bytes: int
    ) -> None:
        self.store, self.embedder, self.settings = store, embedder, settings
        self.max_bytes = max_bytes
        self.signature = signature(settings, embedder.name)

    def put(self, submission: Submission, replace: bool) -> Outcome:
        """Write one article. Without `replace`, an id that holds other content is an
        ArticleIdHeld; with it, the article is replaced."""
        result = next(self.put_many([submission], replace))
        if isinstance(result, IndexError_):
            raise result
        return result

    def put_many(
        self, submissions: Iterable[Submission], replace: bool = True
    ) -> Iterator[Outcome | IndexError_]:
        """Write articles in batches, yielding each one's outcome (or its error) in order, a
        batch at a time. Once the store fails, the rest are not tried: they get its error."""
        writer = SourceWriter(self.store, self.embedder, self.settings)
        waiting: list[Outcome | IndexError_] = []
        failed: StoreUnavailable | None = None
        for submission in submissions:
            if failed is None:
                try:
                    waiting.append(self._queue(writer, submission, replace))
                except StoreUnavailable as exc:
                    failed = WriteUncertain.of(exc)
                except IndexError_ as exc:
                    waiting.append(exc)
            if failed is not None:
                yield from [_unwritten(w, failed) for w in waiting] + [failed]
                waiting = []
            elif not writer.waiting:  # nothing left unwritten: these outcomes are final
                yield from waiting
                waiting = []
        if failed is None:
            try:
                writer.flush()
            except StoreUnavailable as exc:
                waiting = [_unwritten(w, WriteUncertain.of(exc)) for w in waiting]
            yield from waiting

    def delete(self, article_id: str) -> None:
        """Delete an article added through the service (with the teasers found on its page)."""
        record = self._record(article_id)
        if record is None:
            raise ArticleNotFound(article_id)
        _writable(record)
        if record.source != f"{PREFIX}{article_id}":
            host = record.source.removeprefix(PREFIX)
            raise ArticleConflict(
                f"article {article_id!r} is a story found on the page of article {host!r}: "
                f"delete {host!r}"
            )
        try:
            self.store.delete_sources([record.source])
        except StoreUnavailable as exc:
            raise WriteUncertain.of(exc) from exc

    def _queue(self, writer: SourceWriter, submission: Submission, replace: bool) -> Outcome:
        prepared = self._prepare(submission, writer)
        name = f"{PREFIX}{prepared.article_id}"
        if any(w.name == name for w in writer.waiting):
            writer.flush()  # the same article twice in one batch: the second sees the first
        record = self._record(prepared.article_id)
        if record is not None:
            _writable(record)
            if record.digest == prepared.raw.digest:
                return Outcome(
                    prepared.article_id, 0, "unchanged", [a.article_id for a in prepared.articles]
                )
            if record.source != name or not replace:
                raise ArticleIdHeld(prepared.article_id)
        chunks = writer.add(name, prepared.raw.digest, "api", prepared.articles)
        status: Status = "replaced" if record is not None else "created"
        return Outcome(
            prepared.article_id, chunks, status, [a.article_id for a in prepared.articles]
        )

    def _prepare(self, submission: Submission, writer: SourceWriter) -> _Prepared:
        text = submission.read()
        size = len(text.encode("utf-8"))
        if size > self.max_bytes:
            raise ArticleTooLarge(
                f"the article's text is {size} bytes, over the limit of {self.max_bytes} "
                "(RAG_MAX_ARTICLE_BYTES)"
            )
        if not text.strip():
            raise UnreadableArticle(submission.filename or "text", "holds no article text")
        article_id = (
            submission.article_id or f"art-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        )
        if not ARTICLE_ID.match(article_id):
            raise UnreadableArticle(
                "id", "must be 1-100 letters, digits, dots, dashes or underscores"
            )
        meta = submission.meta()
        raw = RawArticle(f"{PREFIX}{article_id}", text, digest_of(text, meta, self.signature), meta)
        held = writer.held_elsewhere(raw.source)  # a teaser never takes another's id
        return _Prepared(article_id, raw, articles_from(raw, held))

    def _record(self, article_id: str) -> Record | None:
        found = self.store.records_by_id([article_id])
        return found[0] if found else None


def _writable(record: Record) -> None:
    if record.origin != "api":
        raise ArticleConflict(
            f"article {record.article_id!r} comes from the seeds folder ({record.source}): edit "
            "or remove that file and run `make index`"
        )


def _unwritten(result: Outcome | IndexError_, failure: StoreUnavailable) -> Outcome | IndexError_:
    """A queued article's result once the store failed before it was written."""
    return failure if isinstance(result, Outcome) and result.status != "unchanged" else result
