/**
 * `pitr-guard evidence` on moto: a ledger with history written by the real ledger writers (a scan
 * that opens an incident, the reactor's disable-and-remediate write), the folder written by the
 * CLI, `sha256sum -c MANIFEST.sha256` run inside it, the history trimmed to 100 entries on moto,
 * a non-empty folder refused without --force, and a run without a ledger that says so. moto does
 * not implement GetComplianceDetailsByConfigRule: the fault proxy answers it NoSuchConfigRuleException
 * (the absent-rule note); the rule's paged results are covered in test/unit/evidence.test.ts.
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Clients } from '../../lib/aws/clients';
import { scan } from '../../lib/aws/scan';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { IncidentLedger } from '../../lib/state/incidents';
import { FindingsLedger } from '../../lib/state/ledger';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';

const run = promisify(execFile);
const LEDGER = 'pitr-guard-findings';
const SETTINGS = { remindHours: 24, loopLimit: 3, loopWindowMinutes: 60 };
const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/ev-orders';
const root = mkdtempSync(path.join(tmpdir(), 'pitr-guard-evidence-'));
let moto: MotoServer;
let proxy: FaultProxy;
let clients: Clients;
const ddb = () => clients.get(DynamoDBClient, 'us-east-1');

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; err: string }> {
  let err = '';
  const io: CliIo = { env: { AWS_REGION: 'us-east-1', ...env }, stdout: () => undefined, stderr: (t) => void (err += t), isTTY: { stdin: false, stdout: false, stderr: false } };
  const code = await main(['node', 'pitr-guard', ...args, '--endpoint-url', proxy.endpoint], io);
  return { code, err };
}

async function createTable(name: string, key = 'pk'): Promise<void> {
  await ddb().send(
    new CreateTableCommand({ TableName: name, AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }], KeySchema: [{ AttributeName: key, KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }),
  );
}

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint, [{ operation: 'GetComplianceDetailsByConfigRule', fail: { status: 400, type: 'NoSuchConfigRuleException', message: 'The ConfigRule provided in the request is invalid.' } }]);
  clients = new Clients({ endpoint: moto.endpoint });
  await createTable(LEDGER, 'tableArn');
  await createTable('ev-orders');
  await createTable('ev-carts');
  await ddb().send(new UpdateContinuousBackupsCommand({ TableName: 'ev-carts', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 } }));
  // History: a scan sees ev-orders without PITR (incident opened), the reactor records a disable and its repair.
  const report = await scan({ policy: { regions: ['us-east-1'], minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, homeRegion: 'us-east-1' }, { clients, now: () => new Date('2026-11-30T08:00:00.000Z') });
  const out = await new FindingsLedger(ddb(), LEDGER, { lifecycle: SETTINGS }).write(report.findings, { runId: 'run-1', seenAt: '2026-11-30T08:00:00.000Z' });
  expect(out.failed).toEqual([]);
  await new IncidentLedger(ddb(), LEDGER).recordChange({
    table: { accountId: '123456789012', region: 'us-east-1', tableName: 'ev-orders' },
    eventId: 'ev-1',
    disable: { at: '2026-11-30T09:00:00.000Z', principal: 'arn:aws:iam::123456789012:user/mallory' },
    alerted: true,
    fixed: true,
    now: new Date('2026-11-30T09:00:02.000Z'),
    settings: SETTINGS,
  });
  // A table that was deleted since: in the ledger, not in the report.
  await ddb().send(
    new PutItemCommand({
      TableName: LEDGER,
      Item: { tableArn: { S: 'arn:aws:dynamodb:us-east-1:123456789012:table/ev-gone' }, accountId: { S: '123456789012' }, region: { S: 'us-east-1' }, tableName: { S: 'ev-gone' }, status: { S: 'COMPLIANT' } },
    }),
  );
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

describe('pitr-guard evidence on moto', () => {
  const dir = path.join(root, 'folder');
  let first: { code: number; err: string };

  beforeAll(async () => {
    first = await cli(['evidence', '--output', dir, '--regions', 'us-east-1', '--ledger-table', LEDGER, '--config-rule', 'pitr-guard-prod-dynamodb-pitr']);
  });

  it('writes the folder: every file, exit 1 (ev-orders has no PITR), the absent Config rule a note', () => {
    expect(first.code).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['MANIFEST.sha256', 'README.md', 'config-rule.json', 'history.csv', 'history.json', 'policy.json', 'report.csv', 'report.html', 'report.json']);
    expect(first.err).toContain('pitr-guard: note: no Config rule pitr-guard-prod-dynamodb-pitr in us-east-1 (config-rule.json says so)');
    expect(first.err).toContain(`wrote the evidence folder (9 files, 3 tables) to ${dir}`);
    expect(JSON.parse(readFileSync(path.join(dir, 'config-rule.json'), 'utf8'))).toEqual({ regions: [{ region: 'us-east-1', ruleName: 'pitr-guard-prod-dynamodb-pitr', status: 'NO_RULE' }] });
  });

  it('sha256sum -c MANIFEST.sha256 passes inside the folder, over every other file', async () => {
    const r = await run('sha256sum', ['--strict', '-c', 'MANIFEST.sha256'], { cwd: dir });
    expect(r.stdout.trim().split('\n').sort()).toEqual(['README.md: OK', 'config-rule.json: OK', 'history.csv: OK', 'history.json: OK', 'policy.json: OK', 'report.csv: OK', 'report.html: OK', 'report.json: OK']);
  });

  it('a changed file fails the check', async () => {
    const copy = path.join(root, 'tampered');
    mkdirSync(copy);
    for (const n of readdirSync(dir)) writeFileSync(path.join(copy, n), readFileSync(path.join(dir, n)));
    writeFileSync(path.join(copy, 'report.json'), readFileSync(path.join(dir, 'report.json'), 'utf8').replace('NON_COMPLIANT', 'COMPLIANT'));
    await expect(run('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: copy })).rejects.toMatchObject({ stdout: expect.stringContaining('report.json: FAILED') });
  });

  it("history.json: ev-orders' incident, who disabled PITR, what pitr-guard did; the deleted table too", () => {
    const h = JSON.parse(readFileSync(path.join(dir, 'history.json'), 'utf8')) as { ledger: unknown; tables: { tableArn: string; inReport: boolean; incident: unknown; history: { event: string; actor?: string; at: string }[] }[] };
    expect(h.ledger).toEqual({ tableName: LEDGER, region: 'us-east-1', status: 'OK' });
    expect(h.tables.map((t) => [t.tableArn.split('/')[1], t.inReport])).toEqual([['ev-carts', true], ['ev-gone', false], ['ev-orders', true], [LEDGER, true]]); // the ledger table is a scanned table too
    const orders = h.tables.find((t) => t.tableArn === ARN)!;
    expect(orders.history.map((e) => e.event)).toEqual(['STATUS_CHANGED', 'INCIDENT_OPENED', 'PITR_DISABLED', 'REMEDIATED', 'INCIDENT_CLOSED']);
    expect(orders.history[2]).toMatchObject({ at: '2026-11-30T09:00:00.000Z', actor: 'arn:aws:iam::123456789012:user/mallory' });
    expect(orders.incident).toMatchObject({ state: 'CLOSED', openedAt: '2026-11-30T08:00:00.000Z', closedAt: '2026-11-30T09:00:02.000Z', fixedBy: 'pitr-guard' });
    const csv = readFileSync(path.join(dir, 'history.csv'), 'utf8');
    expect(csv.split('\r\n')[0]).toBe('tableArn,accountId,region,tableName,status,since,inReport,at,event,detail,actor');
    expect(csv).toContain('PITR_DISABLED,UpdateContinuousBackups PointInTimeRecoveryEnabled=false (event ev-1),arn:aws:iam::123456789012:user/mallory');
  });

  it('policy.json and README.md: the policy in force and the time range covered', () => {
    const p = JSON.parse(readFileSync(path.join(dir, 'policy.json'), 'utf8')) as Record<string, unknown>;
    expect(p).toMatchObject({ mode: 'report', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], scope: { accounts: 'self' } });
    expect(p.timeRange).toEqual({ from: '2026-11-30T08:00:00.000Z', to: p.generatedAt });
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain(`**Time range covered: 2026-11-30T08:00:00.000Z to ${String(p.generatedAt)}.**`);
    expect(readme).toContain('`sha256sum -c MANIFEST.sha256`');
  });

  it('refuses the non-empty folder without --force (exit 2, one line, nothing read), writes it with --force', async () => {
    const before = proxy.calls.ListTables ?? 0;
    const r = await cli(['evidence', '--output', dir, '--regions', 'us-east-1']);
    expect(r).toEqual({ code: 2, err: `pitr-guard: --output ${JSON.stringify(dir)} is not empty: choose a new directory, or add --force to overwrite the evidence files in it\n` });
    expect(proxy.calls.ListTables ?? 0).toBe(before);
    const forced = await cli(['evidence', '--output', dir, '--regions', 'us-east-1', '--ledger-table', LEDGER, '--force', '--fail-on', 'never']);
    expect(forced.code).toBe(0);
    await run('sha256sum', ['--strict', '-c', 'MANIFEST.sha256'], { cwd: dir });
  });

  it('without a ledger: stderr and the README say there is no history', async () => {
    const bare = path.join(root, 'no-ledger');
    const r = await cli(['evidence', '--output', bare, '--regions', 'us-east-1', '--config-rule', 'none']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('pitr-guard: no findings ledger (--ledger-table or PITR_GUARD_FINDINGS_TABLE): the folder has no status history');
    expect(readFileSync(path.join(bare, 'README.md'), 'utf8')).toContain('Ledger: NO LEDGER: no findings ledger was named');
    expect(JSON.parse(readFileSync(path.join(bare, 'history.json'), 'utf8'))).toMatchObject({ ledger: { status: 'NO_LEDGER' }, tables: [] });
    await run('sha256sum', ['--strict', '-c', 'MANIFEST.sha256'], { cwd: bare });
  });

  it('an unreadable ledger is a blind spot: exit 1 even with nothing non-compliant under --fail-on error', async () => {
    const r = await cli(['evidence', '--output', path.join(root, 'bad-ledger'), '--regions', 'us-east-1', '--ledger-table', 'no-such-ledger', '--fail-on', 'error']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the findings ledger no-such-ledger \(us-east-1\) could not be read \(ResourceNotFoundException: /);
  });
});

describe('ledger history on moto', () => {
  it('stays at the last 100 entries: a status change on an item with 100 entries drops the oldest', async () => {
    const key = 'arn:aws:dynamodb:us-east-1:123456789012:table/ev-busy';
    const entries = Array.from({ length: 100 }, (_, i) => ({ M: { at: { S: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z` }, event: { S: 'STATUS_CHANGED' }, detail: { S: `entry ${i}` } } }));
    await ddb().send(
      new PutItemCommand({
        TableName: LEDGER,
        Item: { tableArn: { S: key }, accountId: { S: '123456789012' }, region: { S: 'us-east-1' }, tableName: { S: 'ev-busy' }, status: { S: 'COMPLIANT' }, lastSeen: { S: '2026-11-01T00:00:00.000Z' }, history: { L: entries } },
      }),
    );
    const finding = { accountId: '123456789012', region: 'us-east-1', tableName: 'ev-busy', tableArn: key, tableStatus: 'ACTIVE', status: 'NON_COMPLIANT' as const, reasons: ['PITR_DISABLED' as const], message: 'PITR is disabled.', pitr: { status: 'DISABLED', recoveryPeriodInDays: null, earliestRestorableDateTime: null, latestRestorableDateTime: null, restorableDays: null }, exemption: null, modeTag: null };
    const out = await new FindingsLedger(ddb(), LEDGER).write([finding], { runId: 'run-9', seenAt: '2026-12-01T00:00:00.000Z' });
    expect(out.failed).toEqual([]);
    const item = (await ddb().send(new GetItemCommand({ TableName: LEDGER, Key: { tableArn: { S: key } }, ConsistentRead: true }))).Item!;
    const history = item.history!.L!;
    expect(history).toHaveLength(100);
    expect(history[0]!.M!.detail!.S).toBe('entry 1');
    expect(history[99]!.M).toEqual({ at: { S: '2026-12-01T00:00:00.000Z' }, event: { S: 'STATUS_CHANGED' }, detail: { S: 'COMPLIANT -> NON_COMPLIANT (PITR_DISABLED)' } });
  });
});
