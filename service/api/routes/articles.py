"""/api/articles: read the articles, and feed them in (add, replace, delete, bulk).

Articles added here are stored under the origin `api` (source `api/<id>`): they survive
restarts and `make index`, which only syncs the seeds folder. A write is visible to every
worker sharing the store within RAG_SYNC_INTERVAL.
"""

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from index.errors import IndexError_
from index.ingest import Ingest, Outcome, Submission
from index.load import SUFFIXES
from service.api.admission import within_deadline
from service.api.article_models import (
    ArticleDetail,
    ArticleIn,
    ArticleSummary,
    ArticleWritten,
    BulkLine,
)
from service.api.auth import GUARDED, requires
from service.api.deps import ComponentsDep, StoreDep
from service.api.error_models import REF, responses
from service.api.errors import detail_for, field_message, status_for
from service.components import Components

router = APIRouter(prefix="/api", tags=["articles"])
READING = [Depends(requires("ask"))]
WRITING = [Depends(requires("write"))]
UPLOAD_FIELDS = ("title", "published", "url", "publisher", "id")
WRITE_ERRORS = responses(
    400,
    408,
    409,
    413,
    415,
    422,
    500,
    503,
    *GUARDED,
    s413="The request body is over its limit, or the article over RAG_MAX_ARTICLE_BYTES",
    s503="The store failed; the write may or may not have taken effect, and sending it "
    "again is safe",
)
WRITTEN = {"application/json": {"schema": {"$ref": REF + "ArticleWritten"}}}
ARTICLE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ArticleIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        **{f: {"type": "string"} for f in UPLOAD_FIELDS},
                    },
                }
            },
        },
    }
}


def get_ingest(components: ComponentsDep) -> Ingest:
    """Adding, replacing and deleting articles."""
    return components.ingest()


IngestDep = Annotated[Ingest, Depends(get_ingest)]
PageLimit = Annotated[int, Query(ge=1, le=1000, description="Articles in the page (1-1000).")]
Cursor = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{1,9}$", description="Where the page starts: from the last `Link`."),
]


@router.get(
    "/articles",
    response_model=list[ArticleSummary],
    dependencies=READING,
    responses={
        200: {
            "description": "A page of articles' metadata; when more follow, the `Link` header "
            'names the next page (`</api/articles?limit=…&cursor=…>; rel="next"`).'
        },
        **responses(400, 422, 500, 503, 504, *GUARDED),
    },
)
async def list_articles(
    store: StoreDep,
    request: Request,
    response: Response,
    limit: PageLimit = 1000,
    cursor: Cursor = None,
) -> list[ArticleSummary]:
    """List the indexed articles' metadata, a page at a time (`Link` names the next page)."""
    page, after = await within_deadline(store.article_page, limit, int(cursor or 0))
    if after:
        path = request.url.path
        response.headers["Link"] = f'<{path}?limit={limit}&cursor={after}>; rel="next"'
    return [ArticleSummary(**asdict(a), characters=n) for a, n in page]


@router.get(
    "/articles/{article_id}",
    response_model=ArticleDetail,
    dependencies=READING,
    responses=responses(400, 404, 500, 503, *GUARDED),
)
async def read_article(article_id: str, store: StoreDep) -> ArticleDetail:
    """One article with its full cleaned text, so a citation can be read in context."""
    article = await run_in_threadpool(store.article, article_id)
    if article is None:
        raise HTTPException(
            status_code=404, detail=f"no article with id {article_id!r}; see /api/articles"
        )
    return ArticleDetail(**asdict(article), characters=len(article.text))


@router.post(
    "/articles",
    dependencies=WRITING,
    status_code=201,
    response_model=ArticleWritten,
    responses={
        200: {"description": "Unchanged: the same content is already stored", "content": WRITTEN},
        **WRITE_ERRORS,
    },
    openapi_extra=ARTICLE_BODY,
)
async def add_article(
    request: Request, response: Response, ingest: IngestDep, components: ComponentsDep
) -> ArticleWritten:
    """Add an article: JSON with its text, or a multipart upload of one .txt, .md or .html file."""
    submission = await _submission(request)
    outcome = await run_in_threadpool(ingest.put, submission, False)
    return await _written(outcome, response, components)


@router.put(
    "/articles/{article_id}",
    dependencies=WRITING,
    status_code=201,
    response_model=ArticleWritten,
    responses={200: {"description": "Replaced, or unchanged", "content": WRITTEN}, **WRITE_ERRORS},
    openapi_extra=ARTICLE_BODY,
)
async def replace_article(
    article_id: str,
    request: Request,
    response: Response,
    ingest: IngestDep,
    components: ComponentsDep,
) -> ArticleWritten:
    """Add or replace the article with this id; searches see it whole-old or whole-new."""
    submission = await _submission(request, article_id)
    outcome = await run_in_threadpool(ingest.put, submission, True)
    return await _written(outcome, response, components)


