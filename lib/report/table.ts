/**
 * Aligned terminal table of a ScanReport: worst first (the report's order), one row per table, then
 * a summary line and anything that was not evaluated (Regions that could not be listed, tables
 * deleted during the scan). Colour is optional and never changes the alignment.
 */
import { sanitise } from '../core/text';
import { plain, statusColour, visibleLength, type Palette } from './colour';
import type { RegionError, ScanReport } from '../aws/scan';
import type { Finding } from '../core/types';
import { costLine, usd } from '../core/cost';
import { replicaSetLines, reportCost, restoreText } from './links-view';

export interface TableOptions {
  /** Colours for a terminal; default plain text. */
  palette?: Palette;
}

const BASE_COLUMNS: { title: string; value: (f: Finding) => string }[] = [
  { title: 'STATUS', value: (f) => f.status },
  { title: 'REGION', value: (f) => f.region },
  { title: 'TABLE', value: (f) => f.tableName },
  { title: 'PITR', value: (f) => f.pitr.status ?? '-' },
  { title: 'PERIOD', value: (f) => (f.pitr.recoveryPeriodInDays === null ? '-' : `${f.pitr.recoveryPeriodInDays}d`) },
  { title: 'RESTORABLE', value: (f) => (f.pitr.restorableDays === null ? '-' : `${f.pitr.restorableDays}d`) },
  // The table's estimated monthly PITR cost; '-' when the size or the Region's price is unknown (the cost line says which).
  { title: 'PITR/MONTH', value: (f) => usd(f.cost?.pitrMonthlyUsd) },
  { title: 'REASONS', value: (f) => f.reasons.join(',') + exemptionNote(f) + (sinceText(f) ? ` (${sinceText(f)})` : '') },
];

/**
 * "non-compliant since 2026-11-01 09:00 UTC" for a NON_COMPLIANT finding the findings ledger
 * dated (Finding.since); undefined otherwise. Every report format prints it the same way.
 */
export function sinceText(f: Pick<Finding, 'status' | 'since'>): string | undefined {
  if (f.status !== 'NON_COMPLIANT' || !f.since) return undefined;
  const at = new Date(f.since);
  if (Number.isNaN(at.getTime())) return undefined;
  const iso = at.toISOString();
  return `non-compliant since ${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/**
 * "2026-12-01 06:04 UTC, restored in 236 s" for a finding whose last successful restore drill the
 * findings ledger knows (Finding.lastDrill); undefined otherwise. Table, CSV (last_drill) and HTML.
 */
export function drillText(f: Pick<Finding, 'lastDrill'>): string | undefined {
  const d = f.lastDrill;
  if (!d) return undefined;
  const at = new Date(d.at);
  if (Number.isNaN(at.getTime())) return undefined;
  const iso = at.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC, restored in ${d.restoreSeconds} s`;
}

const DRILL_COLUMN = { title: 'LAST DRILL', value: (f: Finding) => drillText(f) ?? '-' };

function exemptionNote(f: Finding): string {
  if (!f.exemption) return '';
  const until = f.exemption.until ? ` until ${f.exemption.until}` : '';
  return f.exemption.active ? ` (${oneLine(f.exemption.reason)}${until})` : '';
}

/** Control and format characters (from tag values, error messages) must not reach the terminal. */
const oneLine = sanitise;

/** More than the one account pitr-guard runs in (or one that could not be reached): accounts get their own column and lines. */
export function isMultiAccountReport(report: Pick<ScanReport, 'accounts' | 'accountErrors'>): boolean {
  return report.accounts.length > 1 || report.accountErrors.length > 0;
}

/** One line per account in scope: its counts, or why it was not scanned and the fix. */
export function accountLines(report: Pick<ScanReport, 'accounts' | 'accountErrors'>): string[] {
  return report.accounts.map((a) => {
    const who = `Account ${a.accountId}${a.name ? ` (${a.name})` : ''}`;
    if (a.status === 'SCANNED' && a.summary) {
      const s = a.summary;
      return oneLine(`${who}: ${plural(s.total, 'table')} in ${plural(a.regions?.length ?? 0, 'Region')}: ${s.nonCompliant} non-compliant, ${s.error} error, ${s.exempt} exempt, ${s.compliant} compliant, ${s.notApplicable} not applicable`);
    }
    const e = report.accountErrors.find((x) => x.accountId === a.accountId);
    return oneLine(`${who} NOT SCANNED: ${e ? `${e.operation} failed with ${e.errorName}: ${regionErrorMessage(e)}. Fix: ${e.fix}` : (a.error ?? 'not scanned')}`);
  });
}

