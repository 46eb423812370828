/**
 * A restore drill (docs/drills.md): read the source (DescribeTable, DescribeContinuousBackups),
 * plan (lib/core/drill.ts), then RestoreTableToPointInTime into a new temporary table, tag it,
 * wait for ACTIVE (DescribeTable with backoff, bounded), check it against the source (key schema,
 * indexes, item count by a paced Scan COUNT, restore point), and delete it ALWAYS: in `finally`,
 * after a failed check, an error, or a cancel (the AbortSignal the CLI fires on SIGINT/SIGTERM).
 *
 * The source table is only ever named by DescribeTable, DescribeContinuousBackups and (as the
 * restore's SourceTableName) RestoreTableToPointInTime: nothing here writes to it. Every other call
 * names the temporary table.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  RestoreTableToPointInTimeCommand,
  ScanCommand,
  TagResourceCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { AwsCallError, PitrGuardError, UsageError, awsErrorName, errorMessage } from '../core/errors';
import {
  checkRestorePoint,
  deleteCommand,
  CHECK_NAMES,
  drillCost,
  drillOutcome,
  drillTableName,
  drillTags,
  itemCountCheck,
  restorePointCheck,
  shapeChecks,
  type DrillPlan,
  type PitrWindow,
  type TableShape,
} from '../core/drill';
import { parseTableArn } from '../core/ids';
import type { DrillRecord } from '../core/types';
import { RateLimiter, retrying, sleep as realSleep, type Sleep } from '../aws/pace';
import { deleteTemporaryTable, type CleanupResult } from './drill-cleanup';

export interface DrillDeps {
  ddb: DynamoDBClient;
  now?: () => Date;
  sleep?: Sleep;
  newId?: () => string;
  /** Fired on Ctrl-C / SIGTERM: the drill stops waiting and goes straight to the cleanup. */
  signal?: AbortSignal;
  /** Progress lines (the CLI writes them to stderr). */
  progress?: (line: string) => void;
}

export interface DrillOptions {
  /** Longest wait from the restore call to ACTIVE plus the checks (default 60 min). */
  timeoutMs?: number;
  /** How long the cleanup may wait for the table to become deletable (default 60 min: a restore cannot be cancelled). */
  cleanupTimeoutMs?: number;
  pollMs?: number;
  maxPollMs?: number;
  /** Scan pages per second for the item count (default 10). */
  scanPagesPerSecond?: number;
}

export const DRILL_DEFAULTS = { timeoutMs: 3_600_000, cleanupTimeoutMs: 3_600_000, pollMs: 2_000, maxPollMs: 30_000, scanPagesPerSecond: 10 };

export interface DrillSource {
  tableArn: string;
  accountId: string;
  shape: TableShape;
  itemCount?: number;
  tableSizeBytes?: number;
  window: PitrWindow;
}

export function shapeOf(t: TableDescription | undefined): TableShape {
  return {
    keySchema: (t?.KeySchema ?? []).map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType })),
    gsis: (t?.GlobalSecondaryIndexes ?? []).map((i) => ({ name: i.IndexName ?? '?', keySchema: i.KeySchema ?? [] })),
    lsis: (t?.LocalSecondaryIndexes ?? []).map((i) => ({ name: i.IndexName ?? '?', keySchema: i.KeySchema ?? [] })),
  };
}

/** The source's facts. A missing table or an access error is an error before any drill starts (exit 2). */
export async function readDrillSource(ddb: DynamoDBClient, tableName: string, sleep: Sleep = realSleep): Promise<DrillSource> {
  const call = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await retrying(fn, { sleep });
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException' || awsErrorName(error) === 'TableNotFoundException') throw new UsageError(`table ${tableName} does not exist`);
      throw new AwsCallError(operation, error, tableName);
    }
  };
  const t = (await call('DescribeTable', () => ddb.send(new DescribeTableCommand({ TableName: tableName })))).Table;
  const cb = await call('DescribeContinuousBackups', () => ddb.send(new DescribeContinuousBackupsCommand({ TableName: tableName })));
  const arn = t?.TableArn ? parseTableArn(t.TableArn) : undefined;
  if (!t?.TableArn || !arn) throw new PitrGuardError('DRILL_SOURCE', `DescribeTable on ${tableName} returned no table ARN`);
  const p = cb.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
  return {
    tableArn: t.TableArn,
    accountId: arn.accountId,
    shape: shapeOf(t),
    ...(t.ItemCount !== undefined ? { itemCount: t.ItemCount } : {}),
    ...(t.TableSizeBytes !== undefined ? { tableSizeBytes: t.TableSizeBytes } : {}),
    window: { status: p?.PointInTimeRecoveryStatus ?? 'UNKNOWN', ...(p?.EarliestRestorableDateTime ? { earliest: p.EarliestRestorableDateTime } : {}), ...(p?.LatestRestorableDateTime ? { latest: p.LatestRestorableDateTime } : {}) },
  };
}

