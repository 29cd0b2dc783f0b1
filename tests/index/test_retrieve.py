"""Hybrid retrieval over a small real index: fusion, date windows, duplicates, diversity."""

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import index.rank
from index.build import sync
from index.catalog import Catalog
from index.chunk import sentence_spans
from index.embed import Embedder, Tokens, pack_vectors, unpack_vectors
from index.passages import Hit, day_number
from index.rank import (
    LATE_SENTENCES,
    fold_duplicates,
    late_interaction,
    maximal_marginal_relevance,
    recency_boost,
    reciprocal_rank_fusion,
    sentence_rerank,
    spread,
    weighted_fusion,
)
from index.retrieve import Ranking, Retriever, day_window
from index.settings import Settings
from index.store import Store, open_store

WIRE = (
    "Engineers in Port Veltrano finished the new sea wall on Monday, three months ahead of "
    "schedule, the city council said. The wall protects the old fish market from winter storms "
    "that flooded the quay twice last year. The council paid for the work with a harbour levy."
)
ARTICLES = {
    "wire-a.txt": ("Sea wall finished", "2022-06-10", WIRE),
    "wire-b.txt": (
        "Veltrano sea wall done early",
        "2022-06-11",
        WIRE + " Shops reopened on Tuesday.",
    ),
    "market.txt": (
        "Fish market reopens",
        "2022-06-12",
        "The old fish market of Port Veltrano reopened after the storms, and traders said the "
        "quay was busy again with buyers from the inland towns.",
    ),
    "code.txt": (
        "Trawler codes",
        "2021-02-01",
        "Every trawler registered in the district carries the code QX-7741 painted on its bow, "
        "so inspectors can trace its catch back to the boat that landed it.",
    ),
    "undated.txt": (
        "Night trains",
        "",
        "The regional railway will run night trains to the coast from June after passenger "
        "numbers on the evening services doubled over the last two years.",
    ),
}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """A seeds folder of five dated (or undated) articles, indexed."""
    root = tmp_path_factory.mktemp("retrieve")
    seeds = root / "seeds"
    seeds.mkdir()
    manifest = []
    for name, (title, published, text) in ARTICLES.items():
        (seeds / name).write_text(text, encoding="utf-8")
        manifest.append(
            f'["{name}"]\ntitle = "{title}"\n'
            + (f'published = "{published}"\n' if published else "")
        )
    (seeds / "articles.toml").write_text("\n".join(manifest), encoding="utf-8")
    settings = Settings(seeds_dir=seeds, data_dir=root / "data", progress=False)
    sync(settings, open_store(settings), embedder)
    return settings


@pytest.fixture()
def store(settings: Settings) -> Store:
    return open_store(settings)


def _articles(hits: list[Hit]) -> list[str]:
    return [h.article_id for h in hits]


def test_retriever_search_keeps_signature_for_existing_callers(
    store: Store, embedder: Embedder
) -> None:
    hits = Retriever(store, embedder, Catalog(store)).search("When did the fish market reopen?", 3)
    assert 1 <= len(hits) <= 3
    assert hits[0].article_id == "market"
    assert all(isinstance(h, Hit) for h in hits)


def test_retriever_hybrid_finds_exact_code_that_dense_ranks_lower(
    store: Store, embedder: Embedder
) -> None:
    hybrid = Retriever(store, embedder, Catalog(store)).search("QX-7741", 2)
    assert hybrid[0].article_id == "code"


def test_retriever_keyword_mode_uses_bm25_only(store: Store, embedder: Embedder) -> None:
    hits = Retriever(store, embedder, Catalog(store), ranking=Ranking(mode="keyword")).search(
        "trawler inspectors", 5
    )
    assert _articles(hits) == ["code"]


