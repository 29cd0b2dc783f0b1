"""`NewsRetriever`: the service's search as a LangChain retriever."""

from datetime import date
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from newsrag_client.client import NewsRAG


class NewsRetriever(BaseRetriever):
    """Passages of the service's articles for a query (POST /api/search), as Documents: the
    passage text as `page_content`, the citation fields (article_id, title, source, start,
    end, score, rank, duplicates) as `metadata`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: NewsRAG
    top_k: int | None = None
    since: date | None = None
    until: date | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        found = self.client.search(query, top_k=self.top_k, since=self.since, until=self.until)
        return [
            Document(
                page_content=hit.quote,
                metadata=hit.model_dump(exclude={"quote"}),
                id=f"{hit.article_id}:{hit.start}",
            )
            for hit in found.results
        ]
