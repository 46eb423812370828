/**
 * What a report offers next to a finding: the AWS CLI fix command and the console link (built once,
 * in lib/core/fix-hints.ts). Shared by the HTML report and the CLI (`explain`, `scan --fix`).
 */
import { manualFixCommand } from '../core/fix-hints';
import type { Finding } from '../core/types';

export { shellQuote, tableConsoleUrl } from '../core/fix-hints';

/** The AWS CLI command that turns PITR on with the policy's recovery period. */
export function fixCommand(f: Pick<Finding, 'region' | 'tableName'>, days: number): string {
  return manualFixCommand(f.region, f.tableName, days);
}

/** Whether `fixCommand` fixes this finding: every NON_COMPLIANT one (PITR off, or its period short). */
export function isFixable(f: Pick<Finding, 'status'>): boolean {
  return f.status === 'NON_COMPLIANT';
}
