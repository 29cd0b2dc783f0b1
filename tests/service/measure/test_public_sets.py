"""The benchmark runner on tiny corpora written here, in each format it reads."""

import json
from pathlib import Path
from typing import Any

import pytest

from index.embed import Embedder
from service.measure import public_sets
from service.measure.datasets import DatasetError, load
from service.measure.report import render
from service.measure.scores import contains_gold, ndcg, ranking_scores, token_f1

WALL = (
    "Engineers in Port Veltrano finished the new sea wall on Monday, three months ahead of "
    "schedule, the city council said. The wall protects the old fish market."
)
DOCS = [
    {
        "doc_id": "wire/1",
        "title": "Sea wall finished",
        "published": "2022-06-10",
        "text": WALL,
    },
    {
        "doc_id": "wire/2",
        "title": "Sea wall done",
        "published": "2022-06-11",
        "text": WALL,
    },
    {
        "doc_id": "cheese",
        "title": "Cheese prices",
        "published": "2021-03-01",
        "text": "Cheese makers in the valley raised their prices by twelve percent after a dry "
        "summer left the pastures brown and the dairy herds short of grass.",
    },
    {
        "doc_id": "rail",
        "title": "Night trains",
        "text": "The regional railway will run night trains to the coast from June after passenger "
        "numbers on the evening services doubled over the last two years.",
    },
]
QUESTIONS = [
    {
        "question": "How much did cheese makers raise their prices?",
        "doc_ids": ["cheese"],
        "answers": ["twelve percent"],
    },
    {
        "question": "When was the Port Veltrano sea wall finished?",
        "doc_ids": ["wire/2"],
        "answers": ["on Monday"],
        "until": "2022-06-30",
    },
    {"question": "Where will the night trains run?", "article_ids": ["rail"]},
    {
        "question": "How much did cheese makers raise their prices?",
        "doc_ids": ["cheese"],
        "since": "2022-01-01",
    },
]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def own(tmp_path: Path) -> Path:
    folder = tmp_path / "own"
    folder.mkdir()
    _jsonl(folder / "corpus.jsonl", DOCS)
    _jsonl(folder / "questions.jsonl", QUESTIONS)
    return folder


def test_benchmark_run_own_format_over_http(own: Path, tmp_path: Path, embedder: Embedder) -> None:
    args = public_sets._parser("test").parse_args(
        [str(own), "--compare", "keyword", "--index-dir", str(tmp_path / "i")]
    )
    result = public_sets.run(load(own), args, embedder)
    hybrid, keyword = result["modes"]["hybrid"], result["modes"]["keyword"]
    assert result["index"]["skipped"] == [] and result["index"]["kept"] == 1.0
    # Question 2's gold copy is folded into the other copy of the story, which still counts;
    # question 4 asks only for articles from 2022, so the cheese story cannot be found.
    assert hybrid["hit@1"] == 0.75 and hybrid["strict hit@5"] <= 0.75
    assert keyword["questions"] == 4
    assert result["answers"]["questions"] == 2
    assert result["answers"]["contains gold"] >= 0.5
    assert "ours, hybrid" in render(result)


