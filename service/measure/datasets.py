"""Question sets for `python -m service.measure.public_sets`: the public ones in `../shared/bench`
and our own JSONL format, read into one shape.

Formats, told apart by the files a folder holds:

- RealTime QA (`questions.jsonl` with `question_date`, `corpus.jsonl`, and
  `distractors_gcs.jsonl`, indexed too unless `distractors=False`). A question is asked as
  of its date: articles published after it are left out (`until`).
- SQuAD (`questions.jsonl` with `answer_starts`, `corpus.jsonl`).
- BEIR (`corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`), graded judgements.
- Ours: a folder with `corpus.jsonl` and `questions.jsonl`, or a questions file alone that
  is asked of the seeds folder. A corpus line is
  `{"doc_id": "a1", "text": "...", "title": "...", "published": "2025-01-31"}` (title and
  published optional). A question line is
  `{"question": "...", "doc_ids": ["a1"], "answers": ["..."], "since": "2025-01-01",
  "until": "2025-02-01"}`; all but `question` are optional, `article_id`/`article_ids` may
  stand for `doc_ids` and `expected` for `answers` (so `tests/data/seed_questions.jsonl` is
  one), and over the seeds folder a doc id is an article id (a file name without suffix).
"""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

Kind = Literal["realtimeqa", "squad", "beir", "jsonl"]


class DatasetError(ValueError):
    """The dataset path holds no format the benchmark reads."""


@dataclass(frozen=True)
class Doc:
    """A document of a benchmark corpus."""

    doc_id: str
    text: str
    title: str = ""
    published: str = ""


@dataclass(frozen=True)
class Question:
    """A question, the documents that answer it (id -> grade) and its gold answers."""

    qid: str
    text: str
    relevant: dict[str, int]
    answers: list[str] = field(default_factory=list)
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Benchmark:
    """A corpus and the questions asked of it; `docs` is None for the seeds folder."""

    name: str
    kind: Kind
    docs: list[Doc] | None
    questions: list[Question]


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _day(value: object) -> date | None:
    text = str(value or "").strip()[:10].replace("/", "-")
    return date.fromisoformat(text) if text else None


def load(path: Path, split: str = "test", distractors: bool = True) -> Benchmark:
    """Read the benchmark at `path` (a folder, or a questions file of our format)."""
    if path.is_file():
        return Benchmark(path.stem, "jsonl", None, own_questions(path))
    if (path / "queries.jsonl").exists():
        return beir(path, split)
    if not (path / "questions.jsonl").exists() or not (path / "corpus.jsonl").exists():
        raise DatasetError(f"{path}: no questions.jsonl and corpus.jsonl (nor a BEIR layout)")
    first = next(_lines(path / "questions.jsonl"), {})
    if "question_date" in first:
        return realtimeqa(path, distractors)
    if "answer_starts" in first:
        return squad(path)
    docs = [_own_doc(d) for d in _lines(path / "corpus.jsonl")]
    return Benchmark(path.name, "jsonl", docs, own_questions(path / "questions.jsonl"))


def realtimeqa(path: Path, distractors: bool) -> Benchmark:
    """RealTime QA: CNN articles, weekly quiz questions asked as of their date."""
    files = ["corpus.jsonl"] + (["distractors_gcs.jsonl"] if distractors else [])
    docs = [
        Doc(d["doc_id"], d["text"], d.get("title") or "", d.get("publish_date") or "")
        for name in files
        for d in _lines(path / name)
    ]
    questions = [
        Question(
            q["qid"],
            q["question"],
            dict.fromkeys(q["gold_doc_ids"], 1),
            q["answers"],
            until=_day(q["question_date"]),
        )
        for q in _lines(path / "questions.jsonl")
    ]
    name = path.name + ("" if distractors else " (no distractors)")
    return Benchmark(name, "realtimeqa", docs, questions)


def squad(path: Path) -> Benchmark:
    """SQuAD: Wikipedia paragraphs, questions with human answer spans."""
    docs = [
        Doc(d["doc_id"], d["text"], d.get("title") or "") for d in _lines(path / "corpus.jsonl")
    ]
    questions = [
        Question(q["qid"], q["question"], dict.fromkeys(q["gold_doc_ids"], 1), q["answers"])
        for q in _lines(path / "questions.jsonl")
    ]
    return Benchmark(path.name, "squad", docs, questions)


def beir(path: Path, split: str) -> Benchmark:
    """A BEIR set: graded judgements of the `split` queries, no gold answers."""
    docs = [
        Doc(str(d["_id"]), d["text"], d.get("title") or "") for d in _lines(path / "corpus.jsonl")
    ]
    graded: dict[str, dict[str, int]] = {}
    with (path / "qrels" / f"{split}.tsv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows, delimiter="\t"):
            graded.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    texts = {str(q["_id"]): str(q["text"]) for q in _lines(path / "queries.jsonl")}
    questions = [Question(qid, texts[qid], grades) for qid, grades in graded.items()]
    return Benchmark(f"{path.name} {split}", "beir", docs, questions)


def own_questions(path: Path) -> list[Question]:
    """Questions in our JSONL format (see the module docstring)."""
    found = []
    for n, q in enumerate(_lines(path), start=1):
        ids = (
            q.get("doc_ids")
            or q.get("article_ids")
            or ([q["article_id"]] if q.get("article_id") else [])
        )
        answers = q.get("answers") or q.get("expected") or []
        found.append(
            Question(
                str(q.get("id") or q.get("qid") or n),
                q["question"],
                dict.fromkeys(ids, 1),
                list(answers),
                _day(q.get("since")),
                _day(q.get("until")),
            )
        )
    return found


def _own_doc(d: dict[str, Any]) -> Doc:
    return Doc(str(d["doc_id"]), d["text"], d.get("title") or "", d.get("published") or "")
