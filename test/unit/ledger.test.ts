/**
 * The findings ledger (lib/state/ledger.ts): the exact UpdateItem commands per table, `since`
 * kept while the status stays and reset when it changes, a newer run never overwritten,
 * throttling retried, and a table that cannot be written returned, never dropped.
 */
import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { FindingsLedger, ledgerKey } from '../../lib/state/ledger';
import type { Finding, FindingStatus } from '../../lib/core/types';
import { awsError } from '../helpers/aws-errors';

const ddb = mockClient(DynamoDBClient);
const TABLE = 'pitr-guard-prod-FindingsTable-1A2B';
const RUN = { runId: 'run-2', seenAt: '2026-11-21T12:00:00.000Z' };
const noSleep = () => Promise.resolve();

function finding(name: string, status: FindingStatus = 'NON_COMPLIANT', reasons: string[] = ['PITR_DISABLED']): Finding {
  return {
    accountId: '123456789012',
    region: 'eu-west-1',
    tableName: name,
    tableArn: `arn:aws:dynamodb:eu-west-1:123456789012:table/${name}`,
    tableStatus: 'ACTIVE',
    status,
    reasons: reasons as Finding['reasons'],
    message: 'PITR is disabled.',
    pitr: { status: 'DISABLED', recoveryPeriodInDays: null, earliestRestorableDateTime: null, latestRestorableDateTime: null, restorableDays: null },
    exemption: null,
    modeTag: null,
  } as Finding;
}

const conditionFailed = (item?: Record<string, { S: string }>) =>
  Object.assign(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }), item ? { Item: item } : {});

const inputs = () => ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input as UpdateItemCommandInput);

