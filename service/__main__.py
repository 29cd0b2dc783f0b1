"""`python -m service`: serve the app with uvicorn on HOST:PORT (default 127.0.0.1:8000)."""

import os
import sys

import uvicorn
from pydantic import ValidationError

from index.settings import settings_problem
from service.api.app import create_app
from service.settings import Settings


def main() -> None:
    """Serve until interrupted."""
    try:
        settings = Settings()
    except ValidationError as exc:
        sys.exit(f"error: {settings_problem(exc)}")
    app = create_app(settings)
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
