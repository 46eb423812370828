/**
 * A shard's continuation, pure: how long one invocation may read, the check of the continuation an
 * item carries, and what the shard answers after writing a part (docs/organization.md#continuation).
 *
 * The cursor is the last table whose result is written: part n reads the tables after
 * `startAfter` (ListTables order, ExclusiveStartTableName) and writes them all before it returns
 * its own last table as the next part's `startAfter`; a retried part starts from the same cursor
 * and re-writes the same file. So no table is read twice into the report, and none is skipped.
 */
import { ShardFailedError } from '../../core/errors';
import { TABLE_NAME } from '../../core/ids';
import { emptySummary, type ScanSummary } from '../../core/summary';
import type { ScannedRange } from '../../aws/scan';
import { shardFileKey, type ShardContinuation, type ShardContinueOutput, type ShardItem, type ShardOutput } from './contract';

/** Stop this long before Lambda's deadline: the shard fails retryably instead of being killed. */
export const DEADLINE_MARGIN_MS = 15_000;

/**
 * The share of the invocation's time (less the margin) spent reading. The rest is for recording,
 * acting, Security Hub and writing the part: acting verifies each re-enabled table with
 * DescribeContinuousBackups, which draws from the same 10/s budget as reading, so at worst (every
 * table NON_COMPLIANT, mode remediate) acting takes about as long as reading did.
 */
export const READ_SHARE = 0.5;

/** The most parts one shard may have: at ~4,000 tables a part far beyond any table quota; a guard against a loop. */
export const MAX_PARTS = 10_000;

const SUMMARY_KEYS = ['total', 'compliant', 'nonCompliant', 'exempt', 'notApplicable', 'error'] as const;

export function addSummaries(a: ScanSummary, b: ScanSummary): ScanSummary {
  const out = emptySummary();
  for (const k of SUMMARY_KEYS) out[k] = a[k] + b[k];
  return out;
}

/**
 * Milliseconds this invocation may read tables: READ_SHARE of what is left before the margin, and
 * at most `budgetMs` (tests, tuning). Neither known (the CLI, tests): no limit.
 */
export function readBudgetMs(remainingMs: number | undefined, budgetMs?: number): number {
  const fromLambda = remainingMs === undefined ? Infinity : Math.max(0, (remainingMs - DEADLINE_MARGIN_MS) * READ_SHARE);
  return Math.min(fromLambda, budgetMs ?? Infinity);
}

/** An item's continuation, checked strictly; a malformed one is a ShardFailedError (not retried). */
export function checkContinuation(value: unknown): ShardContinuation {
  const bad = (why: string): never => {
    throw new ShardFailedError(`invalid shard item: continuation ${why}`);
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('must be an object { part, startAfter, summary }');
  const c = value as Record<string, unknown>;
  for (const key of Object.keys(c)) if (!['part', 'startAfter', 'summary'].includes(key)) bad(`has an unexpected field ${JSON.stringify(key.slice(0, 64))}`);
  if (typeof c.part !== 'number' || !Number.isInteger(c.part) || c.part < 1 || c.part >= MAX_PARTS) bad(`part must be an integer 1-${MAX_PARTS - 1}, got ${JSON.stringify(c.part)?.slice(0, 40)}`);
  if (typeof c.startAfter !== 'string' || !TABLE_NAME.test(c.startAfter)) bad(`startAfter must be a table name, got ${JSON.stringify(c.startAfter)?.slice(0, 80)}`);
  const s = c.summary;
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return bad('summary must be the counts of the parts written');
  const summary = s as Record<string, unknown>;
  for (const k of SUMMARY_KEYS) if (typeof summary[k] !== 'number' || !Number.isInteger(summary[k]) || (summary[k] as number) < 0) bad(`summary.${k} must be a count`);
  if (Object.keys(summary).length !== SUMMARY_KEYS.length) bad('summary has unexpected fields');
  return c as unknown as ShardContinuation;
}

/** After part `part` of `item` is written (covering `range`, counted `partSummary`): the shard's answer. */
export function afterPart(item: ShardItem, key: string, range: ScannedRange, partSummary: ScanSummary): ShardOutput | ShardContinueOutput {
  const part = item.continuation?.part ?? 0;
  const summary = addSummaries(item.continuation?.summary ?? emptySummary(), partSummary);
  const where = { accountId: item.accountId, region: item.region };
  if (range.done) return { status: 'SCANNED', ...where, key: shardFileKey(item.runId, item.accountId, item.region), parts: part + 1, summary };
  // Not done means the budget ended after at least one table (lib/aws/inventory/range.ts).
  if (range.lastTable === undefined) throw new Error('a part that is not the last read no table');
  if (part + 1 >= MAX_PARTS) throw new ShardFailedError(`the shard reached ${MAX_PARTS} parts without finishing the Region (last table ${range.lastTable})`);
  return { status: 'CONTINUE', ...where, key, summary, next: { ...item, continuation: { part: part + 1, startAfter: range.lastTable, summary } } };
}
