"""Service settings: the index settings plus how questions are answered and served."""

from pydantic import Field

from index.settings import Settings as IndexSettings


class Settings(IndexSettings):
    """All `RAG_*` settings of the running service."""

    top_k: int = Field(8, ge=1, le=20, description="Passages retrieved when a request gives none.")
    min_support: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Lowest sentence support score that counts as an answer (calibrated by `make eval`).",
    )
    max_answer_sentences: int = Field(3, ge=1, le=3, description="Sentences in an extractive answer.")
    log_level: str = Field("INFO", description="Log level of the JSON logs.")
