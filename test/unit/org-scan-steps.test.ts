/**
 * The Organization scan's plan and shard steps (lib/jobs/org-scan/plan.ts, shard.ts) with
 * aws-sdk-client-mock: input validation (clear errors, never a guess), the run ID, the exact S3
 * objects written, unreachable accounts as accountErrors, and the shard's error classes
 * (retryable vs not) that the state machine's Retry relies on.
 */
import { AccountClient, ListRegionsCommand } from '@aws-sdk/client-account';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { parseScope } from '../../lib/core/config';
import { InvalidEventError, ShardFailedError, ShardRetryableError } from '../../lib/core/errors';
import { checkPlanInput, run as plan, runIdOf, startTimeOf } from '../../lib/jobs/org-scan/plan';
import { checkShardItem, run as shard, type ShardDeps } from '../../lib/jobs/org-scan/shard';
import type { RunPlan, ShardFile, ShardItem } from '../../lib/jobs/org-scan/contract';
import { silentLogger } from '../../lib/runtime/logger';
import type { Policy } from '../../lib/core/types';

const SELF = '123456789012';
const OTHER = '210987654321';
const DENIED = '333333333333';
const BUCKET = 'pitr-guard-reports';
const policy: Policy = { mode: 'report', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1', 'eu-west-1'], dryRun: false };
const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
const ddb = mockClient(DynamoDBClient);
const account = mockClient(AccountClient);
const credentials = { AccessKeyId: 'AKIA', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(Date.now() + 3_600_000) };
const named = (name: string, message = name) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: name.includes('Throttl') ? 400 : 403 } });

beforeEach(() => {
  for (const m of [s3, sts, ddb, account]) m.reset();
  s3.on(PutObjectCommand).resolves({});
  sts.on(AssumeRoleCommand).resolves({ Credentials: credentials });
});

function written(key: string): unknown {
  const call = s3.commandCalls(PutObjectCommand).find((c) => c.args[0].input.Key === key);
  if (!call) throw new Error(`no PutObject of ${key}`);
  expect(call.args[0].input).toMatchObject({ Bucket: BUCKET, ContentType: 'application/json' });
  return JSON.parse(String(call.args[0].input.Body));
}

describe('plan: input and run ID', () => {
  it('accepts the state machine payload and rejects anything else with a clear error', () => {
    expect(checkPlanInput({ event: { id: 'x' }, executionName: 'abc-DEF_123' })).toEqual({ event: { id: 'x' }, executionName: 'abc-DEF_123' });
    expect(() => checkPlanInput(null)).toThrow(InvalidEventError);
    expect(() => checkPlanInput({ event: [], executionName: 'a' })).toThrow('plan expects the execution input (an object) as event');
    expect(() => checkPlanInput({ event: {}, executionName: 'has space' })).toThrow('plan expects executionName of 1-80 letters, digits, _ or -, got "has space"');
    expect(() => checkPlanInput({ event: {}, executionName: 'a'.repeat(81) })).toThrow(InvalidEventError);
    expect(() => checkPlanInput({ event: {}, executionName: '../../etc' })).toThrow(InvalidEventError);
    expect(() => checkPlanInput({ event: {} })).toThrow(InvalidEventError);
  });

  it('derives the run ID from the schedule time and the execution name', () => {
    const now = new Date('2026-12-02T01:02:03.456Z');
    expect(startTimeOf({ time: '2026-11-21T10:00:00Z' }, now).toISOString()).toBe('2026-11-21T10:00:00.000Z');
    expect(startTimeOf({ time: 'yesterday' }, now)).toBe(now);
    expect(startTimeOf({}, now)).toBe(now);
    expect(runIdOf(new Date('2026-11-21T10:00:00Z'), 'f2c1e7a0-0b5e-4cf1-9f6e-1d2b3c4d5e6f')).toBe('20261121T100000Z-f2c1e7a0-0b5e-4cf1-9f6e-1d2b3c4d5e6f');
  });
});

