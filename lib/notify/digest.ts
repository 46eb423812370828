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

export { changeDigestHasNews, renderChangeDigest, type ChangeDigestInput, type ChangeDigestLine, type ChangeDigestTotals } from './change-digest';
