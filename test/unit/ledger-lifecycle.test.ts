/**
 * The findings ledger's alert lifecycle (lib/state/ledger.ts with `lifecycle` settings): the exact
 * conditional UpdateItem that claims each step (open, remind, resolve, the loop count), a lost
 * race re-decided from the item DynamoDB returns (two writers, one alert), the scan's resolve of
 * what it re-enabled, and the reactor's GetItem + UpdateItem (loop protection, incident).
 */
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand, type AttributeValue, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { FindingsLedger } from '../../lib/state/ledger';
import { IncidentLedger } from '../../lib/state/incidents';
import type { Finding, FindingStatus } from '../../lib/core/types';

const ddb = mockClient(DynamoDBClient);
const TABLE = 'pitr-guard-findings';
const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders';
const RUN = { runId: 'run-2', seenAt: '2026-11-21T12:00:00.000Z' };
const SETTINGS = { remindHours: 24, loopLimit: 3, loopWindowMinutes: 60 };
const noSleep = () => Promise.resolve();
const OPENED = '2026-11-20T12:00:00.000Z';
const INCIDENT = `${ARN}#${OPENED}`;

function finding(status: FindingStatus = 'NON_COMPLIANT'): Finding {
  return {
    accountId: '123456789012',
    region: 'eu-west-1',
    tableName: 'orders',
    tableArn: ARN,
    tableStatus: 'ACTIVE',
    status,
    reasons: status === 'COMPLIANT' ? ['PITR_ENABLED'] : ['PITR_DISABLED'],
    message: 'PITR is disabled.',
    pitr: { status: 'DISABLED', recoveryPeriodInDays: null, earliestRestorableDateTime: null, latestRestorableDateTime: null, restorableDays: null },
    exemption: null,
    modeTag: null,
  };
}

const conditionFailed = (item: Record<string, AttributeValue>) => Object.assign(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }), { Item: item });
const APPEND = 'history = list_append(if_not_exists(history, :historyEmpty), :history)';
/** The expression values of appended history entries. */
const history = (...entries: { at: string; event: string; detail: string; actor?: string }[]) => ({
  ':historyEmpty': { L: [] },
  ':history': { L: entries.map((e) => ({ M: { at: { S: e.at }, event: { S: e.event }, detail: { S: e.detail }, ...(e.actor ? { actor: { S: e.actor } } : {}) } })) },
});
const updates = () => ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input as UpdateItemCommandInput);
const ledger = () => new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep, lifecycle: SETTINGS });
const openItem = (extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
  since: { S: OPENED },
  incidentId: { S: INCIDENT },
  incidentState: { S: 'OPEN' },
  openedAt: { S: OPENED },
  lastAlertedAt: { S: OPENED },
  reminderDueAt: { S: '2026-11-21T12:00:00.000Z' },
  reminders: { N: '0' },
  lifecycleVersion: { N: '4' },
  ...extra,
});

beforeEach(() => ddb.reset());

