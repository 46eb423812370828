/**
 * The scheduled scan's digest: every table out of policy, worst first, as one RenderedAlert. Pure.
 * Its input is a report's counts and lists, not necessarily the whole report: the Organization
 * aggregate, which never holds every finding, passes the top of its lists and the full counts
 * (`totals`); the single-account scan passes its report and outcomes as they are.
 */
import type { RemediationOutcome } from '../act/outcome';
import type { ScanReport } from '../aws/scan';
import { days, oneLine } from '../core/text';
import type { Finding, Mode } from '../core/types';
import { sinceText } from '../report/table';
import { md, slackCode, slackEscape, snsSubject, type RenderedAlert, type SlackBlock } from './render-kit';

/** What the digest reads of a report. `findings`: those it may list (it lists the ERROR ones); a caller may pass only some. */
export type DigestReport = Pick<ScanReport, 'accountId' | 'regions' | 'generatedAt' | 'summary' | 'regionErrors'> & {
  findings: readonly Finding[];
  accountErrors?: ScanReport['accountErrors'];
  shardErrors?: ScanReport['shardErrors'];
};

/** Full counts, for a caller whose `outcomes` and `report.findings` are only the top of longer lists. */
export interface DigestTotals {
  /** Tables listed as out of policy (all of them, not only the outcomes passed). */
  outOfPolicy: number;
  enabled: number;
  /** FAILED or DEFERRED. */
  failed: number;
  /** SKIPPED_MODE or SKIPPED_DRY_RUN. */
  notChanged: number;
  /** Lines the caller left out of `outcomes` and `report.findings`: counted in "…and N more". */
  unlisted: number;
}

export interface DigestInput {
  report: DigestReport;
  /** Remediation outcomes of the non-compliant tables to list (the caller leaves out report-mode ones). */
  outcomes: RemediationOutcome[];
  mode: Mode;
  dryRun: boolean;
  /** List ERROR findings and Region errors too. */
  includeErrors: boolean;
  /** Lines listed in the email (default 50) and in Slack (default 20); the rest are counted. */
  maxListed?: number;
  maxListedSlack?: number;
  /** Absent: counted from `outcomes` (which then must be all of them). */
  totals?: DigestTotals;
}

interface DigestItem {
  rank: number;
  region: string;
  name: string;
  /** plain text, untrusted parts included */
  plain: string;
  slack: string;
}

function problem(f: Finding): string {
  if (f.reasons[0] === 'RECOVERY_PERIOD_TOO_SHORT') return `recovery period ${days(f.pitr.recoveryPeriodInDays ?? 0)}`;
  if (f.status === 'ERROR') return 'could not be read';
  return 'PITR not enabled';
}

/** How the digest ranks an outcome (0 = worst): a caller keeping only the top of its outcomes keeps the lowest. */
export function outcomeRank(o: Pick<RemediationOutcome, 'result'>): number {
  return o.result === 'FAILED' || o.result === 'DEFERRED' || o.result === 'UNVERIFIED' ? 0 : o.result === 'ENABLED' || o.result === 'ALREADY_COMPLIANT' ? 3 : 1;
}

export function digestItems(input: DigestInput): DigestItem[] {
  const items: DigestItem[] = [];
  for (const o of input.outcomes) {
    const since = sinceText(o.before);
    const what = problem(o.before) + (since ? ` (${since})` : '');
    const result =
      o.result === 'ENABLED'
        ? `re-enabled (${days(o.recoveryPeriodInDays ?? 0)}) and verified`
        : o.result === 'FAILED'
          ? `remediation FAILED: ${o.errorName ?? 'error'}`
          : o.result === 'DEFERRED'
            ? `remediation deferred${o.errorName ? `: ${o.errorName}` : ''}`
            : o.result === 'UNVERIFIED'
            ? `enabled, NOT VERIFIED: ${o.errorName ?? 'read failed'}`
            : o.result === 'SKIPPED_DRY_RUN'
              ? 'dry run, not changed'
              : o.result === 'SKIPPED_MODE'
                ? 'alert only, not changed'
                : 'fixed meanwhile';
    const rank = outcomeRank(o);
    items.push({
      rank,
      region: o.region,
      name: o.tableName,
      plain: `${o.tableName} (${o.region}): ${what}; ${oneLine(result)}`,
      slack: `${slackCode(o.tableName)} (${o.region}): ${slackEscape(what)}; ${rank === 0 ? `*${slackEscape(result)}*` : slackEscape(result)}`,
    });
  }
  if (input.includeErrors) {
    for (const f of input.report.findings) {
      if (f.status !== 'ERROR') continue;
      const why = f.error ? `${f.error.operation} failed with ${f.error.errorName}` : f.message;
      items.push({
        rank: 2,
        region: f.region,
        name: f.tableName,
        plain: `${f.tableName} (${f.region}): could not be read: ${oneLine(why)}`,
        slack: `${slackCode(f.tableName)} (${f.region}): could not be read: ${slackEscape(why)}`,
      });
    }
    for (const a of input.report.accountErrors ?? []) {
      const who = `${a.accountId}${a.name ? ` (${oneLine(a.name)})` : ''}`;
      items.push({
        rank: 2,
        region: '',
        name: a.accountId,
        plain: `Account ${who} could not be scanned: ${a.operation} failed with ${oneLine(a.errorName)}; fix: ${a.fix}`,
        slack: `Account ${slackCode(a.accountId)}${a.name ? ` (${slackEscape(a.name)})` : ''} could not be scanned: ${slackEscape(a.operation)} failed with ${slackCode(a.errorName)}; fix: ${slackEscape(a.fix)}`,
      });
    }
    for (const r of input.report.regionErrors) {
      items.push({
        rank: 2,
        region: r.region,
        name: '',
        plain: `Region ${r.region}${r.accountId ? ` of account ${r.accountId}` : ''} could not be scanned: ${r.operation} failed with ${oneLine(r.errorName)}`,
        slack: `Region ${slackCode(r.region)}${r.accountId ? ` of account ${slackCode(r.accountId)}` : ''} could not be scanned: ${slackEscape(r.operation)} failed with ${slackCode(r.errorName)}`,
      });
    }
    for (const e of input.report.shardErrors ?? []) {
      items.push({
        rank: 2,
        region: e.region,
        name: e.accountId,
        plain: `Region ${e.region} of account ${e.accountId} could not be scanned: its shard failed with ${oneLine(e.errorName)}`,
        slack: `Region ${slackCode(e.region)} of account ${slackCode(e.accountId)} could not be scanned: its shard failed with ${slackCode(e.errorName)}`,
      });
    }
  }
  return items.sort((x, y) => x.rank - y.rank || x.region.localeCompare(y.region) || x.name.localeCompare(y.name));
}

