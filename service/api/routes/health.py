"""GET /health: ready or not, and what the index holds."""

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from index.embed import MODEL_NAME
from service.api.deps import SettingsDep, StoreDep
from service.api.error_models import responses
from service.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses=responses(400, 500, 503, s503="Index missing, empty or unreachable"),
)
async def health(store: StoreDep, settings: SettingsDep) -> Health:
    """Report readiness: 503 with a reason when the index is missing or empty."""
    await run_in_threadpool(store.require_ready)
    articles, chunks = await run_in_threadpool(store.counts)
    return Health(
        status="ok",
        articles=articles,
        chunks=chunks,
        model=MODEL_NAME,
        answer_backend=settings.answer_backend,
    )


@router.head("/health", include_in_schema=False)
async def health_head(store: StoreDep) -> Response:
    """`GET /health` without its body, for probes that send HEAD."""
    await run_in_threadpool(store.require_ready)
    return Response(status_code=200)
