/**
 * Scheduled scan: every table in every configured Region, evaluated against the policy.
 * Trigger: EventBridge schedule (serverless.yml param `scanSchedule`).
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { Clients } from '../lib/clients';
import { policyFromEnv } from '../lib/config';
import { InvalidEventError } from '../lib/errors';
import { createLogger, type Logger } from '../lib/logger';
import { accountFromContext, depsOf, injectDeps, logErrors, type ContextWithDeps } from '../lib/middleware';
import { buildNotifiers } from '../lib/notifiers';
import { logScanReport } from '../lib/report/log';
import { scanActionsHook } from '../lib/scan-actions';
import { hasProblems, scan, type ScanDeps, type ScanReport, type ScanSummary } from '../lib/scan';
import type { Policy } from '../lib/types';

/** Runs after every scan with its report: where alerting and remediation plug in. */
export type AfterScanHook = (report: ScanReport, deps: ScheduledScanDeps) => Promise<void>;

export interface ScheduledScanDeps extends ScanDeps {
  policy: Policy;
  logger: Logger;
  homeRegion: string;
  accountId?: string;
  afterScan: AfterScanHook[];
}

export interface ScheduledScanResult {
  accountId: string;
  regions: string[];
  summary: ScanSummary;
  regionErrors: number;
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
  const report = await scan({ policy: deps.policy, homeRegion: deps.homeRegion, accountId: deps.accountId }, deps);
  logScanReport(report, deps.logger, { durationMs: Date.now() - started, mode: deps.policy.mode, dryRun: deps.policy.dryRun });
  for (const hook of deps.afterScan) await hook(report, deps);
  return {
    accountId: report.accountId,
    regions: report.regions,
    summary: report.summary,
    regionErrors: report.regionErrors.length,
    problems: hasProblems(report),
  };
}

export function buildDeps(context: Context): ScheduledScanDeps {
  const logger = createLogger({ base: { function: 'scheduledScan' } });
  const homeRegion = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '';
  const policy = policyFromEnv();
  const clients = new Clients();
  return {
    policy,
    clients,
    logger,
    homeRegion,
    accountId: accountFromContext(context),
    // Alert digest and remediation (per mode); SNS/Slack from PITR_GUARD_ALERT_TOPIC_ARN / _SLACK_WEBHOOK_PARAM.
    afterScan: [scanActionsHook({ notifiers: buildNotifiers({ policy, clients, logger, homeRegion }) })],
  };
}

const fallbackLogger = createLogger({ base: { function: 'scheduledScan' } });

export const handler = middy<unknown, ScheduledScanResult | RejectedEvent, Error, ContextWithDeps<ScheduledScanDeps>>()
  .use(logErrors(() => fallbackLogger))
  .use(injectDeps(buildDeps))
  .handler((event, context) => run(event, depsOf(context)));
