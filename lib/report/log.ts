/** The scan as structured log lines: one per NON_COMPLIANT or ERROR finding, and one summary. */
import type { Logger } from '../runtime/logger';
import type { ScanReport } from '../aws/scan';

export function logScanReport(report: ScanReport, logger: Logger, extra: Record<string, unknown> = {}): void {
  for (const f of report.findings) {
    if (f.status !== 'NON_COMPLIANT' && f.status !== 'ERROR') continue;
    logger.warn(f.message, {
      event: 'finding',
      status: f.status,
      reasons: f.reasons,
      accountId: f.accountId,
      region: f.region,
      tableName: f.tableName,
      tableArn: f.tableArn,
      pitr: f.pitr,
      ...(f.error ? { error: f.error } : {}),
      // When it entered this status, from the findings ledger (when there is one).
      ...(f.since ? { since: f.since } : {}),
    });
  }
  for (const r of report.regionErrors) {
    logger.error(`Region ${r.region} could not be scanned: ${r.operation} failed with ${r.errorName}`, { event: 'region-error', ...r });
  }
  logger.info('scan complete', {
    event: 'scan-summary',
    accountId: report.accountId,
    regions: report.regions,
    summary: report.summary,
    regionErrors: report.regionErrors.length,
    vanished: report.vanished.length,
    ...extra,
  });
}
