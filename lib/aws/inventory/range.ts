/**
 * The inventory of one contiguous range of a Region's tables, for a shard that may need more than
 * one Lambda invocation (lib/jobs/org-scan/shard.ts, docs/organization.md#continuation).
 *
 * ListTables returns names in its own ascending order and resumes after ExclusiveStartTableName,
 * so "every table after X" is a well-defined range. This lists page by page from `startAfter`,
 * reads the tables of each page (readTable, the same as a whole-Region inventory) and starts no
 * table once `stop()` says so: the tables started are always a prefix of the range and all of
 * them are finished when it returns. `lastTable` is the last table of that prefix (read, or
 * vanished); the next invocation starts after it, so no table is read twice and none is skipped.
 * `done`: the listing reached its end (no table after `lastTable`). At least one table is read
 * whenever the range holds one, so a caller always makes progress.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mapUntil } from '../pace';
import { DEFAULT_INVENTORY, listTablesPage, readTable, type InventoryOptions, type RegionInventory } from './tables';
import { createPacers, type Pacers } from './pacers';
import type { TagLookup } from './tags';

export interface TableRange {
  /** The range starts after this table (exclusive); absent = the Region's first table. */
  startAfter?: string;
  /** Asked before each table is started (never before the range's first). */
  stop: () => boolean;
}

export interface RangeInventory extends RegionInventory {
  startAfter?: string;
  /** The last table of the range read (absent when the range held none). */
  lastTable?: string;
  /** True when no table follows `lastTable`: the Region is complete. */
  done: boolean;
}

export async function inventoryRange(
  ddb: DynamoDBClient,
  where: { accountId: string; region: string },
  range: TableRange,
  options: Partial<InventoryOptions> = {},
  pacers: Pacers = createPacers(options.ratePerSecond ?? DEFAULT_INVENTORY.ratePerSecond),
  bulkTags?: (names: readonly string[]) => TagLookup,
): Promise<RangeInventory> {
  const o = { ...DEFAULT_INVENTORY, ...options };
  const out: RangeInventory = { ...where, tables: [], vanished: [], ...(range.startAfter ? { startAfter: range.startAfter } : {}), done: false };
  let cursor = range.startAfter;
  let read = 0;
  for (;;) {
    const page = await listTablesPage(ddb, cursor, o);
    const tagsOf = bulkTags && page.names.length > 0 ? bulkTags(page.names) : undefined;
    const { results, started } = await mapUntil(page.names, o.concurrency, () => read > 0 && range.stop(), async (tableName) => {
      const result = await readTable(ddb, { ...where, tableName }, pacers, o, tagsOf);
      read++;
      return result;
    });
    results.forEach((r, i) => (r === 'vanished' ? out.vanished.push(page.names[i] as string) : out.tables.push(r)));
    if (started > 0) out.lastTable = page.names[started - 1];
    if (started < page.names.length) return out; // stopped inside this page
    if (!page.last) return { ...out, done: true };
    cursor = page.last;
    if (read > 0 && range.stop()) return out; // stopped at a page boundary: `lastTable` is this page's last
  }
}

/** No AWS command of its own: listTablesPage and readTable (tables.ts) declare theirs. */
export const permissions: readonly import('../../core/iam').Permission[] = [];
