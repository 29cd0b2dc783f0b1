"""GET /metrics: the service's Prometheus metrics (scope admin)."""

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from index.errors import IndexError_
from service.api.auth import GUARDED, requires
from service.api.deps import ComponentsDep
from service.api.error_models import responses
from service.api.observe import exposition
from service.metrics import INDEX_ARTICLES, INDEX_CHUNKS

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(requires("admin"))],
    responses={
        200: {
            "description": "Prometheus's text format: requests by route and status, latency "
            "of retrieval, answering and the model, index size, refusals and fallbacks.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **responses(400, *GUARDED),
    },
)
async def read_metrics(components: ComponentsDep) -> Response:
    """The service's metrics in Prometheus's text format."""
    try:
        articles, chunks = await run_in_threadpool(lambda: components.store().counts())
        INDEX_ARTICLES.set(articles)
        INDEX_CHUNKS.set(chunks)
    except IndexError_:
        pass  # the metrics still answer while Chroma is down: that is when they are read
    body, kind = exposition()
    return Response(body, media_type=kind)
