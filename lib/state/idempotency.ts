/**
 * De-duplication of CloudTrail events for the reactor, keyed on the CloudTrail eventID.
 *
 * Lambda can hand the same event to the function more than once, and CloudTrail can re-deliver it
 * (with an `addendum`): neither must alert twice. A small DynamoDB table (created by serverless.yml,
 * PITR_GUARD_IDEMPOTENCY_TABLE) holds one item per event:
 *
 *   claim:    PutItem, condition attribute_not_exists(eventId): status IN_PROGRESS with a lease.
 *             If the item exists: COMPLETED → duplicate, do nothing; IN_PROGRESS with a live
 *             lease → another invocation is on it; RETRY (or an expired lease: a crashed run)
 *             → take it over with a conditional UpdateItem (attempts + 1).
 *   complete: status COMPLETED (with the result) — later copies of the event are duplicates.
 *   release:  status RETRY — the run failed (a transient AWS failure, remediation deferred, an
 *             alert channel failed) and Lambda's retry may claim the event again. The run's
 *             `memory` (which alert went to which channel) survives, so a retry neither repeats an
 *             alert nor loses one; `attempts` tells the retry which attempt it is.
 *
 * The lease of a claim is given by the caller: the invocation's remaining time (lib/state/
 * idempotent.ts), so the claim of an invocation that was killed ends when it would have ended.
 *
 * Items expire through the table's TTL attribute `expiresAt` (epoch seconds).
 *
 * IAM: dynamodb:PutItem, dynamodb:GetItem, dynamodb:UpdateItem on that table only.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsCallError, awsErrorName } from '../core/errors';

export type RecordStatus = 'IN_PROGRESS' | 'COMPLETED' | 'RETRY';

export interface IdempotencyRecord {
  eventId: string;
  status: RecordStatus;
  attempts: number;
  /** Epoch ms until which an IN_PROGRESS claim is held. */
  leaseUntil: number;
  /** Epoch seconds: the TTL attribute. */
  expiresAt: number;
  result?: string;
  /** What the handler asked to remember between attempts (JSON), e.g. per-channel alert delivery. */
  memory?: string;
}

export type ClaimOutcome = { state: 'claimed'; record: IdempotencyRecord } | { state: 'completed'; record: IdempotencyRecord } | { state: 'in-progress'; record: IdempotencyRecord };

export interface IdempotencyStore {
  claim(eventId: string, leaseMs: number): Promise<ClaimOutcome>;
  complete(eventId: string, fields: { result: string; memory?: string }): Promise<void>;
  release(eventId: string, fields: { memory?: string }): Promise<void>;
}

export const TTL_ATTRIBUTE = 'expiresAt';
export const KEY_ATTRIBUTE = 'eventId';
const DEFAULT_TTL_DAYS = 7;

export class DynamoIdempotencyStore implements IdempotencyStore {
  private readonly now: () => number;
  private readonly ttlSeconds: number;

  constructor(
    private readonly ddb: DynamoDBClient,
    readonly tableName: string,
    options: { now?: () => number; ttlDays?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.ttlSeconds = Math.round((options.ttlDays ?? DEFAULT_TTL_DAYS) * 86_400);
  }

  async claim(eventId: string, leaseMs: number): Promise<ClaimOutcome> {
    for (let round = 0; round < 3; round++) {
      const now = this.now();
      const fresh: IdempotencyRecord = {
        eventId,
        status: 'IN_PROGRESS',
        attempts: 1,
        leaseUntil: now + leaseMs,
        expiresAt: Math.floor(now / 1000) + this.ttlSeconds,
      };
      try {
        await this.ddb.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: toItem(fresh),
            ConditionExpression: 'attribute_not_exists(#k)',
            ExpressionAttributeNames: { '#k': KEY_ATTRIBUTE },
          }),
        );
        return { state: 'claimed', record: fresh };
      } catch (error) {
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw new AwsCallError('PutItem', error, this.tableName);
      }

