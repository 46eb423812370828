/** Plain aligned text table of a ScanReport, worst first, with a summary line. */
import type { ScanReport } from '../scan';
import type { Finding } from '../types';

const COLUMNS: { title: string; value: (f: Finding) => string }[] = [
  { title: 'STATUS', value: (f) => f.status },
  { title: 'REGION', value: (f) => f.region },
  { title: 'TABLE', value: (f) => f.tableName },
  { title: 'PITR', value: (f) => f.pitr.status ?? '-' },
  { title: 'PERIOD', value: (f) => (f.pitr.recoveryPeriodInDays === null ? '-' : `${f.pitr.recoveryPeriodInDays}d`) },
  { title: 'RESTORABLE', value: (f) => (f.pitr.restorableDays === null ? '-' : `${f.pitr.restorableDays}d`) },
  { title: 'REASONS', value: (f) => f.reasons.join(',') },
];

export function renderTable(report: ScanReport): string {
  const rows = report.findings.map((f) => COLUMNS.map((c) => c.value(f)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const out = [line(COLUMNS.map((c) => c.title)), ...rows.map(line)];
  out.push('');
  out.push(summaryLine(report));
  for (const r of report.regionErrors) out.push(`Region ${r.region} NOT SCANNED: ${r.operation} failed with ${r.errorName}: ${r.message}`);
  if (report.vanished.length) out.push(`Deleted while scanning (not evaluated): ${report.vanished.map((v) => `${v.region}/${v.tableName}`).join(', ')}`);
  return out.join('\n') + '\n';
}

export function summaryLine(report: ScanReport): string {
  const s = report.summary;
  return (
    `${s.total} tables in ${report.regions.length} region(s) of account ${report.accountId}: ` +
    `${s.nonCompliant} non-compliant, ${s.error} error, ${s.exempt} exempt, ${s.compliant} compliant, ${s.notApplicable} not applicable` +
    (report.regionErrors.length ? `; ${report.regionErrors.length} region(s) could not be scanned` : '')
  );
}
