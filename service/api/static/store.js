// The conversation kept in localStorage, so a reload (or a closed tab) loses nothing.

const KEY = "newsrag.conversation.v1";
// Earlier turns sent with a question; the API accepts 50 messages of 8000 characters.
const MAX_HISTORY_MESSAGES = 50;
const MAX_MESSAGE_CHARS = 8000;

/**
 * A turn: {id, question, status, standalone_question, passages, draft, answer, answerable,
 * reason, mode, citations, confidence, error}. status is "pending" (waiting for the first word), "streaming",
 * "done", "error" or "stopped".
 */
export function newTurn(question) {
  return {
    id: globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`,
    question,
    status: "pending",
    standalone_question: null,
    passages: 0,
    draft: "",
    answer: null,
    answerable: null,
    reason: null,
    mode: null,
    citations: [],
    confidence: null,
    error: null,
  };
}

/** The saved turns; a turn cut off by the reload becomes an error the reader can retry. */
export function load() {
  let turns;
  try {
    turns = JSON.parse(localStorage.getItem(KEY) ?? "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(turns)) return [];
  return turns.filter(isTurn).map((turn) =>
    turn.status === "pending" || turn.status === "streaming"
      ? { ...turn, status: "error", error: "The page was reloaded before the answer finished." }
      : turn,
  );
}

export function save(turns) {
  try {
    localStorage.setItem(KEY, JSON.stringify(turns));
  } catch {
    // Storage full or disabled (private mode): the conversation still works, unsaved.
  }
}

export function clear() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // Nothing was saved.
  }
}

/** The earlier turns of `turns` that answered, as API `history` messages, oldest first. */
export function historyBefore(turns, turn) {
  const earlier = turns.slice(0, turns.indexOf(turn)).filter((t) => t.status === "done");
  const messages = earlier.flatMap((t) => [
    { role: "user", content: t.question.slice(0, MAX_MESSAGE_CHARS) },
    { role: "assistant", content: (t.answer ?? "").slice(0, MAX_MESSAGE_CHARS) },
  ]);
  return messages.filter((m) => m.content.trim()).slice(-MAX_HISTORY_MESSAGES);
}

function isTurn(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.id === "string" &&
    typeof value.question === "string" &&
    typeof value.status === "string" &&
    Array.isArray(value.citations)
  );
}