describe('FindingsLedger.write with the lifecycle', () => {
  it('a new NON_COMPLIANT table: the claim opens the incident, conditioned on no lifecycle write before', async () => {
    ddb.on(UpdateItemCommand).resolves({ Attributes: { since: { S: RUN.seenAt } } });
    const out = await ledger().write([finding()], RUN);
    expect(updates()[1]).toEqual({
      TableName: TABLE,
      Key: { tableArn: { S: ARN } },
      UpdateExpression:
        `SET incidentId = :incident, incidentState = :open, openedAt = :now, lastAlertedAt = :now, reminders = :zero, reminderDueAt = :due, ${APPEND}, lifecycleVersion = :version REMOVE closedAt, fixedBy, fixedAt`,
      ConditionExpression: 'attribute_not_exists(lifecycleVersion)',
      ExpressionAttributeValues: {
        ':now': { S: RUN.seenAt },
        ':incident': { S: `${ARN}#${RUN.seenAt}` },
        ':open': { S: 'OPEN' },
        ':zero': { N: '0' },
        ':due': { S: '2026-11-22T12:00:00.000Z' },
        ':version': { N: '1' },
        ...history({ at: RUN.seenAt, event: 'INCIDENT_OPENED', detail: `${ARN}#${RUN.seenAt}: NON_COMPLIANT (PITR_DISABLED)` }),
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ReturnValues: 'UPDATED_NEW',
    });
    expect(out.transitions).toEqual([
      { kind: 'NEW', tableArn: ARN, accountId: '123456789012', region: 'eu-west-1', tableName: 'orders', status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED'], at: RUN.seenAt, incidentId: `${ARN}#${RUN.seenAt}`, openedAt: RUN.seenAt },
    ]);
    expect(out.openIncidents).toEqual([{ tableArn: ARN, incidentId: `${ARN}#${RUN.seenAt}`, openedAt: RUN.seenAt }]);
  });

  it('an open incident whose reminder is due: REMIND, conditioned on the version read', async () => {
    ddb.on(UpdateItemCommand).resolvesOnce({ Attributes: openItem() }).resolves({});
    const out = await ledger().write([finding()], RUN);
    expect(updates()[1]).toMatchObject({
      UpdateExpression: 'SET lastAlertedAt = :now, reminders = :reminders, reminderDueAt = :due, lifecycleVersion = :version',
      ConditionExpression: 'lifecycleVersion = :expected',
      ExpressionAttributeValues: { ':now': { S: RUN.seenAt }, ':reminders': { N: '1' }, ':due': { S: '2026-11-22T12:00:00.000Z' }, ':version': { N: '5' }, ':expected': { N: '4' } },
    });
    expect(out.transitions.map((t) => [t.kind, t.reminder, t.openedAt])).toEqual([['REMINDER', 1, OPENED]]);
  });

  it('an open incident not due yet: no claim, counted as still open', async () => {
    ddb.on(UpdateItemCommand).resolves({ Attributes: openItem({ reminderDueAt: { S: '2026-11-21T12:00:00.001Z' } }) });
    const out = await ledger().write([finding()], RUN);
    expect(updates()).toHaveLength(1);
    expect(out.transitions).toEqual([]);
    expect(out.openIncidents).toEqual([{ tableArn: ARN, incidentId: INCIDENT, openedAt: OPENED }]);
  });

  it('compliant again: RESOLVE (fixed by unknown), reminder removed', async () => {
    ddb.on(UpdateItemCommand).resolvesOnce({ Attributes: openItem() }).resolves({});
    const out = await ledger().write([finding('COMPLIANT')], RUN);
    expect(updates()[1]).toMatchObject({
      UpdateExpression: `SET incidentState = :closed, closedAt = :now, fixedBy = :by, fixedAt = :now, ${APPEND}, lifecycleVersion = :version REMOVE reminderDueAt`,
      ConditionExpression: 'lifecycleVersion = :expected',
      ExpressionAttributeValues: {
        ':now': { S: RUN.seenAt },
        ':closed': { S: 'CLOSED' },
        ':by': { S: 'unknown' },
        ':version': { N: '5' },
        ':expected': { N: '4' },
        ...history({ at: RUN.seenAt, event: 'INCIDENT_CLOSED', detail: `${INCIDENT}: COMPLIANT, fixed by unknown` }),
      },
      ReturnValues: 'UPDATED_NEW',
    });
    expect(out.transitions.map((t) => [t.kind, t.fixedBy])).toEqual([['RESOLVED', 'unknown']]);
    expect(out.openIncidents).toEqual([]);
  });

  it('disables loop protection kept quiet: one LOOP transition, the count reset in the same claim', async () => {
    const disables = { L: [1, 2, 3, 4].map((i) => ({ M: { eventId: { S: `e${i}` }, at: { S: `2026-11-21T11:5${i}:00.000Z` }, principal: { S: 'arn:aws:iam::123456789012:user/ci' }, userAgent: { S: 'Terraform/1.9.5' } } })) };
    ddb.on(UpdateItemCommand).resolvesOnce({ Attributes: { since: { S: OPENED }, incidentState: { S: 'CLOSED' }, incidentId: { S: INCIDENT }, silencedDisables: { N: '1' }, disables, lifecycleVersion: { N: '9' } } }).resolves({});
    const out = await ledger().write([finding('COMPLIANT')], RUN);
    expect(updates()[1]).toMatchObject({
      UpdateExpression: 'SET silencedDisables = :noneSilenced, lifecycleVersion = :version',
      ConditionExpression: 'lifecycleVersion = :expected',
      ExpressionAttributeValues: { ':noneSilenced': { N: '0' }, ':version': { N: '10' }, ':expected': { N: '9' } },
    });
    expect(out.transitions.map((t) => [t.kind, t.silencedDisables, t.disables?.length])).toEqual([['LOOP', 1, 4]]);
    expect(out.repeatedlyDisabled).toEqual([ARN]);
  });

  it('two writers race for the same step: one claim wins, the loser re-decides from ALL_OLD and alerts nothing', async () => {
    // Both status writes see the same item (no incident); the first claim wins, the second fails with the winner's item.
    const won = openItem({ incidentId: { S: `${ARN}#${RUN.seenAt}` }, openedAt: { S: RUN.seenAt }, lastAlertedAt: { S: RUN.seenAt }, reminderDueAt: { S: '2026-11-22T12:00:00.000Z' }, lifecycleVersion: { N: '1' } });
    let claims = 0;
    ddb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
      if (!input.UpdateExpression?.includes('lifecycleVersion')) return Promise.resolve({ Attributes: { since: { S: RUN.seenAt } } });
      claims++;
      return claims === 1 ? Promise.resolve({}) : Promise.reject(conditionFailed(won));
    });
    const [a, b] = await Promise.all([ledger().write([finding()], RUN), ledger().write([finding()], { runId: 'run-2-duplicate', seenAt: RUN.seenAt })]);
    expect(claims).toBe(2);
    expect([...a.transitions, ...b.transitions].map((t) => t.kind)).toEqual(['NEW']);
    expect([a.openIncidents.length, b.openIncidents.length]).toEqual([1, 1]);
  });

  it('without lifecycle settings nothing but the status is written (the other callers keep their API)', async () => {
    ddb.on(UpdateItemCommand).resolves({ Attributes: openItem() });
    const out = await new FindingsLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep }).write([finding('COMPLIANT')], RUN);
    expect(updates()).toHaveLength(1);
    expect(out).toMatchObject({ transitions: [], openIncidents: [], repeatedlyDisabled: [] });
  });
});

