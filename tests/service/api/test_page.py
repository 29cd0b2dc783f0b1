"""The chat page in a real browser.

Playwright drives Debian's Chromium against the app served by uvicorn on loopback, over an
index built in a temp dir from the repo's seeds plus one article full of markup. The page
uses POST /api/ask/stream when the server has it and POST /api/ask when not, so these tests
pass either way. The streaming tests route the page's stream request to a replay endpoint
added to the served app, which sends a scripted event stream over the real socket at a
set pace, so the page is seen mid-stream.
"""

import asyncio
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Request
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright
from pydantic import SecretStr

from index.build import sync
from index.embed import Embedder
from index.store import Store, connect
from service.api.app import create_app
from service.settings import Settings
from tests.llm_servers import obeying_endpoint
from tests.processes import serve
from tests.service.api.test_poisoned import POISON
from tests.service.api.test_poisoned import article as poison_article

REPO = Path(__file__).resolve().parents[3]
STATIC = REPO / "service" / "api" / "static"
SCREENSHOT = REPO / "docs" / "screenshot.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
TIMEOUT_MS = 20_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
REPLAY = "/test/replay-stream"

MARKUP_SOURCE = "900_markup.txt"
# Markup in an article's text, title and address, to be shown as text and never run.
MARKUP_TEXT = "\n\n".join(
    [
        "The Veltrano harbour ledger",
        "The harbour master of Port Veltrano marks every damaged trawler with the tag "
        '<img src=x onerror="window.__xss=1"> in the public ledger, a habit the town council '
        "has debated for years.",
        "Inspectors found that the ledger also embeds <script>window.__xss=2</script> blocks "
        "copied from an old website, which nobody has removed since the archive moved online "
        "in 2019.",
        "Fishing crews say the ledger is hard to read, but the harbour master insists that the "
        "marks help insurers trace every repair quickly and fairly.",
        "Repairs to the trawlers listed in the ledger cost the town 40,000 euros last year [7], "
        "up from 25,000 euros [2] the year before.",
    ]
)
MARKUP_MANIFEST = f"""
["{MARKUP_SOURCE}"]
title = "Harbour ledger <b>tags</b> & <img src=x onerror=\\"window.__xss=3\\">"
publisher = "The Veltrano Courier"
published = "2025-11-04"
url = "javascript:window.__xss=4"
"""

BALTIC = "Where is the Russian Baltic Fleet based?"
INF = "Which Russian missile did the Trump administration say breached the INF treaty?"
RAND_PAUL = "What did Rand Paul say about Maduro?"
RAIL = "Which NATO state limited rail shipments of sanctioned goods to Kaliningrad in 2022?"
UNANSWERABLE = "Who is the current Secretary General of NATO?"


# ---- The app on loopback -------------------------------------------------------------


async def replay_stream(request: Request) -> StreamingResponse:
    """Send the posted {"events": [[type, data], ...], "pause": seconds} as an SSE stream."""
    script = await request.json()

    async def events() -> Any:
        for kind, data in script["events"]:
            await asyncio.sleep(script["pause"])
            yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """Base URL of the app over the seeds plus the markup article."""
    root = tmp_path_factory.mktemp("page")
    seeds = root / "seeds"
    shutil.copytree(REPO / "seeds", seeds)
    (seeds / MARKUP_SOURCE).write_text(MARKUP_TEXT, encoding="utf-8")
    with (seeds / "articles.toml").open("a", encoding="utf-8") as manifest:
        manifest.write(MARKUP_MANIFEST)
    settings = Settings(
        seeds_dir=seeds, data_dir=root / "data", progress=False, log_level="WARNING"
    )
    sync(settings, Store(connect(settings), settings.collection), embedder)
    app = create_app(settings, embedder)
    # Ahead of the page's catch-all mount at "/".
    app.router.routes.insert(0, APIRoute(REPLAY, replay_stream, methods=["POST"]))
    with serve(app) as base_url:
        yield base_url


