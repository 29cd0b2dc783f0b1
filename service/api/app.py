"""The app factory: `create_app(settings)` wires routes, errors, middleware, the page and the
lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from index import logs
from index.embed import Embedder
from service.answering.chat import ChatBackend
from service.api import errors, openapi
from service.api.admission import Work
from service.api.auth import GUARDED, Gate, KeysFirst, requires
from service.api.error_models import responses
from service.api.middleware import AllowedHosts, BodyLimits, Limit, SecurityHeaders
from service.api.observe import RequestContext
from service.api.ratelimit import rate_limiter
from service.api.routes import articles, ask, docs, health, metrics, openai, search, stream
from service.components import Components
from service.keys import load_keys
from service.settings import Settings

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)
ASKING = [Depends(requires("ask"))]


def create_app(
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    chat: ChatBackend | None = None,
) -> FastAPI:
    """Build the app; the model loads and the store opens when it starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure(settings.log_level)
        if not app.state.gate.keys:
            log.warning(
                "no API keys are set (RAG_API_KEYS): anyone who reaches the port may ask and "
                "write articles"
            )
        components = await run_in_threadpool(Components, settings, embedder, chat)
        await run_in_threadpool(components.try_open)
        app.state.components = components
        yield
        await run_in_threadpool(components.close)

    app = FastAPI(
        title="News RAG",
        summary="Answers about news articles, every sentence cited to its passage.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    errors.install(app)
    openapi.install(app)
    app.state.gate = Gate(
        load_keys(
            settings.api_keys.get_secret_value() if settings.api_keys else None,
            settings.api_keys_file,
        ),
        rate_limiter(settings.rate_limit, settings.rate_limit_storage, settings.data_dir),
    )
    for module in (health, docs, articles, metrics):  # each route names its own scope
        app.include_router(module.router)
    for module in (ask, stream, search):
        app.include_router(module.router, dependencies=ASKING, responses=responses(*GUARDED))
    app.include_router(
        openai.router, dependencies=ASKING, responses=responses(*GUARDED, openai=True)
    )
    app.mount("/docs/assets", docs.assets, name="docs-assets")
    # The last added runs first: the request's id and deadline, headers on every answer,
    # then the host, then the key (from the headers), then the body.
    app.add_middleware(
        BodyLimits,
        limits=body_limits(settings),
        default=Limit("*", "/", settings.max_body_bytes, "RAG_MAX_BODY_BYTES"),
        timeout=settings.body_timeout,
    )
    app.add_middleware(KeysFirst, gate=app.state.gate)
    app.add_middleware(AllowedHosts, hosts=settings.allowed_hosts)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        RequestContext,
        timeout=settings.request_timeout,
        work=Work(settings.max_answering, settings.max_waiting),
    )
    if (STATIC / "index.html").exists():
        app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")
    return app


def operation_id(route: APIRoute) -> str:
    """A route's operationId is its function's name (`ask`, `create_chat_completion`), which
    generated clients turn into method names."""
    return route.name


def body_limits(settings: Settings) -> list[Limit]:
    """Larger bodies for the routes that take articles: an article's JSON may escape its
    text to several times its size, so the article limit itself is checked on the text."""
    article = 4 * settings.max_article_bytes + 64 * 1024
    return [
        Limit("POST", "/api/articles/bulk", settings.max_bulk_bytes, "RAG_MAX_BULK_BYTES"),
        Limit("POST", "/api/articles", article, "RAG_MAX_ARTICLE_BYTES"),
        Limit("PUT", "/api/articles/", article, "RAG_MAX_ARTICLE_BYTES"),
    ]
