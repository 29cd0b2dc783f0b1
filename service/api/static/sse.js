// A Server-Sent Events parser for responses read with fetch(): EventSource cannot POST.
// Follows the WHATWG event-stream rules: lines end in CR, LF or CRLF; a blank line
// dispatches; `data:` lines join with "\n"; lines starting with ":" are comments;
// an event cut off by the end of the stream is dropped.

export class SSEParser {
  /** @param {(event: {type: string, data: string}) => void} onEvent */
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.type = "";
    this.data = [];
  }

  /** Feed decoded text; complete events are dispatched as their blank line arrives. */
  push(text) {
    this.buffer += text;
    let start = 0;
    for (;;) {
      const end = this.#lineEnd(start);
      if (end < 0) break;
      this.#line(this.buffer.slice(start, end));
      start = end + (this.buffer[end] === "\r" && this.buffer[end + 1] === "\n" ? 2 : 1);
    }
    this.buffer = this.buffer.slice(start);
  }

  /** The stream ended: a final CR completes its line; a half-received event is dropped. */
  end() {
    if (this.buffer.endsWith("\r")) this.push("\n");
    this.buffer = "";
    this.type = "";
    this.data = [];
  }

  // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
  #lineEnd(from) {
    for (let i = from; i < this.buffer.length; i += 1) {
      const c = this.buffer[i];
      if (c === "\n") return i;
      if (c === "\r") return i + 1 < this.buffer.length ? i : -1;
    }
    return -1;
  }

  #line(line) {
    if (line === "") {
      this.#dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
  }

  #dispatch() {
    if (this.data.length) {
      this.onEvent({ type: this.type || "message", data: this.data.join("\n") });
    }
    this.type = "";
    this.data = [];
  }
}