# ---- The browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Browser, site: str) -> Iterator[Callable[..., Page]]:
    """Open the page in a fresh context; afterwards, fail on any script error, console
    error or request that left loopback."""
    problems: list[str] = []
    contexts = []
    expect.set_options(timeout=TIMEOUT_MS)

    def forbid(route: Route) -> None:
        problems.append(f"request outside the app: {route.request.url}")
        route.abort()

    def open_(viewport: dict[str, int] = DESKTOP, **options: Any) -> Page:
        context = browser.new_context(base_url=site, viewport=viewport, **options)
        contexts.append(context)
        context.route(lambda url: not url.startswith(site), forbid)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("console", lambda msg: record_console(msg.type, msg.text, problems))
        page.goto("/")
        expect(page.get_by_role("heading", name="Ask the articles")).to_be_attached()
        return page

    yield open_
    for context in contexts:
        context.close()
    assert problems == []


def record_console(kind: str, text: str, problems: list[str]) -> None:
    # Chromium logs every non-2xx fetch; the tests that provoke one check what the page shows.
    if kind == "error" and not text.startswith("Failed to load resource"):
        problems.append(f"console error: {text}")


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    return open_page()


def ask(page: Page, question: str) -> Locator:
    """Type a question, press Enter, and wait until its answer has settled."""
    box = page.get_by_role("textbox", name="Your question about the articles")
    turn = page.locator(".turn").nth(page.locator(".turn").count())
    box.fill(question)
    box.press("Enter")
    expect(turn.locator(".question-bubble")).to_have_text(question)
    expect(turn).to_have_attribute("data-status", re.compile("done|error|stopped"))
    return turn


def api_answer(site: str, question: str) -> dict[str, Any]:
    response = httpx.post(f"{site}/api/ask", json={"question": question}, timeout=30)
    response.raise_for_status()
    return dict(response.json())


def no_horizontal_scroll(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


# ---- Serving ---------------------------------------------------------------------------


def test_page_served_with_csp_and_no_inline_code(site: str) -> None:
    response = httpx.get(f"{site}/")
    csp = response.headers["content-security-policy"]
    html = response.text
    assert response.status_code == 200
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"\sstyle=|<style", html), "inline style"
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "asset from another host"


