"""Settings shared by the indexer and the service, read from `RAG_*` environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the articles and the index live and how articles are split and embedded."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    seeds_dir: Path = Field(Path("seeds"), description="Folder of articles to index.")
    data_dir: Path = Field(Path(".data"), description="Folder holding the local Chroma index.")
    chroma_mode: Literal["embedded", "http"] = Field(
        "embedded", description="Open Chroma on disk in data_dir, or talk to a `chroma run` server."
    )
    chroma_host: str = Field("127.0.0.1", description="Chroma server host (http mode).")
    chroma_port: int = Field(8001, description="Chroma server port (http mode).")
    chroma_timeout: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds to wait for the Chroma server before giving up (http mode).",
    )
    collection: str = Field(
        "news-chunks",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,500}[A-Za-z0-9]$",
        description="Chroma collection name prefix: 3-502 letters, digits, dots, dashes or "
        "underscores, starting and ending with a letter or digit.",
    )
    chunk_tokens: int = Field(160, ge=32, le=2000, description="Target chunk size in tokens.")
    chunk_overlap: int = Field(40, ge=0, le=500, description="Tokens of overlap between chunks.")
    embed_batch: int = Field(
        8,
        ge=1,
        le=4096,
        description="Texts embedded per model call (in ONNX Runtime on 2 cores, 8 and 4 were "
        "faster than 16; in torch, 8 and 16 than 32 or 64).",
    )
    device: str = Field(
        "cpu",
        description="Torch device for the embedding model; on `cpu` it runs in ONNX Runtime "
        "when it has been exported (encoder_path).",
    )
    encoder_path: Path = Field(
        Path("models/encoder"),
        description="The embedding model exported for ONNX Runtime by `make setup` (the same "
        "vectors as torch, faster); without it the model runs in torch.",
    )
    torch_threads: int = Field(
        0,
        ge=0,
        le=256,
        description="Threads the embedding model and the reader compute with in each service "
        "process (0: the runtime's default, every core). One per worker with WORKERS=2 on two "
        "cores answered 16 clients slower (1.77 answers/s against 1.99) and one client 24% "
        "slower, so it is not the default (measured with torch).",
    )
    progress: bool = Field(True, description="Show a progress bar while indexing.")
    retrieval: Literal["hybrid", "dense", "keyword"] = Field(
        "hybrid", description="Rank by embeddings and BM25 together, or by one of them alone."
    )
    fusion: Literal["rrf", "weighted"] = Field(
        "weighted",
        description="How hybrid retrieval merges its rankings: a 50/50 mix of their scaled "
        "scores, or reciprocal rank fusion.",
    )
    per_article: int = Field(
        2,
        ge=0,
        le=20,
        description="Chunks of one article ranked before any article's next ones (0: no limit).",
    )
    mmr: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Weight of relevance in maximal marginal relevance (unset: MMR off).",
    )
    rerank: int = Field(
        20,
        ge=0,
        le=50,
        description="Best hybrid candidates rescored by their best sentence and word-piece "
        "match (0: off).",
    )
    recency: float = Field(
        14.0,
        ge=0,
        le=3650,
        description="Half-life in days of a bonus for recent articles, counted back from a "
        "search's `until` or today (0: off).",
    )
    duplicate_overlap: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="Shared share of term shingles from which two articles are one story (1: off).",
    )


def settings_problem(exc: ValidationError) -> str:
    """A bad `RAG_*` setting in words: which variable, what was wrong."""
    parts = []
    for error in exc.errors():
        name = "RAG_" + "_".join(str(p) for p in error["loc"]).upper()
        parts.append(f"{name}: {error['msg']}")
    return "bad setting: " + "; ".join(parts)
