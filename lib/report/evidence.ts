/**
 * The evidence folder of `pitr-guard evidence` (docs/evidence.md), as file names and contents:
 * the reports (the existing renderers), policy.json, history.json / history.csv from the findings
 * ledger, config-rule.json, README.md (each file, the scope and the time range covered) and
 * MANIFEST.sha256 (sha256sum format over every other file). Pure: no AWS, no file system.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'csv-stringify/sync';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ScanReport } from '../aws/scan';
import type { ConfigRuleRead, LedgerRead } from '../aws/evidence-sources';
import type { Scope } from '../core/config';
import { parseHistory } from '../state/history';
import { incidentFacts } from '../state/ledger-item';
import type { HistoryEntry } from '../core/types';
import { renderCsv, text } from './csv';
import { renderHtml } from './html';
import { renderJson } from './json';

export interface EvidencePolicy {
  mode: string;
  /** Where the mode came from: PITR_GUARD_MODE, or the default (the CLI itself only reports). */
  modeSource: string;
  minRecoveryDays: number;
  exemptTag: string;
  regions: string[] | 'all';
  scope: Scope;
  pitrGuardVersion: string;
}

export interface EvidenceInput {
  report: ScanReport;
  policy: EvidencePolicy;
  /** The ledger table and what reading it gave; undefined when no ledger was named. */
  ledger?: { tableName: string; region: string; read: LedgerRead };
  /** One entry per Region asked; empty when --config-rule none. */
  configRule: ConfigRuleRead[];
  /** The command line that produced the folder (no secrets: flags only). */
  command: string;
  /** Data not from AWS (the HTML banner), e.g. a local emulator. */
  source?: string;
}

export interface TableHistory {
  tableArn: string;
  accountId: string | null;
  region: string | null;
  tableName: string | null;
  status: string | null;
  since: string | null;
  firstSeen: string | null;
  lastSeen: string | null;
  /** Whether the table is in this folder's report (false: deleted, or outside the scope asked). */
  inReport: boolean;
  incident: { incidentId: string; state: string | null; openedAt: string | null; closedAt: string | null; fixedBy: string | null; fixedAt: string | null } | null;
  disables: { at: string; principal: string; userAgent?: string }[];
  history: HistoryEntry[];
  /** The drill attributes (JSON strings in the ledger), parsed; null when absent. */
  lastDrill: unknown;
  lastSuccessfulDrill: unknown;
}

export interface EvidenceFile {
  name: string;
  content: string;
}

const s = (item: Record<string, AttributeValue>, name: string): string | null => item[name]?.S ?? null;

