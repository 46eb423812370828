/**
 * What the Organization-scan integration tests share: the report bucket and the findings ledger
 * in the central account before a run (the ledger's key as serverless.yml declares it), the
 * environment the stack gives the scan's three functions (bench/org-fixture.ts's, which bench:org
 * uses too), and those functions' real handlers as fresh modules (a fresh "container"), keyed by
 * the state machine definition's placeholders.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { LambdaHandler } from '../../dev/local/sfn-runner';
import type { Clients } from '../../lib/aws/clients';
import { lambdaContext } from './lambda';

export async function createRunStores(direct: Clients, bucket: string, ledger: string, region = 'us-east-1'): Promise<void> {
  await direct.get(S3Client, region).send(new CreateBucketCommand({ Bucket: bucket }));
  await direct.get(DynamoDBClient, region).send(
    new CreateTableCommand({ TableName: ledger, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'tableArn', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'tableArn', KeyType: 'HASH' }] }),
  );
}

export { orgScanEnv, type OrgScanEnv } from '../../bench/org-fixture';

/** The three real handlers, required afresh (call it with the run's environment set: each reads it once). */
export function freshOrgHandlers(): Record<'PlanFunctionArn' | 'ShardFunctionArn' | 'AggregateFunctionArn', LambdaHandler> {
  let handlers: Record<'PlanFunctionArn' | 'ShardFunctionArn' | 'AggregateFunctionArn', LambdaHandler> | undefined;
  jest.isolateModules(() => {
    const p = require('../../functions/org-plan') as typeof import('../../functions/org-plan');
    const s = require('../../functions/org-shard') as typeof import('../../functions/org-shard');
    const a = require('../../functions/org-aggregate') as typeof import('../../functions/org-aggregate');
    handlers = {
      PlanFunctionArn: (payload) => p.handler(payload, lambdaContext('pitr-guard-ci-orgPlan')),
      ShardFunctionArn: (payload) => s.handler(payload, lambdaContext('pitr-guard-ci-orgShard')),
      AggregateFunctionArn: (payload) => a.handler(payload, lambdaContext('pitr-guard-ci-orgAggregate')),
    };
  });
  if (!handlers) throw new Error('freshOrgHandlers: the handlers were not loaded');
  return handlers;
}