def test_page_scripts_never_parse_html() -> None:
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment"
        r"|\beval\(|\bnew Function\b|setAttribute\(\s*[\"']on"
    )
    offenders = [p.name for p in STATIC.glob("*.js") if sinks.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


# ---- Asking ----------------------------------------------------------------------------


def test_page_answers_with_clickable_citation(page: Page) -> None:
    turn = ask(page, BALTIC)
    expect(turn.locator(".answer-text")).to_contain_text("Baltiysk")
    expect(turn.get_by_role("button", name=re.compile(r"^Source 1: "))).to_be_visible()
    expect(turn.locator(".sources .source-title")).to_have_text(
        [re.compile("^Kaliningrad, a small Russian exclave")]
    )
    expect(turn.locator(".mode-note")).to_have_text("Quoted from the articles")
    expect(turn.locator(".searched-as")).to_be_hidden()


def test_page_citation_opens_article_at_highlighted_passage(page: Page, site: str) -> None:
    expected = api_answer(site, INF)["citations"][0]
    turn = ask(page, INF)
    turn.get_by_role("button", name=re.compile(r"^Source 1: ")).click()
    panel = page.get_by_role(
        "dialog", name="Is NATO provoking the Russian military build-up in Kaliningrad?"
    )
    expect(panel).to_be_visible()
    expect(panel.locator(".panel-kicker")).to_have_text("Passage [1] highlighted")
    expect(panel.locator(".panel-meta")).to_contain_text("Responsible Statecraft")
    mark = panel.locator("mark.passage")
    expect(mark).to_have_text(expected["quote"])
    expect(mark).to_be_in_viewport()
    offset = panel.locator(".article-text").evaluate("el => el.firstChild.textContent.length")
    assert offset == expected["start"]
    assert panel.locator(".panel-body").evaluate("el => el.scrollTop") > 0


def test_page_follow_up_answered_from_context(page: Page) -> None:
    ask(page, RAND_PAUL)
    with page.expect_request(lambda r: r.method == "POST" and "/api/ask" in r.url) as sent:
        turn = ask(page, "What did he predict about Ukraine?")
    history = sent.value.post_data_json["history"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[0]["content"] == RAND_PAUL
    expect(turn.locator(".searched-as")).to_be_visible()
    expect(turn.locator(".searched-as")).to_contain_text("Rand Paul")
    expect(turn.locator(".answer-text")).to_contain_text("all hell could break loose")


def test_page_follow_up_answered_from_context_issue_example(page: Page) -> None:
    ask(page, "Where is the Baltic Fleet based?")
    turn = ask(page, "How many people live in that region?")
    expect(turn.locator(".answer-text")).to_contain_text("million", timeout=2000)


def test_page_unanswerable_shows_no_answer_state(page: Page) -> None:
    turn = ask(page, UNANSWERABLE)
    note = turn.locator(".no-answer")
    expect(note).to_contain_text("The articles don't answer this")
    expect(note).to_contain_text("No passage in the articles answers this")
    expect(turn.get_by_role("alert")).to_have_count(0)
    expect(turn.locator(".failure, .sources")).to_have_count(0)


def test_page_article_markup_shown_as_text(open_page: Callable[..., Page]) -> None:
    # Without the CSP the browser would run injected handlers, so only safe rendering passes.
    page = open_page(bypass_csp=True)
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    turn = ask(page, "How does the harbour master of Port Veltrano mark damaged trawlers?")
    expect(turn.locator(".answer-text")).to_contain_text(
        'the tag <img src=x onerror="window.__xss=1"> in'
    )
    expect(turn.locator(".source-title")).to_have_text(
        'Harbour ledger <b>tags</b> & <img src=x onerror="window.__xss=3">'
    )
    turn.get_by_role("button", name=re.compile(r"^Source 1: ")).click()
    panel = page.locator("#panel")
    expect(panel.locator(".article-text")).to_contain_text(
        "embeds <script>window.__xss=2</script> blocks"
    )
    expect(panel.locator(".panel-title")).to_contain_text("<b>tags</b>")
    expect(panel.locator(".panel-meta")).to_contain_text("The Veltrano Courier")
    expect(panel.locator(".panel-meta a")).to_have_count(0)
    assert page.locator("main img, main script, main b, dialog img, dialog script").count() == 0
    assert page.evaluate("window.__xss") is None
    assert not [url for url in fetched if url.endswith("/x")]


def test_page_article_brackets_never_drawn_as_footnotes(page: Page, site: str) -> None:
    question = "How much did repairs to the trawlers in the Port Veltrano ledger cost last year?"
    expected = api_answer(site, question)
    turn = ask(page, question)
    expect(turn.locator(".answer-text")).to_contain_text("40,000 euros")
    expect(turn.locator(".answer-text button.cite")).to_have_count(len(expected["citations"]))
    expect(turn.locator(".answer-text")).not_to_contain_text("[7]")
    turn.locator(".answer-text button.cite").first.click()
    expect(page.locator("#panel mark.passage")).to_contain_text("40,000 euros last year [7]")


def test_docs_page_renders_offline_under_its_csp(open_page: Callable[..., Page]) -> None:
    page = open_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security" in msg.text else None,
    )
    page.goto("/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/ask").first).to_be_visible()
    assert violations == []


def test_page_phone_width_has_no_horizontal_scroll(
    open_page: Callable[..., Page], tmp_path: Path
) -> None:
    page = open_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    assert no_horizontal_scroll(page)
    turn = ask(page, BALTIC)
    ask(page, UNANSWERABLE)
    assert no_horizontal_scroll(page)
    page.screenshot(path=tmp_path / "phone-thread.png", animations="disabled")
    turn.get_by_role("button", name=re.compile(r"^Source 1: ")).click()
    panel = page.locator("#panel")
    expect(panel.locator("mark.passage")).to_be_in_viewport()
    box = panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert panel.locator(".panel-body").evaluate("el => el.scrollWidth <= el.clientWidth")
    assert no_horizontal_scroll(page)
    page.screenshot(path=tmp_path / "phone-article.png", animations="disabled")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()


