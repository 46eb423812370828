/**
 * Organization scan, last step of the state machine (statemachine/org-scan.asl.json): the run's
 * report to S3 (JSON, CSV, HTML, summary) and one digest. Thin handler: the job is
 * lib/jobs/org-scan/aggregate.ts (`aggregate`); its deps are built once per container.
 */
import { lambdaHandler } from '../lib/runtime/handler';
import type { Context } from 'aws-lambda';
import { Clients } from '../lib/aws/clients';
import { findingsTableFromEnv, functionRegionFromEnv, policyFromEnv } from '../lib/core/config';
import { createLogger } from '../lib/runtime/logger';
import { depsOf, injectDeps, logErrors, type ContextWithDeps } from '../lib/runtime/middleware';
import { buildNotifiers } from '../lib/notify';
import { createMetrics } from '../lib/runtime/metrics';
import { aggregate, type AggregateDeps, type AggregateResult } from '../lib/jobs/org-scan/aggregate';

export { aggregate } from '../lib/jobs/org-scan/aggregate';

export function buildDeps(_context: Context): AggregateDeps {
  const [logger, policy, clients] = [createLogger({ base: { function: 'orgAggregate' } }), policyFromEnv(), new Clients()];
  const homeRegion = functionRegionFromEnv();
  const metrics = createMetrics({ functionName: 'orgAggregate' });
  // The alert channels come from the function's own environment; mode and dry run from the run's plan.
  // With a findings table the shards ran the alert lifecycle: the run's digest is a change digest.
  const lifecycle = findingsTableFromEnv() !== undefined;
  return { clients, logger, homeRegion, metrics, lifecycle, notifiers: buildNotifiers({ policy, clients, logger, homeRegion, metrics }) };
}

const fallbackLogger = createLogger({ base: { function: 'orgAggregate' } });

/** A fresh handler (its own cached deps: a new "container"); the demo builds one per run. */
export const makeHandler = () =>
  lambdaHandler<unknown, AggregateResult, ContextWithDeps<AggregateDeps>>()
    .use(logErrors(() => fallbackLogger))
    .use(injectDeps(buildDeps))
    .handler((event, context) => aggregate(event, depsOf(context), { remainingMs: () => context.getRemainingTimeInMillis() }));

export const handler = makeHandler();
