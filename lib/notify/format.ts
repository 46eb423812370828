/**
 * Alert formatting, as pure functions (no I/O, no clock): a CloudTrail change with its
 * remediation outcome (change-alert.ts), or a scheduled-scan digest (digest.ts) → one
 * RenderedAlert (render-kit.ts) that every channel sends its own way (SNS subject + plain text for
 * email, Slack Block Kit + text fallback). This module is their one public entry point.
 *
 * Event-derived text (table names, ARNs, user agents, error messages) is untrusted. Everywhere it
 * goes through lib/core/text.ts `sanitise`: control characters (line breaks included) become spaces
 * so it cannot forge extra lines, and Unicode format characters (bidi overrides such as U+202E,
 * zero-width characters) are shown as [U+202E] so it cannot disguise itself. In Slack it is also
 * escaped (& < >), @here/@channel/@everyone are defused, and it sits in code spans so it cannot
 * change the formatting.
 */
export * from './render-kit';
export * from './change-alert';
export * from './deleted-alert';
export * from './digest';
export { oneLine, truncate } from '../core/text';
export * from './escalation-alert';
export { lifecycleDigestInput, fixedByText, type LifecycleDigestSource } from './lifecycle-digest';