CONTRAST = """(selectors) => {
    const rgb = (value) => value.match(/[\\d.]+/g).map(Number);
    const luminance = ([r, g, b]) => {
        const [R, G, B] = [r, g, b].map((c) => {
            const s = c / 255;
            return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const background = (element) => {
        for (let e = element; e; e = e.parentElement) {
            const [r, g, b, a = 1] = rgb(getComputedStyle(e).backgroundColor);
            if (a > 0) return [r, g, b];
        }
        return rgb(getComputedStyle(document.documentElement).backgroundColor);
    };
    return Object.fromEntries(selectors.map((selector) => {
        const element = document.querySelector(selector);
        const fg = luminance(rgb(getComputedStyle(element).color));
        const bg = luminance(background(element));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        return [selector, Math.round(ratio * 100) / 100];
    }));
}"""
TEXTS = [
    ".brand-tag",
    ".question-bubble",
    ".answer-text",
    "button.cite",
    ".sources-title",
    ".source-title",
    ".mode-note",
    ".no-answer-reason",
    ".no-answer-hint",
    ".composer-hint",
    ".panel-kicker",
    ".panel-meta",
    "mark.passage",
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_page_text_contrast_meets_wcag_aa(open_page: Callable[..., Page], scheme: str) -> None:
    page = open_page(color_scheme=scheme)
    ask(page, UNANSWERABLE)
    ask(page, BALTIC).get_by_role("button", name=re.compile(r"^Source 1: ")).click()
    expect(page.locator("mark.passage")).to_be_visible()
    ratios = page.evaluate(CONTRAST, TEXTS)
    assert {s: r for s, r in ratios.items() if r < 4.5} == {}


# ---- The conversation --------------------------------------------------------------


def test_page_conversation_survives_reload(page: Page) -> None:
    ask(page, BALTIC)
    ask(page, UNANSWERABLE)
    page.reload()
    turns = page.locator(".turn")
    expect(turns).to_have_count(2)
    expect(turns.first.locator(".answer-text")).to_contain_text("Baltiysk")
    expect(turns.last.locator(".no-answer")).to_be_visible()
    turns.first.get_by_role("button", name=re.compile(r"^Source 1: ")).click()
    expect(page.locator("#panel mark.passage")).to_contain_text("Baltiysk")


def test_page_new_conversation_clears_thread(page: Page) -> None:
    ask(page, BALTIC)
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".turn")).to_have_count(0)
    expect(page.get_by_role("heading", name="Ask the articles")).to_be_visible()
    expect(page.get_by_role("textbox", name="Your question about the articles")).to_be_focused()
    page.reload()
    expect(page.locator(".turn")).to_have_count(0)


def test_page_keyboard_only_conversation(page: Page) -> None:
    box = page.get_by_role("textbox", name="Your question about the articles")
    for _ in range(30):
        if box.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(box).to_be_focused()
    page.keyboard.type("Where is the Russian")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Baltic Fleet based?")
    expect(box).to_have_value("Where is the Russian\nBaltic Fleet based?")
    expect(page.locator(".turn")).to_have_count(0)
    page.keyboard.press("Enter")
    turn = page.locator(".turn").last
    expect(turn).to_have_attribute("data-status", "done")
    cite = turn.get_by_role("button", name=re.compile(r"^Source 1: "))
    for _ in range(10):
        if cite.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Shift+Tab")
    expect(cite).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#panel mark.passage")).to_be_in_viewport()
    expect(page.locator("#panel-title")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#panel")).to_be_hidden()
    expect(cite).to_be_focused()


def test_page_stop_button_cancels_answer(page: Page) -> None:
    held: list[Route] = []  # requests left unanswered, so the answer never comes
    page.route(re.compile(r"/api/ask(/stream)?$"), lambda route: held.append(route))
    box = page.get_by_role("textbox", name="Your question about the articles")
    box.fill(BALTIC)
    box.press("Enter")
    stop = page.get_by_role("button", name="Stop answering")
    expect(stop).to_be_visible()
    expect(page.get_by_role("button", name="Send question")).to_be_hidden()
    stop.click()
    turn = page.locator(".turn").last
    expect(turn).to_have_attribute("data-status", "stopped")
    expect(stop).to_be_hidden()
    page.unroute_all(behavior="ignoreErrors")
    turn.get_by_role("button", name="Ask again").click()
    expect(turn.locator(".answer-text")).to_contain_text("Baltiysk")


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (
            lambda route: route.fulfill(
                status=503, json={"detail": "the Chroma store failed: connection refused"}
            ),
            "The article index isn't ready. The Chroma store failed: connection refused.",
        ),
        (lambda route: route.abort("connectionrefused"), "The service can't be reached."),
    ],
    ids=["unavailable", "unreachable"],
)
def test_page_service_failure_shows_retry(
    page: Page, failure: Callable[[Route], None], message: str
) -> None:
    page.route(re.compile(r"/api/ask(/stream)?$"), failure, times=1)
    turn = ask(page, BALTIC)
    alert = turn.get_by_role("alert")
    expect(alert).to_contain_text("Couldn't get an answer")
    expect(alert).to_contain_text(message)
    alert.get_by_role("button", name="Retry").click()
    expect(turn.locator(".answer-text")).to_contain_text("Baltiysk")
    expect(turn.get_by_role("alert")).to_have_count(0)


