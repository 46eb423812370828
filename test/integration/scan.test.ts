/**
 * The foundation end to end on moto: 250 real tables in two Regions, scanned by the library, the
 * CLI (as a user runs it) and the scheduled-scan handler; throttling and a vanished table injected
 * by the fault proxy; DescribeContinuousBackups / ListTagsOfResource pacing measured on the wire.
 */
import { DeleteTableCommand, DescribeContinuousBackupsCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Clients } from '../../lib/aws/clients';
import { PacerPool } from '../../lib/aws/inventory';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { scan, type ScanReport } from '../../lib/aws/scan';
import { DYNAMODB_LIMITS, startFaultProxy, type FaultProxy } from '../../dev/local/proxy';
import { loadEvent } from '../helpers/builders';
import { captureLogs, lambdaContext } from '../helpers/lambda';
import { EXPECTED_REASONS, EXPECTED_STATUS, expectedSummary, localClients, roundRobinPlan, seed, seedTable } from '../../dev/seed';

const run = promisify(execFile);
const root = path.join(__dirname, '../..');
const tables = roundRobinPlan({ 'us-east-1': 130, 'eu-west-1': 120 });
const policy = { regions: ['us-east-1', 'eu-west-1'], minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
let moto: MotoServer;
let proxy: FaultProxy;

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  await seed(localClients(moto.endpoint), tables, { concurrency: 8 });
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

function expectMatchesSeed(report: ScanReport) {
  expect(report.accountId).toBe('123456789012');
  expect([...report.regions].sort()).toEqual(['eu-west-1', 'us-east-1']);
  expect(report.summary).toEqual(expectedSummary(tables));
  expect(report.summary).toEqual({ total: 250, compliant: 50, nonCompliant: 150, exempt: 50, notApplicable: 0, error: 0 });
  const byKey = new Map(report.findings.map((f) => [`${f.region}/${f.tableName}`, f]));
  expect(byKey.size).toBe(250);
  for (const t of tables) {
    const f = byKey.get(`${t.region}/${t.tableName}`);
    expect({ table: t.tableName, status: f?.status, reasons: f?.reasons }).toEqual({ table: t.tableName, status: EXPECTED_STATUS[t.state], reasons: EXPECTED_REASONS[t.state] });
  }
  // worst first
  const order = report.findings.map((f) => f.status);
  expect(order.indexOf('COMPLIANT')).toBeGreaterThan(order.lastIndexOf('NON_COMPLIANT'));
}

/** Replays call times through AWS's model (token bucket, 10/s, burst 10) and counts the throttles it would answer. */
function throttledBy(times: number[], rate = 10, burst = rate): number {
  let tokens = burst;
  let at = times[0] ?? 0;
  let throttled = 0;
  for (const t of times) {
    tokens = Math.min(burst, tokens + ((t - at) / 1000) * rate);
    at = t;
    if (tokens < 1) throttled++;
    else tokens -= 1;
  }
  return throttled;
}

describe('scan on moto', () => {
  it('moto returns RecoveryPeriodInDays (a current botocore is installed)', async () => {
    const ddb = localClients(moto.endpoint).get(DynamoDBClient, 'us-east-1');
    const out = await ddb.send(new DescribeContinuousBackupsCommand({ TableName: tables.find((t) => t.state === 'short')!.tableName }));
    expect(out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.RecoveryPeriodInDays).toBe(7);
  });

  it('reads all 250 tables with exact statuses, at DynamoDB\'s documented 10/s per Region, within AWS\'s token bucket', async () => {
    // AWS's limit as AWS counts it: a token bucket per (account, Region, operation), 10/s, burst 10
    const limited = await startFaultProxy(moto.endpoint, [], { limits: DYNAMODB_LIMITS });
    const pool = new PacerPool();
    const released: Record<string, number[]> = { 'us-east-1': [], 'eu-west-1': [] };
    for (const region of Object.keys(released)) {
      const pacer = pool.for('123456789012', region).describeContinuousBackups;
      const take = pacer.take.bind(pacer);
      pacer.take = () => take().then(() => void released[region]!.push(Date.now()));
    }
    try {
      const report = await scan({ policy, homeRegion: 'us-east-1' }, { clients: new Clients({ endpoint: limited.endpoint }), pacers: pool });
      expectMatchesSeed(report);
      expect(report.findings.find((f) => f.tableName === 'payments-001')?.pitr.recoveryPeriodInDays).toBe(7);
      // the pacer's releases, replayed through AWS's bucket: never a throttle
      for (const times of Object.values(released)) expect(throttledBy(times)).toBe(0);
      // On the wire the in-process proxy shares this CPU-starved process: at load ≥ 12 on 2 cores it
      // reads backlogged requests in bunches and can throttle a few; each one is retried, none lost
      // (the report above is exact). `npm run bench` prints the count: 0 on a quiet machine.
      const wireThrottles = limited.throttled.DescribeContinuousBackups ?? 0;
      expect(wireThrottles).toBeLessThanOrEqual(25);
      // tags in bulk: 100 tables per Tagging API call (130 + 120 tables: 2 calls per Region), no ListTagsOfResource
      expect(limited.calls).toMatchObject({ DescribeContinuousBackups: 250 + wireThrottles, GetResources: 4 });
      expect(limited.calls.ListTagsOfResource).toBeUndefined();
      // at the limit, not far below it (first call to last, per Region)
      for (const times of Object.values(released)) expect(((times.length - 1) * 1000) / (times[times.length - 1]! - times[0]!)).toBeGreaterThanOrEqual(8);
    } finally {
      await limited.stop();
    }
  });

  it('loses no table to throttling or 5xx, and drops only a table that was really deleted', async () => {
    const ddb = localClients(moto.endpoint).get(DynamoDBClient, 'us-east-1');
    await seedTable(ddb, { tableName: 'tmp-load-test', state: 'off' });
    proxy.setRules([
      { operation: 'DescribeContinuousBackups', times: 8, fail: { status: 400, type: 'ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' } },
      { operation: 'GetResources', times: 1, fail: { status: 400, type: 'ThrottlingException' } },
      { operation: 'DescribeTable', times: 3, fail: { status: 500, type: 'InternalServerError' } },
      { operation: 'ListTables', times: 1, fail: { status: 400, type: 'ThrottlingException' } },
      // the table disappears between ListTables and DescribeTable
      { operation: 'DescribeTable', match: (b) => b.TableName === 'tmp-load-test', fail: { status: 400, type: 'ResourceNotFoundException', message: 'Requested resource not found' } },
    ]);
    try {
      const report = await scan(
        { policy: { ...policy, regions: ['us-east-1'] }, homeRegion: 'us-east-1' },
        { clients: new Clients({ endpoint: proxy.endpoint }), inventory: { ratePerSecond: 100, vanishRecheckMs: 50 } },
      );
      expect(proxy.injected).toMatchObject({ DescribeContinuousBackups: 8, GetResources: 1, ListTables: 1 });
      expect(proxy.injected.DescribeTable).toBeGreaterThanOrEqual(3 + 2);
      expect(report.summary.total).toBe(130);
      expect(report.summary.error).toBe(0);
      expect(report.vanished).toEqual([{ region: 'us-east-1', tableName: 'tmp-load-test' }]);
      expect(report.findings.map((f) => f.tableName)).not.toContain('tmp-load-test');
    } finally {
      proxy.setRules([]);
      await ddb.send(new DeleteTableCommand({ TableName: 'tmp-load-test' }));
    }
  });

  it('reads tags per table (ListTagsOfResource) in a Region where the Tagging API is denied, with the same findings', async () => {
    proxy.setRules([
      { operation: 'GetResources', match: (_b, call) => call.region === 'eu-west-1', fail: { status: 400, type: 'AccessDeniedException', message: 'not authorized to perform: tag:GetResources' } },
    ]);
    proxy.seen.length = 0;
    try {
      const report = await scan({ policy, homeRegion: 'us-east-1' }, { clients: new Clients({ endpoint: proxy.endpoint }), inventory: { ratePerSecond: 100 } });
      expectMatchesSeed(report);
      const count = (operation: string, region: string) => proxy.seen.filter((s) => s.operation === operation && s.region === region).length;
      expect({ eu: count('ListTagsOfResource', 'eu-west-1'), us: count('ListTagsOfResource', 'us-east-1'), usBulk: count('GetResources', 'us-east-1') }).toEqual({ eu: 120, us: 0, usBulk: 2 });
    } finally {
      proxy.setRules([]);
    }
  });

  it('the CLI prints exactly the ScanReport as JSON and exits 1 on drift', async () => {
    const result = await run(
      process.execPath,
      [path.join(root, 'bin/pitr-guard.js'), 'scan', '--endpoint-url', moto.endpoint, '--regions', 'us-east-1,eu-west-1', '--format', 'json'],
      { env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_ENDPOINT_URL: '' }, maxBuffer: 64 * 1024 * 1024 },
    ).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    expectMatchesSeed(JSON.parse(result.stdout) as ScanReport);
  });

  it('the scheduled-scan handler scans the configured Regions and returns the summary', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: 'us-east-1', PITR_GUARD_REGIONS: 'us-east-1,eu-west-1' });
    try {
      let handler: (typeof import('../../functions/scheduled-scan'))['handler'] | undefined;
      jest.isolateModules(() => {
        handler = require('../../functions/scheduled-scan').handler;
      });
      const { result, lines } = await captureLogs(() => handler!(loadEvent('scheduled.json'), lambdaContext()));
      expect(result).toEqual({ accountId: '123456789012', regions: ['us-east-1', 'eu-west-1'], summary: expectedSummary(tables), regionErrors: 0, accounts: 1, accountErrors: 0, problems: true });
      expect(lines.filter((l) => l.event === 'finding')).toHaveLength(150);
      expect(lines.filter((l) => l.event === 'scan-summary')).toHaveLength(1);
    } finally {
      process.env = saved;
    }
  });
});
