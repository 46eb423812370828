/**
 * `pitr-guard drill` end to end against moto (moto's RestoreTableToPointInTime reads only
 * SourceTableName and TargetTableName, and its tables are ACTIVE at once): the built CLI restores,
 * checks, deletes the temporary table (ListTables after) and stores the record in the ledger; the
 * dry run changes nothing; a failed check (the fault proxy) and a wrong restore (rewritten
 * DescribeTable) still delete the temporary table; PITR off and --to outside the window are exit 2.
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { Clients } from '../../lib/aws/clients';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import type { DrillRecord, HistoryEntry } from '../../lib/core/types';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';
import { parseDrillTables } from '../../lib/core/drill';
import { DrillFailedError, runScheduledDrills } from '../../lib/jobs/drill';
import type { Notifier } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';

const root = path.join(__dirname, '../..');
const REGION = 'us-east-1';
const LEDGER = 'pitr-guard-findings';
let moto: MotoServer;
let ddb: DynamoDBClient;

async function tables(): Promise<string[]> {
  return (await ddb.send(new ListTablesCommand({}))).TableNames ?? [];
}

async function ledgerItem(tableName: string): Promise<Record<string, AttributeValue> | undefined> {
  const out = await ddb.send(new GetItemCommand({ TableName: LEDGER, Key: { tableArn: { S: `arn:aws:dynamodb:${REGION}:123456789012:table/${tableName}` } } }));
  return out.Item;
}

function capture(): CliIo & { out: string; err: string } {
  const c = {
    out: '',
    err: '',
    env: { AWS_REGION: REGION },
    stdout: (t: string) => void (c.out += t),
    stderr: (t: string) => void (c.err += t),
  };
  return c;
}

async function cli(args: string[], endpoint: string = moto.endpoint) {
  const c = capture();
  const code = await main(['node', 'pitr-guard', ...args, '--endpoint-url', endpoint], c);
  return { code, out: c.out, err: c.err };
}

beforeAll(async () => {
  moto = await startMoto();
  ddb = new Clients({ endpoint: moto.endpoint }).get(DynamoDBClient, REGION);
  await ddb.send(
    new CreateTableCommand({
      TableName: 'orders',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'customer', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [{ IndexName: 'byCustomer', KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (let i = 0; i < 25; i++) {
    await ddb.send(new PutItemCommand({ TableName: 'orders', Item: { pk: { S: `order-${i}` }, sk: { S: 'v1' }, customer: { S: `c-${i % 4}` } } }));
  }
  await ddb.send(new UpdateContinuousBackupsCommand({ TableName: 'orders', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }));
  await ddb.send(
    new CreateTableCommand({ TableName: 'carts', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }),
  );
  await ddb.send(
    new CreateTableCommand({ TableName: LEDGER, AttributeDefinitions: [{ AttributeName: 'tableArn', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'tableArn', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }),
  );
  // The done-when runs the real CLI: build it as `npm run build` does.
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: root, stdio: 'pipe' });
});

afterAll(async () => {
  await moto?.stop();
});

describe('pitr-guard drill on moto', () => {
  it('the built CLI with --yes --format json reports the restore duration and leaves no temporary table behind (done-when)', async () => {
    const before = await tables();
    const r = await new Promise<{ code: number; out: string; err: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ['bin/pitr-guard.js', 'drill', 'orders', '--yes', '--format', 'json', '--ledger-table', LEDGER, '--endpoint-url', moto.endpoint],
        { cwd: root, env: { ...process.env, AWS_REGION: REGION } },
        (error, out, err) => (error && typeof error.code !== 'number' ? reject(error) : resolve({ code: error ? (error.code as number) : 0, out, err })),
      );
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const record = JSON.parse(r.out) as DrillRecord;
    expect(record).toMatchObject({
      outcome: 'PASSED',
      tableName: 'orders',
      tableArn: `arn:aws:dynamodb:${REGION}:123456789012:table/orders`,
      accountId: '123456789012',
      region: REGION,
      requested: 'LATEST',
      cleanedUp: true,
      temporaryTableName: expect.stringMatching(/^orders-pitr-drill-\d{14}$/),
    });
    expect(typeof record.restoreSeconds).toBe('number');
    expect(record.restoreSeconds).toBeGreaterThanOrEqual(0);
    expect(record.restorePoint).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(record.checks.map((c) => [c.name, c.passed])).toEqual([
      ['restored', true],
      ['key-schema', true],
      ['global-secondary-indexes', true],
      ['local-secondary-indexes', true],
      ['item-count', true],
      ['restore-point', true],
      ['tagged', true],
    ]);
    expect(record.checks.find((c) => c.name === 'item-count')?.detail).toMatch(/^25 items counted by Scan/);
    // Nothing left behind, the source untouched.
    expect(await tables()).toEqual(before);
    const item = await ledgerItem('orders');
    expect(JSON.parse(item?.lastDrill?.S ?? '{}')).toEqual(record);
    expect(JSON.parse(item?.lastSuccessfulDrill?.S ?? '{}')).toEqual(record);
    expect(item?.drills?.L).toHaveLength(1);
    const history = item?.history?.L?.map((e) => ({ at: e.M?.at?.S, event: e.M?.event?.S, detail: e.M?.detail?.S })) as HistoryEntry[];
    expect(history).toEqual([{ at: record.finishedAt, event: 'DRILL', detail: expect.stringMatching(new RegExp(`^drill ${record.drillId} PASSED: restored in `)) }]);
  });

  it('without --yes prints the plan and its cost and changes nothing', async () => {
    const before = await tables();
    const beforeItem = await ledgerItem('orders');
    const r = await cli(['drill', 'orders', '--ledger-table', LEDGER]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Restore drill plan: nothing was changed \(run again with --yes to do it\)\n/);
    expect(r.out).toMatch(/Temporary table\s+orders-pitr-drill-\d{14}\n/);
    expect(r.out).toMatch(/Cost: restore\s+restore is billed per GB restored .*price not known to pitr-guard/);
    expect(r.out).toContain('pitr-guard:exempt=restore drill - deleted automatically');
    const json = await cli(['drill', 'orders', '--format', 'json']);
    expect(JSON.parse(json.out)).toMatchObject({ dryRun: true, plan: { tableName: 'orders', requested: 'LATEST', checks: expect.arrayContaining(['key-schema', 'item-count']) }, ledgerTable: null });
    expect(await tables()).toEqual(before);
    expect(await ledgerItem('orders')).toEqual(beforeItem);
  });

  it('refuses, with exit 2 and one line, a table without PITR, a missing table, --to outside the window, --to with --latest', async () => {
    const off = await cli(['drill', 'carts', '--yes']);
    expect(off).toEqual({ code: 2, out: '', err: 'pitr-guard: table carts has point-in-time recovery off: there is nothing to restore from (enable PITR first)\n' });
    const missing = await cli(['drill', 'no-such-table', '--yes']);
    expect(missing).toEqual({ code: 2, out: '', err: 'pitr-guard: table no-such-table does not exist\n' });
    const early = await cli(['drill', 'orders', '--yes', '--to', '2020-01-01T00:00:00Z']);
    expect(early.code).toBe(2);
    expect(early.err).toMatch(/^pitr-guard: --to=2020-01-01T00:00:00.000Z is outside the restorable window of orders \(.+ to .+\)\n$/);
    const both = await cli(['drill', 'orders', '--to', '2020-01-01T00:00:00Z', '--latest']);
    expect(both.err).toBe('pitr-guard: --to and --latest exclude each other: give one (the default is --latest)\n');
    const bad = await cli(['drill', 'orders', '--to', 'yesterday']);
    expect(bad.err).toMatch(/^pitr-guard: Invalid --to="yesterday": must be an ISO 8601 time with a zone/);
    expect((await tables()).filter((t) => t.includes('-pitr-drill-'))).toEqual([]);
  });

  describe('failures still delete the temporary table', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(moto.endpoint);
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it('a failing check (Scan refused) is FAILED, exit 1, and the temporary table is gone', async () => {
      proxy.setRules([{ operation: 'Scan', fail: { status: 400, type: 'AccessDeniedException', message: 'not allowed to Scan' } }]);
      const before = await tables();
      const r = await cli(['drill', 'orders', '--yes', '--format', 'json', '--ledger-table', LEDGER], proxy.endpoint);
      expect(r.code).toBe(1);
      const record = JSON.parse(r.out) as DrillRecord;
      expect(record.outcome).toBe('FAILED');
      expect(record.cleanedUp).toBe(true);
      expect(record.error).toMatch(/unexpected error: not allowed to Scan|AccessDeniedException/);
      expect(await tables()).toEqual(before);
      expect(proxy.seen.filter((c) => c.operation === 'DeleteTable').map((c) => c.body.TableName)).toEqual([record.temporaryTableName]);
      // The failed drill is the last drill; the last successful one is still the earlier drill.
      const item = await ledgerItem('orders');
      expect(JSON.parse(item?.lastDrill?.S ?? '{}').drillId).toBe(record.drillId);
      expect(JSON.parse(item?.lastSuccessfulDrill?.S ?? '{}').drillId).not.toBe(record.drillId);
      expect(item?.history?.L?.at(-1)?.M?.detail?.S).toMatch(new RegExp(`^drill ${record.drillId} FAILED`));
    });

    it('a restored table whose key schema differs from the source fails that check and is still deleted', async () => {
      proxy.setRules([
        {
          operation: 'RestoreTableToPointInTime',
          rewrite: (answer) => {
            const t = answer.TableDescription as Record<string, unknown>;
            return { ...answer, TableDescription: { ...t, TableStatus: 'CREATING' } };
          },
        },
        {
          operation: 'DescribeTable',
          times: 1,
          match: (body) => String(body.TableName).includes('-pitr-drill-'),
          rewrite: (answer) => {
            const t = answer.Table as Record<string, unknown>;
            return { ...answer, Table: { ...t, KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] } };
          },
        },
      ]);
      const before = await tables();
      const r = await cli(['drill', 'orders', '--yes', '--format', 'json'], proxy.endpoint);
      expect(r.code).toBe(1);
      const record = JSON.parse(r.out) as DrillRecord;
      expect(record.checks.find((c) => c.name === 'key-schema')).toEqual({ name: 'key-schema', passed: false, detail: 'source pk HASH, sk RANGE, restored pk HASH' });
      expect(record.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['key-schema']);
      expect(record.cleanedUp).toBe(true);
      expect(await tables()).toEqual(before);
    });
  });

  describe('the scheduled drill (lib/jobs/drill.ts) on moto', () => {
    const sent: RenderedAlert[] = [];
    const notifier = { channel: 'sns', send: async (a: RenderedAlert) => void sent.push(a) } as unknown as Notifier;
    const deps = (tables: string) => ({
      clients: new Clients({ endpoint: moto.endpoint }),
      targets: parseDrillTables(tables, 'PITR_GUARD_DRILL_TABLES'),
      accountId: '123456789012',
      exemptTag: 'pitr-guard:exempt',
      homeRegion: REGION,
      ledgerTable: LEDGER,
      notifiers: [notifier],
    });

    it('drills the configured table, records it, alerts nothing, and leaves no temporary table', async () => {
      const before = await tables();
      const result = await runScheduledDrills(deps(`${REGION}:orders`), { remainingMs: () => 880_000 });
      expect(result.drills.map((d) => [d.tableName, d.outcome, d.cleanedUp])).toEqual([['orders', 'PASSED', true]]);
      expect(await tables()).toEqual(before);
      expect(JSON.parse((await ledgerItem('orders'))?.lastDrill?.S ?? '{}').drillId).toBe(result.drills[0]!.drillId);
      expect(sent).toEqual([]);
    });

    it('a table without PITR: alerted once, the invocation fails, nothing created', async () => {
      const before = await tables();
      await expect(runScheduledDrills(deps(`${REGION}:carts,${REGION}:orders`), { remainingMs: () => 880_000 })).rejects.toThrow(DrillFailedError);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.subject).toBe('[pitr-guard] Restore drill FAILED: carts (us-east-1) in 123456789012');
      expect(await tables()).toEqual(before);
      // The other table was still drilled.
      expect(JSON.parse((await ledgerItem('orders'))?.lastDrill?.S ?? '{}').outcome).toBe('PASSED');
    });
  });
});
