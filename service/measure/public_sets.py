"""`python -m service.measure.public_sets DATASET`: measure retrieval and answers on a question set.

The corpus is written to a seeds folder (one `.txt` per document, titles and dates in
`articles.toml`) and indexed by `index.build.sync` into a throwaway index; then every
question goes over HTTP to the service app itself (in process): `/api/search` with
`top_k=20` for the article ranking, `/api/ask` for the answer, through `newsrag_client`. So
the figures are the service's own. `--compare dense,keyword` ranks again with one retriever
alone, over the same index, for the baselines. See `service.measure.datasets` for the formats read.
"""

import argparse
import json
import logging
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from index.build import sync
from index.embed import MODEL_NAME, Embedder
from index.retrieve import Ranking
from index.store import Store
from newsrag_client import NewsRAG, SearchHit
from service.api.app import create_app
from service.measure.datasets import Benchmark, DatasetError, Doc, Question, load
from service.measure.report import render
from service.measure.scores import Group, contains_gold, mean, ranking_scores, token_f1
from service.settings import Settings

SEARCH_K = 20  # the most /api/search returns; with two chunks an article, 10+ articles
# Settings a run may override from the command line (--per-article 0 is RAG_PER_ARTICLE=0).
RANKING_OPTIONS = (
    "retrieval",
    "fusion",
    "per_article",
    "mmr",
    "duplicate_overlap",
    "rerank",
    "recency",
    "top_k",
)


def main(argv: list[str] | None = None, prog: str = "python -m service.measure.public_sets") -> int:
    """Run the benchmark; print the table and optionally write JSON. Exit 2 on bad input."""
    args = _parser(prog).parse_args(argv)
    try:
        bench = load(Path(args.dataset), args.split, not args.no_distractors)
    except (DatasetError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        bench = Benchmark(bench.name, bench.kind, bench.docs, bench.questions[: args.limit])
    result = run(bench, args)
    print(render(result))
    if args.json:
        Path(args.json).write_text(
            json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8"
        )
    return 0


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", help="a folder of ../shared/bench, or our JSONL format")
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    parser.add_argument("--split", default="test", help="BEIR qrels split (default test)")
    parser.add_argument(
        "--no-distractors", action="store_true", help="RealTime QA gold articles only"
    )
    parser.add_argument("--compare", default="", help="also rank with: dense, keyword (comma list)")
    parser.add_argument(
        "--window-days",
        type=int,
        default=0,
        help="ask a dated question (RealTime QA) of the N days up to its date (since/until)",
    )
    parser.add_argument("--no-answers", action="store_true", help="skip /api/ask")
    parser.add_argument("--seeds", type=Path, help="corpus for a questions file (default: seeds/)")
    parser.add_argument("--index-dir", type=Path, help="keep the index here and reuse it")
    parser.add_argument("--json", help="write the results to this file")
    for name in RANKING_OPTIONS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=f"RAG_{name.upper()}")
    return parser


def run(
    bench: Benchmark, args: argparse.Namespace, embedder: Embedder | None = None
) -> dict[str, Any]:
    """Index the corpus, ask every question, and return figures and settings."""
    with _workdir(args.index_dir) as work:
        settings = _settings(args, work, bench)
        files = write_seeds(bench.docs, settings.seeds_dir) if bench.docs is not None else {}
        embedder = embedder or Embedder(
            settings.device, settings.embed_batch, settings.encoder_path, settings.torch_threads
        )
        app = create_app(settings, embedder)
        with NewsRAG.in_process(app) as client:
            started = time.perf_counter()
            report = sync(settings, app.state.components.store(), embedder)
            store = app.state.components.store()
            indexed = {
                "seconds": round(time.perf_counter() - started, 1),
                "chunks": store.counts()[1],
                "written": report.chunks_written,
                "skipped": sorted(report.skipped),
                "kept": kept_share(store, bench.docs),
            }
            doc_of = _doc_mapper(files)
            questions = within_days(bench.questions, args.window_days)
            modes: dict[str, dict[str, Any]] = {
                settings.retrieval: rank_all(client, questions, doc_of)
            }
            if questions != bench.questions:
                unbounded = f"{settings.retrieval}, no {args.window_days}-day window"
                modes[unbounded] = rank_all(client, bench.questions, doc_of)
            answers = None if args.no_answers else ask_all(client, questions)
        for mode in [m for m in args.compare.split(",") if m and m != settings.retrieval]:
            # One retriever alone, as a baseline: no recency bonus either (the best-sentence
            # step only runs on hybrid rankings).
            other = settings.model_copy(update={"retrieval": mode, "recency": 0})
            with NewsRAG.in_process(create_app(other, embedder)) as client:
                modes[mode] = rank_all(client, questions, doc_of)
    return {
        "dataset": bench.name,
        "kind": bench.kind,
        "questions": len(bench.questions),
        "docs": len(bench.docs) if bench.docs is not None else None,
        "index": indexed,
        "config": {**_config(settings), "window_days": args.window_days or None},
        "modes": modes,
        "answers": answers,
    }


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        yield Path(tmp)