export function renderTable(report: ScanReport, options: TableOptions = {}): string {
  const p = options.palette ?? plain;
  const multi = isMultiAccountReport(report);
  const base = multi ? [BASE_COLUMNS[0] as (typeof BASE_COLUMNS)[number], { title: 'ACCOUNT', value: (f: Finding) => f.accountId }, ...BASE_COLUMNS.slice(1)] : BASE_COLUMNS;
  // LAST DRILL only when the ledger knows a drill of some table (before REASONS, the free-text column).
  const COLUMNS = report.findings.some((f) => f.lastDrill) ? [...base.slice(0, -1), DRILL_COLUMN, ...base.slice(-1)] : base;
  const rows = report.findings.map((f) => COLUMNS.map((c) => oneLine(c.value(f))));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[], paint: (cell: string, i: number) => string = (c) => c) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell)));
        return paint(padded, i);
      })
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  if (rows.length === 0) {
    // Only the Regions that were listed: an unscanned Region is not known to be empty.
    const listed = report.regions.filter((r) => !report.regionErrors.some((e) => e.region === r));
    out.push(listed.length ? `No tables found in ${listed.join(', ')}.` : report.regions.length ? 'No Region could be listed: nothing was evaluated.' : 'No tables found in any Region.');
  } else {
    out.push(p.bold(line(COLUMNS.map((c) => c.title))));
    report.findings.forEach((f, r) => {
      const paint = statusColour(p, f.status);
      out.push(line(rows[r] as string[], (cell, i) => (i === 0 ? paint(cell) : cell)));
    });
  }
  out.push('');
  const problems = report.summary.nonCompliant + report.summary.error + report.regionErrors.length + report.accountErrors.length + report.shardErrors.length;
  out.push(problems > 0 ? p.bold(summaryLine(report)) : p.green(summaryLine(report)));
  const notFull = report.findings.filter((f) => f.reasons.includes('RESTORE_WINDOW_NOT_FULL')).length;
  if (notFull > 0) {
    out.push(
      p.yellow(
        `${notFull} compliant table(s) cannot yet restore the full ${report.policy.minRecoveryDays} days: PITR was enabled or re-enabled recently (RESTORE_WINDOW_NOT_FULL).`,
      ),
    );
  }
  out.push(costLine(reportCost(report)));
  for (const l of replicaSetLines(report.findings)) out.push(oneLine(l));
  for (const f of report.findings) {
    const restored = restoreText(f);
    if (restored) out.push(oneLine(`Restored table ${f.region}/${f.tableName}: ${restored}`));
  }
  if (multi) {
    report.accounts.forEach((a, i) => {
      const text = accountLines(report)[i] as string;
      out.push(a.status === 'SCANNED' ? text : p.red(text));
    });
  }
  if (multi) for (const line of regionSummaryLines(report)) out.push(line);
  for (const e of report.shardErrors) out.push(p.red(oneLine(`Region ${e.region} of account ${e.accountId} NOT SCANNED: its shard failed with ${e.errorName}: ${e.message}`)));
  for (const r of report.regionErrors) out.push(p.red(oneLine(`Region ${r.region}${r.accountId ? ` of account ${r.accountId}` : ''} NOT SCANNED: ${regionErrorLine(r)}`)));
  if (report.vanished.length) out.push(oneLine(`Deleted while scanning (not evaluated): ${report.vanished.map((v) => `${v.region}/${v.tableName}`).join(', ')}`));
  return out.join('\n') + '\n';
}

/** Multi-account reports: one line per (account, Region) read, with its counts. */
export function regionSummaryLines(report: Pick<ScanReport, 'regionSummaries'>): string[] {
  return report.regionSummaries.flatMap((r) => {
    if (r.accountId === undefined) return [];
    const s = r.summary;
    return [oneLine(`  ${r.accountId} ${r.region}: ${plural(s.total, 'table')}: ${s.nonCompliant} non-compliant, ${s.error} error, ${s.exempt} exempt, ${s.compliant} compliant, ${s.notApplicable} not applicable`)];
  });
}

/**
 * The AWS message of a Region error, without the "ListTables failed: AccessDeniedException: " that
 * an AwsCallError's message starts with (every report prints the operation and error name itself).
 */
export function regionErrorMessage(e: Pick<RegionError, 'operation' | 'errorName' | 'message'> & Partial<RegionError>): string {
  const escape = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return e.message.replace(new RegExp(`^${escape(e.operation)}(?: on \\S+)? failed: ${escape(e.errorName)}: `), '');
}

/** One line about a Region that could not be listed. */
export function regionErrorLine(e: RegionError): string {
  return oneLine(`${e.operation} failed with ${e.errorName}: ${regionErrorMessage(e)}`);
}

/** "1 table", "2 tables": a count and its noun, singular for one. */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

export function summaryLine(report: Omit<ScanReport, 'findings'>): string {
  const s = report.summary;
  const unscanned = report.regionErrors.length;
  const vanished = report.vanished.length;
  const multi = isMultiAccountReport(report);
  const scanned = report.accounts.filter((a) => a.status === 'SCANNED').length;
  const where = multi ? `${plural(scanned, 'account')} (of ${report.accounts.length} in scope)` : `account ${report.accountId}`;
  return (
    `${plural(s.total, 'table')} in ${plural(report.regions.length, 'Region')} of ${where}: ` +
    `${s.nonCompliant} non-compliant, ${s.error} error, ${s.exempt} exempt, ${s.compliant} compliant, ${s.notApplicable} not applicable` +
    (report.accountErrors.length ? `; ${plural(report.accountErrors.length, 'account')} could not be scanned` : '') +
    (unscanned ? `; ${plural(unscanned, 'Region')} could not be scanned` : '') +
    (report.shardErrors.length ? `; ${plural(report.shardErrors.length, 'shard')} (account and Region) could not be scanned` : '') +
    (vanished ? `; ${plural(vanished, 'table')} deleted during the scan` : '')
  );
}
