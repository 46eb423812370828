/** The JSON report: exactly the ScanReport, pretty-printed, nothing added or removed. */
import type { ScanReport } from '../aws/scan';

export function renderJson(report: ScanReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
