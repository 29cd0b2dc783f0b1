"""Request and response models of the HTTP API (shown with examples in /docs)."""

from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    field_validator,
)

from index.passages import Hit
from service.answering.answer import MAX_QUESTION_CHARS
from service.answering.asking import Question

Since = Annotated[
    date | None,
    Field(description="Only articles published on or after this ISO date (undated: left out)."),
]
Until = Annotated[
    date | None,
    Field(description="Only articles published on or before this ISO date (undated: left out)."),
]


MAX_TURN_CHARS = 8000


def unicode_text(value: str) -> str:
    """Text that can be written out as UTF-8: a lone surrogate ("\\ud800", which JSON
    allows) would fail the tokenizers deep inside the answerer."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"holds an unpaired surrogate ({value[exc.start]!a}) at character {exc.start}; "
            "send UTF-8 text"
        ) from None
    return value


Text = Annotated[StrictStr, AfterValidator(unicode_text)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only spaces")
    return value.strip()


NonBlank = Annotated[Text, AfterValidator(_not_blank)]


class Turn(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"] = Field(description="Who said it.")
    content: Annotated[Text, Field(max_length=MAX_TURN_CHARS, description="What was said.")]


# A request's least confidence to answer with (service.answering.confidence).
MinConfidence = (
    Annotated[
        float,
        Field(
            ge=0.0,
            le=1.0,
            description="Least confidence (0-1) to answer with; below it the answer is a refusal. "
            "RAG_MIN_CONFIDENCE without it.",
        ),
    ]
    | None
)
CONFIDENCE_DESCRIPTION = (
    "The calibrated chance (0-1) that the answer is right; for a refusal, the chance that "
    "the best passage found would have answered (docs/reader.md)."
)


class AskRequest(BaseModel):
    """A question about the articles, optionally following earlier turns."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": "Where is the Russian Baltic Fleet based?"}]},
    )

    question: Annotated[
        Text,
        Field(
            max_length=MAX_QUESTION_CHARS,
            description=f"The question, 1 to {MAX_QUESTION_CHARS} characters.",
        ),
    ]
    top_k: (
        Annotated[StrictInt, Field(ge=1, le=20, description="Passages to retrieve (1-20).")] | None
    ) = None
    history: Annotated[
        list[Turn], Field(max_length=50, description="Earlier turns, oldest first.")
    ] = []
    since: Since = None
    until: Until = None
    min_confidence: MinConfidence = None

    _question_not_blank = field_validator("question")(_not_blank)

    def question_asked(self) -> Question:
        """The question with its conversation and options, as `Asking` takes it."""
        history = [(str(t.role), t.content) for t in self.history]
        return Question(
            self.question,
            history,
            self.top_k,
            self.since,
            self.until,
            min_confidence=self.min_confidence,
        )


class SearchRequest(BaseModel):
    """A search over the article passages."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"query": "Baltic Fleet", "top_k": 5}]}
    )

    query: Annotated[Text, Field(max_length=MAX_QUESTION_CHARS, description="What to search for.")]
    top_k: (
        Annotated[StrictInt, Field(ge=1, le=20, description="Passages to return (1-20).")] | None
    ) = None
    since: Since = None
    until: Until = None

    _query_not_blank = field_validator("query")(_not_blank)


class Passage(BaseModel):
    """A piece of an article, located by character offsets into its cleaned text."""

    article_id: str = Field(description="Id of the article (see /api/articles).")
    title: str = Field(description="Title of the article the passage comes from.")
    source: str = Field(description="Seed file name the article was read from.")
    quote: str = Field(description="The exact passage text.")
    start: int = Field(description="Offset of the passage's first character in the article text.")
    end: int = Field(description="Offset just past the passage's last character.")
    score: float = Field(description="How well the passage matches (higher is better).")

    @classmethod
    def from_hit(cls, hit: Hit, **extra: Any) -> Self:
        """The passage a retrieved chunk is, with the subclass's extra fields."""
        return cls(
            article_id=hit.article_id,
            title=hit.title,
            source=hit.source,
            quote=hit.text,
            start=hit.start,
            end=hit.end,
            score=round(hit.score, 4),
            **extra,
        )


class Citation(Passage):
    """A passage an answer sentence cites as `[n]`."""

    n: int = Field(description="The marker number used in the answer text.")


class SearchHit(Passage):
    """A ranked search result."""

    rank: int = Field(description="1 for the best match.")
    duplicates: list[str] = Field(
        default_factory=list,
        description="Ids of other articles carrying the same story, folded into this result.",
    )


class TokenUsage(BaseModel):
    """Tokens of one model call, counted with tiktoken (cl100k_base)."""

    prompt_tokens: int = Field(description="Tokens of the prompt sent to the model.")
    completion_tokens: int = Field(description="Tokens the model wrote.")


class AskResponse(BaseModel):
    """An answer whose every sentence ends with `[n]` markers pointing into `citations`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": "Where is the Russian Baltic Fleet based?",
                    "standalone_question": "Where is the Russian Baltic Fleet based?",
                    "answer": "It hosts Russia’s only ice-free ports on the Baltic Sea, including "
                    "Baltiysk, which serves as the home base of the Russian Baltic Fleet. [1]",
                    "answerable": True,
                    "reason": None,
                    "mode": "extractive",
                    "citations": [
                        {
                            "n": 1,
                            "article_id": "001_225de647bfb3e4f3",
                            "title": "Kaliningrad, a small Russian exclave on the Baltic Sea…",
                            "source": "001_225de647bfb3e4f3.txt",
                            "quote": "It hosts Russia’s only ice-free ports on the Baltic Sea, "
                            "including Baltiysk, which serves as the home base of the Russian "
                            "Baltic Fleet.",
                            "start": 1227,
                            "end": 1345,
                            "score": 0.71,
                        }
                    ],
                    "usage": None,
                    "confidence": 0.83,
                }
            ]
        }
    )

    question: str = Field(description="The question as asked.")
    standalone_question: str = Field(
        description="The question that was searched: follow-ups are rewritten to stand alone."
    )
    answer: str = Field(description="The answer; each sentence ends with [n] citation markers.")
    answerable: bool = Field(description="False when the articles do not contain the answer.")
    reason: str | None = Field(
        description="Why there is no answer, or (mode=fallback) why the model's answer was "
        "replaced; null otherwise."
    )
    mode: Literal["extractive", "generated", "fallback"] = Field(
        description="extractive: sentences quoted from the articles; generated: written by a "
        "language model and checked; fallback: the model failed, extractive answer given."
    )
    citations: list[Citation] = Field(description="Every passage the answer cites, by n.")
    confidence: float = Field(ge=0.0, le=1.0, description=CONFIDENCE_DESCRIPTION)
    usage: TokenUsage | None = Field(
        None, description="Tokens the language model read and wrote; null when none was used."
    )


class SearchResponse(BaseModel):
    """Passages ranked by how well they match the query."""

    query: str = Field(description="The query as given.")
    results: list[SearchHit] = Field(description="Best first.")


class Health(BaseModel):
    """Service readiness and what the index holds."""

    status: Literal["ok"] = Field(description="ok when questions can be answered.")
    articles: int = Field(description="Articles in the index.")
    chunks: int = Field(description="Chunks in the index.")
    model: str = Field(description="Embedding model.")
    answer_backend: str = Field(description="How answers are written.")
