import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTagsOfResourceCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { EventInProgressError, RemediationDeferredError, run, type PitrChangeDeps } from '../../functions/pitr-change';
import { Clients } from '../../lib/aws/clients';
import { DynamoIdempotencyStore, MemoryIdempotencyStore } from '../../lib/state/idempotency';
import { createLogger } from '../../lib/runtime/logger';
import { AlertDeliveryError, type Notifier } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';
import type { Policy } from '../../lib/core/types';
import { awsError } from '../helpers/aws-errors';
import { loadEvent } from '../helpers/builders';
import { captureLogs, lambdaContext } from '../helpers/lambda';

const ddb = mockClient(DynamoDBClient);
const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';
const disabled = { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED' as const, PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' as const } } };
const enabled = { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED' as const, PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED' as const, RecoveryPeriodInDays: 35 } } };

class FakeChannel implements Notifier {
  sent: RenderedAlert[] = [];
  failNext = 0;
  constructor(readonly channel: Notifier['channel']) {}
  async send(alert: RenderedAlert): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error(`${this.channel} down`);
    }
    this.sent.push(alert);
  }
}

let sns: FakeChannel;
let slack: FakeChannel;
let store: MemoryIdempotencyStore;
let lines: Record<string, unknown>[];

function deps(overrides: Partial<Policy> = {}, extra: Partial<PitrChangeDeps> = {}): PitrChangeDeps {
  let t = Date.parse('2026-11-20T10:15:33Z'); // a virtual clock: sleeping advances it
  return {
    now: () => new Date(t),
    policy: { mode: 'remediate', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false, ...overrides },
    clients: new Clients(),
    logger: createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
    homeRegion: 'us-east-1',
    accountId: '123456789012',
    notifiers: [sns, slack],
    idempotency: store,
    sleep: async (ms) => {
      t += ms;
    },
    remediate: { waitForActiveMs: 5_000 },
    ...extra,
  };
}