/** The plan (what --yes would do); throws a UsageError when PITR is off or --to is outside the window. */
export function planDrill(source: DrillSource, req: { region: string; tableName: string; to?: Date; exemptTag: string; timeoutMs?: number }, now: Date, drillId: string = randomUUID()): DrillPlan {
  const requested = checkRestorePoint(req.tableName, source.window, req.to);
  return {
    drillId,
    accountId: source.accountId,
    region: req.region,
    tableName: req.tableName,
    tableArn: source.tableArn,
    temporaryTableName: drillTableName(req.tableName, now),
    requested,
    window: source.window,
    source: { ...source.shape, ...(source.itemCount !== undefined ? { itemCount: source.itemCount } : {}), ...(source.tableSizeBytes !== undefined ? { tableSizeBytes: source.tableSizeBytes } : {}) },
    tags: drillTags(drillId, source.tableArn, req.exemptTag),
    checks: [...CHECK_NAMES],
    cost: drillCost(source.tableSizeBytes, req.timeoutMs ?? DRILL_DEFAULTS.timeoutMs),
  };
}

class DrillStopped extends PitrGuardError {}

/** Runs the plan; always resolves to a record (a failure is an outcome), after the temporary table is deleted. */
export async function runDrill(plan: DrillPlan, deps: DrillDeps, options: DrillOptions = {}): Promise<DrillRecord> {
  const o = { ...DRILL_DEFAULTS, ...options };
  const now = deps.now ?? (() => new Date());
  const wait = deps.sleep ?? realSleep;
  const { ddb } = deps;
  const temp = plan.temporaryTableName;
  const startedAt = now();
  const deadline = startedAt.getTime() + o.timeoutMs;
  const checks: DrillRecord['checks'] = [];
  let error: string | undefined;
  let mayExist = false;
  let restorePoint: string | null = null;
  let restoreSeconds: number | null = null;
  let tagged = false;
  let ambiguous = false;
  let cleanup: CleanupResult | undefined;

  const stopIfCancelled = () => {
    if (deps.signal?.aborted) throw new DrillStopped('DRILL_CANCELLED', `cancelled (${String(deps.signal.reason ?? 'signal')}) before the checks finished`);
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const onAbort = () => resolve();
      deps.signal?.addEventListener('abort', onAbort, { once: true });
      void wait(ms).then(() => {
        deps.signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  const tag = async (arn: string | undefined) => {
    if (tagged || !arn) return;
    try {
      await retrying(() => ddb.send(new TagResourceCommand({ ResourceArn: arn, Tags: plan.tags })), { sleep: wait });
      tagged = true;
    } catch (e) {
      deps.progress?.(`could not tag ${temp} yet (${awsErrorName(e)}); trying again once it is ACTIVE`);
    }
  };

  try {
    stopIfCancelled();
    const t0 = now().getTime();
    deps.progress?.(`restoring ${plan.tableName} to ${plan.requested === 'LATEST' ? 'its latest restorable time' : plan.requested.toISOString()} into ${temp}`);
    mayExist = true;
    let restored: TableDescription | undefined;
    try {
      const out = await ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: plan.tableName,
          TargetTableName: temp,
          ...(plan.requested === 'LATEST' ? { UseLatestRestorableTime: true } : { RestoreDateTime: plan.requested }),
        }),
      );
      restored = out.TableDescription;
    } catch (e) {
      // The SDK retries a 5xx or a timeout, so even TableAlreadyExistsException may mean "created by
      // our first attempt": the cleanup deletes the table only if it was restored from this source
      // during this drill (ownership check), and leaves any other table of that name alone.
      ambiguous = true;
      throw new AwsCallError('RestoreTableToPointInTime', e, plan.tableName);
    }
    await tag(restored?.TableArn);
    let table = restored;
    let pollMs = o.pollMs;
    for (;;) {
      stopIfCancelled();
      if (table?.TableStatus === 'ACTIVE' && table.RestoreSummary?.RestoreInProgress !== true) break;
      if (now().getTime() + pollMs > deadline) throw new DrillStopped('DRILL_TIMEOUT', `${temp} was not ACTIVE within ${Math.round(o.timeoutMs / 60_000)} min (last status ${table?.TableStatus ?? 'unknown'})`);
      await pause(pollMs);
      pollMs = Math.min(o.maxPollMs, pollMs * 2);
      stopIfCancelled();
      table = (await retrying(() => ddb.send(new DescribeTableCommand({ TableName: temp })), { sleep: wait })).Table;
    }
    restoreSeconds = Math.round((now().getTime() - t0) / 100) / 10;
    checks.push({ name: 'restored', passed: true, detail: `${temp} ACTIVE ${restoreSeconds} s after the restore call` });
    checks.push(...shapeChecks(plan.source, shapeOf(table)));
    const counted = await countItems(ddb, temp, { now, sleep: wait, deadline, pagesPerSecond: o.scanPagesPerSecond, stop: stopIfCancelled });
    checks.push(itemCountCheck(counted.count, plan.source.itemCount, counted.note));
    const reached = table?.RestoreSummary?.RestoreDateTime;
    restorePoint = reached ? reached.toISOString() : null;
    checks.push(restorePointCheck(plan.requested, plan.window, reached));
    await tag(table?.TableArn);
    checks.push({ name: 'tagged', passed: tagged, detail: tagged ? plan.tags.map((t) => t.Key).join(', ') : `TagResource on ${temp} failed: scans may report the temporary table until it is gone` });
  } catch (e) {
    error = e instanceof PitrGuardError ? e.message : `unexpected error: ${errorMessage(e)}`;
  } finally {
    const owner = ambiguous ? { sourceArn: plan.tableArn, notBefore: new Date(startedAt.getTime() - 60_000) } : undefined;
    cleanup = mayExist
      ? await deleteTemporaryTable(temp, plan.region, { ddb, now, sleep: wait, ...(deps.progress ? { progress: deps.progress } : {}) }, { timeoutMs: o.cleanupTimeoutMs, pollMs: o.pollMs, maxPollMs: o.maxPollMs, ...(owner ? { owner } : {}) })
      : { cleanedUp: true, detail: 'no temporary table was created' };
  }
  cleanup ??= { cleanedUp: false, detail: `the cleanup did not run: ${deleteCommand(temp, plan.region)}` };
  if (!cleanup.cleanedUp) error = error ? `${error}; ${cleanup.detail}` : cleanup.detail;
  return {
    drillId: plan.drillId,
    accountId: plan.accountId,
    region: plan.region,
    tableName: plan.tableName,
    tableArn: plan.tableArn,
    temporaryTableName: temp,
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    outcome: drillOutcome(checks, error),
    requested: plan.requested === 'LATEST' ? 'LATEST' : plan.requested.toISOString(),
    restorePoint,
    restoreSeconds,
    checks,
    cleanedUp: cleanup.cleanedUp,
    ...(error ? { error } : {}),
  };
}