function json(value: string | null): unknown {
  if (value === null) return null;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** The ledger items of the scanned accounts and Regions (and of every table in the report), oldest history first. */
export function tableHistories(report: ScanReport, items: readonly Record<string, AttributeValue>[]): TableHistory[] {
  const inReport = new Set(report.findings.map((f) => f.tableArn).filter((a): a is string => a !== null));
  const accounts = new Set(report.accounts.filter((a) => a.status === 'SCANNED').map((a) => a.accountId));
  if (accounts.size === 0) accounts.add(report.accountId);
  const regions = new Set(report.regions);
  return items
    .flatMap((item): TableHistory[] => {
      const tableArn = s(item, 'tableArn');
      if (!tableArn) return [];
      const accountId = s(item, 'accountId');
      const region = s(item, 'region');
      const listed = inReport.has(tableArn);
      if (!listed && !(accountId !== null && accounts.has(accountId) && region !== null && regions.has(region))) return [];
      const facts = incidentFacts(item);
      return [
        {
          tableArn,
          accountId,
          region,
          tableName: s(item, 'tableName'),
          status: s(item, 'status'),
          since: s(item, 'since'),
          firstSeen: s(item, 'firstSeen'),
          lastSeen: s(item, 'lastSeen'),
          inReport: listed,
          incident: facts.incidentId
            ? { incidentId: facts.incidentId, state: facts.incidentState ?? null, openedAt: facts.openedAt ?? null, closedAt: facts.closedAt ?? null, fixedBy: facts.fixedBy ?? null, fixedAt: facts.fixedAt ?? null }
            : null,
          disables: (facts.disables ?? []).map((d) => ({ at: d.at, principal: d.principal, ...(d.userAgent ? { userAgent: d.userAgent } : {}) })),
          history: parseHistory(item),
          lastDrill: json(s(item, 'lastDrill')),
          lastSuccessfulDrill: json(s(item, 'lastSuccessfulDrill')),
        },
      ];
    })
    .sort((a, b) => (a.tableArn < b.tableArn ? -1 : a.tableArn > b.tableArn ? 1 : 0));
}

/** history.csv: one row per history entry (and per table without one), free text made spreadsheet-safe. */
export function historyCsv(tables: readonly TableHistory[]): string {
  const rows = tables.flatMap((t) => {
    const base = [t.tableArn, t.accountId ?? '', t.region ?? '', t.tableName ?? '', t.status ?? '', t.since ?? '', t.inReport ? 'true' : 'false'];
    if (t.history.length === 0) return [[...base, '', '', '', '']];
    return t.history.map((h) => [...base, h.at, h.event, text(h.detail), text(h.actor ?? '')]);
  });
  return stringify(rows, { header: true, record_delimiter: 'windows', columns: ['tableArn', 'accountId', 'region', 'tableName', 'status', 'since', 'inReport', 'at', 'event', 'detail', 'actor'] });
}

/** The earliest and latest time the folder's data speaks about (history, ledger, Config results, the scan). */
export function timeRange(input: EvidenceInput, tables: readonly TableHistory[]): { from: string; to: string } {
  const times: string[] = [input.report.generatedAt];
  for (const t of tables) {
    for (const v of [t.firstSeen, t.since, t.lastSeen, t.incident?.openedAt, t.incident?.closedAt]) if (v) times.push(v);
    for (const h of t.history) times.push(h.at);
    for (const d of t.disables) times.push(d.at);
  }
  for (const c of input.configRule) if (c.status === 'OK') for (const r of c.results) if (r.resultRecordedTime) times.push(r.resultRecordedTime);
  const valid = times.filter((t) => Number.isFinite(Date.parse(t))).map((t) => new Date(t).toISOString()).sort();
  return { from: valid[0] ?? input.report.generatedAt, to: valid[valid.length - 1] ?? input.report.generatedAt };
}

function ledgerNote(input: EvidenceInput, tables: readonly TableHistory[]): string {
  const l = input.ledger;
  if (!l) return 'NO LEDGER: no findings ledger was named (--ledger-table or PITR_GUARD_FINDINGS_TABLE), so this folder holds no status history: history.json and history.csv say so and list no tables.';
  if (l.read.status === 'ERROR') return `LEDGER NOT READ: the findings ledger ${l.tableName} (${l.region}) could not be read (${l.read.errorName}: ${l.read.message}), so this folder holds no status history.`;
  return `The findings ledger ${l.tableName} (${l.region}): ${tables.length} table(s) of the scanned accounts and Regions, ${tables.filter((t) => !t.inReport).length} of them not in this report (deleted, or not listed by this scan).`;
}

function configNote(c: ConfigRuleRead): string {
  if (c.status === 'OK') return `${c.region}: ${c.results.length} result(s) of the rule ${c.ruleName}`;
  if (c.status === 'NO_RULE') return `${c.region}: no Config rule named ${c.ruleName} (not deployed there, or param configRule=false)`;
  return `${c.region}: the rule ${c.ruleName} could not be read (${c.errorName}: ${c.message})`;
}

function readme(input: EvidenceInput, tables: readonly TableHistory[], range: { from: string; to: string }, names: readonly string[]): string {
  const r = input.report;
  const describe: Record<string, string> = {
    'report.json': 'the scan report (every table with its status and reasons), exactly `pitr-guard scan --format json`',
    'report.csv': 'the same report as CSV (`--format csv`)',
    'report.html': 'the same report as a self-contained HTML page (`--format html`)',
    'policy.json': 'the policy in force: mode, minimum recovery days, exempt tag, Regions, accounts, pitr-guard version, and the time range covered',
    'history.json': "each table's status history from the findings ledger: status changes, incidents opened and closed, who disabled PITR, what pitr-guard did, restore drills",
    'history.csv': 'the same history, one row per entry',
    'config-rule.json': "the pitr-guard AWS Config rule's latest result per table (GetComplianceDetailsByConfigRule), per Region",
  };
  return [
    '# pitr-guard evidence: DynamoDB point-in-time recovery',
    '',
    `Generated ${r.generatedAt} by pitr-guard ${input.policy.pitrGuardVersion}: \`${input.command}\`.`,
    '',
    `**Time range covered: ${range.from} to ${range.to}.** The report is the state at ${r.generatedAt}; the history and Config results reach back to ${range.from}.`,
    '',
    `Scope: account(s) ${r.accounts.map((a) => a.accountId).join(', ') || r.accountId}, Region(s) ${r.regions.join(', ')}. ${r.summary.total} tables: ${r.summary.nonCompliant} non-compliant, ${r.summary.error} error, ${r.summary.exempt} exempt, ${r.summary.compliant} compliant, ${r.summary.notApplicable} not applicable.` +
      (r.regionErrors.length + r.accountErrors.length > 0 ? ` NOT scanned: ${[...r.accountErrors.map((a) => `account ${a.accountId}`), ...r.regionErrors.map((e) => `Region ${e.region}`)].join(', ')} (see report.json).` : ''),
    ...(input.source ? ['', `Data source: ${input.source} (not AWS).`] : []),
    '',
    `Ledger: ${ledgerNote(input, tables)}`,
    '',
    `Config rule: ${input.configRule.length === 0 ? 'not read (--config-rule none)' : input.configRule.map(configNote).join('; ')}.`,
    '',
    '## Files',
    '',
    '| file | what it holds |',
    '| --- | --- |',
    ...names.map((n) => `| \`${n}\` | ${describe[n] ?? ''} |`),
    '| `README.md` | this description |',
    '| `MANIFEST.sha256` | the SHA-256 of every other file |',
    '',
    '## Verify',
    '',
    'Inside this folder: `sha256sum -c MANIFEST.sha256` (GNU coreutils; on macOS `shasum -a 256 -c MANIFEST.sha256`).',
    'Every file but the manifest itself is listed, this README included, so the time range above is covered by it.',
    '',
  ].join('\n');
}

/** Every file of the folder, the manifest last. */
export function evidenceFiles(input: EvidenceInput): EvidenceFile[] {
  const tables = input.ledger?.read.status === 'OK' ? tableHistories(input.report, input.ledger.read.items) : [];
  const range = timeRange(input, tables);
  const ledger = input.ledger
    ? { tableName: input.ledger.tableName, region: input.ledger.region, status: input.ledger.read.status, ...(input.ledger.read.status === 'ERROR' ? { errorName: input.ledger.read.errorName, message: input.ledger.read.message } : {}) }
    : { status: 'NO_LEDGER' };
  const files: EvidenceFile[] = [
    { name: 'report.json', content: renderJson(input.report) },
    { name: 'report.csv', content: renderCsv(input.report) },
    { name: 'report.html', content: renderHtml(input.report, input.source ? { source: input.source } : {}) },
    { name: 'policy.json', content: JSON.stringify({ generatedAt: input.report.generatedAt, timeRange: range, ...input.policy }, null, 2) + '\n' },
    { name: 'history.json', content: JSON.stringify({ ledger, note: ledgerNote(input, tables), tables }, null, 2) + '\n' },
    { name: 'history.csv', content: historyCsv(tables) },
    { name: 'config-rule.json', content: JSON.stringify({ regions: input.configRule }, null, 2) + '\n' },
  ];
  files.push({ name: 'README.md', content: readme(input, tables, range, files.map((f) => f.name)) });
  files.push({ name: 'MANIFEST.sha256', content: manifest(files) });
  return files;
}

/** `sha256sum` format: the hex digest, two spaces, the relative path; sorted by name. */
export function manifest(files: readonly EvidenceFile[]): string {
  return [...files]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((f) => `${createHash('sha256').update(f.content, 'utf8').digest('hex')}  ${f.name}\n`)
    .join('');
}
