/**
 * Organization scan, step Plan (statemachine/org-scan.asl.json): accounts in scope × Regions →
 * runs/<runId>/shards.json. Trigger: the state machine, with `{ event, executionName }`. Thin
 * handler: the job is lib/jobs/org-scan/plan.ts (`run`).
 */
import { lambdaHandler } from '../lib/runtime/handler';
import type { Context } from 'aws-lambda';
import { Clients } from '../lib/aws/clients';
import { ConfigError } from '../lib/core/errors';
import { ENV, functionRegionFromEnv, maxConcurrencyFromEnv, policyFromEnv, reportBucketFromEnv, scopeFromEnv } from '../lib/core/config';
import { createLogger } from '../lib/runtime/logger';
import { accountFromContext, depsOf, injectDeps, logErrors, type ContextWithDeps } from '../lib/runtime/middleware';
import { run, type PlanDeps } from '../lib/jobs/org-scan/plan';
import type { PlanOutput } from '../lib/jobs/org-scan/contract';

export { run } from '../lib/jobs/org-scan/plan';

export function buildDeps(context: Context): PlanDeps {
  const logger = createLogger({ base: { function: 'orgPlan' } });
  const bucket = reportBucketFromEnv();
  if (!bucket) throw new ConfigError(ENV.reportBucket, '', 'must name the report bucket the Organization scan writes its run files to');
  const accountId = accountFromContext(context);
  return { clients: new Clients(), policy: policyFromEnv(), scope: scopeFromEnv(), logger, homeRegion: functionRegionFromEnv(), bucket, maxConcurrency: maxConcurrencyFromEnv(), ...(accountId ? { accountId } : {}) };
}

const fallbackLogger = createLogger({ base: { function: 'orgPlan' } });

/** A fresh handler (its own cached deps: a new "container"); the demo builds one per run. */
export const makeHandler = () =>
  lambdaHandler<unknown, PlanOutput, ContextWithDeps<PlanDeps>>()
    .use(logErrors(() => fallbackLogger))
    .use(injectDeps(buildDeps))
    // Fresh clients per run: each member-role session is named for its run (pitr-guard-<runId>).
    .handler((event, context) => run(event, { ...depsOf(context), clients: new Clients() }));

export const handler = makeHandler();
