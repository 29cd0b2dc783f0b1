// The chat page: ask, watch the answer arrive, open what it cites, keep the conversation.

import { ask, fetchArticles, ServiceError } from "./api.js";
import { formatDate, h, prefersReducedMotion } from "./dom.js";
import { ArticlePanel } from "./panel.js";
import { answerAsText, turnElement, updateTurn } from "./render.js";
import * as store from "./store.js";

const LIBRARY_SHOWN = 8;

const $ = (id) => document.getElementById(id);
const ui = {
  thread: $("thread"),
  welcome: $("welcome"),
  form: $("ask-form"),
  question: $("question"),
  send: $("send"),
  stop: $("stop"),
  fresh: $("new-conversation"),
  announcer: $("announcer"),
};
const panel = new ArticlePanel();
const articles = new Map();
const actions = { onCite: openCitation, onRetry: retry, onCopy: copy };
let turns = store.load();
let running = null;
let drawQueued = false;

function start() {
  ui.thread.replaceChildren(...turns.map((turn) => turnElement(turn, actions, articles)));
  ui.welcome.hidden = turns.length > 0;
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  ui.question.addEventListener("keydown", onKey);
  ui.question.addEventListener("input", syncComposer);
  ui.stop.addEventListener("click", () => running?.controller.abort());
  ui.fresh.addEventListener("click", startOver);
  trackHeights();
  syncComposer();
  if (turns.length) {
    window.scrollTo({ top: document.documentElement.scrollHeight, behavior: "instant" });
  }
  loadLibrary();
}

function onKey(event) {
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  event.preventDefault();
  send();
}

function send() {
  const question = ui.question.value.trim();
  if (!question || running) return;
  const turn = store.newTurn(question);
  turns.push(turn);
  const item = turnElement(turn, actions, articles);
  ui.thread.append(item);
  ui.welcome.hidden = true;
  ui.question.value = "";
  syncComposer();
  // The new question moves to the top; its answer then grows into the space below it.
  item.scrollIntoView({ block: "start", behavior: prefersReducedMotion() ? "instant" : "smooth" });
  run(turn);
}

function retry(turn) {
  if (running || !turns.includes(turn)) return;
  run(turn);
}

async function run(turn) {
  Object.assign(turn, store.newTurn(turn.question), { id: turn.id });
  const controller = new AbortController();
  running = { turn, controller };
  setBusy(true);
  redraw(turn);
  store.save(turns);
  try {
    const result = await ask(
      { question: turn.question, history: store.historyBefore(turns, turn) },
      {
        signal: controller.signal,
        onRetrieval: (retrieval) => {
          turn.standalone_question = retrieval.standalone_question ?? null;
          turn.passages = retrieval.passages?.length ?? 0;
          redraw(turn);
        },
        onDelta: (text) => {
          turn.status = "streaming";
          turn.draft += text;
          redrawSoon(turn);
        },
      },
    );
    finish(turn, result);
  } catch (error) {
    fail(turn, error);
  } finally {
    if (running?.controller === controller) {
      running = null;
      setBusy(false);
    }
    if (turns.includes(turn)) {
      redraw(turn);
      store.save(turns);
    }
  }
}

function finish(turn, result) {
  Object.assign(turn, {
    status: "done",
    standalone_question: result.standalone_question ?? turn.standalone_question,
    answer: result.answer ?? "",
    answerable: Boolean(result.answerable),
    reason: result.reason ?? null,
    mode: result.mode ?? null,
    citations: Array.isArray(result.citations) ? result.citations : [],
    confidence: typeof result.confidence === "number" ? result.confidence : null,
    draft: "",
  });
  const spoken = turn.answer.replace(/\s*\[\d+\]/g, "");
  announce(turn.answerable ? `Answer: ${spoken}` : "The articles don't answer this question.");
}

