/** HTML escaping for the HTML report and the pieces other modules render into it. */
import { sanitise } from '../core/text';

/** HTML-escaped, after the one sanitiser (control and bidi/format characters, lib/core/text.ts). */
export function escapeHtml(value: unknown): string {
  return sanitise(String(value ?? ''))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