describe('FindingsLedger.resolve (the scan re-enabled the table)', () => {
  const incident = { tableArn: ARN, accountId: '123456789012', region: 'eu-west-1', tableName: 'orders', incidentId: INCIDENT, openedAt: OPENED, status: 'COMPLIANT' as const, reasons: ['PITR_ENABLED'] };
  it('closes that incident only while it is open, fixed by pitr-guard', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    expect(await ledger().resolve(incident, 'pitr-guard', '2026-11-21T12:00:05.000Z')).toMatchObject({ kind: 'RESOLVED', fixedBy: 'pitr-guard', at: '2026-11-21T12:00:05.000Z' });
    expect(updates()[0]).toEqual({
      TableName: TABLE,
      Key: { tableArn: { S: ARN } },
      UpdateExpression: `SET incidentState = :closed, closedAt = :now, fixedBy = :by, fixedAt = :now, lifecycleVersion = if_not_exists(lifecycleVersion, :zero) + :one, ${APPEND} REMOVE reminderDueAt`,
      ConditionExpression: 'incidentId = :incident AND incidentState = :open',
      ExpressionAttributeValues: {
        ':closed': { S: 'CLOSED' },
        ':open': { S: 'OPEN' },
        ':now': { S: '2026-11-21T12:00:05.000Z' },
        ':by': { S: 'pitr-guard' },
        ':incident': { S: INCIDENT },
        ':zero': { N: '0' },
        ':one': { N: '1' },
        ...history(
          { at: '2026-11-21T12:00:05.000Z', event: 'REMEDIATED', detail: 'pitr-guard re-enabled PITR and verified it (scan)' },
          { at: '2026-11-21T12:00:05.000Z', event: 'INCIDENT_CLOSED', detail: `${INCIDENT}: fixed by pitr-guard` },
        ),
      },
      ReturnValues: 'UPDATED_NEW',
    });
  });
  it('another writer closed it first: no transition', async () => {
    ddb.on(UpdateItemCommand).rejects(conditionFailed({}));
    expect(await ledger().resolve(incident, 'pitr-guard', '2026-11-21T12:00:05.000Z')).toBeUndefined();
  });
});

