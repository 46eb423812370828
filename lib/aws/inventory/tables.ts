/**
 * Table inventory for one account and Region: every table (ListTables, all pages), its
 * description (DescribeTable), its PITR state (DescribeContinuousBackups) and its tags
 * (ListTagsOfResource, all pages), drawing from the pacers of pacers.ts.
 *
 * IAM: dynamodb:ListTables (Resource "*"), dynamodb:DescribeTable,
 * dynamodb:DescribeContinuousBackups, dynamodb:ListTagsOfResource (table ARNs).
 *
 * Nothing is lost quietly: a table whose facts cannot be read comes back with `error` set (the
 * evaluator makes it an ERROR finding); only a table that was deleted between listing and reading
 * is dropped, and it is named in `vanished` and in a log line.
 */
import { DEFAULT_RATE_PER_SECOND } from '../rates';
import { createPacers, type Pacers } from './pacers';
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  ListTagsOfResourceCommand,
  ListTablesCommand,
  type DescribeContinuousBackupsCommandOutput,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { AwsCallError, TableVanishedError, awsErrorName, errorMessage } from '../../core/errors';
import { silentLogger, type Logger } from '../../runtime/logger';
import { isThrottle, mapLimit, type RateLimiter, paced, retrying, sleep, type RetryOptions, type Sleep } from '../pace';
import type { PitrState, TableFacts } from '../../core/types';
import type { TagLookup } from './tags';

/** Table states in which PITR cannot be read or changed: facts beyond the description are skipped. */
export const OUT_OF_SCOPE_STATES = new Set(['DELETING', 'ARCHIVING', 'ARCHIVED']);

export interface InventoryOptions {
  /** Calls per second for each paced API (DescribeContinuousBackups, ListTagsOfResource). AWS documents 10. */
  ratePerSecond: number;
  /** Tables read at once (the pacers bound the rate; 24 measured slower than 10 on a CPU-starved machine). */
  concurrency: number;
  /** Backoff for throttling and server errors, on top of the SDK's retries. */
  retry: Partial<RetryOptions>;
  /** Wait before re-checking a table DescribeTable could not find (DescribeTable is eventually consistent). */
  vanishRecheckMs: number;
  logger: Logger;
  sleep: Sleep;
  /** Called once the Region's tables are listed (done 0) and after each table is read (progress bars). */
  onProgress?: (progress: InventoryProgress) => void;
}

export interface InventoryProgress {
  region: string;
  /** Tables listed in the Region. */
  total: number;
  /** Tables read so far. */
  done: number;
}

export const DEFAULT_INVENTORY: InventoryOptions = {
  ratePerSecond: DEFAULT_RATE_PER_SECOND,
  concurrency: 10,
  retry: {},
  vanishRecheckMs: 1500,
  logger: silentLogger,
  sleep,
};

export interface RegionInventory {
  accountId: string;
  region: string;
  tables: TableFacts[];
  /** Tables listed but deleted before they could be read. */
  vanished: string[];
}

/** Every table name in the client's Region, all pages. Throws AwsCallError when listing fails. */
export async function listTableNames(ddb: DynamoDBClient, options: Partial<InventoryOptions> = {}): Promise<string[]> {
  const names: string[] = [];
  let startAfter: string | undefined;
  do {
    const page = await listTablesPage(ddb, startAfter, options);
    names.push(...page.names);
    startAfter = page.last;
  } while (startAfter);
  return names;
}

/**
 * One ListTables page (up to 100 names, in the name order ListTables keeps) after `startAfter`
 * (ExclusiveStartTableName); `last` is LastEvaluatedTableName, absent on the last page. Each page
 * is retried on its own, so a throttle on page 7 resumes at page 7. Throws AwsCallError.
 */
