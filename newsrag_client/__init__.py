"""A Python client of the News RAG service, and a LangChain retriever over it.

    from newsrag_client import NewsRAG, NewsRetriever

    with NewsRAG("http://127.0.0.1:8000") as news:
        print(news.ask("Where is the Russian Baltic Fleet based?").answer)
        docs = NewsRetriever(client=news, top_k=3).invoke("Baltic Fleet")

`NewsRAG.in_process(app)` talks to an app in this process instead (no server, no port).
"""

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
from newsrag_client.retriever import NewsRetriever

__all__ = [
    "APIError",
    "Conflict",
    "InvalidRequest",
    "NewsRAG",
    "NewsRAGError",
    "NewsRetriever",
    "NotFound",
    "ServerError",
    "StreamEvent",
    "StreamFailed",
    "TooLarge",
    "Unavailable",
    "Unreachable",
    "UnsupportedMedia",
]
