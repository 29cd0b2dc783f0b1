"""Request and response models of /api/articles: reading articles, and feeding them in."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from index.ingest import Submission
from service.api.schemas import NonBlank

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ArticleId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="1-100 letters, digits, dots, dashes or underscores.",
    ),
]


class ArticleSummary(BaseModel):
    """An article's metadata."""

    article_id: str = Field(description="Id used in citations.")
    title: str = Field(
        description="Title from the manifest, the request or the page; never invented."
    )
    source: str = Field(
        description="Where it came from: a file name of the seeds folder, or `api/<id>` for "
        "an article added over HTTP."
    )
    publisher: str | None = Field(None, description="Publisher, when known.")
    published: str | None = Field(None, description="Publication date (ISO), when known.")
    url: str | None = Field(None, description="Original address, when known.")
    host_id: str | None = Field(
        None, description="For a teaser story found on another article's page: that article's id."
    )
    characters: int = Field(description="Length of the cleaned text.")


class ArticleDetail(ArticleSummary):
    """An article with its full cleaned text; citation offsets index into `text`."""

    text: str = Field(description="The cleaned article text.")


class ArticleIn(BaseModel):
    """An article to add: its text and what is known about it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "The harbour of Port Veltrano reopened on Monday after a storm.",
                    "title": "Port Veltrano harbour reopens",
                    "published": "2025-11-04",
                    "publisher": "The Veltrano Courier",
                }
            ]
        },
    )

    text: Annotated[NonBlank, Field(description="The article's text (plain text).")]
    title: Short | None = Field(None, description="Title; without one, the text's headline.")
    published: date | datetime | None = Field(None, description="Publication date (ISO).")
    url: Short | None = Field(None, description="Original address.")
    publisher: Short | None = Field(None, description="Publisher.")
    id: ArticleId | None = Field(
        None, description="Id to give it; by default one made from its text (`art-…`)."
    )

    def submission(self, article_id: str | None = None) -> Submission:
        """The article as the index takes it."""
        return Submission(
            text=self.text,
            title=self.title,
            published=self.published.isoformat() if self.published else None,
            url=self.url,
            publisher=self.publisher,
            article_id=article_id or self.id,
        )


class ArticleWritten(BaseModel):
    """What a write did."""

    article_id: str = Field(description="Id of the article (the page, when it held teasers).")
    chunks: int = Field(description="Chunks written (0 when unchanged).")
    status: Literal["created", "replaced", "unchanged"] = Field(
        description="created (201), replaced or unchanged (200): the same content writes nothing."
    )
    articles: list[str] = Field(
        description="Ids of every article the text gave: the page, then teasers found on it."
    )


class BulkLine(BaseModel):
    """The result of one line of a bulk request."""

    line: int = Field(description="Line number in the request, from 1.")
    code: int = Field(description="The HTTP status this line alone would have had.")
    status: Literal["created", "replaced", "unchanged", "error"] = Field(
        description="What happened; error with `detail` when the line was not written."
    )
    article_id: str | None = Field(None, description="Id of the article written.")
    chunks: int | None = Field(None, description="Chunks written.")
    detail: str | None = Field(None, description="Why the line was not written.")
