/**
 * The scheduled scan's job (Lambda handler: functions/scheduled-scan.ts): scan every configured
 * Region, record the findings in the ledger (when PITR_GUARD_FINDINGS_TABLE is set: each finding
 * then carries `since`), log the findings and the summary, then run the after-scan hooks (alert
 * digest, remediation). With PITR_GUARD_SECURITY_HUB=true the findings are imported into Security
 * Hub after the ledger write. Tables the ledger could not record, and findings Security Hub did
 * not take, fail the run after the hooks ran.
 */
import { randomUUID } from 'node:crypto';
import { IncompleteReportError, InvalidEventError } from '../core/errors';
import { ledgerKey as ledgerKeyOf, type FindingsLedger, type OpenIncident, type Transition } from '../state/ledger';
import type { Logger } from '../runtime/logger';
import { logScanReport } from '../report/log';
import { renderJson } from '../report/json';
import { putReportFile, type BucketLocation } from '../aws/report-bucket';
import { reportPrefix } from './org-scan/contract';
import { hasProblems, scan, type ScanDeps, type ScanReport, type ScanSummary } from '../aws/scan';
import { scanAccounts } from '../aws/org/scan-accounts';
import { failureLines, publishReport } from '../aws/security-hub';
import type { Scope } from '../core/config';
import type { Policy } from '../core/types';

/** Runs after every scan with its report: where alerting and remediation plug in. */
/** What the handler knows of this one invocation. */
export interface ScanInvocation {
  /** Milliseconds the invocation has left (Lambda's context): alert channels keep their retries within it. */
  remainingMs?: () => number;
  /** What the findings ledger's alert lifecycle decided for this run (absent without a lifecycle ledger). */
  lifecycle?: RecordedLifecycle;
}

/** The lifecycle transitions this run won (only these are alerted) and the incidents still open. */
export interface RecordedLifecycle {
  transitions: Transition[];
  openIncidents: OpenIncident[];
}

export type AfterScanHook = (report: ScanReport, deps: ScheduledScanDeps, invocation: ScanInvocation) => Promise<void>;

export interface ScheduledScanDeps extends ScanDeps {
  policy: Policy;
  logger: Logger;
  homeRegion: string;
  accountId?: string;
  /** Accounts in scope (PITR_GUARD_ACCOUNTS…); absent or `self` without exclusions: this account only. */
  scope?: Scope;
  afterScan: AfterScanHook[];
  /** The findings ledger (PITR_GUARD_FINDINGS_TABLE); absent = none. */
  ledger?: FindingsLedger;
  /** The report bucket (PITR_GUARD_REPORT_BUCKET): the report is written to reports/<runId>/report.json; absent = no S3 report. */
  reportBucket?: BucketLocation;
  /** PITR_GUARD_SECURITY_HUB=true: import the findings into Security Hub (lib/aws/security-hub.ts), after the ledger (CreatedAt from `since`). */
  securityHub?: boolean;
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

export async function run(event: unknown, deps: ScheduledScanDeps, invocation: ScanInvocation = {}): Promise<ScheduledScanResult | RejectedEvent> {
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
  const runId = runIdOf(event);
  const recorded = deps.ledger ? await recordFindings(report, deps.ledger, runId, deps.logger) : undefined;
  const unrecorded = recorded?.unrecorded ?? [];
  const delivered = deps.securityHub ? await publishReport(report, { clients: deps.clients, logger: deps.logger }) : undefined;
  logScanReport(report, deps.logger, { durationMs: Date.now() - started, mode: deps.policy.mode, dryRun: deps.policy.dryRun });
  const notWritten = deps.reportBucket ? await writeReport(report, deps.reportBucket, runId, deps.logger) : undefined;
  const hookInvocation = recorded?.lifecycle ? { ...invocation, lifecycle: recorded.lifecycle } : invocation;
  for (const hook of deps.afterScan) await hook(report, deps, hookInvocation);
  if (notWritten) throw new IncompleteReportError('the report could not be written to the report bucket', [notWritten]);
  if (unrecorded.length > 0) {
    // Alerts went out first; the run still fails, so Lambda retries it and then keeps it in the failed-events queue.
    throw new IncompleteReportError(`the findings ledger could not record ${unrecorded.length} table(s)`, unrecorded);
  }
  if (delivered && delivered.failed > 0) {
    // As the ledger: the run fails after alerting, so Lambda retries it (a new UpdatedAt) and then keeps it in the failed-events queue.
    throw new IncompleteReportError(`Security Hub did not take ${delivered.failed} finding(s)`, failureLines(delivered));
  }
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

/** The run's ID in the ledger: the EventBridge event's ID (the same on Lambda's retries), else a new UUID. */
export function runIdOf(event: unknown): string {
  const id = (event as { id?: unknown }).id;
  return typeof id === 'string' && id.trim() !== '' ? id : randomUUID();
}

/** The S3 key of a scheduled scan's report: reports/<runId>/report.json (a run ID unfit for a key gets a new UUID). */
export function reportKey(runId: string): string {
  return `${reportPrefix(/^[A-Za-z0-9_-]{1,128}$/.test(runId) ? runId : randomUUID())}report.json`;
}

/** Writes the report as JSON (the `--format json` rendering); returns what went wrong, or undefined. */
async function writeReport(report: ScanReport, where: BucketLocation, runId: string, logger: Logger): Promise<string | undefined> {
  const key = reportKey(runId);
  try {
    await putReportFile(where, key, renderJson(report));
    logger.info('report written', { event: 'report-written', bucket: where.bucket, key });
    return undefined;
  } catch (error) {
    logger.error('could not write the report', { event: 'report-failed', bucket: where.bucket, key, errorMessage: (error as Error).message });
    return `s3://${where.bucket}/${key}: ${(error as Error).message}`;
  }
}

/**
 * Writes the report's findings to the ledger, sets each finding's `since` (and REPEATEDLY_DISABLED
 * on tables loop protection is watching); returns the tables not recorded and, with a lifecycle
 * ledger, the transitions this run won.
 */
export async function recordFindings(report: ScanReport, ledger: FindingsLedger, runId: string, logger: Logger): Promise<{ unrecorded: string[]; lifecycle?: RecordedLifecycle }> {
  const written = await ledger.write(report.findings, { runId, seenAt: report.generatedAt });
  const looping = new Set(written.repeatedlyDisabled);
  for (const f of report.findings) {
    const key = ledgerKeyOf(f);
    const entry = written.since.get(key);
    if (entry) f.since = entry.since;
    if (entry?.lastDrill) f.lastDrill = entry.lastDrill;
    if (looping.has(key) && !f.reasons.includes('REPEATEDLY_DISABLED')) f.reasons.push('REPEATEDLY_DISABLED');
  }
  if (ledger.lifecycle && written.transitions.length > 0) {
    logger.info('alert lifecycle', { event: 'lifecycle', transitions: written.transitions.slice(0, 100).map((t) => ({ kind: t.kind, tableArn: t.tableArn })), count: written.transitions.length, open: written.openIncidents.length });
  }
  for (const failure of written.failed) {
    logger.error('could not record the table in the findings ledger', { event: 'ledger-failed', tableArn: failure.tableArn, errorName: failure.error.errorName, message: failure.error.message });
  }
  const unrecorded = written.failed.map((f) => `${f.tableArn}: ${f.error.message}`);
  return ledger.lifecycle ? { unrecorded, lifecycle: { transitions: written.transitions, openIncidents: written.openIncidents } } : { unrecorded };
}
