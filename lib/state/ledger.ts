/**
 * The findings ledger: one DynamoDB item per table (partition key `tableArn`), the table's latest
 * status across runs, and `since`, when it entered that status. The item (docs/ledger.md) is
 * designed for the alert lifecycle of the next issue, which adds its own attributes to it.
 *
 * Writes: one conditional UpdateItem per finding, not BatchWriteItem. BatchWriteItem can only put
 * (replace) whole items, so it would (a) overwrite `since` and `firstSeen` unless every item were
 * read first, and a read-then-put loses a concurrent writer's update, and (b) wipe the attributes
 * the alert lifecycle owns (incident, lastAlertedAt, fixedBy…). UpdateItem touches only the
 * attributes named here, and its condition makes `since` exact under concurrent writers:
 *
 *   1. same status: SET the facts, condition `#status = :status AND lastSeen <= :seen`: `since`
 *      stays. Steady state (status unchanged) is one call per table.
 *   2. if that condition fails, the old item comes back (ReturnValuesOnConditionCheckFailure):
 *      - no item → create it (condition attribute_not_exists), since = firstSeen = this run;
 *      - its lastSeen is later than this run's → a newer run already wrote: keep it (`stale`);
 *      - another status → SET status, since = this run, previousStatus, condition on the old
 *        status and lastSeen (optimistic: a writer in between makes it fail, and it starts over).
 *
 * Up to `concurrency` tables are written at once; throttling and 5xx are retried by the SDK and
 * then here with backoff; a table that still cannot be written is returned in `failed` (with
 * the error), never dropped: the caller fails the run after alerting (lib/jobs/scheduled-scan.ts).
 */
import {
  ConditionalCheckFailedException,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { AwsCallError, awsErrorName } from '../core/errors';
import { formatTableArn } from '../core/ids';
import type { Finding, FindingStatus } from '../core/types';

export const LEDGER_KEY = 'tableArn';

/** One table's item, as this module writes it (the next issue adds the alert lifecycle; docs/ledger.md). */
export interface LedgerItem {
  tableArn: string;
  accountId: string;
  region: string;
  tableName: string;
  status: FindingStatus;
  reasons: string[];
  /** When the table entered `status` (the evaluation time of the run that first saw it so). */
  since: string;
  /** The status before the last change; absent until the status first changes. */
  previousStatus?: FindingStatus;
  firstSeen: string;
  lastSeen: string;
  lastRunId: string;
}

export interface LedgerRun {
  runId: string;
  /** The scan's evaluation time (ScanReport.generatedAt), ISO 8601. */
  seenAt: string;
}

export interface LedgerWriteResult {
  /** `since` of every table written (by ARN): the status it is in and when it entered it. */
  since: Map<string, { status: FindingStatus; since: string }>;
  /** Tables whose item a newer run had already written: left as the newer run wrote them. */
  stale: string[];
  /** Tables that could not be written after retries (never silently dropped). */
  failed: { tableArn: string; error: AwsCallError }[];
}

export interface LedgerOptions {
  /** Tables written at once (default 16). */
  concurrency?: number;
  /** Attempts per table on throttling / 5xx / a concurrent writer, after the SDK's own (default 5). */
  attempts?: number;
  /** Backoff before attempt n (default 100 ms × 2^n, full jitter). */
  sleep?: (ms: number) => Promise<void>;
  baseDelayMs?: number;
}

const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
]);

/** The ledger's key for a finding: its ARN, or the ARN built from account, Region and name when the read failed. */
export function ledgerKey(f: Pick<Finding, 'tableArn' | 'accountId' | 'region' | 'tableName'>): string {
  return f.tableArn ?? formatTableArn({ accountId: f.accountId, region: f.region, tableName: f.tableName });
}

