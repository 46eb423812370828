import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTagsOfResourceCommand,
  UpdateContinuousBackupsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { evaluate } from '../../lib/core/evaluate';
import { createLogger } from '../../lib/runtime/logger';
import { AlertDeliveryError, type Notifier } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';
import { actOnScan, scanActionsHook } from '../../lib/act/scan-actions';
import { DELIVERY_RESERVE_MS, type SendOptions } from '../../lib/notify';
import { sortFindings, summarize, type ScanReport } from '../../lib/aws/scan';
import type { Policy, TableFacts } from '../../lib/core/types';
import { FindingsLedger } from '../../lib/state/ledger';

const ddb = mockClient(DynamoDBClient);
const NOW = new Date('2026-11-21T10:00:00Z');
const evalPolicy = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };

/** Tables in "AWS": name → PITR enabled?, tags. UpdateContinuousBackups flips PITR on. */
let world: Record<string, { pitr: boolean; tags?: Record<string, string>; region?: string }>;

function serve() {
  ddb.on(DescribeTableCommand).callsFake(({ TableName }: { TableName: string }) => ({
    Table: { TableName, TableArn: `arn:aws:dynamodb:us-east-1:123456789012:table/${TableName}`, TableStatus: 'ACTIVE' },
  }));
  ddb.on(ListTagsOfResourceCommand).callsFake(({ ResourceArn }: { ResourceArn: string }) => ({
    Tags: Object.entries(world[ResourceArn.split('/').pop() as string]?.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
  }));
  ddb.on(DescribeContinuousBackupsCommand).callsFake(({ TableName }: { TableName: string }) => ({
    ContinuousBackupsDescription: {
      ContinuousBackupsStatus: 'ENABLED',
      PointInTimeRecoveryDescription: world[TableName]?.pitr ? { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: 35 } : { PointInTimeRecoveryStatus: 'DISABLED' },
    },
  }));
  ddb.on(UpdateContinuousBackupsCommand).callsFake(({ TableName }: { TableName: string }) => {
    world[TableName]!.pitr = true;
    return {};
  });
}

function report(): ScanReport {
  const findings = Object.entries(world).map(([tableName, t]) => {
    const facts: TableFacts = {
      accountId: '123456789012',
      region: t.region ?? 'us-east-1',
      tableName,
      tableStatus: 'ACTIVE',
      pitr: t.pitr ? { status: 'ENABLED', recoveryPeriodInDays: 35, earliestRestorableDateTime: new Date('2026-01-01T00:00:00Z') } : { status: 'DISABLED' },
      tags: t.tags ?? {},
    };
    return evaluate(facts, evalPolicy, NOW);
  });
  return {
    generatedAt: NOW.toISOString(),
    accountId: '123456789012',
    accounts: [{ accountId: '123456789012', status: 'SCANNED' }],
    accountErrors: [],
    regions: [...new Set(findings.map((f) => f.region))].sort(),
    policy: evalPolicy,
    summary: summarize(findings),
    findings: sortFindings(findings),
    vanished: [],
    regionErrors: [],
    regionSummaries: [],
    shardErrors: [],
  };
}

class Channel implements Notifier {
  sent: RenderedAlert[] = [];
  constructor(
    readonly channel: Notifier['channel'],
    private readonly fail = false,
  ) {}
  async send(a: RenderedAlert) {
    if (this.fail) throw new Error('down');
    this.sent.push(a);
  }
}

const policy = (mode: Policy['mode'], dryRun = false): Policy => ({ mode, dryRun, regions: ['us-east-1'], ...evalPolicy });

beforeEach(() => {
  ddb.reset();
  world = { orders: { pitr: false }, payments: { pitr: false }, sessions: { pitr: true } };
  serve();
});

describe('actOnScan', () => {
  it('the hook bounds the digest channels by the time the invocation has left (less the delivery reserve)', async () => {
    const seen: number[] = [];
    const timed: Notifier = {
      channel: 'slack',
      async send(_a: RenderedAlert, o?: SendOptions) {
        seen.push(o?.timeLeftMs?.() ?? Number.NaN);
      },
    };
    await scanActionsHook({ notifiers: [timed] })(report(), { policy: policy('alert'), clients: new Clients() }, { remainingMs: () => 42_000 });
    expect(seen).toEqual([42_000 - DELIVERY_RESERVE_MS]);
  });

  it('alert: an account that could not be scanned is alerted even when every scanned table is compliant', async () => {
    world = { sessions: { pitr: true } };
    const sns = new Channel('sns');
    const r: ScanReport = {
      ...report(),
      accountErrors: [{ accountId: '210987654321', name: 'legacy', operation: 'AssumeRole', errorName: 'AccessDenied', message: 'm', fix: 'deploy the member template to this account' }],
    };
    const out = await actOnScan(r, { policy: policy('alert'), clients: new Clients() }, { notifiers: [sns] });
    expect(out.outcomes).toEqual([]);
    expect(sns.sent).toHaveLength(1);
    expect(sns.sent[0]!.subject).toBe('[pitr-guard] Scan 123456789012: 0 tables out of policy (1 account not scanned)');
    expect(sns.sent[0]!.text).toContain('Account 210987654321 (legacy) could not be scanned: AssumeRole failed with AccessDenied; fix: deploy the member template to this account');
  });

  it('remediate: fixes every non-compliant table, then sends ONE digest with the results', async () => {
    const sns = new Channel('sns');
    const out = await actOnScan(report(), { policy: policy('remediate'), clients: new Clients() }, { notifiers: [sns] });
    expect(out.outcomes.map((o) => [o.tableName, o.result])).toEqual([
      ['orders', 'ENABLED'],
      ['payments', 'ENABLED'],
    ]);
    expect(world.orders!.pitr && world.payments!.pitr).toBe(true);
    expect(sns.sent).toHaveLength(1);
    expect(sns.sent[0]!.subject).toBe('[pitr-guard] Scan 123456789012: 2 tables out of policy (2 re-enabled)');
  });

  it('alert: changes nothing, one digest listing the tables', async () => {
    const sns = new Channel('sns');
    const out = await actOnScan(report(), { policy: policy('alert'), clients: new Clients() }, { notifiers: [sns] });
    expect(out.outcomes.map((o) => o.result)).toEqual(['SKIPPED_MODE', 'SKIPPED_MODE']);
    expect(out.outcomes[0]).toMatchObject({ tableName: 'orders', mode: 'alert', attempts: 0, before: { status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED'] } });
    // Decided from what the scan read: not one more AWS call (no re-read of the tables).
    expect(ddb.calls()).toHaveLength(0);
    expect(sns.sent).toHaveLength(1);
    expect(sns.sent[0]!.text).toContain('- orders (us-east-1): PITR not enabled; alert only, not changed\n- payments (us-east-1): PITR not enabled; alert only, not changed\n');
  });

  it('remediate + dry run: changes nothing, digest says dry run', async () => {
    const sns = new Channel('sns');
    await actOnScan(report(), { policy: policy('remediate', true), clients: new Clients() }, { notifiers: [sns] });
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(0);
    expect(sns.sent[0]!.text).toContain('Mode remediate (dry run).');
  });

  it('report: no digest, unless a table tag asks for a stricter mode (then only that table)', async () => {
    const sns = new Channel('sns');
    await actOnScan(report(), { policy: policy('report'), clients: new Clients() }, { notifiers: [sns] });
    expect(sns.sent).toHaveLength(0);

    world.payments!.tags = { 'pitr-guard:mode': 'remediate' };
    const out = await actOnScan(report(), { policy: policy('report'), clients: new Clients() }, { notifiers: [sns] });
    expect(out.outcomes.map((o) => [o.tableName, o.result])).toEqual([
      ['orders', 'SKIPPED_MODE'],
      ['payments', 'ENABLED'],
    ]);
    // Decided from what the scan read: only the table whose tag asks for remediation gets a fresh PITR
    // read before its update, and the verification; nothing else is read again.
    expect(ddb.commandCalls(DescribeTableCommand)).toHaveLength(0);
    expect(ddb.commandCalls(ListTagsOfResourceCommand)).toHaveLength(0);
    // No read before the update: the one DescribeContinuousBackups verifies it.
    expect(ddb.commandCalls(DescribeContinuousBackupsCommand).map((c) => c.args[0].input.TableName)).toEqual(['payments']);
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand).map((c) => c.args[0].input.TableName)).toEqual(['payments']);
    expect(sns.sent).toHaveLength(1);
    expect(sns.sent[0]!.subject).toBe('[pitr-guard] Scan 123456789012: 1 table out of policy (1 re-enabled)');
  });

  it('alert mode: a weaker or unknown pitr-guard:mode tag is ignored without a read, and named in the one scan-actions line', async () => {
    world.orders!.tags = { 'pitr-guard:mode': 'report' };
    world.payments!.tags = { 'pitr-guard:mode': 'remediate' };
    world.carts = { pitr: false, tags: { 'pitr-guard:mode': 'yolo' } };
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const sns = new Channel('sns');
    const out = await actOnScan(report(), { policy: policy('alert'), clients: new Clients(), logger }, { notifiers: [sns] });
    expect(out.outcomes.map((o) => [o.tableName, o.result, o.mode])).toEqual([
      ['carts', 'SKIPPED_MODE', 'alert'],
      ['orders', 'SKIPPED_MODE', 'alert'],
      ['payments', 'ENABLED', 'remediate'],
    ]);
    expect(ddb.commandCalls(DescribeContinuousBackupsCommand).map((c) => c.args[0].input.TableName)).toEqual(['payments']);
    // One remediation line, for the one table remediated; nothing per skipped table.
    expect(lines.filter((l) => l.event === 'remediation').map((l) => l.tableName)).toEqual(['payments']);
    expect(lines.filter((l) => l.event === 'scan-actions')).toEqual([
      expect.objectContaining({
        results: { SKIPPED_MODE: 2, ENABLED: 1 },
        ignoredModeTagCount: 2,
        ignoredModeTags: [
          { region: 'us-east-1', tableName: 'carts', value: 'yolo' },
          { region: 'us-east-1', tableName: 'orders', value: 'report' },
        ],
      }),
    ]);
    expect(sns.sent[0]!.text).toContain('- carts (us-east-1): PITR not enabled; alert only, not changed\n');
  });

  it('remediation reads are paced per Region, not by one pacer set shared by every Region', async () => {
    // 2 tables in each of 2 Regions at 2 calls/s, 1 DescribeContinuousBackups each (the verification):
    // per Region 2 reads take ~0.5 s; one shared pacer set would space 4 over ~1.6 s.
    world = { a1: { pitr: false }, a2: { pitr: false }, b1: { pitr: false, region: 'eu-west-1' }, b2: { pitr: false, region: 'eu-west-1' } };
    const started = Date.now();
    const out = await actOnScan(report(), { policy: policy('remediate'), clients: new Clients(), inventory: { ratePerSecond: 2 } }, { notifiers: [], concurrency: 4 });
    const elapsed = Date.now() - started;
    expect(out.outcomes.map((o) => [o.region, o.tableName, o.result])).toEqual([
      ['eu-west-1', 'b1', 'ENABLED'],
      ['eu-west-1', 'b2', 'ENABLED'],
      ['us-east-1', 'a1', 'ENABLED'],
      ['us-east-1', 'a2', 'ENABLED'],
    ]);
    expect(elapsed).toBeGreaterThanOrEqual(450); // still paced within a Region
    expect(elapsed).toBeLessThan(1_200);
  });

  it('nothing to tell: no digest', async () => {
    world = { sessions: { pitr: true } };
    const sns = new Channel('sns');
    expect(await actOnScan(report(), { policy: policy('remediate'), clients: new Clients() }, { notifiers: [sns] })).toEqual({ outcomes: [] });
    expect(sns.sent).toHaveLength(0);
  });

  it('throws when every channel fails, so the scheduled invocation is retried', async () => {
    await expect(actOnScan(report(), { policy: policy('alert'), clients: new Clients() }, { notifiers: [new Channel('sns', true), new Channel('slack', true)] })).rejects.toBeInstanceOf(
      AlertDeliveryError,
    );
  });
});

describe('actOnScan with the alert lifecycle (a change digest)', () => {
  const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';
  const at = NOW.toISOString();
  const newOrders = { kind: 'NEW' as const, tableArn: ARN, accountId: '123456789012', region: 'us-east-1', tableName: 'orders', status: 'NON_COMPLIANT' as const, reasons: ['PITR_DISABLED'], incidentId: `${ARN}#${at}`, openedAt: at, at };
  const lifecycle = { transitions: [newOrders], openIncidents: [{ tableArn: ARN, incidentId: newOrders.incidentId, openedAt: at }] };
  const ledger = () => new FindingsLedger(new DynamoDBClient({}), 'pitr-guard-findings', { lifecycle: { remindHours: 24, loopLimit: 3, loopWindowMinutes: 60 } });

  it('nothing changed: no digest at all, one digest-skipped line with the open count', async () => {
    const sns = new Channel('sns');
    const lines: Record<string, unknown>[] = [];
    const out = await actOnScan(report(), { policy: policy('alert'), clients: new Clients(), ledger: ledger(), logger: createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }) }, { notifiers: [sns], lifecycle: { transitions: [], openIncidents: lifecycle.openIncidents } });
    expect(out.alert).toBeUndefined();
    expect(sns.sent).toEqual([]);
    expect(lines.find((l) => l.event === 'digest-skipped')).toMatchObject({ stillOpen: 1 });
  });

  it('mode report: nothing sent, whatever the transitions', async () => {
    const sns = new Channel('sns');
    await actOnScan(report(), { policy: policy('report'), clients: new Clients(), ledger: ledger() }, { notifiers: [sns], lifecycle });
    expect(sns.sent).toEqual([]);
  });

  it('remediate: the table it re-enabled is closed in the ledger (only while still open) and listed once, as new and fixed by pitr-guard', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    const sns = new Channel('sns');
    const out = await actOnScan(report(), { policy: policy('remediate'), clients: new Clients(), ledger: ledger(), now: () => NOW }, { notifiers: [sns], lifecycle });
    const close = ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input);
    expect(close).toHaveLength(1);
    expect(close[0]).toMatchObject({ Key: { tableArn: { S: ARN } }, ConditionExpression: 'incidentId = :incident AND incidentState = :open', ExpressionAttributeValues: expect.objectContaining({ ':by': { S: 'pitr-guard' } }) });
    expect(sns.sent.map((a) => a.subject)).toEqual(['[pitr-guard] 123456789012: 1 new; 0 still open']);
    expect(out.alert?.text).toContain('New (1):\n- orders (us-east-1, 123456789012): PITR not enabled; re-enabled (35 days) and verified: fixed by pitr-guard');
    expect(out.alert?.text).not.toContain('Resolved');
  });

  it('the ledger cannot close the incident: logged, the digest still goes out, the incident still counted open', async () => {
    ddb.on(UpdateItemCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const sns = new Channel('sns');
    const lines: Record<string, unknown>[] = [];
    await actOnScan(report(), { policy: policy('remediate'), clients: new Clients(), ledger: ledger(), logger: createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }) }, { notifiers: [sns], lifecycle });
    expect(lines.find((l) => l.event === 'ledger-failed')).toMatchObject({ level: 'error', tableArn: ARN });
    expect(sns.sent.map((a) => a.subject)).toEqual(['[pitr-guard] 123456789012: 1 new; 1 still open']);
  });
});
