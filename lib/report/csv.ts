/**
 * CSV report: a header row, then one row per finding (the report's order, worst first). Nothing the
 * scan could not evaluate is left out: each Region whose tables could not be listed gets a row with
 * status REGION_NOT_SCANNED first (Region and error columns filled, table columns empty), and each
 * table deleted while the scan ran gets a row with status DELETED_DURING_SCAN at the end. Right after
 * the findings, one COST_TOTALS row carries the report's cost totals (lib/core/cost.ts costLine).
 * Multi-account reports start with one ACCOUNT_SCANNED / ACCOUNT_NOT_SCANNED row per account and
 * one REGION_SCANNED row per (account, Region) read; each shard error of an Organization run on
 * Step Functions gets a SHARD_NOT_SCANNED row before the findings.
 * Text cells go through lib/core/text.ts `sanitise` (control characters other than tab and line
 * breaks, and Unicode format characters such as U+202E, made harmless).
 * RFC 4180: fields quoted by csv-stringify when they hold a comma, quote or line break, quotes
 * doubled, CRLF line ends. Free-text fields that come from tags or AWS error messages (message,
 * exemption reason and expiry, error message) and start with = + - @ or a tab are prefixed with a
 * single quote, so a spreadsheet shows them as text instead of running them as a formula.
 */
import { stringify } from 'csv-stringify/sync';
import { sanitise } from '../core/text';
import type { RegionError, ScanReport, ShardError } from '../aws/scan';
import type { Finding } from '../core/types';
import { plural, regionErrorMessage } from './table';
import { costLine } from '../core/cost';
import { replicasCell, reportCost } from './links-view';

type Cell = string | number | boolean | null;

export const CSV_COLUMNS: { header: string; value: (f: Finding) => Cell }[] = [
  { header: 'account_id', value: (f) => f.accountId },
  { header: 'region', value: (f) => f.region },
  { header: 'table_name', value: (f) => f.tableName },
  { header: 'table_arn', value: (f) => f.tableArn },
  { header: 'table_status', value: (f) => f.tableStatus },
  { header: 'status', value: (f) => f.status },
  { header: 'reasons', value: (f) => f.reasons.join(';') },
  { header: 'message', value: (f) => text(f.message) },
  { header: 'pitr_status', value: (f) => f.pitr.status },
  { header: 'recovery_period_days', value: (f) => f.pitr.recoveryPeriodInDays },
  { header: 'earliest_restorable', value: (f) => f.pitr.earliestRestorableDateTime },
  { header: 'latest_restorable', value: (f) => f.pitr.latestRestorableDateTime },
  { header: 'restorable_days', value: (f) => f.pitr.restorableDays },
  { header: 'exemption_reason', value: (f) => (f.exemption ? text(f.exemption.reason) : null) },
  { header: 'exemption_until', value: (f) => (f.exemption?.until !== undefined ? text(f.exemption.until) : null) },
  { header: 'exemption_active', value: (f) => (f.exemption ? f.exemption.active : null) },
  { header: 'error_operation', value: (f) => f.error?.operation ?? null },
  { header: 'error_name', value: (f) => f.error?.errorName ?? null },
  { header: 'error_message', value: (f) => (f.error ? text(f.error.message) : null) },
  // When the table entered its status, from the findings ledger; empty without one.
  { header: 'status_since', value: (f) => f.since ?? null },
  // Cost (lib/core/cost.ts): sizes in bytes, the estimate in USD per month; empty when unknown.
  { header: 'table_size_bytes', value: (f) => f.cost?.tableSizeBytes ?? null },
  { header: 'lsi_size_bytes', value: (f) => f.cost?.lsiSizeBytes ?? null },
  { header: 'pitr_monthly_usd', value: (f) => f.cost?.pitrMonthlyUsd ?? null },
  // Restored tables: the source and its status in this report (NOT_SCANNED; empty for a backup source).
  { header: 'restore_source_table_arn', value: (f) => f.restore?.sourceTableArn ?? null },
  { header: 'restore_source_backup_arn', value: (f) => f.restore?.sourceBackupArn ?? null },
  { header: 'restore_date_time', value: (f) => f.restore?.restoreDateTime ?? null },
  { header: 'restore_source_status', value: (f) => f.restore?.sourceStatus ?? null },
  // Global tables: the replica set, whether it is compliant, and each replica's status (region=STATUS;…).
  { header: 'replica_set_id', value: (f) => f.replicaSet?.setId ?? null },
  { header: 'replica_set_compliant', value: (f) => (f.replicaSet ? f.replicaSet.compliant : null) },
  { header: 'replica_set_replicas', value: (f) => (f.replicaSet ? replicasCell(f.replicaSet, f.accountId) : null) },
  // The last successful restore drill (pitr-guard drill), from the findings ledger; empty when none is known.
  { header: 'last_drill', value: (f) => f.lastDrill?.at ?? null },
];

/** The row right after the findings (before deleted tables) with the report's cost totals (pitr_monthly_usd: what PITR costs now). */
export const COST_TOTALS = 'COST_TOTALS';

/** Statuses of the rows for what the scan could not evaluate (not finding statuses). */
export const REGION_NOT_SCANNED = 'REGION_NOT_SCANNED';
export const DELETED_DURING_SCAN = 'DELETED_DURING_SCAN';
/** Multi-account reports: one row per account in scope (table columns empty). */
export const ACCOUNT_NOT_SCANNED = 'ACCOUNT_NOT_SCANNED';
export const ACCOUNT_SCANNED = 'ACCOUNT_SCANNED';
/** Multi-account reports: one row per (account, Region) read, with its counts. */
export const REGION_SCANNED = 'REGION_SCANNED';
/** Step Functions runs: one row per shard (account, Region) that produced no findings. */
export const SHARD_NOT_SCANNED = 'SHARD_NOT_SCANNED';

