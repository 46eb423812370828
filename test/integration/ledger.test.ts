/**
 * The findings ledger on moto: the scheduled scan's job records every table; `since` stays while
 * the status stays and moves when it changes (previousStatus kept); an older run arriving late
 * changes nothing; concurrent writers of different runs end on the newest run. The reactor's
 * write from a prefetched item and its correction (IncidentLedger) run on moto's expression engine.
 */
import { CreateTableCommand, DynamoDBClient, ScanCommand, UpdateContinuousBackupsCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { localClients, seedTable } from '../../dev/seed';
import { parsePolicy } from '../../lib/core/config';
import { PacerPool } from '../../lib/aws/inventory';
import { scan } from '../../lib/aws/scan';
import { run, type ScheduledScanResult } from '../../lib/jobs/scheduled-scan';
import { silentLogger } from '../../lib/runtime/logger';
import { FindingsLedger } from '../../lib/state/ledger';
import { IncidentLedger } from '../../lib/state/incidents';
import type { Clients } from '../../lib/aws/clients';

const LEDGER = 'pitr-guard-findings';
const ACCOUNT = '123456789012';
const arn = (name: string) => `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${name}`;
let moto: MotoServer;
let clients: Clients;
let ddb: DynamoDBClient;

beforeAll(async () => {
  moto = await startMoto();
  clients = localClients(moto.endpoint);
  ddb = clients.get(DynamoDBClient, 'us-east-1');
  // The ledger lives in another Region than the scanned tables, as the stack's own table may.
  await clients.get(DynamoDBClient, 'eu-west-1').send(
    new CreateTableCommand({
      TableName: LEDGER,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'tableArn', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'tableArn', KeyType: 'HASH' }],
    }),
  );
  await seedTable(ddb, { tableName: 'orders', state: 'on', recoveryPeriodInDays: 35 });
  await seedTable(ddb, { tableName: 'payments', state: 'off' });
  await seedTable(ddb, { tableName: 'sessions', state: 'exempt', exemptReason: 'session cache, rebuilt on loss' });
});
afterAll(() => moto?.stop());

const ledger = () => new FindingsLedger(clients.get(DynamoDBClient, 'eu-west-1'), LEDGER);

async function items(): Promise<Record<string, Record<string, unknown>>> {
  const out = await clients.get(DynamoDBClient, 'eu-west-1').send(new ScanCommand({ TableName: LEDGER, ConsistentRead: true }));
  const plain = (v: AttributeValue): unknown => (v.S !== undefined ? v.S : v.L ? v.L.map(plain) : v);
  return Object.fromEntries((out.Items ?? []).map((i) => [i.tableArn!.S!, Object.fromEntries(Object.entries(i).map(([k, v]) => [k, plain(v)]))]));
}

function scanAt(iso: string, runId: string): Promise<ScheduledScanResult | unknown> {
  return run(
    { id: runId },
    {
      clients,
      pacers: new PacerPool(),
      policy: parsePolicy({ PITR_GUARD_REGIONS: 'us-east-1' }),
      logger: silentLogger,
      homeRegion: 'us-east-1',
      accountId: ACCOUNT,
      afterScan: [],
      ledger: ledger(),
      now: () => new Date(iso),
    },
  );
}

const T1 = '2026-11-21T10:00:00.000Z';
const T2 = '2026-11-21T11:00:00.000Z';
const T3 = '2026-11-21T12:00:00.000Z';