@router.delete(
    "/articles/{article_id}",
    status_code=204,
    dependencies=WRITING,
    responses=responses(400, 404, 409, 500, 503, *GUARDED),
)
async def delete_article(article_id: str, ingest: IngestDep, components: ComponentsDep) -> Response:
    """Delete an article added over HTTP, with the teasers found on its page."""
    await run_in_threadpool(ingest.delete, article_id)
    await run_in_threadpool(components.catalog().refresh, True)
    return Response(status_code=204)


@router.post(
    "/articles/bulk",
    dependencies=WRITING,
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One JSON line a request line, in order, as each batch is written: "
            "`{line, code, status, article_id?, chunks?, detail?}` (BulkLine).",
            "content": {"application/x-ndjson": {"itemSchema": {"$ref": REF + "BulkLine"}}},
        },
        **responses(400, 408, 413, 500, 503, *GUARDED),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "JSON Lines: one ArticleIn object a line (ids replace: a line whose "
            "id holds other content replaces it).",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
async def add_articles_bulk(
    request: Request, ingest: IngestDep, components: ComponentsDep
) -> StreamingResponse:
    """Add or replace many articles, one JSON object a line, answered line by line."""
    # JSON Lines end at "\n" only: U+2028, U+2029 and U+0085 may stand unescaped in a string.
    lines = (await request.body()).split(b"\n")
    parsed = [(n, _parse_line(n, line)) for n, line in enumerate(lines, start=1) if line.strip()]
    submissions = [p for _, p in parsed if isinstance(p, Submission)]

    def results() -> Iterator[str]:
        written = ingest.put_many(submissions, replace=True)
        for n, item in parsed:
            result = item if isinstance(item, BulkLine) else _bulk_line(n, next(written))
            yield result.model_dump_json(exclude_none=True) + "\n"
        components.catalog().refresh(force=True)

    return StreamingResponse(iterate_in_threadpool(results()), media_type="application/x-ndjson")


async def _submission(request: Request, article_id: str | None = None) -> Submission:
    """The article of a JSON or multipart request."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _upload(request, article_id)
    try:
        article = ArticleIn.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    if article_id is not None and article.id not in (None, article_id):
        raise HTTPException(422, f"id: {article.id!r} in the body differs from the address")
    return article.submission(article_id)


async def _upload(request: Request, article_id: str | None) -> Submission:
    form = await request.form()
    unknown = sorted(set(form.keys()) - {"file", *UPLOAD_FIELDS})
    repeated = sorted(f for f in set(form.keys()) if len(form.getlist(f)) > 1)
    if unknown or repeated:  # refused, as the JSON route refuses them, never ignored
        errors = [{"type": "extra_forbidden", "loc": (f,), "msg": ""} for f in unknown]
        errors += [
            {"type": "value_error", "loc": (f,), "msg": f"sent {len(form.getlist(f))} times"}
            for f in repeated
        ]
        if form.get("file") is None or isinstance(form.get("file"), str):
            errors.append({"type": "missing", "loc": ("file",), "msg": ""})
        raise RequestValidationError(errors)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(422, "file: a multipart upload needs one file, in the field `file`")
    given = form.get("id")
    if article_id is not None and isinstance(given, str) and given not in ("", article_id):
        raise HTTPException(422, f"id: {given!r} in the body differs from the address")
    name = upload.filename or "upload.txt"
    if PurePath(name).suffix.lower() not in SUFFIXES:
        raise HTTPException(415, f"{name}: only .txt, .md and .html files are read")
    fields = {f: str(form[f]) for f in UPLOAD_FIELDS if isinstance(form.get(f), str)}
    try:
        meta = ArticleIn(text="-", **fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    plain = meta.submission(article_id)
    return Submission(
        title=plain.title,
        published=plain.published,
        url=plain.url,
        publisher=plain.publisher,
        article_id=plain.article_id,
        data=await upload.read(),
        filename=name,
    )


async def _written(outcome: Outcome, response: Response, components: Components) -> ArticleWritten:
    if outcome.status != "created":
        response.status_code = 200
    if outcome.status != "unchanged":
        await run_in_threadpool(components.catalog().refresh, True)
    return ArticleWritten(**asdict(outcome))


def _parse_line(n: int, line: bytes) -> Submission | BulkLine:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:  # refused, as the JSON route refuses it, never mended
        detail = f"the line is not UTF-8 text (byte {exc.start + 1} is {line[exc.start]:#04x})"
        return BulkLine(line=n, code=422, status="error", detail=detail)
    try:
        return ArticleIn.model_validate_json(text).submission()
    except ValidationError as exc:
        detail = "; ".join(field_message(dict(e)) for e in exc.errors(include_url=False))
        return BulkLine(line=n, code=422, status="error", detail=detail)


def _bulk_line(n: int, result: Outcome | IndexError_) -> BulkLine:
    if isinstance(result, IndexError_):
        return BulkLine(line=n, code=status_for(result), status="error", detail=detail_for(result))
    code = 201 if result.status == "created" else 200
    return BulkLine(
        line=n, code=code, status=result.status, article_id=result.article_id, chunks=result.chunks
    )