const FACTS = {
  ':account': { S: '123456789012' },
  ':region': { S: 'eu-west-1' },
  ':name': { S: 'orders' },
  ':reasons': { L: [{ S: 'PITR_DISABLED' }] },
  ':seen': { S: RUN.seenAt },
  ':run': { S: 'run-2' },
};
const HISTORY = (detail: string) => ({ ':historyEmpty': { L: [] }, ':history': { L: [{ M: { at: { S: RUN.seenAt }, event: { S: 'STATUS_CHANGED' }, detail: { S: detail } } }] } });
const APPEND = 'history = list_append(if_not_exists(history, :historyEmpty), :history)';
const KEY = { tableArn: { S: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders' } };

beforeEach(() => ddb.reset());

describe('FindingsLedger.write', () => {
  it('status unchanged: one conditional UpdateItem that keeps since (read back from ALL_NEW)', async () => {
    ddb.on(UpdateItemCommand).resolves({ Attributes: { since: { S: '2026-11-01T00:00:00.000Z' } } });
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep }).write([finding('orders')], RUN);
    expect(inputs()).toEqual([
      {
        TableName: TABLE,
        Key: KEY,
        UpdateExpression: 'SET accountId = :account, #region = :region, tableName = :name, reasons = :reasons, lastSeen = :seen, lastRunId = :run',
        ConditionExpression: '#status = :status AND lastSeen <= :seen',
        ExpressionAttributeNames: { '#status': 'status', '#region': 'region' },
        ExpressionAttributeValues: { ...FACTS, ':status': { S: 'NON_COMPLIANT' } },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ]);
    expect(out.since.get(KEY.tableArn.S)).toEqual({ status: 'NON_COMPLIANT', since: '2026-11-01T00:00:00.000Z' });
    expect(out.failed).toEqual([]);
  });

  it('a new table: created with since = firstSeen = this run, only if it still does not exist', async () => {
    ddb.on(UpdateItemCommand).rejectsOnce(conditionFailed()).resolves({});
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep }).write([finding('orders')], RUN);
    expect(inputs()[1]).toEqual({
      TableName: TABLE,
      Key: KEY,
      UpdateExpression:
        `SET accountId = :account, #region = :region, tableName = :name, reasons = :reasons, lastSeen = :seen, lastRunId = :run, #status = :status, since = :seen, firstSeen = :seen, ${APPEND}`,
      ConditionExpression: 'attribute_not_exists(tableArn)',
      ExpressionAttributeNames: { '#status': 'status', '#region': 'region' },
      ExpressionAttributeValues: { ...FACTS, ':status': { S: 'NON_COMPLIANT' }, ...HISTORY('first seen -> NON_COMPLIANT (PITR_DISABLED)') },
    });
    expect(out.since.get(KEY.tableArn.S)).toEqual({ status: 'NON_COMPLIANT', since: RUN.seenAt });
  });

  it('a changed status: since reset, previousStatus recorded, conditioned on the old status and lastSeen', async () => {
    const old = { tableArn: KEY.tableArn, status: { S: 'COMPLIANT' }, lastSeen: { S: '2026-11-21T11:00:00.000Z' }, since: { S: '2026-10-01T00:00:00.000Z' } };
    ddb.on(UpdateItemCommand).rejectsOnce(conditionFailed(old)).resolves({});
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep }).write([finding('orders')], RUN);
    expect(inputs()[1]).toEqual({
      TableName: TABLE,
      Key: KEY,
      UpdateExpression:
        `SET accountId = :account, #region = :region, tableName = :name, reasons = :reasons, lastSeen = :seen, lastRunId = :run, #status = :status, since = :seen, firstSeen = if_not_exists(firstSeen, :seen), previousStatus = :oldStatus, ${APPEND}`,
      ConditionExpression: 'attribute_exists(tableArn) AND #status = :oldStatus AND lastSeen = :oldSeen',
      ExpressionAttributeNames: { '#status': 'status', '#region': 'region' },
      ExpressionAttributeValues: {
        ...FACTS,
        ':status': { S: 'NON_COMPLIANT' },
        ':oldStatus': { S: 'COMPLIANT' },
        ':oldSeen': { S: '2026-11-21T11:00:00.000Z' },
        ...HISTORY('COMPLIANT -> NON_COMPLIANT (PITR_DISABLED)'),
      },
      ReturnValues: 'UPDATED_NEW',
    });
    expect(out.since.get(KEY.tableArn.S)?.since).toBe(RUN.seenAt);
  });

  it('a status change that grows the history past 100 entries: one REMOVE of the oldest, conditioned on the length seen', async () => {
    const old = { tableArn: KEY.tableArn, status: { S: 'COMPLIANT' }, lastSeen: { S: '2026-11-21T11:00:00.000Z' } };
    const history = { L: Array.from({ length: 102 }, (_, i) => ({ M: { at: { S: `t${i}` }, event: { S: 'STATUS_CHANGED' }, detail: { S: 'x' } } })) };
    ddb.on(UpdateItemCommand).rejectsOnce(conditionFailed(old)).resolvesOnce({ Attributes: { history } }).resolves({});
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep }).write([finding('orders')], RUN);
    expect(inputs()).toHaveLength(3);
    expect(inputs()[2]).toEqual({
      TableName: TABLE,
      Key: KEY,
      UpdateExpression: 'REMOVE history[0], history[1]',
      ConditionExpression: 'size(history) = :historyLength',
      ExpressionAttributeValues: { ':historyLength': { N: '102' } },
    });
    expect(out.failed).toEqual([]);
  });

  it('a failed trim (a concurrent append) is not a failed write: the next append trims', async () => {
    const old = { tableArn: KEY.tableArn, status: { S: 'COMPLIANT' }, lastSeen: { S: '2026-11-21T11:00:00.000Z' } };
    const history = { L: Array.from({ length: 101 }, () => ({ M: { at: { S: 't' }, event: { S: 'STATUS_CHANGED' }, detail: { S: 'x' } } })) };
    ddb.on(UpdateItemCommand).rejectsOnce(conditionFailed(old)).resolvesOnce({ Attributes: { history } }).rejects(conditionFailed());
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep }).write([finding('orders')], RUN);
    expect(inputs().map((i) => i.UpdateExpression?.slice(0, 20))).toHaveLength(3);
    expect(inputs()[2]!.UpdateExpression).toBe('REMOVE history[0]');
    expect(out.failed).toEqual([]);
    expect(out.since.get(KEY.tableArn.S)?.since).toBe(RUN.seenAt);
  });

  it('a newer run already wrote the item: left as it is (stale), no further write', async () => {
    const newer = { tableArn: KEY.tableArn, status: { S: 'COMPLIANT' }, lastSeen: { S: '2026-11-21T13:00:00.000Z' } };
    ddb.on(UpdateItemCommand).rejects(conditionFailed(newer));
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep }).write([finding('orders')], RUN);
    expect(inputs()).toHaveLength(1);
    expect(out).toEqual({ since: new Map(), stale: [KEY.tableArn.S], failed: [], transitions: [], openIncidents: [], repeatedlyDisabled: [] });
  });

  it('a concurrent writer changed the item in between: starts over and ends on the same-status write', async () => {
    const old = { tableArn: KEY.tableArn, status: { S: 'COMPLIANT' }, lastSeen: { S: '2026-11-21T11:00:00.000Z' } };
    ddb
      .on(UpdateItemCommand)
      .rejectsOnce(conditionFailed(old)) // 1: status differs
      .rejectsOnce(conditionFailed()) // 2: the change lost the race
      .resolves({ Attributes: { since: { S: '2026-11-21T11:30:00.000Z' } } }); // 3: same status now, since kept
    const sleeps: number[] = [];
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: async (ms) => void sleeps.push(ms), baseDelayMs: 10 }).write([finding('orders')], RUN);
    expect(inputs().map((i) => i.ConditionExpression)).toEqual([
      '#status = :status AND lastSeen <= :seen',
      'attribute_exists(tableArn) AND #status = :oldStatus AND lastSeen = :oldSeen',
      '#status = :status AND lastSeen <= :seen',
    ]);
    expect(sleeps).toHaveLength(1);
    expect(out.since.get(KEY.tableArn.S)?.since).toBe('2026-11-21T11:30:00.000Z');
  });

  it('throttling is retried with backoff; what still fails is returned with the error, never dropped', async () => {
    ddb.on(UpdateItemCommand, { Key: KEY }).rejects(awsError('ProvisionedThroughputExceededException'));
    ddb.on(UpdateItemCommand, { Key: { tableArn: { S: 'arn:aws:dynamodb:eu-west-1:123456789012:table/payments' } } }).resolves({ Attributes: { since: { S: RUN.seenAt } } });
    const sleeps: number[] = [];
    const ledger = new FindingsLedger(new DynamoDBClient({}), TABLE, { attempts: 3, sleep: async (ms) => void sleeps.push(ms), baseDelayMs: 100 });
    const out = await ledger.write([finding('orders'), finding('payments')], RUN);
    expect(ddb.commandCalls(UpdateItemCommand, { Key: KEY })).toHaveLength(3);
    expect(sleeps.filter((ms) => ms >= 0 && ms <= 400)).toHaveLength(2);
    expect(out.failed.map((f) => [f.tableArn, f.error.errorName, f.error.operation])).toEqual([[KEY.tableArn.S, 'ProvisionedThroughputExceededException', 'UpdateItem']]);
    expect([...out.since.keys()]).toEqual(['arn:aws:dynamodb:eu-west-1:123456789012:table/payments']);
  });

  it('AccessDenied is not retried', async () => {
    ddb.on(UpdateItemCommand).rejects(awsError('AccessDeniedException'));
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep }).write([finding('orders')], RUN);
    expect(inputs()).toHaveLength(1);
    expect(out.failed[0]?.error.message).toMatch(/^UpdateItem on arn:aws:dynamodb:eu-west-1:123456789012:table\/orders failed: AccessDeniedException/);
  });

  it('writes at most `concurrency` tables at once, every table once', async () => {
    let inFlight = 0;
    let peak = 0;
    ddb.on(UpdateItemCommand).callsFake(async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return { Attributes: { since: { S: RUN.seenAt } } };
    });
    const many = Array.from({ length: 40 }, (_, i) => finding(`table-${String(i).padStart(2, '0')}`));
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { concurrency: 4 }).write(many, RUN);
    expect(peak).toBe(4);
    expect(inputs().map((i) => i.Key?.tableArn?.S).sort()).toEqual(many.map((f) => f.tableArn).sort());
    expect(out.since.size).toBe(40);
  });

  it('an ERROR finding without an ARN is keyed on the ARN built from account, Region and name', () => {
    expect(ledgerKey({ ...finding('orders', 'ERROR'), tableArn: null })).toBe('arn:aws:dynamodb:eu-west-1:123456789012:table/orders');
  });
});
