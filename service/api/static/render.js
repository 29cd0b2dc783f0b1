// The thread's turns as elements: the question, then the answer in whatever state it is in.

import { formatDate, h, icon, smallButton } from "./dom.js";

const MARKER = /\s*\[(\d+)\]/g;
const NO_ANSWER_HINT = "Try asking in other words, or about something the articles cover.";
const MODE_NOTES = {
  extractive: "Quoted from the articles",
  generated: "Written from the articles and checked against them",
  fallback: "Quoted from the articles (the writer was unavailable)",
};

/**
 * `actions` are the reader's moves on a turn: onCite(turn, citation, button),
 * onRetry(turn), onCopy(turn, button); `articles` maps article_id to its metadata.
 */
export function turnElement(turn, actions, articles) {
  const template = document.getElementById("turn-template");
  const item = template.content.firstElementChild.cloneNode(true);
  item.dataset.turnId = turn.id;
  item.querySelector(".question-bubble").textContent = turn.question;
  updateTurn(item, turn, actions, articles);
  return item;
}

/** Redraw the parts of a turn that change as its answer arrives. */
export function updateTurn(item, turn, actions, articles) {
  item.dataset.status = turn.status;
  const searched = item.querySelector(".searched-as");
  const rewritten = turn.standalone_question?.trim();
  searched.hidden = !rewritten || rewritten === turn.question.trim();
  const label = h("span", { class: "searched-label" }, "Searched as:");
  searched.replaceChildren(label, " ", rewritten ?? "");
  item.querySelector(".answer").replaceChildren(...answerParts(turn, actions, articles));
}

function answerParts(turn, actions, articles) {
  switch (turn.status) {
    case "pending":
      return [progress(turn)];
    case "streaming":
      return [answerText(turn.draft, null, true), placeholderActions()];
    case "stopped":
      return stopped(turn, actions);
    case "error":
      return [failure(turn, actions)];
    default:
      return turn.answerable ? answered(turn, actions, articles) : [noAnswer(turn)];
  }
}

function progress(turn) {
  const text = turn.passages
    ? `Reading ${turn.passages} ${turn.passages === 1 ? "passage" : "passages"}…`
    : "Searching the articles…";
  const dots = h("span", { class: "dots", "aria-hidden": "true" });
  return h("p", { class: "progress", role: "status" }, dots, text);
}

/** Answer text with its [n] markers turned into footnote buttons (plain chips in a draft). */
export function answerText(text, citations, streaming = false) {
  const paragraph = h("p", { class: streaming ? "answer-text is-streaming" : "answer-text" });
  const byNumber = new Map((citations ?? []).map((c) => [c.n, c]));
  let from = 0;
  for (const match of text.matchAll(MARKER)) {
    paragraph.append(text.slice(from, match.index));
    paragraph.append(marker(Number(match[1]), byNumber, citations === null));
    from = match.index + match[0].length;
  }
  paragraph.append(text.slice(from));
  return paragraph;
}

function marker(n, byNumber, drafting) {
  const citation = byNumber.get(n);
  if (citation) {
    const label = `Source ${n}: ${citation.title}`;
    const attributes = { type: "button", class: "cite", "data-n": n, "aria-label": label };
    return h("button", { ...attributes, title: citation.title }, String(n));
  }
  // While drafting, the marker's citation is not known yet; after, an unknown one stays text.
  if (!drafting) return ` [${n}]`;
  return h("span", { class: "cite is-pending", "aria-hidden": "true" }, String(n));
}

function answered(turn, actions, articles) {
  const text = answerText(turn.answer ?? "", turn.citations);
  text.addEventListener("click", (event) => {
    const button = event.target.closest("button.cite");
    if (!button) return;
    const citation = turn.citations.find((c) => c.n === Number(button.dataset.n));
    actions.onCite(turn, citation, button);
  });
  const parts = [text, sources(turn, actions, articles), answerActions(turn, actions)];
  const unsure = lowConfidence(turn);
  return unsure ? [unsure, ...parts] : parts;
}

// Below this confidence (twice the service's default least confidence, docs/reader.md) the
// page says in words that the answer only just cleared the bar.
const SURE = 0.15;

