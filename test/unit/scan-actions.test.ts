import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTagsOfResourceCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/clients';
import { evaluate } from '../../lib/evaluate';
import { AlertDeliveryError, type Notifier } from '../../lib/notifiers';
import type { RenderedAlert } from '../../lib/notifiers/format';
import { actOnScan } from '../../lib/scan-actions';
import { sortFindings, summarize, type ScanReport } from '../../lib/scan';
import type { Policy, TableFacts } from '../../lib/types';

const ddb = mockClient(DynamoDBClient);
const NOW = new Date('2026-11-21T10:00:00Z');
const evalPolicy = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };

/** Tables in "AWS": name → PITR enabled?, tags. UpdateContinuousBackups flips PITR on. */
let world: Record<string, { pitr: boolean; tags?: Record<string, string> }>;

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
      region: 'us-east-1',
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
    regions: ['us-east-1'],
    policy: evalPolicy,
    summary: summarize(findings),
    findings: sortFindings(findings),
    vanished: [],
    regionErrors: [],
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
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(0);
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
    expect(sns.sent).toHaveLength(1);
    expect(sns.sent[0]!.subject).toBe('[pitr-guard] Scan 123456789012: 1 table out of policy (1 re-enabled)');
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