def test_retriever_folds_the_same_story_published_twice(store: Store, embedder: Embedder) -> None:
    hits = Retriever(store, embedder, Catalog(store)).search(
        "sea wall finished ahead of schedule", 5
    )
    wire = [h for h in hits if h.article_id in ("wire-a", "wire-b")]
    assert {h.article_id for h in wire} == {wire[0].article_id}
    assert set(wire[0].duplicates) == {"wire-a", "wire-b"} - {wire[0].article_id}


def test_retriever_without_folding_returns_both_copies(store: Store, embedder: Embedder) -> None:
    ranking = Ranking(duplicate_overlap=1.0)
    hits = Retriever(store, embedder, Catalog(store), ranking=ranking).search(
        "sea wall finished ahead of schedule", 5
    )
    assert {"wire-a", "wire-b"} <= set(_articles(hits))


def test_retriever_search_since_until_leaves_out_other_days(
    store: Store, embedder: Embedder
) -> None:
    retriever = Retriever(store, embedder, Catalog(store))
    hits = retriever.search("Port Veltrano", 10, since=date(2022, 6, 11), until=date(2022, 6, 12))
    assert set(_articles(hits)) <= {"wire-b", "market"} and hits
    assert "undated" not in _articles(retriever.search("night trains", 5, since=date(2000, 1, 1)))
    assert (
        retriever.search("Port Veltrano", 5, since=date(2023, 1, 1), until=date(2022, 1, 1)) == []
    )


def test_retriever_within_applies_window_to_plain_searches(
    store: Store, embedder: Embedder
) -> None:
    bounded = Retriever(store, embedder, Catalog(store)).within(None, date(2021, 12, 31))
    assert _articles(bounded.search("Port Veltrano fish market trawler", 5)) == ["code"]


def test_retriever_dense_mode_uses_embeddings_only(store: Store, embedder: Embedder) -> None:
    retriever = Retriever(store, embedder, Catalog(store), ranking=Ranking(mode="dense"))
    assert retriever.search("fish market reopened", 2)[0].article_id == "market"


# -- ranking steps --------------------------------------------------------------------------


def _hit(chunk: str, score: float = 1.0) -> Hit:
    return Hit(chunk, chunk.split(":")[0], "t", "s", "x", 0, 1, int(chunk.split(":")[1]), score)


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert max(fused, key=fused.__getitem__) == "b"
    assert fused["a"] == pytest.approx(1 / 61)


def test_weighted_fusion_scales_each_ranker() -> None:
    fused = weighted_fusion({"a": 0.9, "b": 0.5}, {"b": 12.0, "c": 2.0}, dense_weight=0.5)
    assert fused == {"a": 0.5, "b": 0.5, "c": 0.0}


def test_spread_moves_third_chunk_of_an_article_behind_others() -> None:
    hits = [_hit("a:0"), _hit("a:1"), _hit("a:2"), _hit("b:0")]
    assert [h.chunk_id for h in spread(hits, 2)] == ["a:0", "a:1", "b:0", "a:2"]
    assert spread(hits, 0) == hits


def test_fold_duplicates_keeps_first_copy_and_names_the_other() -> None:
    prints = {"a": frozenset({1, 2, 3}), "b": frozenset({1, 2, 3, 4}), "c": frozenset({9})}
    hits = [_hit("a:0"), _hit("b:0"), _hit("c:0"), _hit("b:1")]
    folded = fold_duplicates(hits, prints.__getitem__, threshold=0.6)
    assert [(h.chunk_id, h.duplicates) for h in folded] == [("a:0", ("b",)), ("c:0", ())]


def test_maximal_marginal_relevance_skips_a_near_copy() -> None:
    vectors = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    hits = [_hit("a:0", 1.0), _hit("b:0", 0.95), _hit("c:0", 0.8)]
    picked = maximal_marginal_relevance(hits, vectors, 2, weight=0.5)
    assert [h.chunk_id for h in picked] == ["a:0", "c:0"]
    assert [replace(h, score=0) for h in maximal_marginal_relevance(hits, vectors, 3, 1.0)] == [
        replace(h, score=0) for h in hits
    ]


