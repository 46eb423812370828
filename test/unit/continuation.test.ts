/**
 * Shard continuation, the cursor logic (lib/jobs/org-scan/continuation.ts, lib/aws/inventory/range.ts,
 * the shard's parts in lib/jobs/org-scan/shard.ts) with aws-sdk-client-mock and a fake clock that
 * advances 100 ms per DescribeContinuousBackups: a read budget of 700 ms is exactly 7 tables a part
 * (concurrency 1), so 25 tables are 4 parts (7, 7, 7, 4), every table read once, none skipped;
 * a re-run part re-writes the same file.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  type ListTablesCommandInput,
} from '@aws-sdk/client-dynamodb';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchImportFindingsCommand, GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { createPacers } from '../../lib/aws/inventory';
import { inventoryRange } from '../../lib/aws/inventory/range';
import { parseScope } from '../../lib/core/config';
import { ShardFailedError } from '../../lib/core/errors';
import { DEADLINE_MARGIN_MS, READ_SHARE, afterPart, checkContinuation, readBudgetMs } from '../../lib/jobs/org-scan/continuation';
import type { ShardContinueOutput, ShardFile, ShardItem, ShardOutput } from '../../lib/jobs/org-scan/contract';
import { run as shard, type ShardDeps } from '../../lib/jobs/org-scan/shard';
import { silentLogger } from '../../lib/runtime/logger';

const SELF = '123456789012';
const BUCKET = 'pitr-guard-reports';
const REGION = 'eu-west-1';
// ListTables order: plain code-unit order (mixed case and punctuation on purpose).
const NAMES = Array.from({ length: 25 }, (_, i) => (i % 5 === 0 ? `Zed-${String(i).padStart(2, '0')}` : `tbl_${String(i).padStart(2, '0')}`)).sort();
const ddb = mockClient(DynamoDBClient);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);
const s3 = mockClient(S3Client);
const hub = mockClient(SecurityHubClient);

let now = 0;
const clock = () => now;
const described = new Map<string, number>();

/** ListTables pages of 10 after ExclusiveStartTableName; each DescribeContinuousBackups costs 100 ms of the fake clock. */
function fakeRegion(names: readonly string[]) {
  ddb.on(ListTablesCommand).callsFake((input: ListTablesCommandInput) => {
    const from = input.ExclusiveStartTableName === undefined ? 0 : names.findIndex((n) => n > (input.ExclusiveStartTableName as string));
    const page = from < 0 ? [] : names.slice(from, from + 10);
    const more = from >= 0 && from + 10 < names.length;
    return { TableNames: page, ...(more ? { LastEvaluatedTableName: page[page.length - 1] } : {}) };
  });
  ddb.on(DescribeTableCommand).callsFake((input: { TableName: string }) => ({
    Table: { TableName: input.TableName, TableArn: `arn:aws:dynamodb:${REGION}:${SELF}:table/${input.TableName}`, TableStatus: 'ACTIVE', CreationDateTime: new Date('2026-01-01T00:00:00Z') },
  }));
  ddb.on(DescribeContinuousBackupsCommand).callsFake((input: { TableName: string }) => {
    now += 100;
    described.set(input.TableName, (described.get(input.TableName) ?? 0) + 1);
    return { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: 35 } } };
  });
  ddb.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
  tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
}

beforeEach(() => {
  for (const m of [ddb, tagging, s3, hub]) m.reset();
  s3.on(PutObjectCommand).resolves({});
  now = 0;
  described.clear();
});

describe('the read budget', () => {
  it('is READ_SHARE of the Lambda time left before the margin, capped by the configured budget; no limit when neither is known', () => {
    expect(READ_SHARE).toBe(0.5);
    expect(readBudgetMs(900_000)).toBe((900_000 - DEADLINE_MARGIN_MS) / 2);
    expect(readBudgetMs(900_000, 700)).toBe(700);
    expect(readBudgetMs(10_000)).toBe(0); // inside the margin: the part still reads one table (below)
    expect(readBudgetMs(undefined)).toBe(Infinity);
    expect(readBudgetMs(undefined, 5_000)).toBe(5_000);
  });
});