      const existing = await this.get(eventId);
      if (!existing) continue; // expired between the two calls: try the put again
      if (existing.status === 'COMPLETED') return { state: 'completed', record: existing };
      if (existing.status === 'IN_PROGRESS' && existing.leaseUntil > now) return { state: 'in-progress', record: existing };
      // RETRY, or IN_PROGRESS whose holder died: take it over if nobody else did meanwhile.
      try {
        const out = await this.ddb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { [KEY_ATTRIBUTE]: { S: eventId } },
            UpdateExpression: 'SET #s = :inprogress, #l = :lease, #a = #a + :one, #t = :ttl',
            ConditionExpression: '#s = :seenStatus AND #l = :seenLease',
            ExpressionAttributeNames: { '#s': 'status', '#l': 'leaseUntil', '#a': 'attempts', '#t': TTL_ATTRIBUTE },
            ExpressionAttributeValues: {
              ':inprogress': { S: 'IN_PROGRESS' },
              ':lease': { N: String(now + leaseMs) },
              ':one': { N: '1' },
              ':ttl': { N: String(fresh.expiresAt) },
              ':seenStatus': { S: existing.status },
              ':seenLease': { N: String(existing.leaseUntil) },
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { state: 'claimed', record: fromItem(out.Attributes ?? {}) };
      } catch (error) {
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw new AwsCallError('UpdateItem', error, this.tableName);
        // someone else took it over: look again
      }
    }
    const last = await this.get(eventId);
    return { state: 'in-progress', record: last ?? { eventId, status: 'IN_PROGRESS', attempts: 0, leaseUntil: 0, expiresAt: 0 } };
  }

  async complete(eventId: string, fields: { result: string; memory?: string }): Promise<void> {
    const values: Record<string, AttributeValue> = { ':s': { S: 'COMPLETED' }, ':r': { S: fields.result }, ':zero': { N: '0' } };
    if (fields.memory) values[':m'] = { S: fields.memory };
    await this.update(eventId, `SET #s = :s, #r = :r, #l = :zero${fields.memory ? ', #m = :m' : ' REMOVE #m'}`, { '#s': 'status', '#r': 'result', '#l': 'leaseUntil', '#m': 'memory' }, values);
  }

  async release(eventId: string, fields: { memory?: string }): Promise<void> {
    const values: Record<string, AttributeValue> = { ':s': { S: 'RETRY' }, ':zero': { N: '0' } };
    if (fields.memory) values[':m'] = { S: fields.memory };
    await this.update(eventId, `SET #s = :s, #l = :zero${fields.memory ? ', #m = :m' : ''}`, { '#s': 'status', '#l': 'leaseUntil', ...(fields.memory ? { '#m': 'memory' } : {}) }, values);
  }

  private async update(eventId: string, expression: string, names: Record<string, string>, values: Record<string, AttributeValue>): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [KEY_ATTRIBUTE]: { S: eventId } },
          UpdateExpression: expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      throw new AwsCallError('UpdateItem', error, this.tableName);
    }
  }

  async get(eventId: string): Promise<IdempotencyRecord | undefined> {
    try {
      const out = await this.ddb.send(new GetItemCommand({ TableName: this.tableName, Key: { [KEY_ATTRIBUTE]: { S: eventId } }, ConsistentRead: true }));
      return out.Item ? fromItem(out.Item) : undefined;
    } catch (error) {
      throw new AwsCallError('GetItem', error, this.tableName);
    }
  }
}

/** An in-memory store with the same rules (tests, the demo, a reactor run without a table). */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  async claim(eventId: string, leaseMs: number): Promise<ClaimOutcome> {
    const now = this.now();
    const existing = this.records.get(eventId);
    if (!existing) {
      const record: IdempotencyRecord = { eventId, status: 'IN_PROGRESS', attempts: 1, leaseUntil: now + leaseMs, expiresAt: Math.floor(now / 1000) + DEFAULT_TTL_DAYS * 86_400 };
      this.records.set(eventId, record);
      return { state: 'claimed', record: { ...record } };
    }
    if (existing.status === 'COMPLETED') return { state: 'completed', record: { ...existing } };
    if (existing.status === 'IN_PROGRESS' && existing.leaseUntil > now) return { state: 'in-progress', record: { ...existing } };
    Object.assign(existing, { status: 'IN_PROGRESS', leaseUntil: now + leaseMs, attempts: existing.attempts + 1 });
    return { state: 'claimed', record: { ...existing } };
  }

  async complete(eventId: string, fields: { result: string; memory?: string }): Promise<void> {
    const r = this.records.get(eventId);
    if (!r) return;
    Object.assign(r, { status: 'COMPLETED', result: fields.result, leaseUntil: 0 });
    if (fields.memory) r.memory = fields.memory;
    else delete r.memory;
  }

  async release(eventId: string, fields: { memory?: string }): Promise<void> {
    const r = this.records.get(eventId);
    if (!r) return;
    Object.assign(r, { status: 'RETRY', leaseUntil: 0 });
    if (fields.memory) r.memory = fields.memory;
  }
}

function toItem(r: IdempotencyRecord): Record<string, AttributeValue> {
  return {
    [KEY_ATTRIBUTE]: { S: r.eventId },
    status: { S: r.status },
    attempts: { N: String(r.attempts) },
    leaseUntil: { N: String(r.leaseUntil) },
    [TTL_ATTRIBUTE]: { N: String(r.expiresAt) },
  };
}

function fromItem(item: Record<string, AttributeValue>): IdempotencyRecord {
  const n = (k: string) => Number(item[k]?.N ?? '0');
  const r: IdempotencyRecord = {
    eventId: item[KEY_ATTRIBUTE]?.S ?? '',
    status: (item.status?.S ?? 'RETRY') as RecordStatus,
    attempts: n('attempts'),
    leaseUntil: n('leaseUntil'),
    expiresAt: n(TTL_ATTRIBUTE),
  };
  if (item.result?.S) r.result = item.result.S;
  if (item.memory?.S) r.memory = item.memory.S;
  return r;
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'Idempotency',
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    resource: 'idempotencyTable',
    why: 'claims, completes and reads de-duplication records, on that table only',
  },
];
