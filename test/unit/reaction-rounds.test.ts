/**
 * The reaction in two round trips (issue 15): the de-duplication claim (PutItem) and the table's
 * three reads (and, with the findings ledger, its item) go out together; UpdateContinuousBackups
 * only once all have answered; the verifying read after it (with the ledger write); COMPLETED is
 * written while the final alert is sent. Every AWS answer is a deferred promise, so the test
 * decides when each call returns and looks at what was sent by then.
 */
import {
  ConditionalCheckFailedException,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { EventInProgressError, reactorHandler, type PitrChangeDeps, type PitrChangeResult } from '../../functions/pitr-change';
import { AlertNotDeliveredError } from '../../lib/core/errors';
import { Clients } from '../../lib/aws/clients';
import { PacerPool } from '../../lib/aws/inventory';
import { EventAccounts } from '../../lib/aws/org/event-accounts';
import { parseScope } from '../../lib/core/config';
import { DynamoIdempotencyStore } from '../../lib/state/idempotency';
import { IncidentLedger } from '../../lib/state/incidents';
import { createLogger } from '../../lib/runtime/logger';
import type { Notifier } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';
import { awsError } from '../helpers/aws-errors';
import { loadEvent } from '../helpers/builders';
import { lambdaContext } from '../helpers/lambda';

const ddb = mockClient(DynamoDBClient);
const sts = mockClient(STSClient);
const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';
const EVENT_ID = '0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f';
const LEDGER = 'pitr-guard-findings';
/** The de-duplication record of a copy that already finished. */
const COMPLETED_RECORD = { Item: { eventId: { S: EVENT_ID }, status: { S: 'COMPLETED' }, attempts: { N: '1' }, leaseUntil: { N: '0' }, expiresAt: { N: '9999999999' }, result: { S: 'ENABLED' } } };
const disabled = { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED' as const, PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' as const } } };
const enabled = { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED' as const, PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED' as const, RecoveryPeriodInDays: 35 } } };

interface Deferred<T = unknown> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}
function deferred<T = unknown>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Every call the mock gets, in order, each with the deferred answer the test settles. */
let pending: { name: string; input: Record<string, unknown>; answer: Deferred }[];
const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 15)); // the pacer's next slot (1,000 calls/s here)
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};
const sent = () => pending.map((p) => p.name);
const answer = (name: string, value: unknown, nth = 0) => {
  const found = pending.filter((p) => p.name === name)[nth];
  if (!found) throw new Error(`${name} #${nth} was not sent; sent: ${sent().join(', ')}`);
  found.answer.resolve(value);
};
const fail = (name: string, error: unknown, nth = 0) => pending.filter((p) => p.name === name)[nth]!.answer.reject(error);

class Channel implements Notifier {
  sent: RenderedAlert[] = [];
  answer = deferred<void>();
  calledAt = -1;
  constructor(readonly channel: Notifier['channel']) {}
  async send(alert: RenderedAlert): Promise<void> {
    this.calledAt = pending.length;
    await this.answer.promise;
    this.sent.push(alert);
  }
}

let sns: Channel;

function deps(): PitrChangeDeps {
  return {
    policy: { mode: 'remediate', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false },
    clients: new Clients(),
    logger: createLogger({ write: () => undefined }),
    homeRegion: 'us-east-1',
    accountId: '123456789012',
    notifiers: [sns],
    idempotency: new DynamoIdempotencyStore(new DynamoDBClient({ region: 'us-east-1' }), 'pitr-guard-idempotency'),
    sleep: async () => undefined,
    retry: { attempts: 1 },
    pacers: new PacerPool(1000),
  };
}

function invoke(d: PitrChangeDeps): Promise<PitrChangeResult> {
  return reactorHandler(() => d)(loadEvent('cloudtrail-pitr-disabled.json'), { ...lambdaContext('pitr-guard-dev-pitrChange'), getRemainingTimeInMillis: () => 60_000 });
}

beforeEach(() => {
  ddb.reset();
  sts.reset();
  pending = [];
  sns = new Channel('sns');
  for (const Command of [PutItemCommand, GetItemCommand, UpdateItemCommand, DescribeTableCommand, DescribeContinuousBackupsCommand, ListTagsOfResourceCommand, UpdateContinuousBackupsCommand]) {
    // One fake for every command (the mock's typing wants one command type at a time).
    ddb.on(Command as typeof PutItemCommand).callsFake((input: Record<string, unknown>) => {
      const d = deferred();
      // The findings ledger's calls are told apart from the de-duplication table's by their table.
      pending.push({ name: Command.name.replace(/Command$/, '') + (input.TableName === LEDGER ? '(ledger)' : ''), input, answer: d });
      return d.promise;
    });
  }
});