describe('the continuation an item carries', () => {
  const summary = { total: 7, compliant: 7, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 };
  it('accepts { part ≥ 1, startAfter: a table name, summary } and refuses anything else, not retryably', () => {
    expect(checkContinuation({ part: 1, startAfter: 'orders', summary })).toEqual({ part: 1, startAfter: 'orders', summary });
    const bad: [unknown, string][] = [
      [null, 'must be an object'],
      [{ part: 0, startAfter: 'orders', summary }, 'part must be an integer'],
      [{ part: 1.5, startAfter: 'orders', summary }, 'part must be an integer'],
      [{ part: 1, startAfter: 'a', summary }, 'startAfter must be a table name'],
      [{ part: 1, startAfter: 'orders' }, 'summary must be'],
      [{ part: 1, startAfter: 'orders', summary: { ...summary, error: -1 } }, 'summary.error must be a count'],
      [{ part: 1, startAfter: 'orders', summary, extra: true }, 'unexpected field "extra"'],
    ];
    for (const [value, message] of bad) {
      expect(() => checkContinuation(value)).toThrow(ShardFailedError);
      expect(() => checkContinuation(value)).toThrow(message);
    }
  });

  it('after a part: SCANNED with the parts and the summed counts when the Region is done, else CONTINUE with the cursor = the part’s last table', () => {
    const item: ShardItem = { runId: '20261121T100000Z-exec-1', bucket: BUCKET, accountId: SELF, region: REGION, startedAt: '2026-11-21T10:00:00.000Z' };
    const part = { total: 4, compliant: 3, nonCompliant: 1, exempt: 0, notApplicable: 0, error: 0 };
    const key2 = `runs/${item.runId}/shards/${SELF}/${REGION}.part-2.json`;
    const second = { ...item, continuation: { part: 2, startAfter: 'tbl_13', summary: { ...summary, total: 14, compliant: 14 } } };
    expect(afterPart(second, key2, { region: REGION, startAfter: 'tbl_13', lastTable: 'tbl_24', done: true }, part)).toEqual({
      status: 'SCANNED',
      accountId: SELF,
      region: REGION,
      key: `runs/${item.runId}/shards/${SELF}/${REGION}.json`,
      parts: 3,
      summary: { total: 18, compliant: 17, nonCompliant: 1, exempt: 0, notApplicable: 0, error: 0 },
    });
    const first = afterPart(item, `runs/${item.runId}/shards/${SELF}/${REGION}.json`, { region: REGION, lastTable: 'tbl_06', done: false }, part) as ShardContinueOutput;
    expect(first).toMatchObject({ status: 'CONTINUE', next: { ...item, continuation: { part: 1, startAfter: 'tbl_06', summary: part } } });
  });
});

describe('inventoryRange: contiguous ranges in ListTables order', () => {
  it('25 tables at 7 a part: 4 parts, each starting after the last one’s last table; every table read exactly once', async () => {
    fakeRegion(NAMES);
    const client = new DynamoDBClient({ region: REGION });
    const pacers = createPacers(1_000);
    const seen: string[] = [];
    let startAfter: string | undefined;
    const ranges: { startAfter?: string; lastTable?: string; done: boolean; tables: number }[] = [];
    for (let part = 0; part < 10; part++) {
      const until = now + 700;
      const inv = await inventoryRange(client, { accountId: SELF, region: REGION }, { ...(startAfter ? { startAfter } : {}), stop: () => now >= until }, { concurrency: 1 }, pacers);
      seen.push(...inv.tables.map((t) => t.tableName));
      ranges.push({ ...(inv.startAfter ? { startAfter: inv.startAfter } : {}), ...(inv.lastTable ? { lastTable: inv.lastTable } : {}), done: inv.done, tables: inv.tables.length });
      if (inv.done) break;
      startAfter = inv.lastTable;
    }
    expect(ranges).toEqual([
      { lastTable: NAMES[6], done: false, tables: 7 },
      { startAfter: NAMES[6], lastTable: NAMES[13], done: false, tables: 7 },
      { startAfter: NAMES[13], lastTable: NAMES[20], done: false, tables: 7 },
      { startAfter: NAMES[20], lastTable: NAMES[24], done: true, tables: 4 },
    ]);
    expect(seen).toEqual(NAMES);
    expect([...described.values()].every((n) => n === 1)).toBe(true);
    expect(described.size).toBe(25);
    // The exact ListTables calls: each part lists once, after its cursor (7 tables fit in a page of 10).
    expect(ddb.commandCalls(ListTablesCommand).map((c) => c.args[0].input)).toEqual([undefined, NAMES[6], NAMES[13], NAMES[20]].map((ExclusiveStartTableName) => ({ ExclusiveStartTableName, Limit: 100 })));
  });

  it('always reads the first table of its range, even with the budget already spent (progress)', async () => {
    fakeRegion(NAMES);
    const inv = await inventoryRange(new DynamoDBClient({ region: REGION }), { accountId: SELF, region: REGION }, { stop: () => true }, { concurrency: 4 }, createPacers(1_000));
    expect(inv.tables.map((t) => t.tableName)).toEqual(NAMES.slice(0, 4)); // the lanes that started before any table finished
    expect(inv).toMatchObject({ lastTable: NAMES[3], done: false });
  });

  it('an empty range after the last table is done at once', async () => {
    fakeRegion(NAMES);
    const inv = await inventoryRange(new DynamoDBClient({ region: REGION }), { accountId: SELF, region: REGION }, { startAfter: NAMES[24] as string, stop: () => false }, {}, createPacers(1_000));
    expect(inv).toEqual({ accountId: SELF, region: REGION, tables: [], vanished: [], startAfter: NAMES[24], done: true });
  });
});

