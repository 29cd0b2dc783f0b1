"""`python -m service.measure.bench [PART ...]`: run benchmark parts, print and save them.

indexing  ours against the textbook pipeline on RealTime QA's 891 articles (keeps the index)
search    /api/search and /api/ask p50 against the floor, on that index; ask without the reader
load      16 clients at once against WORKERS=2, beside one client asking serially
bulk      POST /api/articles/bulk against `python -m index` on the same articles
all       the four, in that order (the default)
scale     search p50 at ~100,000 chunks against ~10,000, index time, disk, memory (~25 min;
          not part of `all`)
"""

import argparse
import json
import logging
import sys
from pathlib import Path

from index.build import sync
from index.embed import Embedder
from index.settings import Settings
from index.store import open_store
from service.measure.bench import bulk, indexing, load, scale, search
from service.measure.bench.common import realtimeqa, save
from service.measure.public_sets import write_seeds

PARTS = ("indexing", "search", "load", "bulk")
INDEX = Path("bench/index/realtimeqa")


def main(argv: list[str] | None = None) -> int:
    """Run the parts asked for."""
    parser = argparse.ArgumentParser(
        prog="python -m service.measure.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("parts", nargs="*", default=["all"], choices=[*PARTS, "all", "scale"])
    parser.add_argument("--articles", type=int, default=0, help="use only the first N articles")
    parser.add_argument("--bulk-articles", type=int, default=200, help="articles for `bulk`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    parts = PARTS if "all" in args.parts else args.parts
    bench = realtimeqa(args.articles)
    docs = bench.docs or []
    for part in parts:
        print(f"== {part}", flush=True)
        if part == "indexing":
            result = indexing.run(docs, keep=INDEX)
        elif part == "search":
            result = search.run(_index(docs), bench.questions)
        elif part == "load":
            result = load.run(_index(docs), bench.questions)
        elif part == "scale":
            result = scale.run()
        else:
            result = bulk.run(docs[: args.bulk_articles])
        save(part, result)
        print(json.dumps(result, indent=1), flush=True)
    return 0


def _index(docs: list) -> Path:  # type: ignore[type-arg]
    """The data folder of the kept RealTime QA index, built when missing and brought up to
    date otherwise (a new index signature re-indexes it)."""
    settings = Settings(seeds_dir=INDEX / "seeds", data_dir=INDEX / "data", progress=True)
    if not (settings.seeds_dir / "articles.toml").exists():
        write_seeds(docs, settings.seeds_dir)
    sync(settings, open_store(settings), Embedder())
    return settings.data_dir


if __name__ == "__main__":
    sys.exit(main())