def test_day_number_reads_iso_and_slashed_dates() -> None:
    assert day_number("2022-06-12") == 20220612
    assert day_number("2022/06/12T10:00") == 20220612
    assert day_number("June 2022") is None
    assert day_number("2022-02-30") is None
    assert day_window(date(2022, 1, 2), None) == (20220102, 99991231)
    assert day_window(None, None) is None


def test_settings_choose_the_ranking(tmp_path: Path) -> None:
    chosen = Settings(data_dir=tmp_path, retrieval="dense", per_article=0, mmr=0.7, rerank=0)
    ranking = Ranking.from_settings(chosen)
    assert (ranking.mode, ranking.per_article, ranking.mmr) == ("dense", 0, 0.7)
    assert ranking.rerank == 0 and ranking.recency == 14.0
    assert Ranking.from_settings(Settings(data_dir=tmp_path, recency=0)).recency is None


def test_sentence_rerank_lifts_the_chunk_whose_sentence_answers(embedder: Embedder) -> None:
    # Both passages are about the harbour; only one has a sentence on the question's point,
    # and it is diluted by the rest of its chunk, so fusion ranked it second.
    diluted = Hit(
        "a:0",
        "a",
        "Harbour",
        "a.txt",
        "The harbour authority met on Monday. Fishing quotas were discussed at length. "
        "The new lighthouse keeper is Maria Santos, the authority said. Tea was served.",
        0,
        10,
        0,
        0.70,
    )
    general = Hit(
        "b:0",
        "b",
        "Harbour",
        "b.txt",
        "The harbour authority runs the port, the quay and the old lighthouse on the point.",
        0,
        10,
        0,
        0.75,
    )
    tail = Hit("c:0", "c", "Other", "c.txt", "Unrelated text about trains.", 0, 5, 0, 0.1)
    question = "Who is the new lighthouse keeper?"
    ranked = sentence_rerank(question, [general, diluted, tail], embedder, depth=2, weight=1.0)
    assert [h.chunk_id for h in ranked] == ["a:0", "b:0", "c:0"]
    assert ranked[0].score > 0.70 and ranked[2] == tail  # past the depth: untouched, last
    unchanged = sentence_rerank(question, [general, diluted], embedder, depth=2, weight=0.0)
    assert unchanged == [general, diluted]
    # The word-piece match alone lifts it too: "lighthouse keeper" is spelt out only there.
    pieces = sentence_rerank(
        question, [general, diluted], embedder, depth=2, weight=0.0, late_weight=2.0
    )
    assert [h.chunk_id for h in pieces] == ["a:0", "b:0"]