export async function listTablesPage(ddb: DynamoDBClient, startAfter: string | undefined, options: Partial<InventoryOptions> = {}): Promise<{ names: string[]; last?: string }> {
  const o = { ...DEFAULT_INVENTORY, ...options };
  try {
    const page = await retrying(() => ddb.send(new ListTablesCommand({ ExclusiveStartTableName: startAfter, Limit: 100 })), { ...o.retry, sleep: o.sleep });
    return { names: page.TableNames ?? [], ...(page.LastEvaluatedTableName ? { last: page.LastEvaluatedTableName } : {}) };
  } catch (error) {
    throw new AwsCallError('ListTables', error);
  }
}

const Vanished = TableVanishedError;

/** Reads everything about one table (tags from `tagsOf` where it has them). Resolves to 'vanished' when the table no longer exists. */
export async function readTable(
  ddb: DynamoDBClient,
  ref: { accountId: string; region: string; tableName: string },
  pacers: Pacers,
  options: Partial<InventoryOptions> = {},
  tagsOf?: TagLookup,
): Promise<TableFacts | 'vanished'> {
  const o = { ...DEFAULT_INVENTORY, ...options };
  const facts: TableFacts = { ...ref };
  const call = async <T>(operation: string, send: () => Promise<T>, pacer?: RateLimiter): Promise<T> =>
    retrying(
      () => paced(pacer, send),
      {
        ...o.retry,
        sleep: o.sleep,
        onRetry: (error, attempt, delayMs) => {
          if (isThrottle(error)) pacer?.backOff(delayMs);
          o.logger.debug('retrying AWS call', { operation, table: ref.tableName, region: ref.region, attempt, delayMs, errorName: awsErrorName(error) });
        },
      },
    );

  let operation = 'DescribeTable';
  try {
    const table = await describeWithRecheck(ddb, ref.tableName, call, o);
    Object.assign(facts, describeFacts(table));
    if (facts.tableStatus && OUT_OF_SCOPE_STATES.has(facts.tableStatus)) return facts;

    operation = 'DescribeContinuousBackups';
    const backups = await call(
      operation,
      () => ddb.send(new DescribeContinuousBackupsCommand({ TableName: ref.tableName })),
      pacers.describeContinuousBackups,
    ).catch((error: unknown) => {
      if (awsErrorName(error) === 'TableNotFoundException') throw new Vanished();
      throw error;
    });
    facts.pitr = pitrState(backups);

    operation = 'ListTagsOfResource';
    const bulk = tagsOf && facts.tableArn ? await tagsOf(facts.tableArn) : undefined;
    facts.tags = bulk ?? (await readTags(ddb, facts.tableArn, call, pacers.listTagsOfResource));
    return facts;
  } catch (error) {
    if (error instanceof Vanished) {
      o.logger.info('table deleted while being read; dropped from this scan', { table: ref.tableName, region: ref.region, operation });
      return 'vanished';
    }
    facts.error = { operation, errorName: awsErrorName(error), message: errorMessage(error) };
    o.logger.warn('could not read table', { table: ref.tableName, region: ref.region, ...facts.error });
    return facts;
  }
}

type Call = <T>(operation: string, send: () => Promise<T>, pacer?: RateLimiter) => Promise<T>;

async function describeWithRecheck(ddb: DynamoDBClient, tableName: string, call: Call, o: InventoryOptions): Promise<TableDescription> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await call('DescribeTable', () => ddb.send(new DescribeTableCommand({ TableName: tableName })));
      if (!out.Table) throw new Error('DescribeTable returned no Table');
      return out.Table;
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
      // Listed a moment ago: either deleted since, or so new that DescribeTable does not see it yet.
      if (attempt >= 2) throw new Vanished();
      await o.sleep(o.vanishRecheckMs);
    }
  }
}

async function readTags(ddb: DynamoDBClient, arn: string | undefined, call: Call, pacer: RateLimiter): Promise<Record<string, string>> {
  if (!arn) throw new Error('DescribeTable returned no TableArn, so tags cannot be read');
  const tags: Record<string, string> = {};
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page = await call(
      'ListTagsOfResource',
      () => ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn, NextToken: token })),
      pacer,
    ).catch((error: unknown) => {
      if (awsErrorName(error) === 'ResourceNotFoundException') throw new Vanished();
      throw error;
    });
    for (const tag of page.Tags ?? []) {
      if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return tags;
}