describe('findings ledger on moto', () => {
  /** A STATUS_CHANGED history entry as moto stores it (docs/ledger.md#history). */
  const changed = (at: string, detail: string) => ({ M: { at: { S: at }, event: { S: 'STATUS_CHANGED' }, detail: { S: detail } } });

  it('first run: one item per table, since = firstSeen = lastSeen = the run', async () => {
    await scanAt(T1, 'run-1');
    expect(await items()).toEqual({
      [arn('orders')]: { tableArn: arn('orders'), accountId: ACCOUNT, region: 'us-east-1', tableName: 'orders', status: 'COMPLIANT', reasons: ['PITR_ENABLED', 'RESTORE_WINDOW_NOT_FULL'], since: T1, firstSeen: T1, lastSeen: T1, lastRunId: 'run-1', history: [changed(T1, 'first seen -> COMPLIANT (PITR_ENABLED, RESTORE_WINDOW_NOT_FULL)')] },
      [arn('payments')]: { tableArn: arn('payments'), accountId: ACCOUNT, region: 'us-east-1', tableName: 'payments', status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED'], since: T1, firstSeen: T1, lastSeen: T1, lastRunId: 'run-1', history: [changed(T1, 'first seen -> NON_COMPLIANT (PITR_DISABLED)')] },
      [arn('sessions')]: expect.objectContaining({ status: 'EXEMPT', since: T1, firstSeen: T1, lastRunId: 'run-1' }),
    });
  });

  it('second run: since kept for unchanged tables; a fixed table moves to COMPLIANT since this run, previousStatus NON_COMPLIANT', async () => {
    await ddb.send(new UpdateContinuousBackupsCommand({ TableName: 'payments', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 } }));
    await scanAt(T2, 'run-2');
    const now = await items();
    expect(now[arn('orders')]).toEqual(expect.objectContaining({ status: 'COMPLIANT', since: T1, firstSeen: T1, lastSeen: T2, lastRunId: 'run-2' }));
    expect(now[arn('orders')]).not.toHaveProperty('previousStatus');
    expect(now[arn('payments')]).toEqual(expect.objectContaining({ status: 'COMPLIANT', previousStatus: 'NON_COMPLIANT', since: T2, firstSeen: T1, lastSeen: T2, lastRunId: 'run-2' }));
    expect(now[arn('sessions')]).toEqual(expect.objectContaining({ status: 'EXEMPT', since: T1, lastSeen: T2 }));
    // One entry per status change; the unchanged tables' steady-state writes append nothing.
    expect(now[arn('payments')]!.history).toEqual([changed(T1, 'first seen -> NON_COMPLIANT (PITR_DISABLED)'), changed(T2, 'NON_COMPLIANT -> COMPLIANT (PITR_ENABLED, RESTORE_WINDOW_NOT_FULL)')]);
    expect(now[arn('orders')]!.history).toHaveLength(1);
  });

  it('a late write of an older run changes nothing (stale)', async () => {
    const before = await items();
    const old = await scan({ policy: { regions: ['us-east-1'], minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, homeRegion: 'us-east-1', accountId: ACCOUNT }, { clients, now: () => new Date(T1) });
    old.findings.find((f) => f.tableName === 'payments')!.status = 'NON_COMPLIANT';
    const out = await ledger().write(old.findings, { runId: 'run-1-late', seenAt: T1 });
    expect(out.stale.sort()).toEqual([arn('orders'), arn('payments'), arn('sessions')]);
    expect(out.failed).toEqual([]);
    expect(await items()).toEqual(before);
  });

  it('concurrent writers of two runs (each twice) end on the newer run, since exact', async () => {
    const report = await scan({ policy: { regions: ['us-east-1'], minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, homeRegion: 'us-east-1', accountId: ACCOUNT }, { clients, now: () => new Date(T3) });
    const broken = report.findings.map((f) => (f.tableName === 'orders' ? { ...f, status: 'NON_COMPLIANT' as const, reasons: ['PITR_DISABLED' as const] } : f));
    const results = await Promise.all([
      ledger().write(report.findings, { runId: 'run-3', seenAt: T3 }),
      ledger().write(broken, { runId: 'run-4', seenAt: '2026-11-21T12:00:01.000Z' }),
      ledger().write(report.findings, { runId: 'run-3', seenAt: T3 }),
      ledger().write(broken, { runId: 'run-4', seenAt: '2026-11-21T12:00:01.000Z' }),
    ]);
    expect(results.flatMap((r) => r.failed)).toEqual([]);
    const now = await items();
    expect(Object.values(now).map((i) => i.lastRunId)).toEqual(['run-4', 'run-4', 'run-4']);
    expect(now[arn('orders')]).toEqual(expect.objectContaining({ status: 'NON_COMPLIANT', lastSeen: '2026-11-21T12:00:01.000Z', since: '2026-11-21T12:00:01.000Z', firstSeen: T1 }));
    expect(now[arn('payments')]).toEqual(expect.objectContaining({ status: 'COMPLIANT', since: T2 }));
    // Four racing writers, one status change: exactly one history entry for it.
    expect(now[arn('orders')]!.history).toEqual([changed(T1, 'first seen -> COMPLIANT (PITR_ENABLED, RESTORE_WINDOW_NOT_FULL)'), changed('2026-11-21T12:00:01.000Z', 'COMPLIANT -> NON_COMPLIANT (PITR_DISABLED)')]);
  });
});

describe('the reactor\'s incident write and its correction on moto (IncidentLedger)', () => {
  const table = { accountId: ACCOUNT, region: 'us-east-1', tableName: 'audit' };
  const settings = { remindHours: 24, loopLimit: 3, loopWindowMinutes: 60 };
  const incidents = () => new IncidentLedger(clients.get(DynamoDBClient, 'eu-west-1'), LEDGER, { sleep: async () => undefined });
  const item = async () => (await items())[arn('audit')] as Record<string, unknown> & { history: { M: { event: { S: string }; detail: { S: string } } }[] };

  it('written closed from a prefetch, reopened when the verify disagrees, closed again once confirmed; a stale correction writes nothing', async () => {
    const ledger = incidents();
    const prefetched = await ledger.prefetch(table);
    expect(prefetched).toEqual({ item: {} });
    const now = new Date();
    const recorded = await ledger.recordChange({ table, eventId: 'e-audit-1', disable: { at: now.toISOString(), principal: 'arn:aws:iam::123456789012:user/bob' }, alerted: true, fixed: true, now, settings, ...(prefetched ? { prefetched } : {}) });
    expect(recorded).toMatchObject({ incident: 'opened-and-resolved', loop: { count: 1, alert: 'ORDINARY' } });
    const incidentId = recorded.incidentId as string;
    expect(await item()).toMatchObject({ incidentState: 'CLOSED', fixedBy: 'pitr-guard', lifecycleVersion: { N: '1' } });

    expect(await ledger.correctFix({ table, incidentId, fixed: false, why: 'the verify found UNVERIFIED (AccessDeniedException)', now, settings })).toBe(true);
    const reopened = await item();
    expect(reopened).toMatchObject({ incidentId, incidentState: 'OPEN', lifecycleVersion: { N: '2' } });
    expect(reopened.fixedBy).toBeUndefined();
    expect(reopened.closedAt).toBeUndefined();
    expect(typeof reopened.reminderDueAt).toBe('string');
    expect(reopened.history.map((h) => h.M.event.S)).toEqual(['PITR_DISABLED', 'INCIDENT_OPENED', 'REMEDIATED', 'INCIDENT_CLOSED', 'INCIDENT_OPENED']);
    expect(reopened.history[4]?.M.detail.S).toBe(`${incidentId}: reopened: the verify found UNVERIFIED (AccessDeniedException)`);

    // Already open: a second reopen finds its condition false and writes nothing.
    expect(await ledger.correctFix({ table, incidentId, fixed: false, why: 'again', now, settings })).toBe(false);
    // A stale prefetch (version 0) makes the next write read again; it joins the reopened incident.
    const joined = await ledger.recordChange({ table, eventId: 'e-audit-2', alerted: true, fixed: false, now, settings, prefetched: { item: {} } });
    expect(joined).toMatchObject({ incident: 'joined', incidentId });
    expect(await ledger.correctFix({ table, incidentId, fixed: true, why: 'verified', now, settings })).toBe(true);
    expect(await item()).toMatchObject({ incidentId, incidentState: 'CLOSED', fixedBy: 'pitr-guard', lifecycleVersion: { N: '4' } });
  });
});
