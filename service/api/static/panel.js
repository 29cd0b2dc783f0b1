// The article panel: a docked side panel on wide screens, a modal sheet on narrow ones,
// showing an article's full cleaned text with the cited passage highlighted.

import { fetchArticle } from "./api.js";
import { formatDate, h, icon, prefersReducedMotion, safeUrl } from "./dom.js";
import { failureBox } from "./render.js";

const DOCKED = window.matchMedia("(min-width: 1100px)");

export class ArticlePanel {
  constructor() {
    this.dialog = document.getElementById("panel");
    this.kicker = document.getElementById("panel-kicker");
    this.title = document.getElementById("panel-title");
    this.meta = document.getElementById("panel-meta");
    this.body = document.getElementById("panel-body");
    this.text = document.getElementById("article-text");
    this.cache = new Map();
    this.opener = null;
    this.request = 0;
    document.getElementById("panel-close").addEventListener("click", () => this.close());
    this.dialog.addEventListener("close", () => this.#closed());
    this.dialog.addEventListener("click", (event) => this.#closeOnBackdrop(event));
    document.addEventListener("keydown", (event) => {
      // A docked (non-modal) dialog does not close on Escape by itself.
      if (event.key === "Escape" && this.dialog.open && !event.defaultPrevented) this.close();
    });
    DOCKED.addEventListener("change", () => this.#redock());
  }

  /** Show an article; with a citation, highlight and scroll to the passage it quotes. */
  async open(articleId, citation, opener) {
    this.opener = opener ?? null;
    const request = ++this.request;
    this.#show();
    this.#heading(citation ? `Passage [${citation.n}]` : "Article", citation?.title ?? "", []);
    const loading = h("p", { class: "panel-loading", role: "status" }, "Loading the article…");
    this.text.replaceChildren(loading);
    this.title.focus({ preventScroll: true });
    try {
      const article = await this.#article(articleId);
      if (request === this.request) this.#render(article, citation);
    } catch (error) {
      if (request === this.request) this.#failed(error, articleId, citation);
    }
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  #show() {
    const docked = DOCKED.matches;
    if (this.dialog.open && this.dialog.matches(":modal") === docked) this.dialog.close();
    if (!this.dialog.open) {
      if (docked) this.dialog.show();
      else this.dialog.showModal();
    }
    document.body.classList.toggle("panel-docked", docked);
    // Docking narrows the thread and reflows it: keep the marker that was clicked in view.
    if (docked) this.opener?.scrollIntoView({ block: "nearest" });
  }

  #redock() {
    if (!this.dialog.open) return;
    const top = this.body.scrollTop;
    this.#show();
    this.body.scrollTop = top;
  }

  #closed() {
    // Switching between docked and modal closes and reopens; that close is not the reader's.
    if (this.dialog.open) return;
    document.body.classList.remove("panel-docked");
    const opener = this.opener;
    if (opener?.isConnected) opener.focus({ preventScroll: true });
    else document.getElementById("question").focus();
  }

  #closeOnBackdrop(event) {
    if (event.target !== this.dialog) return;
    const box = this.dialog.getBoundingClientRect();
    const { clientX: x, clientY: y } = event;
    if (x < box.left || x > box.right || y < box.top || y > box.bottom) this.close();
  }

  #article(articleId) {
    if (!this.cache.has(articleId)) {
      const pending = fetchArticle(articleId);
      pending.catch(() => this.cache.delete(articleId));
      this.cache.set(articleId, pending);
    }
    return this.cache.get(articleId);
  }

  #heading(kicker, title, details) {
    this.kicker.textContent = kicker;
    this.title.textContent = title || "Untitled article";
    this.meta.replaceChildren(...details);
  }

  #render(article, citation) {
    const span = citation ? locate(article.text, citation) : null;
    this.#heading(kickerFor(citation, span), article.title, metaParts(article));
    if (!span) {
      this.text.replaceChildren(article.text);
      this.body.scrollTop = 0;
      return;
    }
    const mark = h("mark", { class: "passage" }, article.text.slice(span.start, span.end));
    const { text } = article;
    this.text.replaceChildren(text.slice(0, span.start), mark, text.slice(span.end));
    // Set the scroll position directly: scrollIntoView would also scroll the page behind.
    const top = Math.max(0, mark.offsetTop - this.body.clientHeight / 4);
    this.body.scrollTo({ top, behavior: "instant" });
    if (!prefersReducedMotion()) mark.classList.add("is-arriving");
  }

  #failed(error, articleId, citation) {
    const retry = () => this.open(articleId, citation, this.opener);
    const detail = error.message || "The service failed.";
    this.text.replaceChildren(failureBox("Couldn't load the article", detail, retry));
  }
}

function kickerFor(citation, span) {
  if (!citation) return "Article";
  const passage = `Passage [${citation.n}]`;
  return span ? `${passage} highlighted` : `${passage} not found in the text`;
}

function metaParts(article) {
  const details = [
    article.publisher ?? "Publisher unknown",
    formatDate(article.published) ?? "Date unknown",
  ];
  const parts = details.map((detail) => h("span", {}, detail));
  const href = safeUrl(article.url);
  if (href) {
    const link = { href, target: "_blank", rel: "noopener noreferrer" };
    parts.push(h("a", link, "Original", icon("external")));
  }
  return parts;
}

/** The citation's span in the text: its offsets when they still match, else the quote found. */
function locate(text, citation) {
  const { start, end, quote } = citation;
  const inside = Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end;
  if (inside && end <= text.length && (!quote || text.slice(start, end) === quote)) {
    return { start, end };
  }
  const found = quote ? text.indexOf(quote) : -1;
  return found >= 0 ? { start: found, end: found + quote.length } : null;
}