export function renderDigest(input: DigestInput): RenderedAlert {
  const { report } = input;
  const items = digestItems(input);
  const count = (pred: (o: RemediationOutcome) => boolean) => input.outcomes.filter(pred).length;
  const enabled = input.totals?.enabled ?? count((o) => o.result === 'ENABLED');
  const failed = input.totals?.failed ?? count((o) => o.result === 'FAILED' || o.result === 'DEFERRED');
  const left = input.totals?.notChanged ?? count((o) => o.result === 'SKIPPED_MODE' || o.result === 'SKIPPED_DRY_RUN');
  const unreadable = input.includeErrors ? report.summary.error + report.regionErrors.length + (report.shardErrors?.length ?? 0) : 0;
  const unreached = input.includeErrors ? (report.accountErrors?.length ?? 0) : 0;
  const outOfPolicy = input.totals?.outOfPolicy ?? input.outcomes.length;
  const all = items.length + (input.totals?.unlisted ?? 0);

  const parts = [enabled ? `${enabled} re-enabled` : '', failed ? `${failed} failed` : '', left ? `${left} not changed` : '', unreadable ? `${unreadable} unreadable` : '', unreached ? `${unreached} account${unreached === 1 ? '' : 's'} not scanned` : ''].filter(Boolean);
  const subject = snsSubject(
    `[pitr-guard] Scan ${report.accountId}: ${outOfPolicy} table${outOfPolicy === 1 ? '' : 's'} out of policy${parts.length ? ` (${parts.join(', ')})` : ''}`,
  );
  const mode = `${input.mode}${input.dryRun ? ' (dry run)' : ''}`;
  const counts = `Re-enabled: ${enabled} · Failed or deferred: ${failed} · Not changed: ${left} · Unreadable: ${unreadable}${unreached ? ` · Accounts not scanned: ${unreached}` : ''}`;
  const header = `pitr-guard scan of account ${report.accountId} (${report.regions.join(', ')}) at ${report.generatedAt}`;
  const scanned = `Mode ${mode}. ${report.summary.total} tables scanned, ${outOfPolicy} without the required PITR.`;

  const maxPlain = input.maxListed ?? 50;
  const maxSlack = input.maxListedSlack ?? 20;
  const more = (n: number) => (all > Math.min(n, items.length) ? [`…and ${all - Math.min(n, items.length)} more.`] : []);
  const lines = [header, scanned, counts, '', 'Worst first:', ...items.slice(0, maxPlain).map((i) => `- ${i.plain}`), ...more(maxPlain)];
  if (items.length === 0) lines.push('- nothing to list');

  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `PITR scan: ${outOfPolicy} table${outOfPolicy === 1 ? '' : 's'} out of policy`, emoji: false } },
    { type: 'section', text: md(`Account ${slackCode(report.accountId)} · ${report.regions.map((r) => slackCode(r)).join(' ')}\n${slackEscape(scanned)}\n${slackEscape(counts)}`) },
  ];
  // Section text is limited to 3,000 characters: split the list into several sections.
  let chunk = '';
  for (const i of items.slice(0, maxSlack)) {
    const line = `• ${i.slack}`;
    if (chunk && chunk.length + line.length + 1 > 2900) {
      blocks.push({ type: 'section', text: md(chunk) });
      chunk = '';
    }
    chunk += (chunk ? '\n' : '') + line;
  }
  if (chunk) blocks.push({ type: 'section', text: md(chunk) });
  const tail = all > Math.min(maxSlack, items.length) ? `…and ${all - Math.min(maxSlack, items.length)} more (the email alert lists up to ${maxPlain}; \`pitr-guard scan\` lists all). ` : '';
  blocks.push({ type: 'context', elements: [md(`${tail}Scan at ${slackEscape(report.generatedAt)}`)] });

  return {
    kind: 'digest',
    subject,
    text: lines.join('\n') + '\n',
    slack: { text: `${slackEscape(subject)}`, blocks },
    attributes: { kind: 'digest', accountId: report.accountId, outOfPolicy: String(outOfPolicy), failed: String(failed) },
  };
}


// ---------------------------------------------------------------- the change digest (alert lifecycle)

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
