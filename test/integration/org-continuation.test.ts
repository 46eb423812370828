/**
 * Shard continuation end to end on moto: statemachine/org-scan.asl.json through the local runner
 * (dev/local/sfn-runner.ts; STANDARD children, the CONTINUE loop) with the real plan, shard and
 * aggregate handlers, every call through the fault proxy (which counts them).
 *
 * One account, two Regions: eu-west-1 holds 25 tables (5 with PITR off), us-east-1 only the
 * findings ledger. The shard's read budget is 700 ms (ShardDeps.budgetMs; DynamoDB's 10 calls/s
 * pace makes that about 7 tables, 3 read at once), so eu-west-1 takes several invocations (parts). Mode alert with
 * the ledger: the alert lifecycle runs in every part.
 *
 * Run 1: every table exactly once in report.json, DescribeContinuousBackups exactly once per
 * table, the parts chained (each starts after the previous one's last table), one NEW transition
 * per PITR-off table across all parts, one digest. Run 2: the answer of part 1 is lost once (the
 * Lambda ran, Step Functions saw Lambda.ServiceException), so the part is retried from the same
 * continuation: it re-writes the same file, and the report still has every table exactly once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';
import { localClients, seedTable } from '../../dev/seed';
import { SfnRunner, type ExecutionResult, type LambdaHandler } from '../../dev/local/sfn-runner';
import type { Clients } from '../../lib/aws/clients';
import type { ScanReport } from '../../lib/aws/scan';
import type { ShardFile, ShardItem } from '../../lib/jobs/org-scan/contract';
import { captureLogs, lambdaContext } from '../helpers/lambda';
import { loadEvent } from '../helpers/builders';
import { topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { createRunStores, orgScanEnv } from '../helpers/org';

const CENTRAL = '123456789012';
const BUCKET = 'pitr-guard-reports-cont';
const LEDGER = 'pitr-guard-findings';
const BIG = 'eu-west-1';
const NAMES = Array.from({ length: 25 }, (_, i) => `cont-${String(i).padStart(2, '0')}`);
const OFF = new Set(['cont-02', 'cont-08', 'cont-11', 'cont-17', 'cont-24']);
const BUDGET_MS = 700;
/** Tables read at once in the test (the default 10 would let a 700 ms part finish 10 more in flight: fine at Lambda's budgets, not for 25 tables). */
const LANES = 3;
const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachine/org-scan.asl.json'), 'utf8')) as unknown;

let moto: MotoServer;
let proxy: FaultProxy;
let direct: Clients;
let inbox: TopicInbox;

const json = async <T>(key: string): Promise<T> => {
  const out = await direct.get(S3Client, 'us-east-1').send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse(await out.Body!.transformToString('utf8')) as T;
};
const keysUnder = async (prefix: string): Promise<string[]> => ((await direct.get(S3Client, 'us-east-1').send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string).sort();
/** DescribeContinuousBackups calls per table of the big Region since `from` (index into proxy.seen). */
const describesSince = (from: number): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const c of proxy.seen.slice(from)) if (c.operation === 'DescribeContinuousBackups' && c.region === BIG) counts.set(String(c.body.TableName), (counts.get(String(c.body.TableName)) ?? 0) + 1);
  return counts;
};