def _settings(args: argparse.Namespace, work: Path, bench: Benchmark) -> Settings:
    given = {k: getattr(args, k) for k in RANKING_OPTIONS if getattr(args, k)}
    seeds = work / "seeds" if bench.docs is not None else (args.seeds or Settings().seeds_dir)
    settings = Settings(
        **given,
        data_dir=work / "data",
        seeds_dir=seeds,
        collection="bench",
        progress=sys.stderr.isatty(),
        log_level="WARNING",
        chroma_mode="embedded",
        answer_backend="extractive",
    )
    return settings


def _config(settings: Settings) -> dict[str, Any]:
    return {
        "model": MODEL_NAME,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap,
        "top_k": settings.top_k,
        "min_support": settings.min_support,
        "search_k": SEARCH_K,
        "ranking": Ranking.from_settings(settings).describe(),
    }


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def write_seeds(docs: list[Doc], folder: Path) -> dict[str, str]:
    """One `<doc id>.txt` per document and a manifest of titles and dates; returns the doc
    id of each file stem. Files from an earlier run that are not in `docs` are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    stems = {_UNSAFE.sub("_", d.doc_id): d for d in docs}
    for old in folder.glob("*.txt"):
        if old.stem not in stems:
            old.unlink()
    manifest = []
    for stem, doc in stems.items():
        path = folder / f"{stem}.txt"
        if not path.exists() or path.read_text(encoding="utf-8") != doc.text:
            path.write_text(doc.text, encoding="utf-8")
        meta = {"title": doc.title, "published": _iso(doc.published)}
        lines = [f"{k} = {_toml(v)}" for k, v in meta.items() if v.strip()]
        manifest.append(f"[{_toml(path.name)}]\n" + "\n".join(lines))
    (folder / "articles.toml").write_text("\n\n".join(manifest) + "\n", encoding="utf-8")
    return {stem: doc.doc_id for stem, doc in stems.items()}


def _toml(text: str) -> str:
    return json.dumps(_CONTROL.sub(" ", text), ensure_ascii=False)


def _iso(published: str) -> str:
    return published.strip()[:10].replace("/", "-") if published.strip() else ""


def kept_share(store: Store, docs: list[Doc] | None) -> float:
    """Share of the corpus's characters that the cleaner kept in the indexed articles."""
    if not docs:
        return 1.0
    kept = sum(len(a.text) for a in store.list_articles())
    return round(min(1.0, kept / max(1, sum(len(d.text) for d in docs))), 4)


def _doc_mapper(files: dict[str, str]) -> Any:
    """Article id -> doc id: a file's host article is its stem, a teaser is `<stem>-<n>`."""

    def doc_of(article_id: str) -> str:
        if not files or article_id in files:
            return files.get(article_id, article_id)
        return files.get(article_id.rsplit("-", 1)[0], article_id)

    return doc_of


def rank_all(client: NewsRAG, questions: list[Question], doc_of: Any) -> dict[str, Any]:
    """Article rankings from /api/search for every question with judged documents."""
    judged = [q for q in questions if q.relevant]
    started, rows, strict = time.perf_counter(), [], []
    for q in tqdm(judged, desc="search", unit="q", disable=None, leave=False):
        found = client.search(q.text, top_k=SEARCH_K, since=q.since, until=q.until)
        groups = _groups(found.results, doc_of)
        rows.append(ranking_scores(groups, q.relevant))
        strict.append(ranking_scores(groups, q.relevant, strict=True))
    figures = {m: round(mean([r[m] for r in rows]), 4) for m in rows[0]} if rows else {}
    figures |= (
        {f"strict {m}": round(mean([r[m] for r in strict]), 4) for m in ("hit@5", "mrr@10")}
        if rows
        else {}
    )
    return {"questions": len(judged), "seconds": round(time.perf_counter() - started, 1), **figures}


def _groups(results: list[SearchHit], doc_of: Any) -> list[Group]:
    """Each article once, in order of its best passage, with the articles folded into it."""
    groups: dict[str, Group] = {}
    for hit in results:
        doc = doc_of(hit.article_id)
        if doc not in groups:
            groups[doc] = (doc, *(doc_of(a) for a in hit.duplicates))
    return list(groups.values())


def ask_all(client: NewsRAG, questions: list[Question]) -> dict[str, Any] | None:
    """Answer figures from /api/ask for every question with gold answers."""
    golden = [q for q in questions if q.answers]
    if not golden:
        return None
    started, found, f1, refused = time.perf_counter(), [], [], 0
    for q in tqdm(golden, desc="ask", unit="q", disable=None, leave=False):
        answer = client.ask(q.text[:2000], since=q.since, until=q.until)
        refused += not answer.answerable
        found.append(float(contains_gold(answer.answer, q.answers)))
        f1.append(token_f1(answer.answer, q.answers))
    return {
        "questions": len(golden),
        "seconds": round(time.perf_counter() - started, 1),
        "contains gold": round(mean(found), 4),
        "token f1": round(mean(f1), 4),
        "refused": refused,
    }


def within_days(questions: list[Question], days: int) -> list[Question]:
    """Dated questions asked of the `days` days up to their date (all others unchanged)."""
    if days <= 0:
        return questions
    return [replace(q, since=q.until - timedelta(days=days)) if q.until else q for q in questions]


if __name__ == "__main__":
    logging.getLogger("httpx").setLevel(logging.WARNING)
    sys.exit(main())