def test_benchmark_main_writes_json_and_reuses_index(
    own: Path,
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(public_sets, "Embedder", lambda *a: embedder)
    out = tmp_path / "result.json"
    argv = [
        str(own),
        "--no-answers",
        "--limit",
        "2",
        "--index-dir",
        str(tmp_path / "i"),
        "--json",
        str(out),
    ]
    assert public_sets.main(argv) == 0
    assert public_sets.main(argv) == 0  # the kept index is reused
    saved = json.loads(out.read_text())
    assert saved["questions"] == 2 and saved["answers"] is None
    assert saved["index"]["written"] == 0  # the second run found every file unchanged
    assert "configuration:" in capsys.readouterr().out


def test_benchmark_main_rejects_unknown_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert public_sets.main([str(tmp_path)]) == 2
    assert "no questions.jsonl" in capsys.readouterr().err


def test_write_seeds_maps_file_stems_back_to_doc_ids(tmp_path: Path) -> None:
    bench = load_own(tmp_path)
    assert bench.docs is not None
    files = public_sets.write_seeds(bench.docs, tmp_path / "seeds")
    assert files["wire_1"] == "wire/1"
    manifest = (tmp_path / "seeds" / "articles.toml").read_text()
    assert '["wire_1.txt"]\ntitle = "Sea wall finished"\npublished = "2022-06-10"' in manifest


def load_own(tmp_path: Path) -> Any:
    folder = tmp_path / "own"
    folder.mkdir()
    _jsonl(folder / "corpus.jsonl", DOCS)
    _jsonl(folder / "questions.jsonl", QUESTIONS)
    return load(folder)


# -- formats ----------------------------------------------------------------------------------


def test_load_realtimeqa_asks_as_of_question_date(tmp_path: Path) -> None:
    doc = {"doc_id": "r1", "title": "", "text": "x", "publish_date": "2022/06/12"}
    _jsonl(tmp_path / "corpus.jsonl", [doc])
    _jsonl(tmp_path / "distractors_gcs.jsonl", [{**doc, "doc_id": "d1", "retrieved_for_qid": "q"}])
    _jsonl(
        tmp_path / "questions.jsonl",
        [
            {
                "qid": "q",
                "question": "Who?",
                "question_date": "2022/06/16",
                "answers": ["Ann"],
                "gold_doc_ids": ["r1"],
            }
        ],
    )
    bench = load(tmp_path)
    assert bench.kind == "realtimeqa" and [d.doc_id for d in bench.docs or []] == ["r1", "d1"]
    assert str(bench.questions[0].until) == "2022-06-16"
    assert len(load(tmp_path, distractors=False).docs or []) == 1


def test_load_squad_and_beir(tmp_path: Path) -> None:
    squad = tmp_path / "squad"
    squad.mkdir()
    _jsonl(squad / "corpus.jsonl", [{"doc_id": "p1", "title": "T", "text": "x"}])
    _jsonl(
        squad / "questions.jsonl",
        [
            {
                "qid": "1",
                "question": "Q?",
                "answers": ["a"],
                "answer_starts": [0],
                "gold_doc_ids": ["p1"],
            }
        ],
    )
    assert load(squad).kind == "squad"
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    _jsonl(beir / "corpus.jsonl", [{"_id": "7", "title": "T", "text": "x"}])
    _jsonl(beir / "queries.jsonl", [{"_id": "1", "text": "claim"}, {"_id": "2", "text": "other"}])
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\t7\t1\n")
    bench = load(beir)
    assert bench.kind == "beir" and [(q.qid, q.relevant) for q in bench.questions] == [
        ("1", {"7": 1})
    ]


def test_load_questions_file_alone_reads_seed_question_format(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    _jsonl(
        path,
        [{"question": "Q?", "answerable": True, "expected": ["Baltiysk"], "article_id": "001_x"}],
    )
    bench = load(path)
    assert bench.docs is None and bench.questions[0].relevant == {"001_x": 1}
    assert bench.questions[0].answers == ["Baltiysk"]


def test_load_folder_without_questions_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError):
        load(tmp_path)


# -- scores -----------------------------------------------------------------------------------


def test_ranking_scores_count_a_folded_duplicate_unless_strict() -> None:
    groups = [("x",), ("copy", "gold"), ("y",)]
    assert ranking_scores(groups, {"gold": 1})["mrr@10"] == 0.5
    assert ranking_scores(groups, {"gold": 1}, strict=True)["hit@10"] == 0.0


def test_ndcg_matches_hand_computation() -> None:
    assert ndcg([("a",), ("b",)], {"b": 1}, 10) == pytest.approx(1 / 1.5849625)
    assert ndcg([("b",), ("a",)], {"a": 1, "b": 1}, 10) == pytest.approx(1.0)


def test_answer_scores_ignore_citation_markers_and_punctuation() -> None:
    answer = "Prices rose by twelve percent. [1]"
    assert contains_gold(answer, ["Twelve percent"])
    assert not contains_gold(answer, ["eleven percent"])
    assert token_f1("twelve percent [2]", ["twelve percent"]) == 1.0