describe('the shard in parts', () => {
  const item: ShardItem = { runId: '20261121T100000Z-exec-1', bucket: BUCKET, accountId: SELF, region: REGION, startedAt: '2026-11-21T10:00:00.000Z' };
  const deps: ShardDeps = {
    newClients: () => new Clients(),
    ownClients: new Clients(),
    policy: { mode: 'report', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: [REGION], dryRun: false },
    scope: parseScope({}),
    logger: silentLogger,
    homeRegion: 'us-east-1',
    accountId: SELF,
    bucket: BUCKET,
    inventory: { concurrency: 1, ratePerSecond: 1_000, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } },
    now: () => new Date('2026-11-21T10:00:05.000Z'),
    budgetMs: 700,
    clock,
  };
  const files = () => s3.commandCalls(PutObjectCommand).map((c) => ({ key: String(c.args[0].input.Key), file: JSON.parse(String(c.args[0].input.Body)) as ShardFile }));

  it('writes part 0 as <region>.json and part n as <region>.part-<n>.json, continues from each part’s last table, and ends SCANNED with 4 parts', async () => {
    fakeRegion(NAMES);
    const answers: (ShardOutput | ShardContinueOutput)[] = [];
    let input: ShardItem = item;
    for (;;) {
      const out = await shard(input, deps, { remainingMs: () => 900_000 });
      answers.push(out);
      if (out.status !== 'CONTINUE') break;
      input = JSON.parse(JSON.stringify(out.next)) as ShardItem; // through the state payload
    }
    const prefix = `runs/${item.runId}/shards/${SELF}/${REGION}`;
    expect(answers.map((a) => a.status)).toEqual(['CONTINUE', 'CONTINUE', 'CONTINUE', 'SCANNED']);
    expect(answers[3]).toEqual({ status: 'SCANNED', accountId: SELF, region: REGION, key: `${prefix}.json`, parts: 4, summary: { total: 25, compliant: 25, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 } });
    const written = files();
    expect(written.map((w) => w.key)).toEqual([`${prefix}.json`, `${prefix}.part-1.json`, `${prefix}.part-2.json`, `${prefix}.part-3.json`]);
    expect(written.map((w) => w.file.part)).toEqual([
      { index: 0, lastTable: NAMES[6], done: false },
      { index: 1, startAfter: NAMES[6], lastTable: NAMES[13], done: false },
      { index: 2, startAfter: NAMES[13], lastTable: NAMES[20], done: false },
      { index: 3, startAfter: NAMES[20], lastTable: NAMES[24], done: true },
    ]);
    expect(written.flatMap((w) => w.file.findings.map((f) => f.tableName)).sort()).toEqual(NAMES);
    expect(described.size).toBe(25);
    expect([...described.values()].every((n) => n === 1)).toBe(true);
  });

  it('with Security Hub: every part imports its own findings; only the last lists the whole Region again, for the archive', async () => {
    fakeRegion(NAMES);
    hub.on(GetFindingsCommand).resolves({ Findings: [] });
    hub.on(BatchImportFindingsCommand).callsFake(async (input: { Findings: unknown[] }) => ({ FailedCount: 0, SuccessCount: input.Findings.length, FailedFindings: [] }));
    let input: ShardItem = item;
    const starts: (string | undefined)[][] = [];
    for (;;) {
      const before = ddb.commandCalls(ListTablesCommand).length;
      const out = await shard(input, { ...deps, securityHub: true }, { remainingMs: () => 900_000 });
      starts.push(ddb.commandCalls(ListTablesCommand).slice(before).map((c) => c.args[0].input.ExclusiveStartTableName));
      if (out.status !== 'CONTINUE') break;
      input = out.next;
    }
    // Parts 0-2 list once after their cursor; part 3 lists its range, then the whole Region (pages of 10).
    expect(starts).toEqual([[undefined], [NAMES[6]], [NAMES[13]], [NAMES[20], undefined, NAMES[9], NAMES[19]]]);
    expect(hub.commandCalls(GetFindingsCommand)).toHaveLength(4);
    expect(hub.commandCalls(BatchImportFindingsCommand).flatMap((c) => c.args[0].input.Findings ?? [])).toHaveLength(25);
  });

  it('a re-run of the same part (a Lambda retry) re-writes the same file with the same tables', async () => {
    fakeRegion(NAMES);
    const second = { ...item, continuation: { part: 1, startAfter: NAMES[6] as string, summary: { total: 7, compliant: 7, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 } } };
    const a = await shard(second, deps, { remainingMs: () => 900_000 });
    const b = await shard(second, deps, { remainingMs: () => 900_000 });
    expect(b).toEqual(a);
    const [x, y] = files();
    expect(x!.key).toBe(`runs/${item.runId}/shards/${SELF}/${REGION}.part-1.json`);
    expect(y!.key).toBe(x!.key);
    expect(y!.file.findings.map((f) => f.tableName)).toEqual(NAMES.slice(7, 14));
    expect(y!.file).toEqual(x!.file);
  });

  it('refuses a malformed continuation before reading anything', async () => {
    await expect(shard({ ...item, continuation: { part: 1, startAfter: '' } }, deps)).rejects.toMatchObject({ name: 'ShardFailedError', message: expect.stringContaining('continuation startAfter must be a table name') });
    expect(ddb.commandCalls(ListTablesCommand)).toHaveLength(0);
  });
});