function table(status: string, pitr: typeof disabled | typeof enabled, tags: Record<string, string> = {}) {
  ddb.on(DescribeTableCommand).resolves({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: status as 'ACTIVE' } });
  ddb.on(ListTagsOfResourceCommand).resolves({ Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
  ddb.on(DescribeContinuousBackupsCommand).resolves(pitr);
}

beforeEach(() => {
  ddb.reset();
  sns = new FakeChannel('sns');
  slack = new FakeChannel('slack');
  store = new MemoryIdempotencyStore();
  lines = [];
});

describe('pitrChange run', () => {
  it('re-enables PITR on a disable event and alerts both channels with the attribution', async () => {
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps());
    expect(out).toMatchObject({ status: 'handled', result: 'ENABLED', eventId: '0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f', table: { tableName: 'orders' } });
    expect(out.alert?.subject).toBe('[pitr-guard] PITR disabled on orders (123456789012 us-east-1): re-enabled');
    expect(out.alert?.lines).toContain('Who:            arn:aws:sts::123456789012:assumed-role/Admin/alice');
    expect(out.alert?.delivered).toEqual(['sns', 'slack']);
    expect(sns.sent).toHaveLength(1);
    expect(slack.sent).toHaveLength(1);
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)[0]!.args[0].input.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 });
    expect(store.records.get('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f')).toMatchObject({ status: 'COMPLETED', result: 'ENABLED' });
  });

  it('a duplicate delivery of the same event neither acts nor alerts again', async () => {
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    const d = deps();
    await run(loadEvent('cloudtrail-pitr-disabled.json'), d);
    const again = await run(loadEvent('cloudtrail-pitr-disabled.json'), d);
    expect(again).toMatchObject({ status: 'duplicate', result: 'ENABLED' });
    expect(sns.sent).toHaveLength(1);
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(1);
  });

  it('its own re-enable event finds the table compliant and does nothing', async () => {
    table('ACTIVE', enabled);
    const out = await run(loadEvent('cloudtrail-pitr-enabled.json'), deps());
    expect(out).toMatchObject({ status: 'handled', result: 'ALREADY_COMPLIANT' });
    expect(out.alert).toBeUndefined();
    expect(sns.sent).toHaveLength(0);
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(0);
  });

  it('report mode: logs the finding, no alert, no change', async () => {
    table('ACTIVE', disabled);
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({ mode: 'report' }));
    expect(out).toMatchObject({ status: 'handled', result: 'SKIPPED_MODE' });
    expect(sns.sent).toHaveLength(0);
    expect(lines.find((l) => l.event === 'finding')).toMatchObject({ level: 'warn', status: 'NON_COMPLIANT' });
  });

  it('alert mode and dry run: alert, no change', async () => {
    table('ACTIVE', disabled);
    expect(await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({ mode: 'alert' }))).toMatchObject({ result: 'SKIPPED_MODE' });
    expect(await run(loadEvent('cloudtrail-period-shortened.json'), deps({ dryRun: true }))).toMatchObject({ result: 'SKIPPED_DRY_RUN' });
    expect(sns.sent.map((a) => a.subject)).toEqual([
      '[pitr-guard] PITR disabled on orders (123456789012 us-east-1): alert only',
      '[pitr-guard] PITR period set to 7 days on orders (123456789012 us-east-1): dry run',
    ]);
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(0);
  });

  it('rejects a malformed event with one log line naming what is missing, and no action', async () => {
    const event = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-pitr-disabled.json');
    delete event.detail.eventID;
    const out = await run(event, deps());
    expect(out).toEqual({ status: 'rejected', reason: 'missing detail.eventID' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', message: 'rejected malformed event: missing detail.eventID', event: 'event-rejected', missing: ['detail.eventID'] });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('rejects an event without the CloudTrail envelope (no source) or with a forged one: one line, nothing read or changed', async () => {
    const noSource = loadEvent<Record<string, unknown>>('cloudtrail-pitr-disabled.json');
    delete noSource.source;
    expect(await run(noSource, deps())).toEqual({ status: 'rejected', reason: 'missing source' });
    const forged = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-pitr-disabled.json');
    forged.detail.eventSource = 'evil.example.com';
    expect(await run(forged, deps())).toMatchObject({ status: 'rejected', reason: expect.stringContaining('detail.eventSource "evil.example.com" is not dynamodb.amazonaws.com') });
    expect(lines.map((l) => [l.level, l.event])).toEqual([
      ['warn', 'event-rejected'],
      ['warn', 'event-rejected'],
    ]);
    expect(lines[0]).toMatchObject({ message: 'rejected malformed event: missing source', missing: ['source'] });
    expect(ddb.calls()).toHaveLength(0);
    expect(sns.sent).toHaveLength(0);
  });

  it.each([
    ['throttled', 'ProvisionedThroughputExceededException'],
    ['access denied', 'AccessDeniedException'],
    ['table missing', 'ResourceNotFoundException'],
  ])('de-duplication table unusable (%s): warns with the error name and still re-enables and alerts', async (_why, errorName) => {
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    ddb.on(PutItemCommand).rejects(awsError(errorName));
    ddb.on(UpdateItemCommand).rejects(awsError(errorName));
    const store = new DynamoIdempotencyStore(new DynamoDBClient({ region: 'us-east-1' }), 'pitr-guard-idempotency');
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({}, { idempotency: store }));
    expect(out).toMatchObject({ status: 'handled', result: 'ENABLED', alert: { delivered: ['sns', 'slack'] } });
    expect(ddb).toHaveReceivedCommandWith(UpdateContinuousBackupsCommand, {
      TableName: 'orders',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 },
    });
    expect(lines.filter((l) => l.event === 'idempotency-unavailable')).toEqual([expect.objectContaining({ level: 'warn', operation: 'PutItem', errorName })]);
    // Without a claim there is nothing to mark COMPLETED: no further call to the table.
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    expect(sns.sent).toHaveLength(1);
  });

  it('a failure to mark the event COMPLETED after the work and the alert is logged, not thrown', async () => {
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    ddb.on(PutItemCommand).resolves({});
    ddb.on(UpdateItemCommand).rejects(awsError('ProvisionedThroughputExceededException'));
    const store = new DynamoIdempotencyStore(new DynamoDBClient({ region: 'us-east-1' }), 'pitr-guard-idempotency');
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({}, { idempotency: store }));
    expect(out).toMatchObject({ status: 'handled', result: 'ENABLED', alert: { delivered: ['sns', 'slack'] } });
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, { TableName: 'pitr-guard-idempotency', ExpressionAttributeValues: expect.objectContaining({ ':s': { S: 'COMPLETED' } }) });
    expect(lines.filter((l) => l.event === 'idempotency-complete-failed')).toEqual([
      expect.objectContaining({ level: 'error', errorName: 'ProvisionedThroughputExceededException', result: 'ENABLED' }),
    ]);
  });

  it('exempt table, PITR disabled (alert and remediate mode): one informational alert, nothing changed, de-duplicated', async () => {
    table('ACTIVE', disabled, { 'pitr-guard:exempt': 'rebuilt nightly from S3', 'pitr-guard:exempt-until': '2027-01-31' });
    const d = deps();
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), d);
    expect(out).toMatchObject({ status: 'handled', result: 'ALREADY_COMPLIANT', alert: { delivered: ['sns', 'slack'] } });
    expect(out.alert?.subject).toBe('[pitr-guard] PITR disabled on orders (123456789012 us-east-1): exempt, not changed');
    expect(out.alert?.lines).toEqual(
      expect.arrayContaining([
        'Who:            arn:aws:sts::123456789012:assumed-role/Admin/alice',
        'pitr-guard did: Not re-enabled: the table is exempt: rebuilt nightly from S3, until 2027-01-31.',
        'State now:      Exempt from the PITR policy until 2027-01-31: rebuilt nightly from S3.',
      ]),
    );
    expect(out.alert?.lines.some((l) => l.startsWith('To enable PITR by hand'))).toBe(false);
    expect(await run(loadEvent('cloudtrail-pitr-disabled.json'), d)).toMatchObject({ status: 'duplicate' });
    expect(sns.sent).toHaveLength(1);
    expect(slack.sent).toHaveLength(1);

    // alert mode, a period shortened below the policy, no expiry date
    table('ACTIVE', enabled, { 'pitr-guard:exempt': 'scratch data' });
    const shortened = await run(loadEvent('cloudtrail-period-shortened.json'), deps({ mode: 'alert' }));
    expect(shortened.alert?.lines).toContain('pitr-guard did: Not set back: the table is exempt: scratch data.');
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(0);
    expect(store.records.get('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f')).toMatchObject({ status: 'COMPLETED', result: 'ALREADY_COMPLIANT' });
  });

  it('exempt table: no alert in report mode, nor for a table created or restored', async () => {
    table('ACTIVE', disabled, { 'pitr-guard:exempt': 'scratch data' });
    expect(await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({ mode: 'report' }))).toMatchObject({ status: 'handled', result: 'ALREADY_COMPLIANT' });
    expect(lines.filter((l) => l.event === 'exempt-change')).toHaveLength(1);
    for (const name of ['cloudtrail-create-table.json', 'cloudtrail-restore-point-in-time.json']) {
      expect(await run(loadEvent(name), deps())).toMatchObject({ status: 'handled', result: 'ALREADY_COMPLIANT' });
    }
    expect(sns.sent).toHaveLength(0);
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(0);
  });

  it('minRecoveryDays 7: its own re-enable (period 7, which the rule matches) finds the table compliant: no alert, no change', async () => {
    const own = loadEvent<{ detail: { requestParameters: { pointInTimeRecoverySpecification: Record<string, unknown> } } }>('cloudtrail-pitr-enabled.json');
    own.detail.requestParameters.pointInTimeRecoverySpecification.recoveryPeriodInDays = 7;
    table('ACTIVE', { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: 7 } } } as unknown as typeof enabled);
    const out = await run(own, deps({ minRecoveryDays: 7 }));
    expect(out).toMatchObject({ status: 'handled', result: 'ALREADY_COMPLIANT' });
    expect(out.alert).toBeUndefined();
    expect(sns.sent).toHaveLength(0);
    expect(slack.sent).toHaveLength(0);
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(0);
    expect(store.records.get('8f4a5b6c-7d8e-4f90-a1b2-c3d4e5f6a7b8')).toMatchObject({ status: 'COMPLETED', result: 'ALREADY_COMPLIANT' });
  });

  it('ignores events of other accounts and unconfigured Regions with one log line', async () => {
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({ regions: ['eu-west-1'] }));
    expect(out).toMatchObject({ status: 'ignored', reason: 'Region us-east-1 is not configured (PITR_GUARD_REGIONS: eu-west-1)' });
    const other = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({}, { accountId: '999999999999' }));
    expect(other).toMatchObject({ status: 'ignored' });
    expect(lines.map((l) => l.event)).toEqual(['event-ignored', 'event-ignored']);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('a failed call is ignored (the pattern filters it too)', async () => {
    expect(await run(loadEvent('cloudtrail-failed-call.json'), deps())).toMatchObject({ status: 'ignored' });
  });

  it('DEFERRED: alerts once, fails the invocation for a retry; the retry that succeeds alerts the result', async () => {
    table('CREATING', disabled);
    const d = deps();
    await expect(run(loadEvent('cloudtrail-create-table.json'), d)).rejects.toBeInstanceOf(RemediationDeferredError);
    await expect(run(loadEvent('cloudtrail-create-table.json'), d)).rejects.toBeInstanceOf(RemediationDeferredError);
    expect(sns.sent.map((a) => a.subject)).toEqual(['[pitr-guard] Table invoices created without PITR (123456789012 us-east-1): deferred']);
    ddb.reset();
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    const out = await run(loadEvent('cloudtrail-create-table.json'), d);
    expect(out).toMatchObject({ status: 'handled', result: 'ENABLED' });
    expect(sns.sent.map((a) => a.subject)[1]).toBe('[pitr-guard] Table invoices created without PITR (123456789012 us-east-1): enabled');
    expect(store.records.get('cd8e9f0a-1b2c-4d34-a5f6-a7b8c9d0e1f2')).toMatchObject({ status: 'COMPLETED', attempts: 3 });
  });

  it('every channel failing throws (Lambda retries); the retry delivers the same alert although the table is fixed by now', async () => {
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    sns.failNext = 1;
    slack.failNext = 1;
    const d = deps();
    await expect(run(loadEvent('cloudtrail-pitr-disabled.json'), d)).rejects.toBeInstanceOf(AlertDeliveryError);
    expect(store.records.get('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f')).toMatchObject({ status: 'RETRY', pendingAlert: expect.any(String) });
    const retry = await run(loadEvent('cloudtrail-pitr-disabled.json'), d);
    expect(retry).toMatchObject({ status: 'handled', message: 'delivered the alert of an earlier attempt' });
    expect(sns.sent.map((a) => a.subject)).toEqual(['[pitr-guard] PITR disabled on orders (123456789012 us-east-1): re-enabled']);
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(1);
  });

  it('a "deferred" alert that could not be delivered is not kept: the retry remediates (and alerts) instead', async () => {
    table('CREATING', disabled);
    sns.failNext = 1;
    slack.failNext = 1;
    const d = deps();
    await expect(run(loadEvent('cloudtrail-create-table.json'), d)).rejects.toBeInstanceOf(AlertDeliveryError);
    expect(store.records.get('cd8e9f0a-1b2c-4d34-a5f6-a7b8c9d0e1f2')).toMatchObject({ status: 'RETRY' });
    expect(store.records.get('cd8e9f0a-1b2c-4d34-a5f6-a7b8c9d0e1f2')?.pendingAlert).toBeUndefined();
    ddb.reset();
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    expect(await run(loadEvent('cloudtrail-create-table.json'), d)).toMatchObject({ status: 'handled', result: 'ENABLED' });
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(1);
    expect(sns.sent.map((a) => a.subject)).toEqual(['[pitr-guard] Table invoices created without PITR (123456789012 us-east-1): enabled']);
  });

  it('one channel failing still completes the event', async () => {
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    slack.failNext = 1;
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps());
    expect(out.alert).toMatchObject({ delivered: ['sns'], failed: [{ channel: 'slack', message: 'slack down' }] });
  });

  it('an event another invocation is handling right now fails this one (retried later)', async () => {
    await store.claim('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f', 60_000);
    await expect(run(loadEvent('cloudtrail-pitr-disabled.json'), deps())).rejects.toBeInstanceOf(EventInProgressError);
  });

  it('a table just created but not visible yet is retried, not dropped; an old one is taken as deleted', async () => {
    ddb.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException'));
    const fresh = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-create-table.json');
    fresh.detail.eventTime = '2026-11-20T10:10:00Z'; // 5 minutes before the test clock
    await expect(run(fresh, deps())).rejects.toThrow('invoices: the new table is not visible to DescribeTable yet');
    expect(store.records.get('cd8e9f0a-1b2c-4d34-a5f6-a7b8c9d0e1f2')).toMatchObject({ status: 'RETRY' });
    const old = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-create-table.json');
    old.detail.eventID = '0ddc7ea7-0000-4000-8000-000000000001';
    old.detail.eventTime = '2026-11-20T09:00:00Z';
    expect(await run(old, deps())).toMatchObject({ status: 'handled', result: 'FAILED' });
    expect(sns.sent).toHaveLength(0);
  });

  it('a table deleted since the event: nothing to do, nothing to say', async () => {
    ddb.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException'));
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({}, { remediate: { waitForActiveMs: 1 } }));
    expect(out).toMatchObject({ status: 'handled', result: 'FAILED' });
    expect(sns.sent).toHaveLength(0);
  });

  it('a read failure (AccessDenied) is alerted as FAILED and completed', async () => {
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).rejects(awsError('AccessDeniedException'));
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps());
    expect(out).toMatchObject({ result: 'FAILED' });
    expect(sns.sent[0]?.subject).toMatch(/REMEDIATION FAILED$/);
  });
});