describe('IncidentLedger.recordChange (the reactor, lib/state/incidents.ts)', () => {
  const ledger = () => new IncidentLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep });
  const NOW = new Date('2026-11-21T12:00:00.000Z');
  const input = (eventId: string, fixed = true) => ({
    table: { accountId: '123456789012', region: 'eu-west-1', tableName: 'orders' },
    eventId,
    disable: { at: '2026-11-21T11:59:58.000Z', principal: 'arn:aws:iam::123456789012:user/bob', userAgent: 'Terraform/1.9.5' },
    alerted: true,
    fixed,
    now: NOW,
    settings: SETTINGS,
  });

  it('first disable, re-enabled: consistent read, then the disable recorded and the incident opened and closed by pitr-guard in one write', async () => {
    ddb.on(GetItemCommand).resolves({});
    ddb.on(UpdateItemCommand).resolves({});
    const out = await ledger().recordChange(input('e1'));
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({ TableName: TABLE, Key: { tableArn: { S: ARN } }, ConsistentRead: true });
    expect(updates()[0]).toEqual({
      TableName: TABLE,
      Key: { tableArn: { S: ARN } },
      UpdateExpression:
        `SET accountId = if_not_exists(accountId, :account), #region = if_not_exists(#region, :region), tableName = if_not_exists(tableName, :name), disables = :disables, incidentId = :incident, openedAt = :now, reminders = :zero, lastAlertedAt = :now, incidentState = :closed, closedAt = :now, fixedBy = :by, fixedAt = :now, ${APPEND}, lifecycleVersion = :version REMOVE reminderDueAt`,
      ConditionExpression: 'attribute_not_exists(lifecycleVersion)',
      ExpressionAttributeNames: { '#region': 'region' },
      ExpressionAttributeValues: {
        ':account': { S: '123456789012' },
        ':region': { S: 'eu-west-1' },
        ':name': { S: 'orders' },
        ':disables': { L: [{ M: { eventId: { S: 'e1' }, at: { S: '2026-11-21T11:59:58.000Z' }, principal: { S: 'arn:aws:iam::123456789012:user/bob' }, userAgent: { S: 'Terraform/1.9.5' } } }] },
        ':incident': { S: `${ARN}#${NOW.toISOString()}` },
        ':now': { S: NOW.toISOString() },
        ':zero': { N: '0' },
        ':closed': { S: 'CLOSED' },
        ':by': { S: 'pitr-guard' },
        ':version': { N: '1' },
        ...history(
          { at: '2026-11-21T11:59:58.000Z', event: 'PITR_DISABLED', detail: 'UpdateContinuousBackups PointInTimeRecoveryEnabled=false (event e1)', actor: 'arn:aws:iam::123456789012:user/bob' },
          { at: NOW.toISOString(), event: 'INCIDENT_OPENED', detail: `${ARN}#${NOW.toISOString()}: opened by the reactor (event e1)` },
          { at: NOW.toISOString(), event: 'REMEDIATED', detail: 'pitr-guard re-enabled PITR and verified it' },
          { at: NOW.toISOString(), event: 'INCIDENT_CLOSED', detail: `${ARN}#${NOW.toISOString()}: fixed by pitr-guard` },
        ),
      },
      ReturnValues: 'UPDATED_NEW',
    });
    expect(out).toEqual({ loop: expect.objectContaining({ count: 1, alert: 'ORDINARY', duplicate: false }), incidentId: `${ARN}#${NOW.toISOString()}`, incident: 'opened-and-resolved' });
  });

  it('the disable past the limit: silent, counted in silencedDisables, lastAlertedAt untouched', async () => {
    const prior = { L: ['e1', 'e2', 'e3'].map((id, i) => ({ M: { eventId: { S: id }, at: { S: `2026-11-21T11:5${i}:00.000Z` }, principal: { S: 'p' } } })) };
    ddb.on(GetItemCommand).resolves({ Item: { disables: prior, silencedDisables: { N: '0' }, lifecycleVersion: { N: '7' } } });
    ddb.on(UpdateItemCommand).resolves({});
    const out = await ledger().recordChange(input('e4'));
    expect(out.loop).toMatchObject({ count: 4, alert: 'SILENT' });
    const u = updates()[0]!;
    expect(u.UpdateExpression).toContain('silencedDisables = :silenced');
    expect(u.UpdateExpression).not.toContain('lastAlertedAt');
    expect(u.ConditionExpression).toBe('lifecycleVersion = :expected');
    expect(u.ExpressionAttributeValues).toMatchObject({ ':silenced': { N: '1' }, ':expected': { N: '7' }, ':version': { N: '8' } });
  });

  it('a concurrent writer in between: read again and write on the new version', async () => {
    ddb.on(GetItemCommand).resolvesOnce({ Item: { lifecycleVersion: { N: '1' } } }).resolves({ Item: { lifecycleVersion: { N: '2' } } });
    ddb.on(UpdateItemCommand).rejectsOnce(conditionFailed({})).resolves({});
    await ledger().recordChange(input('e1', false));
    expect(updates().map((u) => u.ExpressionAttributeValues?.[':expected'])).toEqual([{ N: '1' }, { N: '2' }]);
    expect(updates()[1]?.UpdateExpression).toContain('incidentState = :open');
    expect(updates()[1]?.UpdateExpression).toContain('reminderDueAt = :due');
  });

  it('with the item prefetched: no read on the first attempt; a concurrent writer since the prefetch fails the condition, and only then is it read', async () => {
    ddb.on(GetItemCommand).resolves({ Item: { lifecycleVersion: { N: '3' } } });
    ddb.on(UpdateItemCommand).rejectsOnce(conditionFailed({})).resolves({});
    await ledger().recordChange({ ...input('e1'), prefetched: { item: { lifecycleVersion: { N: '2' } } } });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(1);
    expect(updates().map((u) => u.ExpressionAttributeValues?.[':expected'])).toEqual([{ N: '2' }, { N: '3' }]);
  });

  it('prefetch: a consistent GetItem; a failed read is undefined, never an exception', async () => {
    ddb.on(GetItemCommand).resolvesOnce({}).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    expect(await ledger().prefetch(input('e1').table)).toEqual({ item: {} });
    expect(await ledger().prefetch(input('e1').table)).toBeUndefined();
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({ TableName: TABLE, Key: { tableArn: { S: ARN } }, ConsistentRead: true });
  });

  it('a deferred history trim: handed to the caller, not waited for', async () => {
    ddb.on(GetItemCommand).resolves({});
    ddb.on(UpdateItemCommand).resolvesOnce({ Attributes: { history: { L: Array.from({ length: 103 }, () => ({ M: {} })) } } }).resolves({});
    const deferred: Promise<void>[] = [];
    await ledger().recordChange({ ...input('e1'), defer: (p) => void deferred.push(p) });
    expect(deferred).toHaveLength(1);
    await deferred[0];
    expect(updates()[1]).toMatchObject({ UpdateExpression: 'REMOVE history[0], history[1], history[2]', ConditionExpression: 'size(history) = :historyLength' });
  });
});