function fail(turn, error) {
  if (error?.name === "AbortError") {
    turn.status = "stopped";
    announce("Stopped.");
    return;
  }
  if (!(error instanceof ServiceError)) console.error(error);
  turn.status = "error";
  turn.error =
    error instanceof ServiceError
      ? error.message
      : "Something went wrong on this page. Retry, or reload the page.";
}

function redraw(turn) {
  const item = ui.thread.querySelector(`[data-turn-id="${CSS.escape(turn.id)}"]`);
  if (item) updateTurn(item, turn, actions, articles);
}

// Streamed text can arrive faster than frames: draw at most once per frame.
function redrawSoon(turn) {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    if (turn.status === "streaming") redraw(turn);
  });
}

function setBusy(busy) {
  const hadFocus = document.activeElement;
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  if (busy && hadFocus === ui.send) ui.stop.focus();
  if (!busy && hadFocus === ui.stop) ui.question.focus();
  syncComposer();
}

function startOver() {
  running?.controller.abort();
  running = null;
  setBusy(false);
  turns = [];
  store.clear();
  ui.thread.replaceChildren();
  ui.welcome.hidden = false;
  panel.close();
  window.scrollTo({ top: 0, behavior: "instant" });
  ui.question.focus();
  announce("New conversation started.");
}

function openCitation(turn, citation, opener) {
  if (citation) panel.open(citation.article_id, citation, opener);
}

async function copy(turn, button) {
  const label = button.querySelector("span");
  try {
    await writeClipboard(answerAsText(turn));
    label.textContent = "Copied";
    announce("Answer copied.");
  } catch {
    label.textContent = "Couldn't copy";
  }
  setTimeout(() => {
    label.textContent = "Copy answer";
  }, 2000);
}

async function writeClipboard(text) {
  if (navigator.clipboard?.writeText) return navigator.clipboard.writeText(text);
  // Pages served over plain http from another machine have no async clipboard.
  const area = h("textarea", { class: "visually-hidden", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("copy refused");
}

function syncComposer() {
  const box = ui.question;
  box.style.height = "auto";
  box.style.height = `${box.scrollHeight}px`;
  ui.send.disabled = Boolean(running) || !box.value.trim();
}

function announce(message) {
  ui.announcer.textContent = message;
}

// The header and composer overlay the thread; CSS sizes the last turn from their heights.
function trackHeights() {
  const root = document.documentElement;
  const observer = new ResizeObserver(() => {
    root.style.setProperty("--topbar-h", `${document.querySelector(".topbar").offsetHeight}px`);
    root.style.setProperty("--composer-h", `${$("composer").offsetHeight}px`);
  });
  observer.observe(document.querySelector(".topbar"));
  observer.observe($("composer"));
}

async function loadLibrary() {
  try {
    const list = await fetchArticles();
    for (const article of list) articles.set(article.article_id, article);
    showLibrary(list);
    for (const turn of turns) if (turn.status === "done") redraw(turn);
  } catch (error) {
    const notice = $("library-notice");
    notice.textContent =
      error instanceof ServiceError ? error.message : "The article list couldn't be loaded.";
    notice.hidden = false;
  }
}

function showLibrary(list) {
  const count = `${list.length} ${list.length === 1 ? "article" : "articles"}`;
  $("library-title").textContent = `${count} in the index`;
  const items = list.slice(0, LIBRARY_SHOWN).map((article) => {
    const meta = [article.publisher, formatDate(article.published)].filter(Boolean).join(" · ");
    const button = h(
      "button",
      { type: "button", class: "library-item" },
      h("span", { class: "library-item-title" }, article.title),
      h("span", { class: "library-item-meta" }, meta || "Read the article"),
    );
    button.addEventListener("click", () => panel.open(article.article_id, null, button));
    return h("li", {}, button);
  });
  if (list.length > LIBRARY_SHOWN) {
    items.push(h("li", { class: "library-more" }, `and ${list.length - LIBRARY_SHOWN} more`));
  }
  $("library-list").replaceChildren(...items);
  $("library").hidden = list.length === 0;
}

start();
