"""A Python client of the News RAG service, and a LangChain retriever over it.

    from newsrag_client import NewsRAG, NewsRetriever

    with NewsRAG("http://127.0.0.1:8000") as news:
        print(news.ask("Where is the Russian Baltic Fleet based?").answer)
        docs = NewsRetriever(client=news, top_k=3).invoke("Baltic Fleet")

`NewsRAG.in_process(app)` talks to an app in this process instead (no server, no port).
`NewsRetriever` needs the `langchain` extra (`pip install './clients/python[langchain]'`):
it is imported on first use, so `import newsrag_client` loads httpx and pydantic only.
"""

from typing import TYPE_CHECKING, Any

from newsrag_client.client import NewsRAG, StreamEvent
from newsrag_client.errors import (
    APIError,
    Conflict,
    InvalidRequest,
    NewsRAGError,
    NotFound,
    ServerError,
    StreamFailed,
    TooLarge,
    Unavailable,
    Unreachable,
    UnsupportedMedia,
)
from newsrag_client.models import (
    ArticleDetail,
    ArticleSummary,
    ArticleWritten,
    AskResponse,
    Citation,
    Health,
    Passage,
    SearchHit,
    SearchResponse,
)

if TYPE_CHECKING:
    from newsrag_client.retriever import NewsRetriever


def __getattr__(name: str) -> Any:
    if name == "NewsRetriever":
        from newsrag_client.retriever import NewsRetriever

        return NewsRetriever
    raise AttributeError(f"module 'newsrag_client' has no attribute {name!r}")


__all__ = [
    "APIError",
    "ArticleDetail",
    "ArticleSummary",
    "ArticleWritten",
    "AskResponse",
    "Citation",
    "Conflict",
    "Health",
    "InvalidRequest",
    "NewsRAG",
    "NewsRAGError",
    "NewsRetriever",
    "NotFound",
    "Passage",
    "SearchHit",
    "SearchResponse",
    "ServerError",
    "StreamEvent",
    "StreamFailed",
    "TooLarge",
    "Unavailable",
    "Unreachable",
    "UnsupportedMedia",
]
