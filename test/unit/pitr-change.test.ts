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
import { EventInProgressError, RemediationDeferredError, RemediationRetryError, reactorHandler, type PitrChangeDeps, type PitrChangeResult } from '../../functions/pitr-change';
import { AlertNotDeliveredError } from '../../lib/core/errors';
import { Clients } from '../../lib/aws/clients';
import { DynamoIdempotencyStore, MemoryIdempotencyStore } from '../../lib/state/idempotency';
import { createLogger } from '../../lib/runtime/logger';
import type { Notifier } from '../../lib/notify';
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

/** One invocation as Lambda makes it: de-duplication middleware around run, a context with `remainingMs` left. */
function run(event: unknown, d: PitrChangeDeps, remainingMs = 290_000): Promise<PitrChangeResult> {
  const context = { ...lambdaContext('pitr-guard-dev-pitrChange'), getRemainingTimeInMillis: () => remainingMs };
  return reactorHandler(() => d)(event, context);
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

  it('a disable on one replica of a global table: the alert names its set and the other replicas (not read by the reactor: not scanned)', async () => {
    table('ACTIVE', disabled);
    ddb.on(DescribeTableCommand).resolves({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE', GlobalTableVersion: '2019.11.21', Replicas: [{ RegionName: 'us-east-1' }, { RegionName: 'eu-west-1' }] } });
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps());
    expect(out.result).toBe('ENABLED');
    expect(out.alert?.lines.join('\n')).toContain('Replica of global table 123456789012:orders@eu-west-1+us-east-1 (other replicas: eu-west-1 not scanned): the set is NOT compliant.');
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
    const other = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({}, { accountId: '999999999999', idempotency: new MemoryIdempotencyStore() }));
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

  it('an event another invocation is handling right now fails this one (retried later)', async () => {
    await store.claim('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f', 60_000);
    await expect(run(loadEvent('cloudtrail-pitr-disabled.json'), deps())).rejects.toBeInstanceOf(EventInProgressError);
  });

  it('a table that does not exist when re-read is GONE: handled, logged, no alert, no retry (also right after CreateTable)', async () => {
    ddb.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException'));
    for (const name of ['cloudtrail-create-table.json', 'cloudtrail-pitr-disabled.json']) {
      const e = loadEvent<{ detail: Record<string, unknown> }>(name);
      e.detail.eventTime = '2026-11-20T10:15:00Z'; // 33 s before the test clock
      const out = await run(e, deps());
      expect(out).toMatchObject({ status: 'handled', result: 'GONE' });
      expect(store.records.get(e.detail.eventID as string)).toMatchObject({ status: 'COMPLETED', result: 'GONE', attempts: 1 });
    }
    expect(sns.sent).toHaveLength(0);
    expect(lines.filter((l) => l.event === 'remediation').map((l) => [l.level, l.result])).toEqual([
      ['info', 'GONE'],
      ['info', 'GONE'],
    ]);
  });

  it.each([
    ['missing', undefined, 'missing'],
    ['garbage', 'yesterday-ish', 'not a date ("yesterday-ish")'],
    ['in the future', '2099-01-01T00:00:00Z', 'in the future (2099-01-01T00:00:00Z)'],
  ])('an eventTime that is %s gives age 0 from the receive time (never NaN or negative) and one warning', async (_what, value, problem) => {
    table('ACTIVE', enabled);
    const e = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-pitr-disabled.json');
    if (value === undefined) delete e.detail.eventTime;
    else e.detail.eventTime = value;
    await run(e, deps());
    const warned = lines.filter((l) => l.event === 'event-time-invalid');
    expect(warned).toEqual([expect.objectContaining({ level: 'warn', eventAgeMs: 0, message: `event time ${problem}: the event's age is taken from the time it was received` })]);
    for (const l of lines.filter((x) => 'eventAgeMs' in x)) expect(l.eventAgeMs).toBe(0);
  });

  it('the age of a well-formed event is logged with each of its lines', async () => {
    table('ACTIVE', enabled);
    await run(loadEvent('cloudtrail-pitr-disabled.json'), deps()); // eventTime 2026-11-20T10:15:30Z, clock 10:15:33Z
    expect(lines.find((l) => l.event === 'remediation')).toMatchObject({ eventAgeMs: 3_000 });
    expect(lines.filter((l) => l.event === 'event-time-invalid')).toEqual([]);
  });

  describe('transient DynamoDB failures fail the invocation; the FAILED alert goes out once', () => {
    it.each([
      ['DescribeContinuousBackups throttled', () => ddb.on(DescribeContinuousBackupsCommand).rejects(awsError('ThrottlingException'))],
      ['UpdateContinuousBackups throttled', () => ddb.on(UpdateContinuousBackupsCommand).rejects(awsError('ThrottlingException'))],
      ['DescribeContinuousBackups HTTP 500', () => ddb.on(DescribeContinuousBackupsCommand).rejects(awsError('InternalServerError', 500))],
      ['DescribeTable HTTP 500', () => ddb.on(DescribeTableCommand).rejects(awsError('InternalServerError', 500))],
      ['a connection reset', () => ddb.on(UpdateContinuousBackupsCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))],
    ])('%s: released (not completed) ×3, one alert "will be retried", the last attempt throws for the failed-events queue', async (_what, fault) => {
      table('ACTIVE', disabled);
      fault();
      const d = deps({}, { retry: { attempts: 2, baseDelayMs: 1 } });
      const eventId = '0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f';
      for (let attempt = 1; attempt <= 3; attempt++) {
        const error = await run(loadEvent('cloudtrail-pitr-disabled.json'), d).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(RemediationRetryError);
        expect(store.records.get(eventId)).toMatchObject({ status: 'RETRY', attempts: attempt });
        if (attempt === 3) expect((error as Error).message).toMatch(/gave up: event in the failed-events queue \(attempt 3 of 3\)/);
      }
      expect(sns.sent.map((a) => a.subject)).toEqual(['[pitr-guard] PITR disabled on orders (123456789012 us-east-1): REMEDIATION FAILED']);
      expect(slack.sent).toHaveLength(1);
      expect(sns.sent[0]!.text).toContain('pitr-guard will be retried (attempt 1 of 3; Lambda retries after 1 and 2 minutes).');
    });

    it('the retry that succeeds alerts the result and completes', async () => {
      table('ACTIVE', disabled);
      ddb.on(UpdateContinuousBackupsCommand).rejects(awsError('ThrottlingException'));
      const d = deps({}, { retry: { attempts: 1 } });
      await expect(run(loadEvent('cloudtrail-pitr-disabled.json'), d)).rejects.toBeInstanceOf(RemediationRetryError);
      ddb.reset();
      table('ACTIVE', disabled);
      ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
      ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
      expect(await run(loadEvent('cloudtrail-pitr-disabled.json'), d)).toMatchObject({ status: 'handled', result: 'ENABLED' });
      expect(sns.sent.map((a) => a.subject.split(': ').pop())).toEqual(['REMEDIATION FAILED', 're-enabled']);
      expect(store.records.get('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f')).toMatchObject({ status: 'COMPLETED', result: 'ENABLED', attempts: 2 });
    });

    it('a first alert on the last attempt says "gave up"', async () => {
      table('ACTIVE', disabled);
      ddb.on(UpdateContinuousBackupsCommand).rejects(awsError('ThrottlingException'));
      store.records.set('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f', { eventId: '0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f', status: 'RETRY', attempts: 2, leaseUntil: 0, expiresAt: 0 });
      await expect(run(loadEvent('cloudtrail-pitr-disabled.json'), deps({}, { retry: { attempts: 1 } }))).rejects.toBeInstanceOf(RemediationRetryError);
      expect(sns.sent[0]!.text).toContain('pitr-guard gave up: event in the failed-events queue (attempt 3 of 3); its alarm fires');
    });
  });

  it.each([
    ['AccessDeniedException', 'UpdateContinuousBackups'],
    ['ValidationException', 'UpdateContinuousBackups'],
    ['AccessDeniedException', 'DescribeContinuousBackups'],
  ])('a permanent failure (%s on %s) alerts once, says it is not retried, and completes', async (name, op) => {
    table('ACTIVE', disabled);
    if (op === 'UpdateContinuousBackups') ddb.on(UpdateContinuousBackupsCommand).rejects(awsError(name));
    else ddb.on(DescribeContinuousBackupsCommand).rejects(awsError(name));
    const d = deps();
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), d);
    expect(out).toMatchObject({ status: 'handled', result: 'FAILED' });
    expect(sns.sent[0]?.subject).toMatch(/REMEDIATION FAILED$/);
    expect(sns.sent[0]?.text).toContain('Not retried: this needs a person (the command below enables PITR by hand).');
    expect(store.records.get('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f')).toMatchObject({ status: 'COMPLETED', result: 'FAILED' });
    expect(await run(loadEvent('cloudtrail-pitr-disabled.json'), d)).toMatchObject({ status: 'duplicate' });
    expect(sns.sent).toHaveLength(1);
  });

  it('the verifying read fails (500) after a successful update: UNVERIFIED, worded as such, never "PITR is disabled"', async () => {
    table('ACTIVE', disabled);
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).rejects(awsError('InternalServerError', 500));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
    const out = await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({}, { retry: { attempts: 3, baseDelayMs: 1 } }));
    expect(out).toMatchObject({ status: 'handled', result: 'UNVERIFIED' });
    expect(out.alert?.subject).toBe('[pitr-guard] PITR disabled on orders (123456789012 us-east-1): enabled, NOT VERIFIED');
    const did = out.alert?.lines.find((l) => l.startsWith('pitr-guard did:')) ?? '';
    expect(did).toContain('NOT VERIFIED: UpdateContinuousBackups succeeded');
    expect(did).toContain('The state was not read.');
    expect(sns.sent[0]!.text).not.toMatch(/PITR is disabled|REMEDIATION FAILED/);
    expect(out.alert?.lines).toContain('State now:      Unknown: not read after the update (the verifying DescribeContinuousBackups failed).');
    expect(ddb.commandCalls(DescribeContinuousBackupsCommand).length).toBeGreaterThanOrEqual(4); // 1 read + ≥3 verifying reads
  });

  describe('per-channel delivery is remembered with the event', () => {
    it('one channel failing fails the invocation naming it; the retry re-sends to that channel only and completes', async () => {
      table('ACTIVE', disabled);
      ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
      ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
      sns.failNext = 1;
      const d = deps();
      const error = await run(loadEvent('cloudtrail-pitr-disabled.json'), d).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AlertNotDeliveredError);
      expect((error as Error).message).toBe('alert not delivered on sns: sns: UnknownError: sns down');
      expect(slack.sent).toHaveLength(1);
      expect(store.records.get('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f')).toMatchObject({ status: 'RETRY' });

      const retry = await run(loadEvent('cloudtrail-pitr-disabled.json'), d);
      expect(retry).toMatchObject({ status: 'handled', result: 'ENABLED', message: 'delivered the alert of an earlier attempt', alert: { delivered: ['sns'], failed: [] } });
      expect(sns.sent.map((a) => a.subject)).toEqual(['[pitr-guard] PITR disabled on orders (123456789012 us-east-1): re-enabled']);
      expect(slack.sent).toHaveLength(1); // not sent twice
      expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(1); // not remediated twice
      expect(store.records.get('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f')).toMatchObject({ status: 'COMPLETED', result: 'ENABLED' });
    });

    it('every channel failing on every attempt: the last attempt throws naming the channels (→ failed-events queue)', async () => {
      table('ACTIVE', disabled);
      ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
      ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
      sns.failNext = 3;
      slack.failNext = 3;
      const d = deps();
      const errors: string[] = [];
      for (let i = 0; i < 3; i++) errors.push(await run(loadEvent('cloudtrail-pitr-disabled.json'), d).then(() => 'returned', (e: Error) => e.message));
      expect(errors).toEqual(Array(3).fill('alert not delivered on sns, slack: sns: UnknownError: sns down; slack: UnknownError: slack down'));
      expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(1);
    });

    it('an interim ("will be retried") alert that one channel missed is re-sent there on the next attempt, not repeated elsewhere', async () => {
      table('CREATING', disabled);
      slack.failNext = 1;
      const d = deps();
      const first = await run(loadEvent('cloudtrail-create-table.json'), d).catch((e: Error) => e);
      expect(first).toBeInstanceOf(RemediationDeferredError);
      expect((first as Error).message).toMatch(/ The alert was not delivered on slack \(slack: UnknownError: slack down\)\.$/);
      expect([sns.sent.length, slack.sent.length]).toEqual([1, 0]);
      await expect(run(loadEvent('cloudtrail-create-table.json'), d)).rejects.toBeInstanceOf(RemediationDeferredError);
      expect([sns.sent.length, slack.sent.length]).toEqual([1, 1]);
      await expect(run(loadEvent('cloudtrail-create-table.json'), d)).rejects.toBeInstanceOf(RemediationDeferredError);
      expect([sns.sent.length, slack.sent.length]).toEqual([1, 1]);
    });
  });

  it('the claim lease is the invocation\'s remaining time, so a killed invocation does not block the first retry', async () => {
    table('ACTIVE', enabled);
    let t = Date.parse('2026-11-20T10:15:33Z');
    const leased = new MemoryIdempotencyStore(() => t);
    // an invocation with 30 s left claims the event and is killed (nothing completes or releases it)
    await leased.claim('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f', 30_000);
    const d = deps({}, { idempotency: leased });
    t += 20_000; // a concurrent copy while it still runs: in progress
    await expect(run(loadEvent('cloudtrail-pitr-disabled.json'), d)).rejects.toBeInstanceOf(EventInProgressError);
    t += 50_000; // Lambda's first retry, 1 minute after the failure
    expect(await run(loadEvent('cloudtrail-pitr-disabled.json'), d)).toMatchObject({ status: 'handled', result: 'ALREADY_COMPLIANT' });
    expect(leased.records.get('0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f')).toMatchObject({ status: 'COMPLETED', attempts: 2 });
  });

  it('claims with the remaining time as the lease', async () => {
    table('ACTIVE', enabled);
    const claims: number[] = [];
    const spy: MemoryIdempotencyStore = new MemoryIdempotencyStore();
    const original = spy.claim.bind(spy);
    spy.claim = async (id, leaseMs) => {
      claims.push(leaseMs);
      return original(id, leaseMs);
    };
    await run(loadEvent('cloudtrail-pitr-disabled.json'), deps({}, { idempotency: spy }), 123_456);
    expect(claims).toEqual([123_456]);
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

  it('without PITR_GUARD_IDEMPOTENCY_TABLE: a warning and a DeduplicationUnavailable metric at cold start (once), events still handled', async () => {
    process.env.AWS_REGION = 'us-east-1';
    process.env.PITR_GUARD_MODE = 'report';
    delete process.env.PITR_GUARD_IDEMPOTENCY_TABLE;
    let handler!: (typeof import('../../functions/pitr-change'))['handler'];
    jest.isolateModules(() => {
      handler = (require('../../functions/pitr-change') as typeof import('../../functions/pitr-change')).handler;
    });
    const first = await captureLogs(() => handler({ hello: 'world' }, lambdaContext('pitr-guard-dev-pitrChange')));
    expect(first.lines.filter((l) => l.event === 'deduplication-unavailable')).toEqual([
      expect.objectContaining({ level: 'warn', function: 'pitrChange', message: 'no de-duplication table (PITR_GUARD_IDEMPOTENCY_TABLE is not set): every copy of an event is acted on and alerted' }),
    ]);
    expect(first.lines.filter((l) => 'DeduplicationUnavailable' in l)).toEqual([
      expect.objectContaining({ function: 'pitrChange', DeduplicationUnavailable: 1, _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Namespace: 'pitr-guard' })] }) }),
    ]);
    const second = await captureLogs(() => handler({ hello: 'world' }, lambdaContext('pitr-guard-dev-pitrChange')));
    expect(second.lines.filter((l) => l.event === 'deduplication-unavailable' || 'DeduplicationUnavailable' in l)).toEqual([]);
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
