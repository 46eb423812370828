/**
 * The scheduled scan's job (Lambda handler: functions/scheduled-scan.ts): scan every configured
 * Region, log the findings and the summary, then run the after-scan hooks (alert digest,
 * remediation).
 */
import { InvalidEventError } from '../core/errors';
import type { Logger } from '../runtime/logger';
import { logScanReport } from '../report/log';
import { hasProblems, scan, type ScanDeps, type ScanReport, type ScanSummary } from '../aws/scan';
import { scanAccounts } from '../aws/org/scan-accounts';
import type { Scope } from '../core/config';
import type { Policy } from '../core/types';

/** Runs after every scan with its report: where alerting and remediation plug in. */
export type AfterScanHook = (report: ScanReport, deps: ScheduledScanDeps) => Promise<void>;

export interface ScheduledScanDeps extends ScanDeps {
  policy: Policy;
  logger: Logger;
  homeRegion: string;
  accountId?: string;
  /** Accounts in scope (PITR_GUARD_ACCOUNTS…); absent or `self` without exclusions: this account only. */
  scope?: Scope;
  afterScan: AfterScanHook[];
}

export interface ScheduledScanResult {
  accountId: string;
  regions: string[];
  summary: ScanSummary;
  regionErrors: number;
  /** Accounts in scope, and those that could not be scanned. */
  accounts: number;
  accountErrors: number;
  problems: boolean;
}

export interface RejectedEvent {
  rejected: string;
}

/** Any JSON object starts a scan (the schedule's event, or a manual invoke); anything else is rejected. */
export function checkEvent(event: unknown): void {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidEventError(`scheduled scan expects an event object, got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`);
  }
}

export async function run(event: unknown, deps: ScheduledScanDeps): Promise<ScheduledScanResult | RejectedEvent> {
  try {
    checkEvent(event);
  } catch (error) {
    // Retrying a malformed event cannot help: log it once and finish without acting.
    deps.logger.error('rejected event', { event: 'rejected', reason: (error as Error).message });
    return { rejected: (error as Error).message };
  }
  const started = Date.now();
  const scope = deps.scope;
  const report =
    scope && (scope.accounts !== 'self' || scope.excludeAccounts.length > 0)
      ? await scanAccounts({ policy: deps.policy, homeRegion: deps.homeRegion, accountId: deps.accountId, scope, runId: `scheduled-${started}` }, deps)
      : await scan({ policy: deps.policy, homeRegion: deps.homeRegion, accountId: deps.accountId }, deps);
  logScanReport(report, deps.logger, { durationMs: Date.now() - started, mode: deps.policy.mode, dryRun: deps.policy.dryRun });
  for (const hook of deps.afterScan) await hook(report, deps);
  return {
    accountId: report.accountId,
    regions: report.regions,
    summary: report.summary,
    regionErrors: report.regionErrors.length,
    accounts: report.accounts.length,
    accountErrors: report.accountErrors.length,
    problems: hasProblems(report),
  };
}
