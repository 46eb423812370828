/**
 * Scheduled restore drill (EventBridge schedule, param drillSchedule; created only when param
 * drillTables is set): restores each configured table to a temporary copy, checks and deletes it,
 * records the drill in the ledger, alerts and fails when one did not pass. Logic: lib/jobs/drill.ts.
 */
import { lambdaHandler } from '../lib/runtime/handler';
import type { Context } from 'aws-lambda';
import { Clients } from '../lib/aws/clients';
import { drillTablesFromEnv, findingsTableFromEnv, functionRegionFromEnv, policyFromEnv } from '../lib/core/config';
import { createLogger } from '../lib/runtime/logger';
import { createMetrics } from '../lib/runtime/metrics';
import { accountFromContext, depsOf, injectDeps, logErrors, type ContextWithDeps } from '../lib/runtime/middleware';
import { buildNotifiers } from '../lib/notify';
import { runScheduledDrills, type DrillJobDeps, type DrillJobResult } from '../lib/jobs/drill';

export function buildDeps(context: Context): DrillJobDeps {
  const [logger, policy, clients, homeRegion] = [createLogger({ base: { function: 'restoreDrill' } }), policyFromEnv(), new Clients(), functionRegionFromEnv()];
  const notifiers = buildNotifiers({ policy, clients, logger, homeRegion, metrics: createMetrics({ functionName: 'restoreDrill' }) });
  const ledgerTable = findingsTableFromEnv();
  const accountId = accountFromContext(context);
  return { clients, logger, homeRegion, notifiers, targets: drillTablesFromEnv(), exemptTag: policy.exemptTag, ...(accountId ? { accountId } : {}), ...(ledgerTable ? { ledgerTable } : {}) };
}

const fallbackLogger = createLogger({ base: { function: 'restoreDrill' } });

export const handler = lambdaHandler<unknown, DrillJobResult, ContextWithDeps<DrillJobDeps>>()
  .use(logErrors(() => fallbackLogger))
  .use(injectDeps(buildDeps))
  .handler((_event, context) => runScheduledDrills(depsOf(context), { remainingMs: () => context.getRemainingTimeInMillis() }));