/** Scan Select COUNT over the temporary table, page by page, paced and bounded by the drill's deadline. */
async function countItems(
  ddb: DynamoDBClient,
  table: string,
  o: { now: () => Date; sleep: Sleep; deadline: number; pagesPerSecond: number; stop: () => void },
): Promise<{ count?: number; note?: string }> {
  const limiter = new RateLimiter(o.pagesPerSecond, () => o.now().getTime(), o.sleep);
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    o.stop();
    if (o.now().getTime() > o.deadline) return { note: `the timeout passed after ${count} items` };
    await limiter.take();
    const page = await retrying(() => ddb.send(new ScanCommand({ TableName: table, Select: 'COUNT', ...(start ? { ExclusiveStartKey: start } : {}) })), { sleep: o.sleep });
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return { count };
}

export const permissions: readonly import('../core/iam').Permission[] = [
  { sid: 'DrillReadSource', actions: ['dynamodb:DescribeContinuousBackups', 'dynamodb:DescribeTable'], resource: 'drillSources', why: 'reads the drill source: key schema, indexes, item count, restorable window' },
  { sid: 'DrillRestore', actions: ['dynamodb:RestoreTableToPointInTime'], resource: 'drillSources', why: 'restores the source to a new temporary table (the action is authorized on the source table)' },
  {
    sid: 'DrillTemporaryTable',
    actions: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:TagResource', 'dynamodb:UpdateItem'],
    resource: 'drillTables',
    why: 'the restore writes the temporary table (AWS: read and write permissions on the target table), then it is tagged, described and counted',
    implied: 'RestoreTableToPointInTime needs PutItem, UpdateItem, DeleteItem, GetItem, Query, Scan and BatchWriteItem on the target table (DynamoDB developer guide, Using IAM with backup and restore); no SDK command of ours sends them',
  },
];
