"""What the service answers, as the client reads it. These are the client's own models, not
the server's: a test holds every field, type and required flag against the service's live
/openapi.json (tests/newsrag_client/test_schema.py), so the two cannot drift. Fields the
service adds later are ignored, so an older client keeps working against a newer service.
"""

from typing import Literal

from pydantic import BaseModel, Field


class Passage(BaseModel):
    """A piece of an article, located by character offsets into its cleaned text."""

    article_id: str = Field(description="Id of the article.")
    title: str = Field(description="Title of the article the passage comes from.")
    source: str = Field(description="Where the article came from.")
    quote: str = Field(description="The exact passage text.")
    start: int = Field(description="Offset of the passage's first character in the article text.")
    end: int = Field(description="Offset just past the passage's last character.")
    score: float = Field(description="How well the passage matches (higher is better).")


class Citation(Passage):
    """A passage an answer sentence cites as `[n]`."""

    n: int = Field(description="The marker number used in the answer text.")


class SearchHit(Passage):
    """A ranked search result."""

    rank: int = Field(description="1 for the best match.")
    duplicates: list[str] = Field(
        default_factory=list, description="Ids of other articles carrying the same story."
    )


class TokenUsage(BaseModel):
    """Tokens of one model call."""

    prompt_tokens: int
    completion_tokens: int


class AskResponse(BaseModel):
    """An answer whose every sentence ends with `[n]` markers pointing into `citations`."""

    question: str
    standalone_question: str
    answer: str
    answerable: bool = Field(description="False when the articles do not contain the answer.")
    reason: str | None = Field(description="Why there is no answer; null otherwise.")
    mode: Literal["extractive", "generated", "fallback"]
    citations: list[Citation]
    confidence: float = Field(
        description="The chance (0-1) that the answer is right; for a refusal, that the best "
        "passage found would have answered."
    )
    usage: TokenUsage | None = None


class SearchResponse(BaseModel):
    """Passages ranked by how well they match the query."""

    query: str
    results: list[SearchHit]


class Health(BaseModel):
    """Service readiness and what the index holds."""

    status: Literal["ok"]
    articles: int
    chunks: int
    model: str
    answer_backend: str


class ArticleSummary(BaseModel):
    """An article's metadata."""

    article_id: str
    title: str
    source: str
    publisher: str | None = None
    published: str | None = None
    url: str | None = None
    host_id: str | None = None
    characters: int


class ArticleDetail(ArticleSummary):
    """An article with its full cleaned text; citation offsets index into `text`."""

    text: str


class ArticleWritten(BaseModel):
    """What a write did."""

    article_id: str
    chunks: int
    status: Literal["created", "replaced", "unchanged"]
    articles: list[str]


class RetrievalEvent(BaseModel):
    """The passages found, sent before the answer is written."""

    standalone_question: str
    passages: list[Passage]


class DeltaEvent(BaseModel):
    """A piece of the answer text."""

    text: str


class CitationsEvent(BaseModel):
    """The checked answer and its citations."""

    citations: list[Citation]
    answer: str
    answerable: bool
    reason: str | None
    confidence: float


class DoneEvent(BaseModel):
    """How the answer was made and what it cost."""

    mode: str
    usage: TokenUsage | None


class ErrorEvent(BaseModel):
    """The answer failed after the stream began."""

    detail: str


StreamEvent = RetrievalEvent | DeltaEvent | CitationsEvent | DoneEvent