/** Everything of a ScanReport but its findings: what the rows before and after the findings need. */
export type ReportHead = Omit<ScanReport, 'findings'>;

function accountRows(report: ReportHead): Cell[][] {
  if (report.accounts.length <= 1 && report.accountErrors.length === 0) return [];
  return report.accounts.map((a) => {
    const e = report.accountErrors.find((x) => x.accountId === a.accountId);
    const name = a.name ? ` (${a.name})` : '';
    if (a.status === 'SCANNED' || !e) {
      const s = a.summary;
      return partialRow({
        account_id: a.accountId,
        status: a.status === 'SCANNED' ? ACCOUNT_SCANNED : ACCOUNT_NOT_SCANNED,
        message: text(s ? `account${name} scanned: ${plural(s.total, 'table')} in ${(a.regions ?? []).join(' ')}; ${s.nonCompliant} non-compliant, ${s.error} error` : `account${name}: ${a.error ?? 'not scanned'}`),
      });
    }
    return partialRow({
      account_id: a.accountId,
      status: ACCOUNT_NOT_SCANNED,
      message: text(`account${name} was not scanned: none of its tables was evaluated; fix: ${e.fix}`),
      error_operation: e.operation,
      error_name: e.errorName,
      error_message: text(regionErrorMessage(e)),
    });
  });
}

/** A row with only the named columns filled. */
function partialRow(values: Readonly<Record<string, Cell>>): Cell[] {
  return CSV_COLUMNS.map((c) => values[c.header] ?? null);
}

function regionSummaryRows(report: ReportHead): Cell[][] {
  if (report.accounts.length <= 1 && report.accountErrors.length === 0) return [];
  return report.regionSummaries.flatMap((r) => {
    if (r.accountId === undefined) return [];
    const s = r.summary;
    return [partialRow({ account_id: r.accountId, region: r.region, status: REGION_SCANNED, message: `Region ${r.region} scanned: ${plural(s.total, 'table')}; ${s.nonCompliant} non-compliant, ${s.error} error, ${s.exempt} exempt, ${s.compliant} compliant, ${s.notApplicable} not applicable` })];
  });
}

function shardRow(e: ShardError): Cell[] {
  return partialRow({
    account_id: e.accountId,
    region: e.region,
    status: SHARD_NOT_SCANNED,
    message: text(`Region ${e.region} of account ${e.accountId} was not scanned: its shard produced no result, so none of its tables was evaluated`),
    error_name: e.errorName,
    error_message: text(e.message),
  });
}

function regionRow(report: ReportHead, e: RegionError): Cell[] {
  return partialRow({
    account_id: e.accountId ?? report.accountId,
    region: e.region,
    status: REGION_NOT_SCANNED,
    message: text(`Region ${e.region} was not scanned: its tables could not be listed, so none of them was evaluated`),
    error_operation: e.operation,
    error_name: e.errorName,
    error_message: text(regionErrorMessage(e)),
  });
}

function vanishedRow(report: ReportHead, v: ScanReport['vanished'][number]): Cell[] {
  return partialRow({
    account_id: v.accountId ?? report.accountId,
    region: v.region,
    table_name: v.tableName,
    status: DELETED_DURING_SCAN,
    message: 'the table was listed, then deleted before it could be read: not evaluated',
  });
}

/**
 * Free text made safe for a spreadsheet: control and format characters handled as everywhere
 * (lib/core/text.ts), then formulas neutralised (CSV injection).
 */
export function text(value: string): string {
  const clean = sanitise(value, { multiline: true });
  return /^[=+\-@\t\r]/.test(clean) ? `'${clean}` : clean;
}

const OPTIONS = {
  columns: CSV_COLUMNS.map((c) => c.header),
  record_delimiter: 'windows',
  // Every text cell (table names and ARNs too) goes through the one sanitiser; quoted line breaks stay data.
  cast: { boolean: (v: boolean) => (v ? 'true' : 'false'), string: (v: string) => sanitise(v, { multiline: true }) },
} as const;

function lines(rows: Cell[][], header = false): string {
  return stringify(rows, { ...OPTIONS, header });
}

/**
 * The CSV in three pieces, so a report too big to hold (the Organization aggregate) is streamed
 * with the same rows: head (header, account, Region summary, Region error and shard error rows),
 * one piece per finding, tail (deleted tables). renderCsv = head + every finding row + tail.
 */
export function csvHead(report: ReportHead): string {
  return lines(
    [
      ...accountRows(report),
      ...regionSummaryRows(report),
      ...report.regionErrors.map((e) => regionRow(report, e)),
      ...report.shardErrors.map(shardRow),
    ],
    true,
  );
}

/** Several findings' rows (CRLF after each). */
export function csvFindingRows(findings: readonly Finding[]): string {
  return lines(findings.map((f) => CSV_COLUMNS.map((c) => c.value(f))));
}

export function csvTail(report: ReportHead & { findings?: readonly Finding[] }): string {
  const cost = reportCost(report);
  const costRow = partialRow({ account_id: report.accountId, status: COST_TOTALS, message: costLine(cost), pitr_monthly_usd: cost.currentMonthlyUsd });
  return lines([costRow, ...report.vanished.map((v) => vanishedRow(report, v))]);
}

export function renderCsv(report: ScanReport): string {
  return csvHead(report) + csvFindingRows(report.findings) + csvTail(report);
}