describe('the reaction, round trip by round trip', () => {
  it('claim and the three reads in round 1, UpdateContinuousBackups in round 2, the verify in 3, COMPLETED and the alert together in 4', async () => {
    const out = invoke(deps());
    await flush();
    // Round 1: the claim and every read the decision needs, all in flight before any answer came back.
    expect(sent().sort()).toEqual(['DescribeContinuousBackups', 'DescribeTable', 'ListTagsOfResource', 'PutItem']);
    expect(pending.find((p) => p.name === 'ListTagsOfResource')?.input).toEqual({ ResourceArn: ARN, NextToken: undefined });
    answer('DescribeTable', { Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
    answer('DescribeContinuousBackups', disabled);
    answer('ListTagsOfResource', { Tags: [] });
    await flush();
    // The reads are in, the claim is not: nothing is changed yet.
    expect(sent()).not.toContain('UpdateContinuousBackups');
    answer('PutItem', {});
    await flush();
    // Round 2: the update, and nothing else at the same time.
    expect(sent().slice(4)).toEqual(['UpdateContinuousBackups']);
    expect(pending[4]?.input).toEqual({ TableName: 'orders', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 } });
    answer('UpdateContinuousBackups', enabled);
    await flush();
    // Round 3: the verifying read.
    expect(sent().slice(5)).toEqual(['DescribeContinuousBackups']);
    answer('DescribeContinuousBackups', enabled, 1);
    await flush();
    // Round 4: COMPLETED is written while the alert is being sent.
    expect(sent().slice(6)).toEqual(['UpdateItem']);
    expect(sns.calledAt).toBe(6);
    expect(pending[6]?.input).toMatchObject({ ExpressionAttributeValues: expect.objectContaining({ ':s': { S: 'COMPLETED' }, ':r': { S: 'ENABLED' } }) });
    answer('UpdateItem', {});
    sns.answer.resolve();
    await expect(out).resolves.toMatchObject({ status: 'handled', result: 'ENABLED' });
    expect(sent()).toHaveLength(7);
    expect(sns.sent).toHaveLength(1);
  });

  it('a claim that loses to a COMPLETED record: the reads are dropped, nothing is changed, nothing is sent', async () => {
    const out = invoke(deps());
    await flush();
    answer('DescribeTable', { Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
    answer('DescribeContinuousBackups', disabled);
    answer('ListTagsOfResource', { Tags: [] });
    fail('PutItem', awsError('ConditionalCheckFailedException', 400));
    await flush();
    answer('GetItem', COMPLETED_RECORD);
    await expect(out).resolves.toEqual({ status: 'duplicate', eventId: EVENT_ID, result: 'ENABLED' });
    expect(sent()).not.toContain('UpdateContinuousBackups');
    expect(sent()).not.toContain('UpdateItem');
    expect(sns.calledAt).toBe(-1);
  });

  it('a claim held by a live invocation: EventInProgressError once the reads are back, and no change', async () => {
    const out = invoke(deps());
    await flush();
    fail('PutItem', awsError('ConditionalCheckFailedException', 400));
    await flush();
    answer('GetItem', { Item: { eventId: { S: EVENT_ID }, status: { S: 'IN_PROGRESS' }, attempts: { N: '1' }, leaseUntil: { N: String(Date.now() + 60_000) }, expiresAt: { N: '9999999999' } } });
    await flush();
    answer('DescribeTable', { Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
    answer('DescribeContinuousBackups', disabled);
    answer('ListTagsOfResource', { Tags: [] });
    await expect(out).rejects.toBeInstanceOf(EventInProgressError);
    expect(sent()).not.toContain('UpdateContinuousBackups');
    expect(sns.calledAt).toBe(-1);
  });

  it('an alert that fails after COMPLETED was written: the event is released (RETRY) after it, for Lambda to retry', async () => {
    const out = invoke(deps());
    await flush();
    answer('PutItem', {});
    answer('DescribeTable', { Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
    answer('DescribeContinuousBackups', disabled);
    answer('ListTagsOfResource', { Tags: [] });
    await flush();
    answer('UpdateContinuousBackups', enabled);
    await flush();
    answer('DescribeContinuousBackups', enabled, 1);
    await flush();
    sns.answer.reject(new Error('sns down'));
    await flush();
    // The release waits for the COMPLETED write: RETRY must land last.
    expect(pending.filter((p) => p.name === 'UpdateItem')).toHaveLength(1);
    answer('UpdateItem', {});
    await flush();
    const writes = pending.filter((p) => p.name === 'UpdateItem').map((p) => (p.input.ExpressionAttributeValues as Record<string, { S?: string }>)[':s']?.S);
    expect(writes).toEqual(['COMPLETED', 'RETRY']);
    answer('UpdateItem', {}, 1);
    await expect(out).rejects.toBeInstanceOf(AlertNotDeliveredError);
    const memory = JSON.parse((pending[pending.length - 1]!.input.ExpressionAttributeValues as Record<string, { S: string }>)[':m']!.S) as { pending?: { delivered: string[] } };
    expect(memory.pending?.delivered).toEqual([]);
  });

  it('a member account: its AssumeRole goes out with the claim and the reads, the update with its credentials; the next event of that account needs no AssumeRole', async () => {
    const MEMBER_ARN = 'arn:aws:dynamodb:eu-west-1:222222222222:table/payments';
    let assumed = deferred<unknown>();
    sts.on(AssumeRoleCommand).callsFake(() => (pending.push({ name: 'AssumeRole', input: {}, answer: assumed as Deferred }), assumed.promise));
    const d = deps();
    const clients = new Clients();
    const scope = parseScope({ PITR_GUARD_ACCOUNTS: '222222222222' });
    Object.assign(d, { clients, scope, accounts: new EventAccounts({ clients, scope, homeRegion: 'us-east-1' }), policy: { ...d.policy, regions: ['eu-west-1'] } });
    const creds = { Credentials: { AccessKeyId: 'ASIAMEMBER', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3_600_000) } };
    const member = (n: number) => {
      const event = loadEvent('cloudtrail-member-pitr-disabled.json') as { detail: { eventID: string } };
      event.detail.eventID = `0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3${n}`;
      return reactorHandler(() => d)(event, { ...lambdaContext('pitr-guard-dev-pitrChange'), getRemainingTimeInMillis: () => 60_000 });
    };
    const first = member(1);
    await flush();
    // Everything of round 1 is under way before any answer: the claim, the member role, the reads. (The
    // mock answers without resolving credentials; with the real SDK the reads wait for that one
    // AssumeRole, which their client shares: a second round trip for an account's first event only.)
    expect(sent().sort()).toEqual(['AssumeRole', 'DescribeContinuousBackups', 'DescribeTable', 'ListTagsOfResource', 'PutItem']);
    expect(pending.find((p) => p.name === 'ListTagsOfResource')?.input).toEqual({ ResourceArn: MEMBER_ARN, NextToken: undefined });
    assumed.resolve(creds);
    answer('DescribeTable', { Table: { TableName: 'payments', TableArn: MEMBER_ARN, TableStatus: 'ACTIVE' } });
    answer('DescribeContinuousBackups', disabled);
    answer('ListTagsOfResource', { Tags: [] });
    answer('PutItem', {});
    await flush();
    expect(sent()[5]).toBe('UpdateContinuousBackups');
    // …sent with the member account's credentials, never the central account's.
    const update = ddb.commandCalls(UpdateContinuousBackupsCommand)[0];
    expect((await (update?.thisValue as DynamoDBClient).config.credentials()).accessKeyId).toBe('ASIAMEMBER');
    answer('UpdateContinuousBackups', enabled);
    await flush();
    answer('DescribeContinuousBackups', enabled, 1);
    await flush();
    answer('UpdateItem', {});
    sns.answer.resolve();
    await expect(first).resolves.toMatchObject({ status: 'handled', result: 'ENABLED' });

    // The next event of the same account: the session is cached, so round 1 is the claim and the reads.
    pending = [];
    assumed = deferred<unknown>();
    void member(2);
    await flush();
    expect(sent().sort()).toEqual(['DescribeContinuousBackups', 'DescribeTable', 'ListTagsOfResource', 'PutItem']);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    for (const p of pending) p.answer.reject(new Error('test over'));
  });
});

describe('with the findings ledger: still four round trips', () => {
  const withLedger = (): PitrChangeDeps => ({ ...deps(), ledger: new IncidentLedger(new DynamoDBClient({ region: 'us-east-1' }), LEDGER, { sleep: async () => undefined }), lifecycle: { remindHours: 24, loopLimit: 3, loopWindowMinutes: 60 } });
  const since = (n: number) => sent().slice(n).sort();
  const values = (p: { input: Record<string, unknown> } | undefined) => p?.input.ExpressionAttributeValues as Record<string, { S?: string; N?: string }>;
  const writes = () => pending.filter((p) => p.name === 'UpdateItem(ledger)');
  /** Prior disables of this table in the window, on an item at `version`. */
  const item = (disables: number, version: number) => ({
    Item: {
      tableArn: { S: ARN },
      lifecycleVersion: { N: String(version) },
      disables: { L: Array.from({ length: disables }, (_, i) => ({ M: { eventId: { S: `old-${i}` }, at: { S: new Date(Date.now() - (10 - i) * 60_000).toISOString() }, principal: { S: 'arn:aws:sts::123456789012:assumed-role/Deploy/ci' } } })) },
    },
  });
  const readsIn = () => {
    answer('DescribeTable', { Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
    answer('DescribeContinuousBackups', disabled);
    answer('ListTagsOfResource', { Tags: [] });
  };
  /** Invokes with the ledger and answers round 1 (reads, ledger item `ledgerItem`, the claim); resolves once round 2 is sent. */
  const pastRoundOne = async (ledgerItem: object = {}) => {
    const out = invoke(withLedger());
    await flush();
    readsIn();
    answer('GetItem(ledger)', ledgerItem);
    answer('PutItem', {});
    await flush();
    return { out }; // (wrapped: an async function returning the invocation's promise would wait for it)
  };

  it('round 1 adds the ledger read; the ledger write goes with the verify in round 3; the alert and COMPLETED in round 4: 10 calls', async () => {
    const out = invoke(withLedger());
    await flush();
    // Round 1: the claim, the table's three reads and the ledger item (consistent), all at once.
    expect(since(0)).toEqual(['DescribeContinuousBackups', 'DescribeTable', 'GetItem(ledger)', 'ListTagsOfResource', 'PutItem']);
    expect(pending.find((p) => p.name === 'GetItem(ledger)')?.input).toEqual({ TableName: LEDGER, Key: { tableArn: { S: ARN } }, ConsistentRead: true });
    readsIn();
    answer('GetItem(ledger)', {});
    answer('PutItem', {});
    await flush();
    // Round 2: the update alone.
    expect(since(5)).toEqual(['UpdateContinuousBackups']);
    answer('UpdateContinuousBackups', enabled);
    await flush();
    // Round 3: the verify and the ledger write together; the write decides from the prefetched (absent) item.
    expect(since(6)).toEqual(['DescribeContinuousBackups', 'UpdateItem(ledger)']);
    const write = writes()[0]!.input;
    expect(write.ConditionExpression).toBe('attribute_not_exists(lifecycleVersion)');
    expect(write.UpdateExpression).toContain('disables = :disables');
    expect(write.UpdateExpression).toContain('fixedBy = :by');
    expect(values(writes()[0])[':closed']).toEqual({ S: 'CLOSED' });
    answer('DescribeContinuousBackups', enabled, 1);
    await flush();
    // The verify is in, the write is not: the alert waits for the committed loop decision.
    expect(sns.calledAt).toBe(-1);
    expect(sent()).toHaveLength(8);
    answer('UpdateItem(ledger)', {});
    await flush();
    // Round 4: COMPLETED while the alert is sent; nothing else.
    expect(since(8)).toEqual(['UpdateItem']);
    expect(sns.calledAt).toBe(8);
    expect(values(pending[8])[':s']).toEqual({ S: 'COMPLETED' });
    answer('UpdateItem', {});
    sns.answer.resolve();
    await expect(out).resolves.toMatchObject({ status: 'handled', result: 'ENABLED' });
    expect(sent()).toHaveLength(9); // + the alert's Publish: 10 calls
    expect(pending.filter((p) => p.name === 'GetItem(ledger)')).toHaveLength(1);
    expect(sns.sent.map((a) => a.kind)).toEqual(['change']);
  });

  it('the item changed between the prefetch and the write: the write fails its condition, reads again and the alert follows the re-read (the escalation)', async () => {
    const { out } = await pastRoundOne(item(1, 1)); // one disable before: this one would be an ordinary repeat…
    answer('UpdateContinuousBackups', enabled);
    await flush();
    expect(values(writes()[0])[':expected']).toEqual({ N: '1' });
    answer('DescribeContinuousBackups', enabled, 1);
    fail('UpdateItem(ledger)', new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    await flush();
    // …but another disable was recorded meanwhile (version 2): read again, decide again.
    expect(sent().slice(8)).toEqual(['GetItem(ledger)']);
    expect(sns.calledAt).toBe(-1);
    answer('GetItem(ledger)', item(2, 2), 1);
    await flush();
    expect(values(writes()[1])[':expected']).toEqual({ N: '2' });
    expect(sns.calledAt).toBe(-1);
    answer('UpdateItem(ledger)', {}, 1);
    await flush();
    answer('UpdateItem', {});
    sns.answer.resolve();
    await expect(out).resolves.toMatchObject({ result: 'ENABLED' });
    // The third disable in the window: one escalation, never the ordinary alert as well.
    expect(sns.sent.map((a) => a.kind)).toEqual(['escalation']);
  });

  it('the verify does not confirm what the update answered: the incident written closed is reopened alongside the alert (UNVERIFIED)', async () => {
    const { out } = await pastRoundOne();
    answer('UpdateContinuousBackups', enabled);
    await flush();
    answer('UpdateItem(ledger)', {});
    fail('DescribeContinuousBackups', awsError('AccessDeniedException', 400), 1);
    await flush();
    // Round 4: the alert, COMPLETED and the correction, together.
    expect(since(8)).toEqual(['UpdateItem', 'UpdateItem(ledger)']);
    expect(sns.calledAt).toBeGreaterThanOrEqual(8); // sent in the same round: nothing was answered since the verify
    const fix = writes()[1]!.input;
    expect(fix.ConditionExpression).toBe('incidentId = :incident AND incidentState = :closed AND fixedBy = :by');
    expect(fix.UpdateExpression).toMatch(/^SET lifecycleVersion = if_not_exists\(lifecycleVersion, :zero\) \+ :one, incidentState = :open, reminderDueAt = :due, history = .* REMOVE closedAt, fixedBy, fixedAt$/);
    expect(values(writes()[1])[':incident']).toEqual(values(writes()[0])[':incident']);
    answer('UpdateItem', {});
    answer('UpdateItem(ledger)', {}, 1);
    sns.answer.resolve();
    await expect(out).resolves.toMatchObject({ result: 'UNVERIFIED' });
    expect(sent()).toHaveLength(10); // + the Publish: 11 calls, still 4 round trips
    expect(sns.sent.map((a) => a.kind)).toEqual(['change']);
  });

  it('the update answered without a PITR description: the incident is written open, and closed alongside the alert once the verify confirms', async () => {
    const { out } = await pastRoundOne();
    answer('UpdateContinuousBackups', {});
    await flush();
    expect(values(writes()[0])[':open']).toEqual({ S: 'OPEN' });
    expect(writes()[0]!.input.UpdateExpression).not.toContain('fixedBy = :by');
    answer('UpdateItem(ledger)', {});
    answer('DescribeContinuousBackups', enabled, 1);
    await flush();
    expect(since(8)).toEqual(['UpdateItem', 'UpdateItem(ledger)']);
    const fix = writes()[1]!.input;
    expect(fix.ConditionExpression).toBe('incidentId = :incident AND incidentState = :open');
    expect(fix.UpdateExpression).toContain('fixedBy = :by');
    answer('UpdateItem', {});
    answer('UpdateItem(ledger)', {}, 1);
    sns.answer.resolve();
    await expect(out).resolves.toMatchObject({ result: 'ENABLED' });
  });

  it('a lost claim: the ledger read is dropped with the table reads; no ledger write, no change, no alert', async () => {
    const out = invoke(withLedger());
    await flush();
    readsIn();
    answer('GetItem(ledger)', item(2, 2));
    fail('PutItem', awsError('ConditionalCheckFailedException', 400));
    await flush();
    answer('GetItem', COMPLETED_RECORD);
    await expect(out).resolves.toEqual({ status: 'duplicate', eventId: EVENT_ID, result: 'ENABLED' });
    expect(sent().filter((n) => n.startsWith('Update'))).toEqual([]);
    expect(sns.calledAt).toBe(-1);
  });

  it('alert mode (no update): the ledger write follows the reads, the alert follows the write: three round trips', async () => {
    const d = withLedger();
    d.policy = { ...d.policy, mode: 'alert' };
    const out = invoke(d);
    await flush();
    readsIn();
    answer('GetItem(ledger)', {});
    answer('PutItem', {});
    await flush();
    expect(since(5)).toEqual(['UpdateItem(ledger)']);
    expect(writes()[0]!.input.UpdateExpression).not.toContain('fixedBy = :by');
    answer('UpdateItem(ledger)', {});
    await flush();
    expect(since(6)).toEqual(['UpdateItem']);
    expect(sns.calledAt).toBe(6);
    answer('UpdateItem', {});
    sns.answer.resolve();
    await expect(out).resolves.toMatchObject({ result: 'SKIPPED_MODE' });
    expect(sent()).not.toContain('UpdateContinuousBackups');
  });
});