def test_page_copy_answer_writes_clipboard(open_page: Callable[..., Page], site: str) -> None:
    page = open_page(permissions=["clipboard-read", "clipboard-write"])
    turn = ask(page, BALTIC)
    turn.get_by_role("button", name="Copy answer").click()
    expect(turn.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(api_answer(site, BALTIC)["answer"])
    assert "\n\nSources\n[1] Kaliningrad, a small Russian exclave" in copied


# ---- Streaming -----------------------------------------------------------------------


def replay(page: Page, site: str, events: list[tuple[str, dict[str, Any]]], pause: float) -> None:
    """Answer the page's stream request with these events, one every `pause` seconds."""
    script = json.dumps({"events": events, "pause": pause})
    page.route(
        "**/api/ask/stream", lambda route: route.continue_(url=f"{site}{REPLAY}", post_data=script)
    )


def streamed(
    answer: dict[str, Any], deltas: list[str], mode: str = "generated"
) -> list[tuple[str, dict[str, Any]]]:
    passages = [{k: v for k, v in c.items() if k != "n"} for c in answer["citations"]]
    verified = {k: answer[k] for k in ("citations", "answer", "answerable", "reason")}
    return [
        ("retrieval", {"standalone_question": answer["standalone_question"], "passages": passages}),
        *[("delta", {"text": text}) for text in deltas],
        ("citations", verified),
        ("done", {"mode": mode, "usage": {"prompt_tokens": 100, "completion_tokens": 20}}),
    ]


def test_page_streams_draft_then_shows_verified_answer(page: Page, site: str) -> None:
    final = {
        **api_answer(site, BALTIC),
        "standalone_question": "Where is the Baltic Fleet of Russia based?",
    }
    replay(page, site, streamed(final, ["A draft the check ", "will rewrite. [1]"]), pause=0.3)
    box = page.get_by_role("textbox", name="Your question about the articles")
    box.fill(BALTIC)
    box.press("Enter")
    turn = page.locator(".turn").last
    # Each state lasts one pause; polling on every frame cannot miss it.
    seen = "([selector, text]) => document.querySelector(selector)?.textContent === text"
    page.wait_for_function(seen, arg=[".turn .progress", "Reading 1 passage…"], polling="raf")
    page.wait_for_function(
        seen, arg=[".turn .is-streaming", "A draft the check will rewrite.1"], polling="raf"
    )
    expect(page.get_by_role("button", name="Stop answering")).to_be_visible()
    expect(turn).to_have_attribute("data-status", "done")
    text = turn.locator(".answer-text")
    expect(text).to_contain_text("Baltiysk")
    expect(text).not_to_contain_text("draft")
    expect(turn.locator(".searched-as")).to_have_text(
        "Searched as: Where is the Baltic Fleet of Russia based?"
    )
    expect(turn.locator(".mode-note")).to_have_text(
        "Written from the articles and checked against them"
    )
    turn.get_by_role("button", name=re.compile(r"^Source 1: ")).click()
    expect(page.locator("#panel mark.passage")).to_have_text(final["citations"][0]["quote"])


def test_page_streaming_moves_nothing_on_screen(open_page: Callable[..., Page], site: str) -> None:
    page = open_page(reduced_motion="reduce")  # the scroll to the new question is then instant
    final = api_answer(site, BALTIC)
    words = re.findall(r"\S+\s*", final["answer"])
    replay(page, site, streamed(final, words, mode="extractive"), pause=0.03)
    # Every frame while text streams in: where the question sits, and any layout shift.
    page.evaluate(
        """() => {
            window.__tops = [];
            window.__shifts = [];
            new PerformanceObserver((list) => window.__shifts.push(...list.getEntries()))
              .observe({ type: "layout-shift" });
            const frame = () => {
                const turn = document.querySelector(".turn:last-child");
                if (turn?.dataset.status === "streaming") {
                    const bubble = turn.querySelector(".question-bubble");
                    window.__tops.push(bubble.getBoundingClientRect().top);
                }
                requestAnimationFrame(frame);
            };
            frame();
        }"""
    )
    turn = ask(page, BALTIC)
    expect(turn.locator(".answer-text")).to_contain_text("Baltiysk")
    tops = page.evaluate("window.__tops")
    shifted = page.evaluate(
        "window.__shifts.filter((s) => !s.hadRecentInput).reduce((sum, s) => sum + s.value, 0)"
    )
    assert len(tops) >= 5 and len(set(tops)) == 1
    assert shifted == 0


def test_page_stream_error_event_shows_retry(page: Page, site: str) -> None:
    events = [
        ("retrieval", {"standalone_question": BALTIC, "passages": []}),
        ("delta", {"text": "It hosts"}),
    ]
    replay(page, site, [*events, ("error", {"detail": "the model timed out"})], pause=0.05)
    turn = ask(page, BALTIC)
    alert = turn.get_by_role("alert")
    expect(alert).to_contain_text("The model timed out.")
    page.unroute_all()
    alert.get_by_role("button", name="Retry").click()
    expect(turn.locator(".answer-text")).to_contain_text("Baltiysk")


@pytest.mark.parametrize("status", [404, 405])
def test_page_falls_back_to_ask_when_stream_missing(page: Page, status: int) -> None:
    page.route(
        "**/api/ask/stream",
        lambda route: route.fulfill(status=status, json={"detail": "Not Found"}),
    )
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/api/ask")):
        turn = ask(page, BALTIC)
    expect(turn.locator(".answer-text")).to_contain_text("Baltiysk")


def test_page_sse_parser_handles_split_chunks(page: Page) -> None:
    events = page.evaluate(
        """async () => {
            const { SSEParser } = await import("/sse.js");
            const events = [];
            const parser = new SSEParser((event) => events.push(event));
            const stream = 'event: delta\\r\\ndata: {"text": "a"}\\r\\n\\r\\n: a comment\\n'
              + 'event: citations\\ndata: {"x":\\ndata: 1}\\n\\nevent: done\\rdata:{}\\r\\r'
              + 'event: delta\\ndata: cut off';
            for (const character of stream) parser.push(character);
            parser.end();
            return events;
        }"""
    )
    assert events == [
        {"type": "delta", "data": '{"text": "a"}'},
        {"type": "citations", "data": '{"x":\n1}'},
        {"type": "done", "data": "{}"},
    ]


# ---- The screenshot in the README ----------------------------------------------------


def test_page_screenshot_of_conversation(page: Page) -> None:
    ask(page, RAIL)
    turn = ask(
        page, "Which other Baltic countries could be isolated if that corridor were severed?"
    )
    turn.locator("button.cite").last.click()
    expect(page.locator("#panel mark.passage")).to_be_in_viewport()
    page.evaluate("window.scrollTo(0, 0)")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOT, animations="disabled", caret="hide")
    assert SCREENSHOT.stat().st_size > 10_000


