"""`python -m index [build|status]`: build or update the index from the seeds folder, or show
what it holds. (Retrieval is measured through the service's own routes, by
`python -m service.measure.public_sets`.)"""

import argparse
import logging
import sys

from pydantic import ValidationError

from index import logs
from index.build import sync
from index.embed import MODEL_NAME, Embedder
from index.errors import IndexError_
from index.settings import Settings, settings_problem
from index.store import Store, open_store

log = logging.getLogger("index")


def main(argv: list[str] | None = None) -> int:
    """Run the command; exit 0 when all went well, 1 when a file was skipped, 2 on failure."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m index",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", nargs="?", default="build", choices=["build", "status"])
    args = parser.parse_args(argv)
    logs.configure()
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: {settings_problem(exc)}", file=sys.stderr)
        return 2
    try:
        store = open_store(settings)
        if args.command == "status":
            return status(settings, store)
        return build(settings, store)
    except (IndexError_, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build(settings: Settings, store: Store) -> int:
    """Index the seeds folder and print what changed."""
    report = sync(settings, store, Embedder(settings.device, settings.embed_batch))
    articles, chunks = store.counts()
    print(
        f"indexed {settings.seeds_dir}: {len(report.added)} added, "
        f"{len(report.replaced)} replaced, "
        f"{len(report.deleted)} deleted, {report.unchanged} unchanged, "
        f"{report.chunks_written} chunks written; index holds {articles} articles, {chunks} chunks"
    )
    for source, reason in sorted(report.skipped.items()):
        print(f"skipped {source}: {reason}", file=sys.stderr)
    return 1 if report.skipped else 0


def status(settings: Settings, store: Store) -> int:
    """Print what the index holds and where it lives."""
    articles, chunks = store.counts()
    where = (
        f"chroma server http://{settings.chroma_host}:{settings.chroma_port}"
        if settings.chroma_mode == "http"
        else str((settings.data_dir / "chroma").resolve())
    )
    records = store.records()
    files = len({r.source for r in records if r.origin == "seeds"})
    uploads = len({r.source for r in records if r.origin == "api"})
    print(f"articles: {articles} ({files} files of the seeds folder, {uploads} added over HTTP)")
    print(f"chunks: {chunks}")
    print(f"model: {MODEL_NAME}\nindex: {where} (collection {settings.collection})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
