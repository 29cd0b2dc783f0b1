// Talking to the service: the streamed answer when the server offers it, the plain one if not.

import { SSEParser } from "./sse.js";

const STREAM_URL = "/api/ask/stream";
const ASK_URL = "/api/ask";
// The page is mounted at "/", so a POST to a route that does not exist meets the static
// files and comes back 405 rather than 404.
const NO_STREAM_STATUSES = new Set([404, 405]);

/** A failure the page shows with a Retry button. */
export class ServiceError extends Error {
  constructor(message, status = null) {
    super(message);
    this.name = "ServiceError";
    this.status = status;
  }
}

let streamMissing = false;

// With RAG_API_KEYS set, the service answers 401 until the page sends a key: the page asks
// for one once and keeps it in this tab's session (sessionStorage: gone when the tab closes,
// never sent anywhere but this service).
const KEY_STORE = "newsrag.apiKey";
const KEY_PROMPT =
  "This service needs an API key (one with the scope ask). Paste it here: it is kept only " +
  "for this browser tab.";

function authorization() {
  const key = sessionStorage.getItem(KEY_STORE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** Ask the reader for a key after a 401; false when they gave none. */
function askForKey() {
  sessionStorage.removeItem(KEY_STORE);
  const given = window.prompt(KEY_PROMPT, "")?.trim();
  if (!given) return false;
  sessionStorage.setItem(KEY_STORE, given);
  return true;
}

/** fetch() with the session's key; on a 401, ask for a key once and try again with it. */
async function send(url, init) {
  const once = () =>
    fetch(url, { ...init, headers: { ...init.headers, ...authorization() } });
  let response;
  try {
    response = await once();
    if (response.status === 401 && askForKey()) response = await once();
  } catch (error) {
    throw unreachable(error);
  }
  return response;
}

/**
 * Ask a question. `hooks.onRetrieval({standalone_question, passages})` and
 * `hooks.onDelta(text)` report progress when the answer streams. Resolves to
 * {standalone_question, answer, answerable, reason, mode, citations}.
 */
export async function ask(body, { signal, onRetrieval, onDelta } = {}) {
  if (!streamMissing) {
    const response = await post(STREAM_URL, body, signal, "text/event-stream");
    if (!NO_STREAM_STATUSES.has(response.status)) {
      if (!response.ok) throw await failureOf(response);
      return readStream(response, { onRetrieval, onDelta });
    }
    streamMissing = true;
  }
  const response = await post(ASK_URL, body, signal, "application/json");
  if (!response.ok) throw await failureOf(response);
  return response.json();
}

/** An article with its full text: {article_id, title, publisher, published, url, text, ...}. */
export async function fetchArticle(articleId, signal) {
  return getJSON(`/api/articles/${encodeURIComponent(articleId)}`, signal);
}

/** Metadata of every indexed article. */
export async function fetchArticles(signal) {
  return getJSON("/api/articles", signal);
}

async function getJSON(url, signal) {
  const response = await send(url, { headers: { Accept: "application/json" }, signal });
  if (!response.ok) throw await failureOf(response);
  return response.json();
}

async function post(url, body, signal, accept) {
  return send(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: accept },
    body: JSON.stringify(body),
    signal,
  });
}

function unreachable(error) {
  if (error.name === "AbortError") return error;
  return new ServiceError("The service can't be reached. Check that it is running, then retry.");
}

const LEADS = {
  401: "This service needs an API key; ask again to enter one.",
  403: "This API key may not do this.",
  429: "Too many requests for now.",
  503: "The article index isn't ready.",
};

async function failureOf(response) {
  let detail = "";
  try {
    const payload = await response.json();
    detail = typeof payload.detail === "string" ? payload.detail : "";
  } catch {
    // Not JSON (a proxy's error page, say): the status alone has to do.
  }
  const lead =
    LEADS[response.status] ??
    (response.status >= 500 ? "The service failed to answer." : "The service refused the request.");
  return new ServiceError(detail ? `${lead} ${capitalise(detail)}` : lead, response.status);
}

function capitalise(text) {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(sentence) ? sentence : `${sentence}.`;
}

async function readStream(response, { onRetrieval, onDelta }) {
  const result = { standalone_question: null, mode: null };
  let verified = false;
  let finished = false;
  const parser = new SSEParser(({ type, data }) => {
    const payload = parsePayload(data);
    if (type === "retrieval") {
      result.standalone_question = payload.standalone_question ?? null;
      onRetrieval?.(payload);
    } else if (type === "delta") {
      onDelta?.(String(payload.text ?? ""));
    } else if (type === "citations") {
      // The verified answer replaces whatever draft streamed before it.
      Object.assign(result, payload);
      verified = true;
    } else if (type === "done") {
      result.mode = payload.mode ?? result.mode;
      finished = true;
    } else if (type === "error") {
      const detail = payload.detail ? capitalise(String(payload.detail)) : "The answer failed.";
      throw new ServiceError(detail);
    }
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    while (!finished) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  } catch (error) {
    if (error.name === "AbortError" || error instanceof ServiceError) throw error;
    throw new ServiceError("The connection dropped while the answer was arriving.");
  } finally {
    reader.cancel().catch(() => {});
  }
  if (!verified) throw new ServiceError("The answer stopped before it was complete.");
  return result;
}

function parsePayload(data) {
  try {
    return JSON.parse(data);
  } catch {
    throw new ServiceError("The service sent an answer the page can't read.");
  }
}