/** One execution with the real handlers; `loseAnswer` makes the first invocation of that part fail after it ran (a lost Lambda response). */
async function execute(executionName: string, time: string, loseAnswer?: number): Promise<{ result: ExecutionResult; from: number }> {
  const saved = { ...process.env };
  Object.assign(process.env, orgScanEnv({ endpoint: proxy.endpoint, mode: 'alert', regions: [BIG, 'us-east-1'], accounts: CENTRAL, bucket: BUCKET, ledger: LEDGER, topicArn: inbox.topicArn, maxConcurrency: 2 }));
  const from = proxy.seen.length;
  try {
    const handlers: Record<string, LambdaHandler> = {};
    let lost = false;
    jest.isolateModules(() => {
      const p = require('../../functions/org-plan') as typeof import('../../functions/org-plan');
      const s = require('../../functions/org-shard') as typeof import('../../functions/org-shard');
      const a = require('../../functions/org-aggregate') as typeof import('../../functions/org-aggregate');
      const shardContext = lambdaContext('pitr-guard-ci-orgShard');
      const built = s.buildDeps(shardContext);
      const deps = { ...built, budgetMs: BUDGET_MS, inventory: { ...built.inventory, concurrency: LANES } };
      handlers.PlanFunctionArn = (payload) => p.handler(payload, lambdaContext('pitr-guard-ci-orgPlan'));
      handlers.ShardFunctionArn = async (payload) => {
        const out = await s.run(payload, deps, { remainingMs: () => shardContext.getRemainingTimeInMillis() });
        if (loseAnswer !== undefined && !lost && (payload as ShardItem).continuation?.part === loseAnswer) {
          lost = true;
          throw Object.assign(new Error('the response was lost'), { name: 'Lambda.ServiceException' });
        }
        return out;
      };
      handlers.AggregateFunctionArn = (payload) => a.handler(payload, lambdaContext('pitr-guard-ci-orgAggregate'));
    });
    const runner = new SfnRunner({ definition, s3: direct.get(S3Client, 'us-east-1'), sleep: async () => undefined, handlers });
    const event = { ...(loadEvent('scheduled.json') as Record<string, unknown>), time };
    const run = await captureLogs(() => runner.start(event, executionName));
    return { result: run.result, from };
  } finally {
    process.env = saved;
  }
}

const bigShardCalls = (result: ExecutionResult) => result.invocations.filter((i) => i.state === 'ScanShard' && (i.payload as ShardItem).region === BIG);

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  direct = localClients(moto.endpoint);
  inbox = await topicWithInbox(moto.endpoint);
  const ddb = direct.get(DynamoDBClient, BIG);
  for (const tableName of NAMES) await seedTable(ddb, { tableName, state: OFF.has(tableName) ? 'off' : 'on' });
  await createRunStores(direct, BUCKET, LEDGER);
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

