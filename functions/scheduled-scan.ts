/**
 * Scheduled scan (EventBridge schedule, param `scanSchedule`): every table in every configured Region.
 * Thin handler: the job is lib/jobs/scheduled-scan.ts (`run`); digest and remediation are its afterScan hook.
 */
import { lambdaHandler } from '../lib/runtime/handler';
import type { Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Clients } from '../lib/aws/clients';
import { PacerPool } from '../lib/aws/inventory';
import { findingsTableFromEnv, functionRegionFromEnv, lifecycleFromEnv, policyFromEnv, reportBucketFromEnv, scopeFromEnv, securityHubFromEnv } from '../lib/core/config';
import { FindingsLedger } from '../lib/state/ledger';
import { createLogger } from '../lib/runtime/logger';
import { accountFromContext, depsOf, injectDeps, logErrors, type ContextWithDeps } from '../lib/runtime/middleware';
import { buildNotifiers } from '../lib/notify';
import { createMetrics } from '../lib/runtime/metrics';
import { scanActionsHook } from '../lib/act/scan-actions';
import { run, type RejectedEvent, type ScheduledScanDeps, type ScheduledScanResult } from '../lib/jobs/scheduled-scan';

export { checkEvent, run } from '../lib/jobs/scheduled-scan';
export type { AfterScanHook, RejectedEvent, ScheduledScanDeps, ScheduledScanResult } from '../lib/jobs/scheduled-scan';

export function buildDeps(context: Context): ScheduledScanDeps {
  const [logger, policy, clients] = [createLogger({ base: { function: 'scheduledScan' } }), policyFromEnv(), new Clients()];
  const homeRegion = functionRegionFromEnv();
  const notifiers = buildNotifiers({ policy, clients, logger, homeRegion, metrics: createMetrics({ functionName: 'scheduledScan' }) });
  const pacers = new PacerPool(); // one budget per (account, Region): the scan's reads, then remediation
  const findingsTable = findingsTableFromEnv(); // the findings ledger, in the function's own Region
  const lifecycle = lifecycleFromEnv(); // validated in every mode; mode report opens no incidents
  const ledger = findingsTable ? { ledger: new FindingsLedger(clients.get(DynamoDBClient, homeRegion), findingsTable, policy.mode === 'report' ? {} : { lifecycle }) } : {};
  const bucket = reportBucketFromEnv(); // an S3 report only when a bucket is configured
  const report = bucket ? { reportBucket: { clients, region: homeRegion, bucket } } : {};
  return { pacers, policy, scope: scopeFromEnv(), clients, logger, homeRegion, accountId: accountFromContext(context), afterScan: [scanActionsHook({ notifiers })], securityHub: securityHubFromEnv(), ...ledger, ...report };
}

const fallbackLogger = createLogger({ base: { function: 'scheduledScan' } });

export const handler = lambdaHandler<unknown, ScheduledScanResult | RejectedEvent, ContextWithDeps<ScheduledScanDeps>>()
  .use(logErrors(() => fallbackLogger))
  .use(injectDeps(buildDeps))
  .handler((event, context) => run(event, depsOf(context), { remainingMs: () => context.getRemainingTimeInMillis() }));
