/**
 * One table read at once, for the reactor: DescribeTable, DescribeContinuousBackups and
 * ListTagsOfResource sent together (one round trip instead of three). The event names the table,
 * its account and Region, so the ARN ListTagsOfResource needs is formatted (lib/core/ids.ts)
 * instead of waiting for DescribeTable; DescribeTable's own ARN is checked against it, and tags are
 * read again with that ARN in the rare case they differ.
 *
 * The result is the same as `readTable` (tables.ts): facts with `error` set for the first call that
 * failed (in the order DescribeTable, DescribeContinuousBackups, ListTagsOfResource), 'vanished'
 * when the table does not exist. The odd cases (DescribeTable not finding a table that may be too
 * new for it, a table in a state without PITR) fall back to `readTable`'s sequential read.
 *
 * IAM: dynamodb:DescribeTable, dynamodb:DescribeContinuousBackups, dynamodb:ListTagsOfResource on the table.
 */
import { DescribeContinuousBackupsCommand, DescribeTableCommand, ListTagsOfResourceCommand, type DynamoDBClient, type ListTagsOfResourceCommandOutput } from '@aws-sdk/client-dynamodb';
import { awsErrorName, errorMessage } from '../../core/errors';
import { formatTableArn } from '../../core/ids';
import type { TableFacts } from '../../core/types';
import { isThrottle, retrying, type RateLimiter } from '../pace';
import { DEFAULT_INVENTORY, OUT_OF_SCOPE_STATES, describeFacts, pitrState, readTable, type InventoryOptions } from './tables';
import type { Pacers } from './pacers';

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
const GONE = new Set(['ResourceNotFoundException', 'TableNotFoundException']);

export async function readTableNow(ddb: DynamoDBClient, ref: { accountId: string; region: string; tableName: string }, pacers: Pacers, options: Partial<InventoryOptions> = {}): Promise<TableFacts | 'vanished'> {
  const o = { ...DEFAULT_INVENTORY, ...options };
  const call = <T>(operation: string, send: () => Promise<T>, pacer?: RateLimiter): Promise<T> =>
    retrying(
      async () => {
        await pacer?.take();
        return send();
      },
      {
        ...o.retry,
        sleep: o.sleep,
        onRetry: (error, attempt, delayMs) => {
          if (isThrottle(error)) pacer?.backOff(delayMs);
          o.logger.debug('retrying AWS call', { operation, table: ref.tableName, region: ref.region, attempt, delayMs, errorName: awsErrorName(error) });
        },
      },
    );
  const arn = formatTableArn(ref);
  const tagsOf = (resourceArn: string) => settle(allTags(ddb, resourceArn, call, pacers.listTagsOfResource));
  const [described, backups, tagged] = await Promise.all([
    settle(call('DescribeTable', () => ddb.send(new DescribeTableCommand({ TableName: ref.tableName })))),
    settle(call('DescribeContinuousBackups', () => ddb.send(new DescribeContinuousBackupsCommand({ TableName: ref.tableName })), pacers.describeContinuousBackups)),
    tagsOf(arn),
  ]);

  // DescribeTable did not find it (deleted, or too new for it yet), or the table is in a state without PITR: the sequential read decides.
  if (!described.ok && GONE.has(awsErrorName(described.error))) return readTable(ddb, ref, pacers, options);
  const facts: TableFacts = { ...ref };
  const fail = (operation: string, error: unknown): TableFacts | 'vanished' => {
    if (operation !== 'DescribeTable' && GONE.has(awsErrorName(error))) {
      o.logger.info('table deleted while being read', { table: ref.tableName, region: ref.region, operation });
      return 'vanished';
    }
    facts.error = { operation, errorName: awsErrorName(error), message: errorMessage(error) };
    o.logger.warn('could not read table', { table: ref.tableName, region: ref.region, ...facts.error });
    return facts;
  };
  if (!described.ok) return fail('DescribeTable', described.error);
  if (!described.value?.Table) return fail('DescribeTable', new Error('DescribeTable returned no Table'));
  Object.assign(facts, describeFacts(described.value.Table));
  if (facts.tableStatus && OUT_OF_SCOPE_STATES.has(facts.tableStatus)) return facts;
  if (!backups.ok) return fail('DescribeContinuousBackups', backups.error);
  facts.pitr = pitrState(backups.value ?? {});
  // The formatted ARN is what DynamoDB names the table; should it ever differ, the tags are read by the ARN DynamoDB gave.
  const tags = facts.tableArn && facts.tableArn !== arn ? await tagsOf(facts.tableArn) : tagged;
  if (!tags.ok) return fail('ListTagsOfResource', tags.error);
  facts.tags = tags.value;
  return facts;
}

async function allTags(ddb: DynamoDBClient, arn: string, call: <T>(operation: string, send: () => Promise<T>, pacer?: RateLimiter) => Promise<T>, pacer: RateLimiter): Promise<Record<string, string>> {
  const tags: Record<string, string> = {};
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page: ListTagsOfResourceCommandOutput = await call('ListTagsOfResource', () => ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn, NextToken: token })), pacer);
    for (const tag of page?.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
    nextToken = page?.NextToken;
  } while (nextToken);
  return tags;
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../../core/iam').Permission[] = [
  {
    sid: 'ReadTables',
    actions: ['dynamodb:DescribeTable', 'dynamodb:DescribeContinuousBackups', 'dynamodb:ListTagsOfResource'],
    resource: 'tables',
    why: 'reads the table an event names, its PITR state and its tags, at once',
    calledBy: ['readTableNow'],
  },
];
