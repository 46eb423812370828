/**
 * The change digest of the alert lifecycle (docs/alerts.md): what changed since the last run — new
 * incidents, resolved ones, reminders due, loop protection — plus the count still open, as one
 * RenderedAlert; no digest when nothing changed (changeDigestHasNews). Pure. Used by the scheduled
 * scan and the Organization aggregate (which passes the top lines and full `totals`).
 */
import type { Mode } from '../core/types';
import { md, slackCode, slackEscape, snsSubject, type RenderedAlert, type SlackBlock } from './render-kit';

/** One table in a section of the change digest: plain text and its Slack form (untrusted parts escaped). */
export interface ChangeDigestLine {
  region: string;
  tableName: string;
  plain: string;
  slack: string;
}

/**
 * The change digest's content: what changed since the last scan, by section. Built from the
 * lifecycle's transitions by lib/notify/lifecycle-digest.ts (the mapping lives there, the wording here).
 */
export interface ChangeDigestInput {
  accountId: string;
  regions: string[];
  generatedAt: string;
  mode: Mode;
  dryRun: boolean;
  newIncidents: ChangeDigestLine[];
  resolved: ChangeDigestLine[];
  reminders: ChangeDigestLine[];
  /** Tables loop protection kept quiet since the last digest. */
  loops: ChangeDigestLine[];
  /** Region and account errors of this scan (not per table, so listed in every digest sent). */
  problems: ChangeDigestLine[];
  /** Incidents open after this scan (the new and reminded ones included). */
  stillOpen: number;
  maxListed?: number;
  maxListedSlack?: number;
  /**
   * Full counts per section, for a caller whose sections hold only the top of longer lists (the
   * Organization aggregate); the rest are counted in "…and N more". Absent: the sections are complete.
   */
  totals?: ChangeDigestTotals;
  /** Accounts the run covered (the Organization aggregate): the header names them instead of one account. */
  accounts?: number;
}

export type ChangeDigestTotals = Record<'newIncidents' | 'resolved' | 'reminders' | 'loops' | 'problems', number>;

type Section = keyof ChangeDigestTotals;
const total = (input: Pick<ChangeDigestInput, Section | 'totals'>, section: Section): number => Math.max(input.totals?.[section] ?? 0, input[section].length);

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Whether the change digest has anything to say (no digest at all otherwise). */
export function changeDigestHasNews(input: Pick<ChangeDigestInput, Section | 'totals'>): boolean {
  return (['newIncidents', 'resolved', 'reminders', 'loops', 'problems'] as const).some((section) => total(input, section) > 0);
}

export function renderChangeDigest(input: ChangeDigestInput): RenderedAlert {
  const sections: [string, ChangeDigestLine[], number][] = [
    ['New', input.newIncidents, total(input, 'newIncidents')],
    ['Resolved', input.resolved, total(input, 'resolved')],
    ['Reminders', input.reminders, total(input, 'reminders')],
    ['Loop protection', input.loops, total(input, 'loops')],
    ['Not scanned', input.problems, total(input, 'problems')],
  ];
  const [nNew, nResolved, nReminders, nLoops, nProblems] = sections.map(([, , n]) => n) as [number, number, number, number, number];
  const counts = [
    nNew ? `${nNew} new` : '',
    nResolved ? `${nResolved} resolved` : '',
    nReminders ? plural(nReminders, 'reminder') : '',
    nLoops ? `${nLoops} looping` : '',
    nProblems ? `${nProblems} not scanned` : '',
  ].filter(Boolean);
  const summary = `${counts.join(', ')}; ${input.stillOpen} still open`;
  const subject = snsSubject(`[pitr-guard] ${input.accountId}: ${summary}`);
  const mode = `${input.mode}${input.dryRun ? ' (dry run)' : ''}`;
  const where = input.accounts === undefined ? `account ${input.accountId}` : `${plural(input.accounts, 'account')} of the Organization scan run from ${input.accountId}`;
  const header = `pitr-guard: what changed in ${where} (${input.regions.join(', ')}) since the last scan, at ${input.generatedAt}`;
  const stillOpen = `Still open: ${plural(input.stillOpen, 'incident')} (each is alerted once, then reminded when due).`;

  const maxPlain = input.maxListed ?? 50;
  const maxSlack = input.maxListedSlack ?? 20;
  const lines = [header, `Mode ${mode}. ${summary}.`];
  let budget = maxPlain;
  for (const [title, entries, n] of sections) {
    if (n === 0) continue;
    lines.push('', `${title} (${n}):`);
    const shown = entries.slice(0, Math.max(0, budget));
    budget -= shown.length;
    lines.push(...shown.map((e) => `- ${e.plain}`));
    if (shown.length < n) lines.push(`- …and ${n - shown.length} more.`);
  }
  lines.push('', stillOpen);

  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncateHeader(`PITR changes: ${summary}`), emoji: false } },
    { type: 'section', text: md(`Account ${slackCode(input.accountId)} · ${input.regions.map((r) => slackCode(r)).join(' ')} · mode ${slackEscape(mode)}`) },
  ];
  let slackBudget = maxSlack;
  for (const [title, entries, n] of sections) {
    if (n === 0) continue;
    const shown = entries.slice(0, Math.max(0, slackBudget));
    slackBudget -= shown.length;
    let chunk = `*${title} (${n})*`;
    for (const e of shown) {
      const line = `• ${e.slack}`;
      // Section text is limited to 3,000 characters.
      if (chunk.length + line.length + 1 > 2900) {
        blocks.push({ type: 'section', text: md(chunk) });
        chunk = '';
      }
      chunk += (chunk ? '\n' : '') + line;
    }
    if (shown.length < n) chunk += `\n…and ${n - shown.length} more (the email lists up to ${maxPlain}).`;
    blocks.push({ type: 'section', text: md(chunk) });
  }
  blocks.push({ type: 'context', elements: [md(`${slackEscape(stillOpen)} Scan at ${slackEscape(input.generatedAt)}`)] });

  return {
    kind: 'digest',
    subject,
    text: lines.join('\n') + '\n',
    slack: { text: slackEscape(subject), blocks },
    attributes: {
      kind: 'digest',
      accountId: input.accountId,
      new: String(nNew),
      resolved: String(nResolved),
      reminders: String(nReminders),
      stillOpen: String(input.stillOpen),
    },
  };
}

function truncateHeader(text: string): string {
  return text.length > 150 ? `${text.slice(0, 147)}...` : text;
}
