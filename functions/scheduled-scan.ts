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
import { accountFromContext, injectDeps, logErrors, type ContextWithDeps } from '../lib/middleware';
import { logScanReport } from '../lib/report/log';
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

export async function run(event: unknown, deps: ScheduledScanDeps): Promise<ScheduledScanResult> {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidEventError(`scheduled scan expects an EventBridge event object, got ${Array.isArray(event) ? 'an array' : typeof event}`);
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
  return {
    policy: policyFromEnv(),
    clients: new Clients(),
    logger,
    homeRegion,
    accountId: accountFromContext(context),
    afterScan: [],
  };
}

const fallbackLogger = createLogger({ base: { function: 'scheduledScan' } });

export const handler = middy<unknown, ScheduledScanResult, Error, ContextWithDeps<ScheduledScanDeps>>()
  .use(logErrors(() => fallbackLogger))
  .use(injectDeps(buildDeps))
  .handler((event, context) => run(event, context.deps));