def _pieces(ids: list[int], rows: list[list[float]]) -> Tokens:
    vectors = np.array(rows, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return Tokens(np.array(ids, dtype=np.int64), vectors.astype(np.float16))


def test_late_interaction_weighs_the_rarer_piece_more() -> None:
    # The query has two pieces: 1 (held by two passages) and 2 (held by one).
    query = _pieces([1, 2], [[1, 0, 0], [0, 1, 0]])
    common = _pieces([1, 9], [[1, 0, 0], [0, 0, 1]])
    rare = _pieces([2, 9], [[0, 1, 0], [0, 0, 1]])
    other = _pieces([1], [[1, 0, 0]])
    scores = late_interaction(query, [[common], [rare], [other], []])
    assert scores[1] > scores[0] == pytest.approx(scores[2])
    assert scores[0] + scores[1] == pytest.approx(1.0, abs=1e-3)  # the weights sum to 1
    assert scores[3] == 0.0  # a passage with nothing in it
    # A passage's sentences are read together: each query piece takes its best match.
    assert late_interaction(query, [[common, rare]]) == [pytest.approx(1.0, abs=1e-3)]


def test_late_interaction_finds_the_sentence_that_spells_the_question_out(
    embedder: Embedder,
) -> None:
    question = "Who is the new lighthouse keeper?"
    texts = [
        "The ferry timetable changed in May.",
        "Maria Santos keeps the light on the headland.",
        "The new lighthouse keeper is Maria Santos.",
    ]
    _, tokens = embedder.encode_with_tokens([question, *texts])
    scores = late_interaction(tokens[0], [[t] for t in tokens[1:]])
    assert scores[2] > scores[1] > scores[0]


def test_encode_with_tokens_matches_encode_and_remembers(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["The harbour reopened on Tuesday.", "Tea was served."]
    vectors, tokens = embedder.encode_with_tokens(texts)
    assert np.allclose(vectors, embedder.encode(texts), atol=1e-5)
    tokenizer = embedder._model.tokenizer
    special = set(tokenizer.all_special_ids)
    for text, found in zip(texts, tokens, strict=True):
        plain = [i for i in tokenizer(text)["input_ids"] if i not in special]
        assert found.ids.tolist() == plain  # the pieces, without [CLS] and [SEP]
        norms = np.linalg.norm(found.vectors.astype(np.float32), axis=1)
        assert np.allclose(norms, 1.0, atol=1e-2)

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran again")

    monkeypatch.setattr(embedder._model, "encode", no_model)
    again, remembered = embedder.encode_with_tokens(list(reversed(texts)))
    assert np.array_equal(again, vectors[::-1])
    assert all(a is b for a, b in zip(remembered, tokens[::-1], strict=True))


def test_encode_passages_reads_each_sentence_out_of_the_passage_pass(
    embedder: Embedder,
) -> None:
    first = "The new lighthouse keeper is Maria Santos."
    second = "The ferry timetable changed in May."
    text = f"Harbour news\n{first} {second}"
    spans = [(text.index(first), text.index(first) + len(first))]
    spans.append((text.index(second), text.index(second) + len(second)))
    long = " ".join(["The quay was busy."] * 80) + " Nothing after the model's limit is read."
    end = (len(long) - 41, len(long))
    vectors, sentences = embedder.encode_passages([text, long], [spans, [(0, 18), end]])
    assert np.allclose(vectors, embedder.encode([text, long]), atol=1e-5)
    alone = embedder.encode([first, second])
    rows = sentences[0]
    assert rows.shape == (2, embedder.dimensions)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    # Each row is its own sentence read in context: nearer its own sentence than the other.
    similarity = rows @ alone.T
    assert similarity[0, 0] > similarity[0, 1] and similarity[1, 1] > similarity[1, 0]
    assert similarity[0, 0] > 0.7 and similarity[1, 1] > 0.7
    # Past the model's 256 word pieces nothing was read: a zero row, encoded at question time.
    assert np.linalg.norm(sentences[1][0]) == pytest.approx(1.0, abs=1e-5)
    assert not sentences[1][1].any()
    back = unpack_vectors(pack_vectors(rows), embedder.dimensions)
    assert back.shape == rows.shape and np.abs(back - rows).max() < 0.005
    assert not unpack_vectors(pack_vectors(np.zeros((1, 4))), 4).any()


def test_search_reads_stored_sentence_vectors_and_few_sentences_word_by_word(
    store: Store, embedder: Embedder, encoded: list[str]
) -> None:
    hits, _ = store.chunks_by_id([h.chunk_id for h in store.query(embedder.encode_one("x"), 5)])
    assert hits and all(h.sentences for h in hits)
    for hit in hits:
        assert len(unpack_vectors(hit.sentences, embedder.dimensions)) == len(
            sentence_spans(hit.text)
        )
    encoded.clear()  # the probe query above went through the model; `encode` is not cached
    question = "What does the wall protect from winter storms?"
    ranked = sentence_rerank(question, hits, embedder, depth=5, weight=0.5, late_weight=2.0)
    assert sorted(h.chunk_id for h in ranked) == sorted(h.chunk_id for h in hits)
    # The question, then at most LATE_SENTENCES sentences of each chunk, nothing else.
    assert encoded[0] == question and len(encoded) - 1 <= LATE_SENTENCES * len(hits)
    assert (
        "The wall protects the old fish market from winter storms that flooded the quay "
        "twice last year." in encoded
    )
    # A chunk stored without them (written before they were kept) has its sentences encoded.
    encoded.clear()
    embedder._cache.clear()
    bare = [replace(h, sentences="") for h in hits]
    again = sentence_rerank(question, bare, embedder, depth=5, weight=0.5, late_weight=2.0)
    assert sorted(h.chunk_id for h in again) == sorted(h.chunk_id for h in hits)
    every = [h.text[s.start : s.end] for h in hits for s in sentence_spans(h.text)]
    assert set(every) <= set(encoded)


def test_search_reads_the_query_through_the_model_once(
    store: Store, embedder: Embedder, encoded: list[str]
) -> None:
    question = "Which code is painted on the trawlers' bows?"
    hits = Retriever(store, embedder, Catalog(store)).search(question, 3)
    assert hits[0].article_id == "code"
    # One pass gives the vector for the store and the word pieces for the ranking.
    assert encoded.count(question) == 1


def test_recency_boost_lifts_the_latest_story_as_of_a_day() -> None:
    old = replace(_hit("old:0", 0.80), day=20220101)
    fresh = replace(_hit("fresh:0", 0.70), day=20220610)
    undated = _hit("undated:0", 0.75)
    later = replace(_hit("later:0", 0.72), day=20220620)  # after the reference day: age 0
    ranked = recency_boost([old, undated, fresh, later], date(2022, 6, 12), 7.0, 0.5)
    assert [h.chunk_id for h in ranked] == ["later:0", "fresh:0", "old:0", "undated:0"]
    assert ranked[1].score == pytest.approx(0.70 + 0.5 * 0.5 ** (2 / 7), abs=1e-6)
    assert ranked[3] == undated  # no date, no bonus
    assert recency_boost([old, fresh], date(2022, 6, 12), 7.0, 0.0) == [old, fresh]


def test_retriever_recency_prefers_the_later_copy_as_of_its_day(
    store: Store, embedder: Embedder
) -> None:
    question = "When was the Port Veltrano sea wall finished?"
    plain = Retriever(
        store, embedder, Catalog(store), ranking=Ranking(duplicate_overlap=1.0, rerank=0)
    )
    recent = Retriever(
        store,
        embedder,
        Catalog(store),
        ranking=Ranking(duplicate_overlap=1.0, rerank=0, recency=1.0),
    )
    assert _articles(plain.search(question, 2))[0] == "wire-a"
    assert _articles(recent.search(question, 2, until=date(2022, 6, 11)))[0] == "wire-b"


def test_word_pieces_are_read_only_for_the_leading_chunks(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index.rank, "LATE_DEPTH", 1)
    read: list[str] = []
    real = embedder.encode_with_tokens

    def counted(texts: list[str]) -> tuple[np.ndarray, list[Tokens]]:
        read.extend(texts)
        return real(texts)

    monkeypatch.setattr(embedder, "encode_with_tokens", counted)
    lead = Hit(
        "a:0", "a", "Harbour", "a.txt", "The lighthouse keeper is Maria Santos.", 0, 10, 0, 0.9
    )
    behind = Hit(
        "b:0",
        "b",
        "Harbour",
        "b.txt",
        "The new lighthouse keeper was named on Monday.",
        0,
        10,
        0,
        0.2,
    )
    question = "Who is the new lighthouse keeper?"
    ranked = sentence_rerank(
        question, [behind, lead], embedder, depth=2, weight=0.5, late_weight=2.0
    )
    # Only the leading chunk's sentences went through the model word piece by word piece, and
    # the chunk behind it, which gets no word-piece score, stays behind.
    assert read == [question, lead.text]
    assert [h.chunk_id for h in ranked] == ["a:0", "b:0"]
