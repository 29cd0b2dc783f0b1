"""POST /api/search: ranked passages for a query."""

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from service.api.admission import within_deadline
from service.api.deps import RetrieverDep, SettingsDep, StoreDep
from service.api.error_models import responses
from service.api.schemas import SearchHit, SearchRequest, SearchResponse

router = APIRouter(prefix="/api", tags=["search"])


@router.post(
    "/search", response_model=SearchResponse, responses=responses(400, 408, 413, 422, 500, 503, 504)
)
async def search(
    body: SearchRequest, retriever: RetrieverDep, store: StoreDep, settings: SettingsDep
) -> SearchResponse:
    """Find the article passages that best match a query."""
    await run_in_threadpool(store.require_ready)
    hits = await within_deadline(
        retriever.search, body.query, body.top_k or settings.top_k, body.since, body.until
    )
    results = [
        SearchHit.from_hit(h, rank=i, duplicates=list(h.duplicates))
        for i, h in enumerate(hits, start=1)
    ]
    return SearchResponse(query=body.query, results=results)
