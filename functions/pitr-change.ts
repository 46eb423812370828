/**
 * The CloudTrail reactor (serverless function `pitrChange`): EventBridge delivers DynamoDB calls
 * that disable PITR, shorten its period, or create tables without it. Thin handler: the logic is
 * lib/jobs/pitr-change.ts (`run`), which re-reads the table, acts per mode and alerts with the attribution
 * from the event.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { Clients } from '../lib/aws/clients';
import { functionRegionFromEnv, idempotencyTableFromEnv, policyFromEnv } from '../lib/core/config';
import { createLogger } from '../lib/runtime/logger';
import { createMetrics } from '../lib/runtime/metrics';
import { accountFromContext, depsOf, injectDeps, logErrors, type ContextWithDeps } from '../lib/runtime/middleware';
import { makeDeps, run, type PitrChangeDeps, type PitrChangeResult } from '../lib/jobs/pitr-change';

export { EventInProgressError, RemediationDeferredError, makeDeps, run } from '../lib/jobs/pitr-change';
export type { PitrChangeDeps, PitrChangeResult, PitrChangeSettings } from '../lib/jobs/pitr-change';

export function buildDeps(context: Context): PitrChangeDeps {
  const logger = createLogger({ base: { function: 'pitrChange' } });
  const homeRegion = functionRegionFromEnv();
  const idempotencyTable = idempotencyTableFromEnv();
  return makeDeps({
    policy: policyFromEnv(),
    clients: new Clients(),
    logger,
    homeRegion,
    metrics: createMetrics({ functionName: 'pitrChange' }),
    ...(accountFromContext(context) ? { accountId: accountFromContext(context) } : {}),
    ...(idempotencyTable ? { idempotencyTable } : {}),
  });
}

const fallbackLogger = createLogger({ base: { function: 'pitrChange' } });

export const handler = middy<unknown, PitrChangeResult, Error, ContextWithDeps<PitrChangeDeps>>()
  .use(logErrors(() => fallbackLogger))
  .use(injectDeps(buildDeps))
  .handler((event, context) => run(event, depsOf(context)));