describe('IncidentLedger.correctFix (the verify disagreed with what the reactor wrote)', () => {
  const ledger = () => new IncidentLedger(new DynamoDBClient({}), TABLE, { sleep: noSleep });
  const NOW = new Date('2026-11-21T12:00:01.000Z');
  const table = { accountId: '123456789012', region: 'eu-west-1', tableName: 'orders' };

  it('reopens the incident it closed: conditioned on the same incident, closed by pitr-guard; the version bumped', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    expect(await ledger().correctFix({ table, incidentId: INCIDENT, fixed: false, why: 'the verify found UNVERIFIED (AccessDeniedException)', now: NOW, settings: SETTINGS })).toBe(true);
    expect(updates()[0]).toEqual({
      TableName: TABLE,
      Key: { tableArn: { S: ARN } },
      UpdateExpression: `SET lifecycleVersion = if_not_exists(lifecycleVersion, :zero) + :one, incidentState = :open, reminderDueAt = :due, ${APPEND} REMOVE closedAt, fixedBy, fixedAt`,
      ConditionExpression: 'incidentId = :incident AND incidentState = :closed AND fixedBy = :by',
      ExpressionAttributeValues: {
        ':incident': { S: INCIDENT },
        ':zero': { N: '0' },
        ':one': { N: '1' },
        ':closed': { S: 'CLOSED' },
        ':by': { S: 'pitr-guard' },
        ':open': { S: 'OPEN' },
        ':due': { S: '2026-11-22T12:00:01.000Z' },
        ...history({ at: NOW.toISOString(), event: 'INCIDENT_OPENED', detail: `${INCIDENT}: reopened: the verify found UNVERIFIED (AccessDeniedException)` }),
      },
      ReturnValues: 'UPDATED_NEW',
    });
  });

  it('closes the incident it left open, fixed by pitr-guard', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    expect(await ledger().correctFix({ table, incidentId: INCIDENT, fixed: true, why: 'verified', now: NOW, settings: SETTINGS })).toBe(true);
    const u = updates()[0]!;
    expect(u.ConditionExpression).toBe('incidentId = :incident AND incidentState = :open');
    expect(u.UpdateExpression).toBe(`SET lifecycleVersion = if_not_exists(lifecycleVersion, :zero) + :one, incidentState = :closed, closedAt = :now, fixedBy = :by, fixedAt = :now, ${APPEND} REMOVE reminderDueAt`);
    expect(u.ExpressionAttributeValues).toMatchObject({ ':closed': { S: 'CLOSED' }, ':by': { S: 'pitr-guard' }, ':now': { S: NOW.toISOString() } });
  });

  it('another writer changed the incident since (the scan closed it, another event opened a new one): nothing written, false', async () => {
    ddb.on(UpdateItemCommand).rejects(conditionFailed({}));
    expect(await ledger().correctFix({ table, incidentId: INCIDENT, fixed: false, why: 'x', now: NOW, settings: SETTINGS })).toBe(false);
    expect(updates()).toHaveLength(1);
  });
});