describe('a shard larger than one invocation’s budget continues in the next (run 1)', () => {
  const runId = '20261121T100000Z-cont-1';
  let result: ExecutionResult;
  let from: number;
  let report: ScanReport;
  let parts: { key: string; file: ShardFile }[];

  beforeAll(async () => {
    ({ result, from } = await execute('cont-1', '2026-11-21T10:00:00Z'));
    report = await json<ScanReport>(`reports/${runId}/report.json`);
    const keys = await keysUnder(`runs/${runId}/shards/${CENTRAL}/${BIG}`);
    parts = await Promise.all(keys.map(async (key) => ({ key, file: await json<ShardFile>(key) })));
    parts.sort((a, b) => (a.file.part?.index ?? 0) - (b.file.part?.index ?? 0));
  }, 180_000);

  it('completes with no shard error, and the big shard took several parts: one invocation and one file each', async () => {
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ runId, shardErrors: 0, summary: { total: 26, nonCompliant: 6, compliant: 20 } });
    const calls = bigShardCalls(result);
    expect(calls.length).toBeGreaterThanOrEqual(3); // 25 tables, ~7 a part
    expect(calls.map((c) => c.attempt)).toEqual(calls.map(() => 0)); // no retries
    expect(calls.map((c) => (c.payload as ShardItem).continuation?.part ?? 0)).toEqual(calls.map((_, i) => i));
    expect(parts.map((p) => p.key)).toEqual(calls.map((_, i) => `runs/${runId}/shards/${CENTRAL}/${BIG}${i === 0 ? '' : `.part-${i}`}.json`).sort());
    // The Map's record: the child's last output is SCANNED with that many parts and the whole shard's counts.
    const manifest = await json<{ ResultFiles: { SUCCEEDED: { Key: string }[] } }>(((result.invocations.find((i) => i.state === 'Aggregate')!.payload as { results: { ResultWriterDetails: { Key: string } } }).results.ResultWriterDetails.Key));
    const records = await json<{ Output: string }[]>(manifest.ResultFiles.SUCCEEDED[0]!.Key);
    const big = records.map((r) => JSON.parse(r.Output) as { region: string }).find((o) => o.region === BIG);
    expect(big).toEqual({ status: 'SCANNED', accountId: CENTRAL, region: BIG, key: `runs/${runId}/shards/${CENTRAL}/${BIG}.json`, parts: calls.length, summary: { total: 25, compliant: 20, nonCompliant: 5, exempt: 0, notApplicable: 0, error: 0 } });
  });

  it('the parts are a chain of contiguous ranges: each starts after the previous one’s last table, only the last is done, each within the budget’s size', () => {
    let last: string | undefined;
    parts.forEach(({ file }, i) => {
      expect(file.part).toEqual({ index: i, ...(last ? { startAfter: last } : {}), lastTable: file.findings.map((f) => f.tableName).sort().at(-1), done: i === parts.length - 1 });
      expect(file.findings.every((f) => (last === undefined || f.tableName > last) && f.tableName <= (file.part?.lastTable as string))).toBe(true);
      expect(file.findings.length).toBeLessThanOrEqual(BUDGET_MS / 100 + 3 + LANES); // 700 ms at 10/s, the pacer's burst of 3, the lanes in flight
      last = file.part?.lastTable;
    });
    expect(last).toBe('cont-24');
  });

  it('report.json: every table exactly once; DescribeContinuousBackups exactly once per table', () => {
    const listed = report.findings.filter((f) => f.region === BIG).map((f) => f.tableName);
    expect([...listed].sort()).toEqual(NAMES);
    expect(report.findings.filter((f) => f.status === 'NON_COMPLIANT' && f.region === BIG).map((f) => f.tableName).sort()).toEqual([...OFF].sort());
    expect(report.shardErrors).toEqual([]);
    expect(report.regionSummaries).toContainEqual({ accountId: CENTRAL, region: BIG, summary: { total: 25, compliant: 20, nonCompliant: 5, exempt: 0, notApplicable: 0, error: 0 } });
    expect(report.accounts[0]).toMatchObject({ accountId: CENTRAL, regions: [BIG, 'us-east-1'] });
    const describes = describesSince(from);
    expect([...describes.keys()].sort()).toEqual(NAMES);
    expect([...describes.values()].every((n) => n === 1)).toBe(true);
  });

  it('the alert lifecycle: one NEW transition per PITR-off table across all parts, and one digest naming them', async () => {
    const transitions = parts.flatMap((p) => p.file.lifecycle?.transitions ?? []);
    expect(transitions.map((t) => `${t.kind} ${t.tableName}`).sort()).toEqual([...OFF].map((n) => `NEW ${n}`).sort());
    const messages = await inbox.receive(1, 3000);
    expect(messages).toHaveLength(1);
    for (const name of OFF) expect(messages[0]!.Message).toContain(name);
  });
});

describe('a re-run part (its answer lost once) re-writes the same file and duplicates nothing (run 2)', () => {
  const runId = '20261121T110000Z-cont-2';
  let result: ExecutionResult;
  let from: number;

  beforeAll(async () => {
    ({ result, from } = await execute('cont-2', '2026-11-21T11:00:00Z', 1));
  }, 180_000);

  it('part 1 ran twice from the same continuation; the files are one per part; every table is in the report exactly once', async () => {
    expect(result.status).toBe('SUCCEEDED');
    const calls = bigShardCalls(result);
    const part1 = calls.filter((c) => (c.payload as ShardItem).continuation?.part === 1);
    expect(part1.map((c) => c.attempt)).toEqual([0, 1]);
    expect(part1[1]!.payload).toEqual(part1[0]!.payload);
    const partsRun = new Set(calls.map((c) => (c.payload as ShardItem).continuation?.part ?? 0)).size;
    const keys = await keysUnder(`runs/${runId}/shards/${CENTRAL}/${BIG}`);
    expect(keys).toHaveLength(partsRun);
    const report = await json<ScanReport>(`reports/${runId}/report.json`);
    const listed = report.findings.filter((f) => f.region === BIG).map((f) => f.tableName);
    expect([...listed].sort()).toEqual(NAMES);
    expect(report.shardErrors).toEqual([]);
    // Read twice: only the tables of the re-run part; every other table once.
    const file1 = await json<ShardFile>(`runs/${runId}/shards/${CENTRAL}/${BIG}.part-1.json`);
    const again = new Set(file1.findings.map((f) => f.tableName));
    for (const [name, n] of describesSince(from)) expect([name, n]).toEqual([name, again.has(name) ? 2 : 1]);
  });
});
