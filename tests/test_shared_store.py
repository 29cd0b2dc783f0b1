"""Several app processes on one `chroma run` server, as replicas run: a write acknowledged by
one is searched by the others within a second (the keyword side included), a delete is
gone from all, two processes writing one article at once leave one copy, and
`WORKERS=2 python -m service.run` serves with two processes on a server of its own."""

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from index.build import sync
from index.embed import Embedder
from index.store import open_store
from service.run import start_chroma
from tests.conftest import SEEDS, make_settings
from tests.processes import app_process, free_port, stop

TIMEOUT = 120  # seconds a request may take on a loaded machine
VISIBLE_WITHIN = 1.0  # seconds, as docs/operations.md promises (RAG_SYNC_INTERVAL is 0.5)


@pytest.fixture(scope="module")
def apps(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[str, str, int]]:
    """Two app processes on one Chroma server holding the seeds: the second ranks by BM25
    alone, so its searches show the keyword side on its own."""
    root = tmp_path_factory.mktemp("shared")
    port = free_port()
    chroma = start_chroma(root / "chroma", port)
    try:
        settings = make_settings(SEEDS, root / "data", chroma_mode="http", chroma_port=port)
        sync(settings, open_store(settings), embedder)
        env = {
            "RAG_CHROMA_MODE": "http",
            "RAG_CHROMA_PORT": str(port),
            "RAG_DATA_DIR": str(root / "d"),
        }
        with app_process(env) as first, app_process({**env, "RAG_RETRIEVAL": "keyword"}) as second:
            yield first, second, port
    finally:
        stop(chroma)


def search(url: str, query: str) -> list[str]:
    response = httpx.post(f"{url}/api/search", json={"query": query, "top_k": 5}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return [r["article_id"] for r in response.json()["results"]]


def seconds_until(check: Callable[[], bool], limit: float = 10.0) -> float:
    """Seconds from now to the start of the first `check()` that holds (a search sees what
    was written when it starts, however long it then takes); fails past `limit`."""
    started = time.monotonic()
    while True:
        asked = time.monotonic() - started
        if check():
            return asked
        if asked > limit:
            pytest.fail(f"not seen within {limit} s")
        time.sleep(0.05)


def test_shared_write_on_one_process_searched_on_the_other(apps: tuple[str, str, int]) -> None:
    first, second, _ = apps
    text = "Volunteers counted ninety kittiwakes nesting on the Quarlton pier this spring."
    response = httpx.put(f"{first}/api/articles/kittiwakes", json={"text": text}, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    waited = seconds_until(lambda: "kittiwakes" in search(second, "kittiwakes Quarlton pier"))
    assert waited <= VISIBLE_WITHIN, f"the keyword side of another process took {waited:.2f} s"
    assert "kittiwakes" in search(first, "kittiwakes Quarlton pier")


def test_shared_delete_on_one_process_gone_from_the_other(apps: tuple[str, str, int]) -> None:
    first, second, _ = apps
    text = "The Brindlemoor tram depot will close in March, the transport office said."
    httpx.put(f"{first}/api/articles/depot", json={"text": text}, timeout=TIMEOUT)
    seconds_until(lambda: "depot" in search(second, "Brindlemoor tram depot"))
    assert httpx.delete(f"{second}/api/articles/depot", timeout=TIMEOUT).status_code == 204
    waited = seconds_until(lambda: "depot" not in search(first, "Brindlemoor tram depot"))
    assert waited <= VISIBLE_WITHIN
    assert "depot" not in search(second, "Brindlemoor tram depot")
    assert httpx.get(f"{first}/api/articles/depot", timeout=TIMEOUT).status_code == 404


@pytest.mark.parametrize("same_text", [True, False])
def test_shared_same_article_written_at_once_leaves_one_copy(
    apps: tuple[str, str, int], embedder: Embedder, tmp_path: Path, same_text: bool
) -> None:
    first, second, port = apps
    article = f"race-{same_text}"
    # Each case its own cape: two copies of one story from the two cases would be folded
    # into one search result, under whichever ranks first.
    cape = "Orrin" if same_text else "Velna"
    texts = [
        f"The lighthouse keeper of Cape {cape} logged "
        + ("forty" if same_text or n == 0 else "fifty")
        + " ships passing in one night, a record for the cape. " * 6
        for n in range(2)
    ]
    codes: list[int] = []
    writers = [
        threading.Thread(
            target=lambda url, text: codes.append(
                httpx.put(
                    f"{url}/api/articles/{article}", json={"text": text}, timeout=TIMEOUT
                ).status_code
            ),
            args=(url, text),
        )
        for url, text in zip((first, second), texts, strict=True)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    assert sorted(codes) in ([200, 201], [201, 201])
    store = open_store(make_settings(SEEDS, tmp_path, chroma_mode="http", chroma_port=port))
    (record,) = store.records_by_id([article])
    visible = store.chunks.get(
        where={"$and": [{"article_id": article}, {"version": record.version}]}
    )
    stored = store.articles.get(ids=[article], include=["metadatas"])["metadatas"]
    assert stored and len(visible["ids"]) == stored[0]["chunks"]
    time.sleep(VISIBLE_WITHIN)
    results = httpx.post(
        f"{first}/api/search", json={"query": f"Cape {cape} lighthouse keeper"}, timeout=TIMEOUT
    ).json()
    assert len({r["quote"] for r in results["results"] if r["article_id"] == article}) == len(
        visible["ids"]
    )


def test_run_with_two_workers_shares_a_chroma_server_of_its_own(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    chroma_port = free_port()
    env = {
        "WORKERS": "2",
        "RAG_SEEDS_DIR": str(seeds),
        "RAG_DATA_DIR": str(tmp_path / "data"),
        "RAG_CHROMA_PORT": str(chroma_port),
        "RAG_PROGRESS": "false",
    }
    with app_process(env, module="service.run") as url:
        assert httpx.get(f"{url}/health", timeout=TIMEOUT).json()["articles"] == 5
        text = "A storm lifted the roof of the Wexby boathouse on Thursday night."
        assert (
            httpx.put(
                f"{url}/api/articles/boathouse", json={"text": text}, timeout=TIMEOUT
            ).status_code
            == 201
        )
        time.sleep(VISIBLE_WITHIN)
        # New connections spread over both workers; every one of them finds it.
        for _ in range(8):
            with httpx.Client(timeout=TIMEOUT) as fresh:
                body = fresh.post(
                    f"{url}/api/search", json={"query": "Wexby boathouse roof"}
                ).json()
            assert body["results"][0]["article_id"] == "boathouse"
    assert (tmp_path / "data" / "chroma-server").is_dir()
    with pytest.raises(httpx.TransportError):  # its Chroma server stopped with it
        httpx.get(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", timeout=2)
