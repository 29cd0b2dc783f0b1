"""The service's Prometheus metrics, recorded where the work is done and exposed by
`GET /metrics` (`service.api.observe`).

With several workers, `PROMETHEUS_MULTIPROC_DIR` (set by `service.api.server`) makes every
worker write its values to files that /metrics sums; gauges take the largest.
"""

from prometheus_client import Counter, Gauge, Histogram

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "newsrag_requests_total",
    "HTTP requests by route, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "newsrag_request_seconds",
    "Time to the response's first byte, by route.",
    ["route"],
    buckets=SECONDS,
)
RETRIEVAL_SECONDS = Histogram(
    "newsrag_retrieval_seconds", "Time to find the passages of a question.", buckets=SECONDS
)
ANSWER_SECONDS = Histogram(
    "newsrag_answer_seconds", "Time from the passages to the final answer.", buckets=SECONDS
)
LLM_SECONDS = Histogram(
    "newsrag_llm_seconds", "Time the language model took for one answer.", buckets=SECONDS
)
ANSWERS = Counter(
    "newsrag_answers_total",
    "Answers by how they were made (extractive, generated, fallback) and whether refused.",
    ["mode", "refused"],
)
QUEUED = Gauge(
    "newsrag_queue_questions",
    "Questions being answered or waiting for a turn (RAG_MAX_ANSWERING, RAG_MAX_WAITING).",
    multiprocess_mode="livesum",
)
INDEX_ARTICLES = Gauge("newsrag_index_articles", "Articles in the index.", multiprocess_mode="max")
INDEX_CHUNKS = Gauge("newsrag_index_chunks", "Chunks in the index.", multiprocess_mode="max")


def answered(mode: str, answerable: bool) -> None:
    """Count one final answer."""
    ANSWERS.labels(mode, "no" if answerable else "yes").inc()
