/**
 * Organization scan, one shard (the child of ScanShards in statemachine/org-scan.asl.json): one
 * account and one Region (one part per invocation) → runs/<runId>/shards/<account>/<region>[.part-<n>].json,
 * ledger, remediation. Thin handler: the job is lib/jobs/org-scan/shard.ts (`run`).
 */
import { lambdaHandler } from '../lib/runtime/handler';
import type { Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Clients } from '../lib/aws/clients';
import { ConfigError } from '../lib/core/errors';
import { ENV, findingsTableFromEnv, functionRegionFromEnv, lifecycleFromEnv, policyFromEnv, reportBucketFromEnv, scopeFromEnv, securityHubFromEnv } from '../lib/core/config';
import { FindingsLedger } from '../lib/state/ledger';
import { createLogger } from '../lib/runtime/logger';
import { accountFromContext, depsOf, injectDeps, logErrors, type ContextWithDeps } from '../lib/runtime/middleware';
import { run, type ShardDeps } from '../lib/jobs/org-scan/shard';
import type { ShardContinueOutput, ShardOutput } from '../lib/jobs/org-scan/contract';

export { run } from '../lib/jobs/org-scan/shard';

export function buildDeps(context: Context): ShardDeps {
  const [logger, policy, ownClients, homeRegion] = [createLogger({ base: { function: 'orgShard' } }), policyFromEnv(), new Clients(), functionRegionFromEnv()];
  const bucket = reportBucketFromEnv();
  if (!bucket) throw new ConfigError(ENV.reportBucket, '', 'must name the report bucket the Organization scan writes its shard files to');
  const accountId = accountFromContext(context);
  if (!accountId) throw new Error('orgShard: the function ARN names no account');
  const [findingsTable, lifecycle] = [findingsTableFromEnv(), lifecycleFromEnv()]; // lifecycle validated in every mode; report opens no incidents
  const ledger = findingsTable ? { ledger: new FindingsLedger(ownClients.get(DynamoDBClient, homeRegion), findingsTable, policy.mode === 'report' ? {} : { lifecycle }) } : {};
  return { newClients: () => new Clients(), ownClients, policy, scope: scopeFromEnv(), logger, homeRegion, accountId, bucket, securityHub: securityHubFromEnv(), ...ledger };
}

const fallbackLogger = createLogger({ base: { function: 'orgShard' } });

/** A fresh handler (its own cached deps: a new "container"); the demo builds one per run. */
export const makeHandler = () =>
  lambdaHandler<unknown, ShardOutput | ShardContinueOutput, ContextWithDeps<ShardDeps>>()
    .use(logErrors(() => fallbackLogger))
    .use(injectDeps(buildDeps))
    .handler((event, context) => run(event, depsOf(context), { remainingMs: () => context.getRemainingTimeInMillis() }));

export const handler = makeHandler();
