"""GET /docs: the API's Swagger UI, served from the app itself (the machines it runs on may be
offline, and the page's CSP loads nothing from another host).

The Swagger UI files come from the `fastapi-offline` package; the start-up script is ours, a
file rather than inline code, so the CSP of /docs allows scripts from the app alone. Only
styles are let inline: Swagger UI sets style attributes as it draws.
"""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
INIT = Path(__file__).resolve().parent.parent / "docs" / "init.js"
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>News RAG API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)
assets = StaticFiles(directory=ASSETS)


@router.get("/docs")
async def docs() -> HTMLResponse:
    """The Swagger UI page."""
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": DOCS_CSP})


@router.get("/docs/init.js")
async def docs_init() -> FileResponse:
    """The script that starts Swagger UI."""
    return FileResponse(INIT, media_type="text/javascript")
