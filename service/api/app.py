"""The app factory: `create_app(settings)` wires routes, errors, the page and the lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from index import logs
from index.embed import Embedder
from service.answering.chat import ChatBackend
from service.api import errors
from service.api.routes import articles, ask, health, openai, search, stream
from service.components import Components
from service.settings import Settings

STATIC = Path(__file__).parent / "static"
# The page loads nothing from elsewhere and never evaluates strings as code.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


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
    )
    errors.install(app)
    for module in (health, ask, stream, search, articles, openai):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    if (STATIC / "index.html").exists():
        app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")
    return app