export class FindingsLedger {
  private readonly concurrency: number;
  private readonly attempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly baseDelayMs: number;

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    options: LedgerOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.attempts = Math.max(1, options.attempts ?? 5);
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.baseDelayMs = options.baseDelayMs ?? 100;
  }

  /** Writes every finding of a run; see the module comment for the protocol. */
  async write(findings: readonly Finding[], run: LedgerRun): Promise<LedgerWriteResult> {
    const result: LedgerWriteResult = { since: new Map(), stale: [], failed: [] };
    let next = 0;
    const worker = async () => {
      while (next < findings.length) {
        const f = findings[next++]!;
        const key = ledgerKey(f);
        try {
          const outcome = await this.writeOne(f, key, run);
          if (outcome === 'stale') result.stale.push(key);
          else result.since.set(key, { status: f.status, since: outcome.since });
        } catch (error) {
          result.failed.push({ tableArn: key, error: error instanceof AwsCallError ? error : new AwsCallError('UpdateItem', error, key) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, findings.length) }, worker));
    return result;
  }

  private async writeOne(f: Finding, key: string, run: LedgerRun): Promise<{ since: string } | 'stale'> {
    let failure: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      if (attempt > 0) await this.sleep(Math.random() * this.baseDelayMs * 2 ** attempt);
      try {
        const old = await this.sameStatus(f, key, run);
        if ('written' in old) return { since: old.written };
        if (old.item === undefined) {
          await this.send(this.create(f, key, run));
          return { since: run.seenAt };
        }
        if ((old.item.lastSeen?.S ?? '') > run.seenAt) return 'stale';
        await this.send(this.change(f, key, run, old.item));
        return { since: run.seenAt };
      } catch (error) {
        failure = error;
        // A concurrent writer got in between (condition failed) or AWS pushed back: start over.
        if (!(error instanceof ConditionalCheckFailedException) && !RETRYABLE.has(awsErrorName(error))) break;
      }
    }
    throw new AwsCallError('UpdateItem', failure, key);
  }

  /** Step 1: the status is unchanged. `written` (the item's `since`), or the old item (undefined when there is none). */
  private async sameStatus(f: Finding, key: string, run: LedgerRun): Promise<{ written: string } | { item: Record<string, AttributeValue> | undefined }> {
    try {
      const out = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEDGER_KEY]: { S: key } },
          UpdateExpression: 'SET accountId = :account, #region = :region, tableName = :name, reasons = :reasons, lastSeen = :seen, lastRunId = :run',
          ConditionExpression: '#status = :status AND lastSeen <= :seen',
          ExpressionAttributeNames: { '#status': 'status', '#region': 'region' },
          ExpressionAttributeValues: { ...facts(f, run), ':status': { S: f.status } },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { written: out.Attributes?.since?.S ?? run.seenAt };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { item: error.Item };
      throw error;
    }
  }

  private create(f: Finding, key: string, run: LedgerRun): UpdateItemCommand {
    return new UpdateItemCommand({
      TableName: this.tableName,
      Key: { [LEDGER_KEY]: { S: key } },
      UpdateExpression:
        'SET accountId = :account, #region = :region, tableName = :name, reasons = :reasons, lastSeen = :seen, lastRunId = :run, #status = :status, since = :seen, firstSeen = :seen',
      ConditionExpression: 'attribute_not_exists(tableArn)',
      ExpressionAttributeNames: { '#status': 'status', '#region': 'region' },
      ExpressionAttributeValues: { ...facts(f, run), ':status': { S: f.status } },
    });
  }

  private change(f: Finding, key: string, run: LedgerRun, old: Record<string, AttributeValue>): UpdateItemCommand {
    const oldStatus = old.status?.S;
    const oldSeen = old.lastSeen?.S;
    const conditions = [oldStatus === undefined ? 'attribute_not_exists(#status)' : '#status = :oldStatus', oldSeen === undefined ? 'attribute_not_exists(lastSeen)' : 'lastSeen = :oldSeen'];
    return new UpdateItemCommand({
      TableName: this.tableName,
      Key: { [LEDGER_KEY]: { S: key } },
      UpdateExpression:
        'SET accountId = :account, #region = :region, tableName = :name, reasons = :reasons, lastSeen = :seen, lastRunId = :run, #status = :status, since = :seen, firstSeen = if_not_exists(firstSeen, :seen)' +
        (oldStatus === undefined ? '' : ', previousStatus = :oldStatus'),
      ConditionExpression: `attribute_exists(tableArn) AND ${conditions.join(' AND ')}`,
      ExpressionAttributeNames: { '#status': 'status', '#region': 'region' },
      ExpressionAttributeValues: {
        ...facts(f, run),
        ':status': { S: f.status },
        ...(oldStatus === undefined ? {} : { ':oldStatus': { S: oldStatus } }),
        ...(oldSeen === undefined ? {} : { ':oldSeen': { S: oldSeen } }),
      },
    });
  }

  private async send(command: UpdateItemCommand): Promise<void> {
    await this.ddb.send(command);
  }
}

function facts(f: Finding, run: LedgerRun): Record<string, AttributeValue> {
  return {
    ':account': { S: f.accountId },
    ':region': { S: f.region },
    ':name': { S: f.tableName },
    ':reasons': { L: f.reasons.map((r) => ({ S: r })) },
    ':seen': { S: run.seenAt },
    ':run': { S: run.runId },
  };
}

export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'FindingsLedger',
    actions: ['dynamodb:UpdateItem'],
    resource: 'findingsTable',
    why: 'records each table’s status, since when, and the run that saw it, in the findings ledger',
  },
];