describe('plan: accounts × Regions → shards.json and plan.json', () => {
  it('plans every reachable account, makes the unreachable one an accountErrors entry with the fix, and writes both files', async () => {
    sts.on(AssumeRoleCommand, { RoleArn: `arn:aws:iam::${DENIED}:role/pitr-guard-member` }).rejects(named('AccessDenied', `not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${DENIED}:role/pitr-guard-member`));
    const scope = parseScope({ PITR_GUARD_ACCOUNTS: `${SELF},${OTHER},${DENIED}` });
    const out = await plan(
      { event: { time: '2026-11-21T10:00:00Z' }, executionName: 'exec-1' },
      { clients: new Clients(), policy, scope, logger: silentLogger, homeRegion: 'us-east-1', accountId: SELF, bucket: BUCKET, maxConcurrency: 7 },
    );
    const runId = '20261121T100000Z-exec-1';
    expect(out).toEqual({ runId, bucket: BUCKET, planKey: `runs/${runId}/plan.json`, shardsKey: `runs/${runId}/shards.json`, maxConcurrency: 7, shardCount: 4, startedAt: '2026-11-21T10:00:00.000Z' });
    // One session per other account, named for the run; none for the account pitr-guard runs in.
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => [c.args[0].input.RoleArn, c.args[0].input.RoleSessionName]).sort()).toEqual([
      [`arn:aws:iam::${OTHER}:role/pitr-guard-member`, `pitr-guard-${runId}`.slice(0, 64)],
      [`arn:aws:iam::${DENIED}:role/pitr-guard-member`, `pitr-guard-${runId}`.slice(0, 64)],
    ].sort());
    const shards = written(`runs/${runId}/shards.json`) as ShardItem[];
    expect(shards).toEqual([SELF, OTHER].flatMap((accountId) => ['us-east-1', 'eu-west-1'].map((region) => ({ runId, bucket: BUCKET, accountId, region, startedAt: '2026-11-21T10:00:00.000Z' }))));
    const planFile = written(`runs/${runId}/plan.json`) as RunPlan;
    expect(planFile).toEqual({
      runId,
      startedAt: '2026-11-21T10:00:00.000Z',
      accountId: SELF,
      homeRegion: 'us-east-1',
      policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', mode: 'report', dryRun: false },
      accounts: [
        { accountId: SELF, status: 'SCANNED', regions: ['us-east-1', 'eu-west-1'] },
        { accountId: OTHER, status: 'SCANNED', regions: ['us-east-1', 'eu-west-1'] },
        { accountId: DENIED, status: 'ERROR', error: expect.stringContaining('AssumeRole on arn:aws:iam::333333333333:role/pitr-guard-member failed: AccessDenied') },
      ],
      accountErrors: [{ accountId: DENIED, operation: 'AssumeRole', errorName: 'AccessDenied', message: expect.stringContaining('not authorized'), fix: expect.stringContaining('deploy the member template to this account') }],
      regions: ['eu-west-1', 'us-east-1'],
      shardCount: 4,
    });
    // shards.json is written before plan.json: a plan on S3 always has its shards.
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key)).toEqual([`runs/${runId}/shards.json`, `runs/${runId}/plan.json`]);
  });

  it('with regions=all, plans each account’s own enabled Regions (ListRegions in that account)', async () => {
    account.on(ListRegionsCommand).resolves({ Regions: [{ RegionName: 'us-east-1' }, { RegionName: 'ap-south-1' }, { RegionName: 'eu-west-1' }] });
    const out = await plan(
      { event: {}, executionName: 'all' },
      { clients: new Clients(), policy: { ...policy, regions: 'all' }, scope: parseScope({ PITR_GUARD_ACCOUNTS: OTHER }), logger: silentLogger, homeRegion: 'us-east-1', accountId: SELF, bucket: BUCKET, maxConcurrency: 50, now: () => new Date('2026-12-01T00:00:00Z') },
    );
    expect(out.shardCount).toBe(3);
    expect(account.commandCalls(ListRegionsCommand)[0]?.args[0].input).toEqual({ RegionOptStatusContains: ['ENABLED', 'ENABLED_BY_DEFAULT'], MaxResults: 50, NextToken: undefined });
    expect((written(out.shardsKey) as ShardItem[]).map((s) => s.region)).toEqual(['ap-south-1', 'eu-west-1', 'us-east-1']);
  });
});

describe('shard: the item', () => {
  const good: ShardItem = { runId: '20261121T100000Z-exec-1', bucket: BUCKET, accountId: OTHER, name: 'prod', region: 'eu-west-1', startedAt: '2026-11-21T10:00:00.000Z' };

  it('accepts a well-formed item and rejects every malformed one with a non-retryable, named error', () => {
    expect(checkShardItem(good, BUCKET)).toEqual(good);
    const bad: [unknown, string][] = [
      [null, 'expected an object, got null'],
      [[good], 'expected an object, got an array'],
      [{ ...good, extra: 1 }, 'unexpected field "extra"'],
      [{ ...good, accountId: '12345' }, 'accountId must be 12 digits'],
      [{ ...good, region: 'mars-1' }, 'region must be a Region code'],
      [{ ...good, runId: '../x' }, 'runId must look like'],
      [{ ...good, bucket: 'Other_Bucket' }, 'bucket must be an S3 bucket name'],
      [{ ...good, bucket: 'someone-elses-bucket' }, 'is not the configured report bucket'],
      [{ ...good, startedAt: 'now' }, 'startedAt must be an ISO 8601 UTC time'],
      [{ ...good, name: '' }, 'name must be a string of 1-128 characters'],
    ];
    for (const [item, message] of bad) {
      let thrown: unknown;
      try {
        checkShardItem(item, BUCKET);
      } catch (error) {
        thrown = error;
      }
      expect([message, thrown]).toEqual([message, expect.any(ShardFailedError)]);
      expect((thrown as Error).message).toContain(message);
      expect((thrown as Error).name).toBe('ShardFailedError');
    }
  });
});

