"""GET /api/articles and /api/articles/{article_id}: metadata and cleaned text."""

from dataclasses import asdict

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from service.api.deps import StoreDep
from service.api.schemas import ArticleDetail, ArticleSummary

router = APIRouter(prefix="/api", tags=["articles"])


@router.get("/articles", response_model=list[ArticleSummary])
async def list_articles(store: StoreDep) -> list[ArticleSummary]:
    """List every indexed article with its metadata."""
    articles = await run_in_threadpool(store.list_articles)
    return [ArticleSummary(**asdict(a), characters=len(a.text)) for a in articles]


@router.get(
    "/articles/{article_id}",
    response_model=ArticleDetail,
    responses={404: {"description": "No such article"}},
)
async def read_article(article_id: str, store: StoreDep) -> ArticleDetail:
    """One article with its full cleaned text, so a citation can be read in context."""
    article = await run_in_threadpool(store.article, article_id)
    if article is None:
        raise HTTPException(
            status_code=404, detail=f"no article with id {article_id!r}; see /api/articles"
        )
    return ArticleDetail(**asdict(article), characters=len(article.text))