describe('pitrChange handler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('builds its deps from the environment and rejects garbage without throwing', async () => {
    process.env.AWS_REGION = 'us-east-1';
    process.env.PITR_GUARD_MODE = 'remediate';
    process.env.PITR_GUARD_ALERT_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:pitr-guard-alerts';
    process.env.PITR_GUARD_IDEMPOTENCY_TABLE = 'pitr-guard-idempotency';
    let handler!: (typeof import('../../functions/pitr-change'))['handler'];
    jest.isolateModules(() => {
      handler = (require('../../functions/pitr-change') as typeof import('../../functions/pitr-change')).handler;
    });
    const { result, lines: logged } = await captureLogs(() => handler({ hello: 'world' }, lambdaContext('pitr-guard-dev-pitrChange')));
    expect(result).toEqual({ status: 'rejected', reason: 'missing source, detail-type, detail', eventId: undefined } as unknown as typeof result);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ function: 'pitrChange', event: 'event-rejected' });
  });

  it('fails on a bad PITR_GUARD_IDEMPOTENCY_TABLE with one line naming it', async () => {
    process.env.AWS_REGION = 'us-east-1';
    process.env.PITR_GUARD_IDEMPOTENCY_TABLE = 'no';
    let handler!: (typeof import('../../functions/pitr-change'))['handler'];
    jest.isolateModules(() => {
      handler = (require('../../functions/pitr-change') as typeof import('../../functions/pitr-change')).handler;
    });
    const { lines: logged } = await captureLogs(() =>
      handler(loadEvent('cloudtrail-pitr-disabled.json'), lambdaContext('pitr-guard-dev-pitrChange')).catch((e: Error) => e.message),
    );
    expect(logged.some((l) => String(l.message).startsWith('Invalid PITR_GUARD_IDEMPOTENCY_TABLE="no"'))).toBe(true);
  });
});
