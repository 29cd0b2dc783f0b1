"""`python -m service`: serve the app on HOST:PORT (default 127.0.0.1:8000) with WORKERS worker
processes (default 1), within the transport limits of the settings (`service.api.server`).
HOST, PORT and WORKERS are settings like the others (`RAG_HOST`, or `HOST`)."""

import sys

from pydantic import ValidationError

from index.settings import settings_problem
from service.api.server import serve
from service.components import reader_missing
from service.settings import Settings


def main() -> None:
    """Serve until interrupted."""
    try:
        settings = Settings()
    except ValidationError as exc:
        sys.exit(f"error: {settings_problem(exc)}")
    missing = reader_missing(settings)
    if missing:
        sys.exit(f"error: {missing}")
    serve(settings)


if __name__ == "__main__":
    main()
