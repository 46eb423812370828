/**
 * The CloudTrail reactor (`pitrChange`): DynamoDB calls that disable PITR, shorten its period, create or
 * delete tables, from every account and Region in scope. Thin handler: the logic is lib/jobs/pitr-change.ts
 * (`run`, wrapped in de-duplication middleware by `reactorHandler`).
 */
import type { Context } from 'aws-lambda';
import { Clients } from '../lib/aws/clients';
import { findingsTableFromEnv, functionRegionFromEnv, idempotencyTableFromEnv, lifecycleFromEnv, policyFromEnv, scopeFromEnv } from '../lib/core/config';
import { createLogger } from '../lib/runtime/logger';
import { createMetrics } from '../lib/runtime/metrics';
import { accountFromContext, logErrors } from '../lib/runtime/middleware';
import { makeDeps, reactorHandler, type PitrChangeDeps } from '../lib/jobs/pitr-change';

export { makeDeps, reactorHandler, run } from '../lib/jobs/pitr-change';
export { EventInProgressError, RemediationDeferredError, RemediationRetryError } from '../lib/core/errors';
export type { PitrChangeDeps, PitrChangeResult, PitrChangeSettings } from '../lib/jobs/pitr-change';

/** Once per cold start: without the de-duplication table this warns and counts DeduplicationUnavailable. */
export function buildDeps(context: Context): PitrChangeDeps {
  const logger = createLogger({ base: { function: 'pitrChange' } });
  const homeRegion = functionRegionFromEnv();
  const idempotencyTable = idempotencyTableFromEnv();
  const findingsTable = findingsTableFromEnv(); // incidents shared with the scan, loop protection
  return makeDeps({
    policy: policyFromEnv(),
    scope: scopeFromEnv(),
    clients: new Clients(),
    logger,
    homeRegion,
    metrics: createMetrics({ functionName: 'pitrChange' }),
    ...(accountFromContext(context) ? { accountId: accountFromContext(context) } : {}),
    ...(idempotencyTable ? { idempotencyTable } : {}),
    ...(findingsTable ? { findingsTable } : {}),
    lifecycle: lifecycleFromEnv(),
  });
}

const fallbackLogger = createLogger({ base: { function: 'pitrChange' } });

export const handler = reactorHandler(buildDeps, [logErrors(() => fallbackLogger)]);