describe('shard: one account and Region', () => {
  const item: ShardItem = { runId: '20261121T100000Z-exec-1', bucket: BUCKET, accountId: OTHER, region: 'eu-west-1', startedAt: '2026-11-21T10:00:00.000Z' };
  const deps = (over: Partial<ShardDeps> = {}): ShardDeps => ({
    newClients: () => new Clients(),
    ownClients: new Clients(),
    policy,
    scope: parseScope({ PITR_GUARD_ACCOUNTS: 'org' }),
    logger: silentLogger,
    homeRegion: 'us-east-1',
    accountId: SELF,
    bucket: BUCKET,
    inventory: { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } },
    now: () => new Date('2026-11-21T10:00:05.000Z'),
    ...over,
  });

  it('scans through the member role, writes its ShardFile and returns a pointer', async () => {
    ddb.on(ListTablesCommand).resolves({ TableNames: [] });
    const out = await shard(item, deps());
    const key = `runs/${item.runId}/shards/${OTHER}/eu-west-1.json`;
    expect(out).toEqual({ status: 'SCANNED', accountId: OTHER, region: 'eu-west-1', key, parts: 1, summary: { total: 0, compliant: 0, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 } });
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([{ RoleArn: `arn:aws:iam::${OTHER}:role/pitr-guard-member`, RoleSessionName: `pitr-guard-${item.runId}`.slice(0, 64), DurationSeconds: 3600 }]);
    expect(written(key) as ShardFile).toEqual({ shard: { runId: item.runId, accountId: OTHER, region: 'eu-west-1' }, part: { index: 0, done: true }, generatedAt: '2026-11-21T10:00:05.000Z', summary: out.summary, findings: [], vanished: [], outcomes: [], unrecorded: [] });
  });

  it('refuses an item for an account the scope leaves out', async () => {
    await expect(shard(item, deps({ scope: parseScope({ PITR_GUARD_ACCOUNTS: 'org', PITR_GUARD_EXCLUDE_ACCOUNTS: OTHER }) }))).rejects.toMatchObject({ name: 'ShardFailedError', message: expect.stringContaining(`account ${OTHER} is not in scope`) });
    await expect(shard(item, deps({ scope: parseScope({ PITR_GUARD_ACCOUNTS: `${SELF},${DENIED}` }) }))).rejects.toThrow(ShardFailedError);
    await expect(shard(item, deps({ scope: parseScope({}) }))).rejects.toThrow('is not in scope');
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('uses its own credentials for the account it runs in (no AssumeRole)', async () => {
    ddb.on(ListTablesCommand).resolves({ TableNames: [] });
    await shard({ ...item, accountId: SELF }, deps());
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('fails retryably when the Region cannot be listed for throttling, non-retryably when access is denied; never writes a partial ShardFile', async () => {
    ddb.on(ListTablesCommand).rejects(named('ThrottlingException', 'Rate of requests exceeds the allowed throughput.'));
    await expect(shard(item, deps())).rejects.toThrow(ShardRetryableError);
    await expect(shard(item, deps())).rejects.toMatchObject({ name: 'ShardRetryableError', message: expect.stringContaining('ListTables in eu-west-1 failed: ThrottlingException') });
    ddb.reset();
    ddb.on(ListTablesCommand).rejects(named('AccessDeniedException', 'not authorized to perform: dynamodb:ListTables'));
    await expect(shard(item, deps())).rejects.toMatchObject({ name: 'ShardFailedError', message: expect.stringContaining('AccessDeniedException') });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('fails non-retryably when the member role is refused, retryably when STS throttles', async () => {
    sts.on(AssumeRoleCommand).rejects(named('AccessDenied', 'not authorized to perform: sts:AssumeRole'));
    await expect(shard(item, deps())).rejects.toMatchObject({ name: 'ShardFailedError', message: expect.stringContaining('AssumeRole failed: AccessDenied') });
    sts.reset();
    sts.on(AssumeRoleCommand).rejects(named('Throttling', 'Rate exceeded'));
    await expect(shard(item, deps())).rejects.toMatchObject({ name: 'ShardRetryableError', message: expect.stringContaining('AssumeRole failed: Throttling') });
    expect(ddb.commandCalls(ListTablesCommand)).toHaveLength(0);
  });

  it('stops with a retryable error before Lambda’s deadline rather than being killed', async () => {
    ddb.on(ListTablesCommand).callsFake(() => new Promise(() => undefined)); // never answers
    await expect(shard(item, deps(), { remainingMs: () => 15_050 })).rejects.toMatchObject({ name: 'ShardRetryableError', message: expect.stringContaining('Lambda time running out') });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});