/** A plain warning over an answer the service gives with low confidence, or null. */
function lowConfidence(turn) {
  if (typeof turn.confidence !== "number" || turn.confidence >= SURE) return null;
  return h(
    "p",
    { class: "low-confidence", role: "note" },
    "Low confidence: the articles may not really answer this. " +
      "Read the quoted passage before relying on it.",
  );
}

/** The articles an answer used, each once, in the order the answer first cites them. */
function sources(turn, actions, articles) {
  const groups = new Map();
  for (const citation of [...turn.citations].sort((a, b) => a.n - b.n)) {
    if (!groups.has(citation.article_id)) groups.set(citation.article_id, []);
    groups.get(citation.article_id).push(citation);
  }
  const items = [...groups.values()].map((cited) => {
    const button = sourceButton(cited, articles.get(cited[0].article_id));
    button.addEventListener("click", () => actions.onCite(turn, cited[0], button));
    return h("li", {}, button);
  });
  return h(
    "div",
    { class: "sources" },
    h("h3", { class: "sources-title" }, groups.size === 1 ? "Source" : "Sources"),
    h("ul", { class: "sources-list" }, items),
  );
}

function sourceButton(cited, meta) {
  const { title } = cited[0];
  const numbers = cited.map((c) => c.n).join(", ");
  const details = [meta?.publisher, formatDate(meta?.published)].filter(Boolean).join(" · ");
  return h(
    "button",
    { type: "button", class: "source", "aria-label": `Open ${title}, cited as ${numbers}` },
    h("span", { class: "source-numbers", "aria-hidden": "true" }, numbers),
    h(
      "span",
      { class: "source-body" },
      h("span", { class: "source-title" }, title),
      details ? h("span", { class: "source-meta" }, details) : null,
    ),
  );
}

function answerActions(turn, actions) {
  const copy = smallButton("copy", "Copy answer", () => actions.onCopy(turn, copy), "button-quiet");
  const note = h("span", { class: "mode-note" }, MODE_NOTES[turn.mode] ?? "");
  return h("div", { class: "answer-actions" }, copy, note);
}

// Holds the height of the finished answer's action row so nothing moves when it appears.
function placeholderActions() {
  const filler = h("span", { class: "button button-small" }, "\u00a0");
  return h("div", { class: "answer-actions is-placeholder", "aria-hidden": "true" }, filler);
}

function noAnswer(turn) {
  const reason = turn.reason ?? "No passage in the articles answers this question.";
  return h(
    "div",
    { class: "no-answer" },
    icon("info"),
    h(
      "div",
      {},
      h("p", { class: "no-answer-title" }, "The articles don't answer this"),
      h("p", { class: "no-answer-reason" }, reason),
      h("p", { class: "no-answer-hint" }, NO_ANSWER_HINT),
    ),
  );
}

/** An error box with a Retry button; the article panel uses it too. */
export function failureBox(title, detail, onRetry) {
  return h(
    "div",
    { class: "failure", role: "alert" },
    icon("alert"),
    h(
      "div",
      {},
      h("p", { class: "failure-title" }, title),
      h("p", { class: "failure-detail" }, detail),
      smallButton("retry", "Retry", onRetry, "retry-button"),
    ),
  );
}

function failure(turn, actions) {
  const detail = turn.error ?? "Something went wrong.";
  return failureBox("Couldn't get an answer", detail, () => actions.onRetry(turn));
}

function stopped(turn, actions) {
  const again = smallButton("retry", "Ask again", () => actions.onRetry(turn), "retry-button");
  const said = h("p", {}, "Stopped before the answer was finished.");
  const note = h("div", { class: "stopped" }, said, again);
  if (!turn.draft) return [note];
  const partial = answerText(turn.draft, null);
  partial.classList.add("is-partial");
  return [partial, note];
}

/** The answer as plain text for the clipboard, with the sources it cites listed after it. */
export function answerAsText(turn) {
  const lines = turn.citations.map((c) => `[${c.n}] ${c.title}: “${c.quote}”`);
  return lines.length ? `${turn.answer}\n\nSources\n${lines.join("\n")}` : (turn.answer ?? "");
}
