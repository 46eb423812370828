/**
 * The demo's narrative on a 100-column terminal: folding long text, a compact table of the
 * tables that need a look, and the closing verdict over every check the demo made.
 */
import type { Finding } from '../../lib/core/types';

export const WIDTH = 100;

/**
 * Folds `text` to `width` columns: the first line starts with `first`, the others with `rest`.
 * Words longer than a line (ARNs, user agents) are cut where the line ends.
 */
export function fold(text: string, first: string, rest: string = ' '.repeat(first.length), width = WIDTH): string {
  const out: string[] = [];
  let line = first;
  let empty = true;
  const room = () => width - line.length;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const sep = empty ? '' : ' ';
    if (sep.length + word.length <= room()) {
      line += sep + word;
      empty = false;
      continue;
    }
    if (!empty) {
      out.push(line);
      line = rest;
    }
    let w = word;
    while (w.length > room()) {
      out.push(line + w.slice(0, room()));
      w = w.slice(room());
      line = rest;
    }
    line += w;
    empty = w.length === 0;
  }
  out.push(line);
  return out.map((l) => l.trimEnd()).join('\n');
}

/** Folds each line of a block (an alert body), keeping a `Label:   value` line's value aligned. */
export function foldBlock(text: string, prefix: string, width = WIDTH): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => {
      if (l.trim() === '') return prefix.trimEnd();
      const label = /^([A-Za-z][\w -]*:\s+)\S/.exec(l)?.[1] ?? '';
      return fold(l.slice(label.length), prefix + label, prefix + ' '.repeat(label.length), width);
    })
    .join('\n');
}

const STATUS_LABEL: Record<string, string> = { NON_COMPLIANT: 'NON-COMPLIANT', EXEMPT: 'EXEMPT', COMPLIANT: 'COMPLIANT', ERROR: 'ERROR', NOT_APPLICABLE: 'N/A' };

/** Why a finding needs a look, in a few words (the full reasons and messages are in the HTML report). */
export function shortWhy(f: Finding): string {
  const parts: string[] = [];
  if (f.reasons.includes('PITR_DISABLED')) parts.push('PITR off');
  if (f.reasons.includes('RECOVERY_PERIOD_TOO_SHORT')) parts.push(`period ${f.pitr.recoveryPeriodInDays ?? '?'} days`);
  if (f.reasons.includes('EXEMPTION_EXPIRED')) parts.push('exemption expired');
  if (f.reasons.includes('RESTORE_WINDOW_NOT_FULL')) parts.push('restore window still filling');
  if (f.status === 'EXEMPT') parts.push(`exempt: ${f.exemption?.reason ?? ''}`.trim());
  if (parts.length === 0) parts.push(f.reasons.join(', '));
  return parts.join('; ');
}

/** One line per finding: STATUS, Region/table, why; cut with "…" where it would pass `width`. */
export function compactTable(findings: Finding[], indent = '  ', width = WIDTH): string {
  const where = findings.map((f) => `${f.region}/${f.tableName}`);
  const w1 = Math.max(6, ...findings.map((f) => (STATUS_LABEL[f.status] ?? f.status).length));
  const w2 = Math.max(5, ...where.map((s) => s.length));
  const row = (a: string, b: string, c: string) => {
    const line = `${indent}${a.padEnd(w1)}  ${b.padEnd(w2)}  ${c}`;
    return line.length > width ? line.slice(0, width - 1) + '…' : line;
  };
  return [row('STATUS', 'TABLE', 'WHY'), ...findings.map((f, i) => row(STATUS_LABEL[f.status] ?? f.status, where[i] as string, shortWhy(f)))].join('\n');
}

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

/**
 * The last line: every check passed, or which failed and which never ran. `planned` is how many
 * checks a complete run makes; fewer recorded means the demo stopped early.
 */
export function verdict(checks: Check[], planned: number, error?: string): string {
  const failed = checks.filter((c) => !c.ok);
  const notRun = Math.max(0, planned - checks.length);
  if (failed.length === 0 && notRun === 0 && !error) return `All ${planned} checks passed.`;
  const parts = [`FAILED: ${failed.length} of ${planned} checks failed`];
  if (notRun > 0) parts.push(`${notRun} not run`);
  let line = parts.join(', ');
  if (failed.length > 0) line += ` (${failed.map((c) => c.name).join('; ')})`;
  if (error) line += `; stopped by: ${error}`;
  return line + '.';
}
