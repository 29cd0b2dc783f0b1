"""`python -m index [build|status|repair]`: build or update the index from the seeds folder,
show what it holds, or repair a store a killed process left damaged (`index.repair`; `build`
repairs first on its own). (Retrieval is measured through the service's own routes, by
`python -m service.measure.public_sets`.)"""

import argparse
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from index import logs
from index.build import sync
from index.chroma import embedded_folder
from index.embed import MODEL_NAME, Embedder
from index.errors import IndexError_
from index.repair import heal, heal_embedded
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
    parser.add_argument(
        "command", nargs="?", default="build", choices=["build", "status", "repair"]
    )
    parser.add_argument(
        "--path",
        type=Path,
        help="repair: the Chroma folder to repair (default: the embedded store of RAG_DATA_DIR;"
        " a `chroma run` server's --path, with the server stopped)",
    )
    args = parser.parse_args(argv)
    logs.configure()
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: {settings_problem(exc)}", file=sys.stderr)
        return 2
    try:
        if args.command == "repair":
            return repair(settings, args.path)
        if args.command == "status":
            return status(settings, open_store(settings))
        embedder = Embedder(
            settings.device, settings.embed_batch, settings.encoder_path, settings.torch_threads
        )
        heal_embedded(settings, embedder)
        return build(settings, open_store(settings), embedder)
    except (IndexError_, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build(settings: Settings, store: Store, embedder: Embedder) -> int:
    """Index the seeds folder and print what changed."""
    report = sync(settings, store, embedder)
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


def repair(settings: Settings, path: Path | None) -> int:
    """Repair the damaged collections of a store on local disk and print which."""
    if path is None and settings.chroma_mode == "http":
        print(
            "error: the store is a Chroma server's: stop it and pass its folder with --path",
            file=sys.stderr,
        )
        return 2
    folder = path or embedded_folder(settings)
    repaired = heal(
        folder,
        Embedder(
            settings.device, settings.embed_batch, settings.encoder_path, settings.torch_threads
        ),
    )
    print(f"repaired {', '.join(repaired)}" if repaired else f"{folder}: nothing to repair")
    return 0


def status(settings: Settings, store: Store) -> int:
    """Print what the index holds and where it lives."""
    articles, chunks = store.counts()
    where = (
        f"chroma server http://{settings.chroma_host}:{settings.chroma_port}"
        if settings.chroma_mode == "http"
        else str(embedded_folder(settings).resolve())
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
