import { formatNumber } from "../format.js";

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text safe to put between tags and inside quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]);
}

/**
 * JSON for a <script type="application/json"> element: "<" becomes \u003c so no string
 * from the report can close the element or open a comment. NaN and ±Infinity become null.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** An evidence value from a diagnosis, whatever its type, as short plain text. */
export function formatEvidence(value: unknown): string {
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) {
    const shown = value.slice(0, 12).map(formatEvidence);
    return `[${shown.join(", ")}${value.length > shown.length ? `, … ${value.length - shown.length} more` : ""}]`;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([key, inner]) => `${key}: ${formatEvidence(inner)}`).join(", ")}}`;
  }
  return String(value);
}