# ---- With API keys set -----------------------------------------------------------------

PAGE_KEY = "page-reader-key-0123456789"


@pytest.fixture(scope="module")
def keyed_site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The app over the seeds with RAG_API_KEYS set: one ask key and one write key."""
    root = tmp_path_factory.mktemp("keyed")
    settings = Settings(
        seeds_dir=REPO / "seeds",
        data_dir=root / "data",
        progress=False,
        log_level="WARNING",
        api_keys=SecretStr(f"page:{PAGE_KEY}:ask,feeder:writer-key-0123456789:write"),
    )
    sync(settings, Store(connect(settings), settings.collection), embedder)
    with serve(create_app(settings, embedder)) as base_url:
        yield base_url


def test_page_with_keys_asks_for_one_and_keeps_it_for_the_session(
    browser: Browser, keyed_site: str
) -> None:
    """The page meets a 401, asks the reader for a key (a wrong one is asked again, a key
    without the scope ask is refused in words), then answers, and asks no more."""
    context = browser.new_context(base_url=keyed_site, viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    given = ["not-a-key", PAGE_KEY]
    prompts: list[str] = []

    def answer(dialog: Any) -> None:
        prompts.append(dialog.message)
        dialog.accept(given.pop(0) if given else "")

    page.on("dialog", answer)
    try:
        page.goto("/")
        expect(page.get_by_role("heading", name="Ask the articles")).to_be_attached()
        turn = ask(page, BALTIC)
        expect(turn.locator(".answer-text")).to_contain_text("Baltiysk")
        turn = ask(page, INF)
        expect(turn.locator(".answer-text")).to_contain_text("9M729")
        stored = page.evaluate("sessionStorage.getItem('newsrag.apiKey')")
        print(f"prompts: {len(prompts)}; key kept in sessionStorage: {stored == PAGE_KEY}")
        assert len(prompts) == 2 and "API key" in prompts[0]
        assert stored == PAGE_KEY
        assert page.evaluate("localStorage.getItem('newsrag.apiKey')") is None
    finally:
        context.close()


def test_page_with_keys_explains_a_refused_key(browser: Browser, keyed_site: str) -> None:
    """A write-only key gets the service's 403 sentence on the page, not a blank failure."""
    context = browser.new_context(base_url=keyed_site, viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page.on("dialog", lambda dialog: dialog.accept("writer-key-0123456789"))
    try:
        page.goto("/")
        turn = ask(page, BALTIC)
        expect(turn).to_have_attribute("data-status", "error")
        expect(turn).to_contain_text("may not ask or read")
    finally:
        context.close()


# ---- Poisoned articles and a model that obeys them --------------------------------------


@pytest.fixture(scope="module")
def poisoned_site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The app over the poisoned articles of test_poisoned.py, answering through a model
    that writes whatever markup the passages tell it to. The one asking for the system
    prompt is left out: the model obeys it whichever passage carries it, so it would
    answer every question whose passages reach that article, and this test is about
    markup (test_poisoned.py covers the leak)."""
    root = tmp_path_factory.mktemp("poisoned-page")
    seeds = root / "seeds"
    seeds.mkdir()
    for n in range(len(POISON)):
        if "system prompt" not in POISON[n][2]:
            (seeds / f"9{n:02d}_poison.txt").write_text(poison_article(n), encoding="utf-8")
    with obeying_endpoint() as (url, _):
        settings = Settings(
            seeds_dir=seeds,
            data_dir=root / "data",
            progress=False,
            log_level="WARNING",
            answer_backend="openai",
            llm_base_url=url,
            llm_model="obeying",
            llm_timeout=20.0,
            llm_retries=0,
        )
        sync(settings, Store(connect(settings), settings.collection), embedder)
        with serve(create_app(settings, embedder)) as base_url:
            yield base_url


def test_page_shows_poisoned_answers_as_text(browser: Browser, poisoned_site: str) -> None:
    """Script, image, iframe, SVG and markdown payloads that the model wrote into its
    answers are shown as their characters: nothing runs, nothing loads from elsewhere."""
    context = browser.new_context(base_url=poisoned_site, viewport=DESKTOP)
    outside: list[str] = []
    context.route(
        lambda url: not url.startswith(poisoned_site),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        page.goto("/")
        shown = []
        for n in (3, 4, 5, 6, 12, 15, 18):
            turn = ask(page, POISON[n][1])
            expect(turn).to_have_attribute("data-status", "done")
            shown.append(turn.locator(".answer-text").inner_text())
        for selector in ("script", "img", "iframe", "svg", "style", "a[href^=javascript]"):
            injected = page.locator(f".turn .answer-text {selector}").count()
            assert injected == 0, f"{selector} drawn inside an answer"
        print("answers as shown:\n" + "\n".join(shown))
        assert any("<script>" in text for text in shown)  # the model's markup, as text
        assert page.evaluate("window.__xss") is None
        assert outside == []
    finally:
        context.close()
