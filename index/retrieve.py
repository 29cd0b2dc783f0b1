"""Find the passages that answer a query. The service and the evaluations both use this."""

from index.embed import Embedder
from index.store import Hit, Store


class Retriever:
    """Dense retrieval over the chunk collection."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def search(self, query: str, k: int) -> list[Hit]:
        """The k best chunks for the query, best first."""
        return self.store.query(self.embedder.encode_one(query), k)
