/**
 * The Organization scan on its state machine, end to end on moto: statemachine/org-scan.asl.json run
 * by the local runner (dev/local/sfn-runner.ts), whose Plan and ScanShard tasks call the real Lambda
 * handlers (functions/org-plan.ts, functions/org-shard.ts) with the payloads Step Functions passes;
 * the Aggregate task is a test function that records its input (the real aggregate is built
 * separately and merged later).
 *
 * An Organization of 4 accounts (the central one pitr-guard runs in, prod, staging, refused) × 2
 * Regions, mode remediate, everything through the fault proxy:
 * - refused: AssumeRole is refused from the start → an accountErrors entry in plan.json, no shards;
 * - staging: AssumeRole is refused once the plan is made → both its shards fail (ShardFailedError,
 *   not retried) and become ShardErrorOutputs in the Map's results: never lost;
 * - prod: the first AssumeRole calls of its shards are throttled past the SDK's retries →
 *   ShardRetryableError → retried by the state machine → scanned.
 */
import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { DescribeContinuousBackupsCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../dev/local/proxy';
import { localClients, seedTable, type SeedTable } from '../../dev/seed';
import { SfnRunner, type ExecutionResult, type LambdaHandler } from '../../dev/local/sfn-runner';
import { memberRoleCredentials } from '../../lib/aws/org/member-credentials';
import type { Clients } from '../../lib/aws/clients';
import type { AggregateInput, RunPlan, ShardErrorOutput, ShardFile, ShardItem, ShardOutput } from '../../lib/jobs/org-scan/contract';
import { captureLogs, lambdaContext } from '../helpers/lambda';
import { loadEvent } from '../helpers/builders';
import { createRunStores, orgScanEnv } from '../helpers/org';

const CENTRAL = '123456789012';
const BUCKET = 'pitr-guard-reports-test';
const LEDGER = 'pitr-guard-findings';
const REGIONS = ['eu-west-1', 'us-east-1'];
const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachine/org-scan.asl.json'), 'utf8')) as unknown;

let moto: MotoServer;
let proxy: FaultProxy;
let direct: Clients;
const ids: Record<'prod' | 'staging' | 'refused', string> = { prod: '', staging: '', refused: '' };

const TABLES: Record<'central' | 'prod' | 'staging' | 'refused', SeedTable[]> = {
  central: [
    { region: 'us-east-1', tableName: 'orders', state: 'on' },
    { region: 'eu-west-1', tableName: 'orders', state: 'off' },
  ],
  prod: [
    { region: 'us-east-1', tableName: 'orders', state: 'off' },
    { region: 'us-east-1', tableName: 'carts', state: 'off' },
    { region: 'eu-west-1', tableName: 'sessions', state: 'exempt', exemptReason: 'cache' },
  ],
  staging: [{ region: 'eu-west-1', tableName: 'orders', state: 'off' }],
  refused: [{ region: 'us-east-1', tableName: 'orders', state: 'off' }],
};

const refuse = (account: string): FaultRule => ({
  operation: 'AssumeRole',
  match: (body) => String(body.RoleArn ?? '').includes(`::${account}:`),
  fail: { status: 403, type: 'AccessDenied', query: true, message: `User: arn:aws:sts::${CENTRAL}:assumed-role/orgShard/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${account}:role/pitr-guard-member` },
});
const throttle = (account: string, times: number): FaultRule => ({
  operation: 'AssumeRole',
  times,
  match: (body) => String(body.RoleArn ?? '').includes(`::${account}:`),
  fail: { status: 400, type: 'Throttling', query: true, message: 'Rate exceeded' },
});

function accountClients(account: string): { ddb: (region: string) => DynamoDBClient } {
  return { ddb: (region) => direct.get(DynamoDBClient, region, account === CENTRAL ? undefined : account) };
}

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  direct = localClients(moto.endpoint);
  const org = direct.get(OrganizationsClient, 'us-east-1');
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  for (const name of ['prod', 'staging', 'refused'] as const) {
    const out = await org.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }));
    ids[name] = out.CreateAccountStatus?.AccountId as string;
    direct.setAccountCredentials(ids[name], memberRoleCredentials(direct, { accountId: ids[name], roleName: 'pitr-guard-member', homeRegion: 'us-east-1', runId: 'seed' }));
  }
  for (const [who, tables] of Object.entries(TABLES) as [keyof typeof TABLES, SeedTable[]][]) {
    const account = who === 'central' ? CENTRAL : ids[who];
    for (const t of tables) await seedTable(accountClients(account).ddb(t.region), t);
  }
  await createRunStores(direct, BUCKET, LEDGER);
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

async function object<T>(key: string): Promise<T> {
  const out = await direct.get(S3Client, 'us-east-1').send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse(await out.Body!.transformToString('utf8')) as T;
}

async function pitrOn(account: string, region: string, tableName: string): Promise<boolean> {
  const out = await accountClients(account).ddb(region).send(new DescribeContinuousBackupsCommand({ TableName: tableName }));
  return out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === 'ENABLED';
}