export function describeFacts(table: TableDescription): Partial<TableFacts> {
  const out: Partial<TableFacts> = {
    tableArn: table.TableArn,
    tableId: table.TableId,
    tableStatus: table.TableStatus,
    creationDateTime: table.CreationDateTime,
  };
  if (table.TableSizeBytes !== undefined) out.tableSizeBytes = table.TableSizeBytes;
  // PITR bills table size plus LSI size (GSIs are not part of it): the LSI sizes come with the description.
  if (table.LocalSecondaryIndexes?.length) out.lsiSizeBytes = table.LocalSecondaryIndexes.reduce((sum, i) => sum + (i.IndexSizeBytes ?? 0), 0);
  if (table.GlobalTableVersion) out.globalTableVersion = table.GlobalTableVersion;
  if (table.Replicas?.length) {
    out.replicas = table.Replicas.map((r) => ({
      regionName: r.RegionName ?? 'unknown',
      ...(r.ReplicaStatus ? { replicaStatus: r.ReplicaStatus } : {}),
      ...(r.ReplicaArn ? { replicaArn: r.ReplicaArn } : {}),
    }));
  }
  if (table.RestoreSummary) {
    const r = table.RestoreSummary;
    out.restoreSummary = {
      sourceTableArn: r.SourceTableArn,
      sourceBackupArn: r.SourceBackupArn,
      restoreDateTime: r.RestoreDateTime,
      restoreInProgress: r.RestoreInProgress,
    };
  }
  return out;
}

/** The PITR state from a DescribeContinuousBackups answer; a missing description means not enabled. */
export function pitrState(out: Pick<DescribeContinuousBackupsCommandOutput, 'ContinuousBackupsDescription'>): PitrState {
  const d = out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
  if (!d?.PointInTimeRecoveryStatus) return { status: 'MISSING' };
  return {
    status: d.PointInTimeRecoveryStatus,
    recoveryPeriodInDays: d.RecoveryPeriodInDays,
    earliestRestorableDateTime: d.EarliestRestorableDateTime,
    latestRestorableDateTime: d.LatestRestorableDateTime,
  };
}

/**
 * Lists and reads every table of one Region; `bulkTags` (lib/aws/inventory/tags.ts) reads the
 * tags 100 tables a call where it can. Throws AwsCallError only when the listing itself fails.
 */
export async function inventoryRegion(
  ddb: DynamoDBClient,
  where: { accountId: string; region: string },
  options: Partial<InventoryOptions> = {},
  pacers: Pacers = createPacers(options.ratePerSecond ?? DEFAULT_INVENTORY.ratePerSecond),
  bulkTags?: (names: readonly string[]) => TagLookup,
): Promise<RegionInventory> {
  const o = { ...DEFAULT_INVENTORY, ...options };
  const names = await listTableNames(ddb, o);
  o.logger.debug('listed tables', { region: where.region, count: names.length });
  const tagsOf = bulkTags?.(names);
  let done = 0;
  o.onProgress?.({ region: where.region, total: names.length, done });
  const read = await mapLimit(names, o.concurrency, async (tableName) => {
    const result = await readTable(ddb, { ...where, tableName }, pacers, o, tagsOf);
    o.onProgress?.({ region: where.region, total: names.length, done: ++done });
    return result;
  });
  const tables: TableFacts[] = [];
  const vanished: string[] = [];
  read.forEach((r, i) => (r === 'vanished' ? vanished.push(names[i] as string) : tables.push(r)));
  return { ...where, tables, vanished };
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../../core/iam').Permission[] = [
  { sid: 'ListTables', actions: ['dynamodb:ListTables'], resource: '*', why: 'lists the tables of each Region', calledBy: ['listTableNames', 'listTablesPage'] },
  {
    sid: 'ReadTables',
    actions: ['dynamodb:DescribeTable', 'dynamodb:DescribeContinuousBackups', 'dynamodb:ListTagsOfResource'],
    resource: 'tables',
    why: 'reads each table, its PITR state and its tags',
    calledBy: ['readTable'],
  },
];
