// Building elements from data. Strings only ever become text nodes or attribute values:
// nothing from an article or an answer is parsed as HTML.

/**
 * h("p", {class: "x", "aria-label": "..."}, "text", child) → <p class="x">text…</p>.
 * Attributes whose value is null, undefined or false are left out; true sets an empty one.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

/** A copy of one of the page's inline SVG icons (they live in index.html, not in code). */
export function icon(name) {
  const template = document.getElementById(`icon-${name}`);
  return template.content.firstElementChild.cloneNode(true);
}

/** A small pill button: an icon, a label (in a span, so it can change), a click handler. */
export function smallButton(iconName, label, onClick, className = "") {
  const button = h(
    "button",
    { type: "button", class: `button button-small ${className}`.trim() },
    icon(iconName),
    h("span", {}, label),
  );
  button.addEventListener("click", onClick);
  return button;
}

/** "2025-12-20" → "20 Dec 2025" in the reader's locale; date-only strings stay on their day. */
export function formatDate(iso) {
  if (!iso) return null;
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(iso);
  const date = new Date(dateOnly ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(date.getTime())) return iso;
  const options = { dateStyle: "medium", ...(dateOnly ? { timeZone: "UTC" } : {}) };
  return new Intl.DateTimeFormat(undefined, options).format(date);
}

/** The address as a link target only when it is http(s); anything else is not a link. */
export function safeUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export function prefersReducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}