describe('the Organization scan state machine, run locally on moto (plan → shards → aggregate)', () => {
  let result: ExecutionResult;
  let aggregateInput: AggregateInput | undefined;
  let logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const saved = { ...process.env };
    Object.assign(process.env, orgScanEnv({ endpoint: proxy.endpoint, mode: 'remediate', regions: REGIONS, bucket: BUCKET, ledger: LEDGER, maxConcurrency: 2 }));
    try {
      let plan: LambdaHandler | undefined;
      let shard: LambdaHandler | undefined;
      jest.isolateModules(() => {
        const p = require('../../functions/org-plan') as typeof import('../../functions/org-plan');
        const s = require('../../functions/org-shard') as typeof import('../../functions/org-shard');
        plan = (payload) => p.handler(payload, lambdaContext('pitr-guard-ci-orgPlan'));
        shard = (payload) => s.handler(payload, lambdaContext('pitr-guard-ci-orgShard'));
      });
      proxy.setRules([refuse(ids.refused)]);
      const runner = new SfnRunner({
        definition,
        s3: direct.get(S3Client, 'us-east-1'),
        sleep: async () => undefined,
        handlers: {
          PlanFunctionArn: async (payload) => {
            const out = await plan!(payload);
            // Once planned, staging's role is refused and prod's first sessions are throttled.
            proxy.setRules([refuse(ids.refused), refuse(ids.staging), throttle(ids.prod, 10)]);
            return out;
          },
          ShardFunctionArn: (payload) => shard!(payload),
          AggregateFunctionArn: async (payload) => {
            aggregateInput = payload as AggregateInput;
            return { aggregated: true };
          },
        },
      });
      const run = await captureLogs(() => runner.start(loadEvent('scheduled.json'), 'exec-org-1'));
      result = run.result;
      logs = run.lines;
    } finally {
      process.env = saved;
      proxy.setRules([]);
    }
  });

  const runId = '20261121T100000Z-exec-org-1';

  it('runs to the end and hands Aggregate exactly its AggregateInput', () => {
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ aggregated: true });
    expect(aggregateInput).toEqual({
      runId,
      bucket: BUCKET,
      planKey: `runs/${runId}/plan.json`,
      shardsKey: `runs/${runId}/shards.json`,
      maxConcurrency: 2,
      shardCount: 6,
      startedAt: '2026-11-21T10:00:00.000Z',
      results: { MapRunArn: expect.stringContaining(':mapRun:'), ResultWriterDetails: { Bucket: BUCKET, Key: expect.stringMatching(new RegExp(`^runs/${runId}/results/[0-9a-f-]{36}/manifest\\.json$`)) } },
    });
    expect(result.invocations[0]).toEqual({ state: 'Plan', attempt: 0, payload: { event: loadEvent('scheduled.json'), executionName: 'exec-org-1' } });
  });

  it('writes plan.json (every account, the refused one as an accountErrors entry with the fix) and shards.json (accounts × Regions)', async () => {
    const plan = await object<RunPlan>(`runs/${runId}/plan.json`);
    expect(plan).toMatchObject({ runId, startedAt: '2026-11-21T10:00:00.000Z', accountId: CENTRAL, homeRegion: 'us-east-1', regions: REGIONS, shardCount: 6, policy: { mode: 'remediate', minRecoveryDays: 35, dryRun: false } });
    expect(plan.accounts.map((a) => [a.accountId, a.status, a.regions])).toEqual(
      expect.arrayContaining([
        [CENTRAL, 'SCANNED', REGIONS],
        [ids.prod, 'SCANNED', REGIONS],
        [ids.staging, 'SCANNED', REGIONS],
        [ids.refused, 'ERROR', undefined],
      ]),
    );
    expect(plan.accounts).toHaveLength(4);
    expect(plan.accountErrors).toEqual([
      { accountId: ids.refused, name: 'refused', operation: 'AssumeRole', errorName: 'AccessDenied', message: expect.stringContaining(`arn:aws:iam::${ids.refused}:role/pitr-guard-member`), fix: expect.stringContaining('deploy the member template to this account') },
    ]);
    const shards = await object<ShardItem[]>(`runs/${runId}/shards.json`);
    expect(shards.map((s) => `${s.accountId}/${s.region}`).sort()).toEqual([CENTRAL, ids.prod, ids.staging].flatMap((a) => REGIONS.map((r) => `${a}/${r}`)).sort());
    for (const s of shards) expect(s).toMatchObject({ runId, bucket: BUCKET, startedAt: '2026-11-21T10:00:00.000Z' });
    expect(shards.find((s) => s.accountId === ids.prod)?.name).toBe('prod');
  });

  it('records every shard in the Map results: four SCANNED, staging’s two as ShardErrorOutputs (not retried: access denied)', async () => {
    const manifest = await object<{ ResultFiles: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string }[]> }>(aggregateInput!.results.ResultWriterDetails.Key);
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    const records = await object<{ Status: string; Input: string; Output: string }[]>(manifest.ResultFiles.SUCCEEDED[0]!.Key);
    expect(records).toHaveLength(6);
    const outputs = records.map((r) => JSON.parse(r.Output) as ShardOutput | ShardErrorOutput);
    const byKey = Object.fromEntries(outputs.map((o) => [`${o.accountId}/${o.region}`, o]));
    for (const region of REGIONS) {
      // ShardErrorOutput: the item the shard was invoked with, its error, status ERROR.
      expect(byKey[`${ids.staging}/${region}`]).toEqual({ runId, bucket: BUCKET, accountId: ids.staging, name: 'staging', region, startedAt: '2026-11-21T10:00:00.000Z', status: 'ERROR', error: { Error: 'ShardFailedError', Cause: expect.stringContaining('AssumeRole failed: AccessDenied') } });
      for (const account of [CENTRAL, ids.prod]) expect(byKey[`${account}/${region}`]).toMatchObject({ status: 'SCANNED', key: `runs/${runId}/shards/${account}/${region}.json` });
    }
    const shardCalls = (account: string) => result.invocations.filter((i) => i.state === 'ScanShard' && (i.payload as ShardItem).accountId === account);
    expect(shardCalls(ids.staging)).toHaveLength(2); // ShardFailedError is not retried
    expect(shardCalls(ids.prod).length).toBeGreaterThan(2); // throttled past the SDK's retries: retried by the state machine
    expect(shardCalls(ids.prod).some((c) => c.attempt > 0)).toBe(true);
    expect(logs.filter((l) => l.event === 'shard-error' && l.errorName === 'ShardRetryableError').length).toBeGreaterThan(0);
  });

  it('writes one ShardFile per scanned shard with its findings and remediation outcomes', async () => {
    const prodUs = await object<ShardFile>(`runs/${runId}/shards/${ids.prod}/us-east-1.json`);
    expect(prodUs.shard).toEqual({ runId, accountId: ids.prod, name: 'prod', region: 'us-east-1' });
    expect(prodUs.summary).toEqual({ total: 2, compliant: 0, nonCompliant: 2, exempt: 0, notApplicable: 0, error: 0 });
    expect(prodUs.findings.map((f) => [f.accountId, f.region, f.tableName, f.status])).toEqual([
      [ids.prod, 'us-east-1', 'carts', 'NON_COMPLIANT'],
      [ids.prod, 'us-east-1', 'orders', 'NON_COMPLIANT'],
    ]);
    for (const f of prodUs.findings) expect(f.since).toBe(prodUs.generatedAt);
    expect(prodUs.outcomes.map((o) => [o.accountId, o.region, o.tableName, o.result]).sort()).toEqual([
      [ids.prod, 'us-east-1', 'carts', 'ENABLED'],
      [ids.prod, 'us-east-1', 'orders', 'ENABLED'],
    ]);
    expect(prodUs.unrecorded).toEqual([]);
    const prodEu = await object<ShardFile>(`runs/${runId}/shards/${ids.prod}/eu-west-1.json`);
    expect(prodEu.findings.map((f) => [f.tableName, f.status])).toEqual([['sessions', 'EXEMPT']]);
    expect(prodEu.outcomes).toEqual([]);
    const listed = await direct.get(S3Client, 'us-east-1').send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `runs/${runId}/shards/` }));
    expect((listed.Contents ?? []).map((c) => c.Key).sort()).toEqual([CENTRAL, ids.prod].flatMap((a) => REGIONS.map((r) => `runs/${runId}/shards/${a}/${r}.json`)).sort());
  });

  it('re-enabled PITR in the tables’ own accounts and Regions, and left the failed shards’ and the refused account’s tables alone', async () => {
    expect(await pitrOn(ids.prod, 'us-east-1', 'orders')).toBe(true);
    expect(await pitrOn(ids.prod, 'us-east-1', 'carts')).toBe(true);
    expect(await pitrOn(CENTRAL, 'eu-west-1', 'orders')).toBe(true);
    expect(await pitrOn(ids.staging, 'eu-west-1', 'orders')).toBe(false);
    expect(await pitrOn(ids.refused, 'us-east-1', 'orders')).toBe(false);
  });

  it('recorded every scanned table in the findings ledger under the run ID', async () => {
    const { Items } = await direct.get(DynamoDBClient, 'us-east-1').send(new ScanCommand({ TableName: LEDGER, ConsistentRead: true }));
    const items = (Items ?? []).filter((i) => i.lastRunId?.S === runId);
    expect(items.map((i) => `${i.accountId?.S}/${i.region?.S}/${i.tableName?.S}=${i.status?.S}`).sort()).toEqual(
      [
        `${CENTRAL}/us-east-1/orders=COMPLIANT`,
        `${CENTRAL}/eu-west-1/orders=NON_COMPLIANT`,
        `${CENTRAL}/us-east-1/${LEDGER}=NON_COMPLIANT`,
        `${ids.prod}/us-east-1/orders=NON_COMPLIANT`,
        `${ids.prod}/us-east-1/carts=NON_COMPLIANT`,
        `${ids.prod}/eu-west-1/sessions=EXEMPT`,
      ].sort(),
    );
    for (const i of items) expect(i.tableArn?.S).toBe(`arn:aws:dynamodb:${i.region?.S}:${i.accountId?.S}:table/${i.tableName?.S}`);
  });
});
