/**
 * Text rules, in one place: every renderer (SNS/email, Slack, table, CSV, HTML, explain) and every
 * log line that carries event-sourced values goes through these. Pure: no I/O, no AWS SDK.
 *
 * Untrusted text (CloudTrail fields, tag values, AWS error messages) can carry control characters
 * that forge extra lines or drive a terminal, and Unicode format characters (category Cf: bidi
 * overrides such as U+202E, zero-width characters, the BOM) that make a reader see something other
 * than what is there. `sanitise` makes both harmless:
 * - control characters (C0, DEL, C1) and the line/paragraph separators U+2028/U+2029 become one
 *   space per run, so text stays on one line;
 * - format characters are made visible as `[U+202E]`, so a forged ARN looks forged instead of
 *   being silently "fixed".
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]+/g;
const FORMAT = /\p{Cf}/gu;

/**
 * Untrusted text made safe to show: one line, no control characters, format characters visible.
 * `multiline` keeps tab, CR and LF (for a CSV cell, where quoting makes line breaks data).
 */
export function sanitise(value: string, options: { multiline?: boolean } = {}): string {
  return value
    .replace(options.multiline ? CONTROL_BUT_LINES : CONTROL, ' ')
    .replace(FORMAT, (c) => `[U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** `sanitise`, then trimmed: one line of plain text. */
export function oneLine(value: string): string {
  return sanitise(value).trim();
}

/** At most `max` characters, the cut marked with an ellipsis. */
export function truncate(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, Math.max(0, max - 1))}…` : value;
}

/** Longest event-sourced value written to a log line, before its length is noted instead. */
export const LOG_VALUE_MAX = 256;

/**
 * An event-sourced value as it may appear in a log line or an error reason: at most `max`
 * characters, and when cut, followed by its full length (`…(204800 chars)`), so a 200 KB field
 * cannot make a 200 KB log line; sanitised (see above). Non-strings are JSON-encoded first. With
 * `quote`, the kept part is JSON-quoted, so stray whitespace and line breaks show (`"orders\n"`).
 */
export function forLog(value: unknown, max = LOG_VALUE_MAX, quote = false): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  const cut = text.length > max;
  const kept = cut ? text.slice(0, max) : text;
  const shown = sanitise(quote ? JSON.stringify(kept) : kept);
  return cut ? `${shown}…(${text.length} chars)` : shown;
}

/** `1 day`, `7 days`. */
export function days(n: number): string {
  return `${n} day${n === 1 ? '' : 's'}`;
}

/** `35-day` (a recovery period as an adjective). */
export function dayPeriod(n: number): string {
  return `${n}-day`;
}
