/**
 * Restore drills, the pure part (docs/drills.md): the temporary table's name and tags, the restore
 * point asked for (checked against the source's restorable window), the plan and its cost, the
 * checks of the restored table against the source, and the outcome. No AWS here; lib/act/drill.ts
 * makes the calls.
 */
import { ConfigError, UsageError } from './errors';
import { isTableName, parseTableArn, TABLE_NAME_RULE } from './ids';
import { KNOWN_REGIONS } from './regions';
import type { DrillRecord, DrillSummary, HistoryEntry } from './types';

/** `<table>-pitr-drill-<yyyymmddhhmmss>`; the source name is shortened so the result fits 255 characters. */
export const DRILL_INFIX = '-pitr-drill-';
export const TABLE_NAME_MAX = 255;

/** The tag keys a drill puts on its temporary table (the exemption key is the policy's exemptTag). */
export const DRILL_TAG = 'pitr-guard:drill';
export const DRILL_SOURCE_TAG = 'pitr-guard:drill-source';
/** DynamoDB tag values allow letters, digits, spaces and _ . : / = + - @ (no comma). */
export const DRILL_EXEMPT_REASON = 'restore drill - deleted automatically';

export function stamp(at: Date): string {
  return at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function drillTableName(source: string, at: Date): string {
  const suffix = `${DRILL_INFIX}${stamp(at)}`;
  return `${source.slice(0, TABLE_NAME_MAX - suffix.length)}${suffix}`;
}

export function drillTags(drillId: string, sourceArn: string, exemptTag: string): { Key: string; Value: string }[] {
  return [
    { Key: DRILL_TAG, Value: drillId },
    { Key: exemptTag, Value: DRILL_EXEMPT_REASON },
    { Key: DRILL_SOURCE_TAG, Value: sourceArn },
  ];
}

/** What a restored table is compared on. */
export interface KeyElement {
  AttributeName?: string;
  KeyType?: string;
}
export interface TableShape {
  keySchema: KeyElement[];
  gsis: { name: string; keySchema: KeyElement[] }[];
  lsis: { name: string; keySchema: KeyElement[] }[];
}

export interface PitrWindow {
  status: string;
  earliest?: Date;
  latest?: Date;
}

/** --to: an ISO 8601 time with a zone (Z or ±hh:mm); anything else is a usage error. */
export function parseDrillTime(value: string): Date {
  const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const at = new Date(value);
  if (!ok || Number.isNaN(at.getTime())) {
    throw new UsageError(`Invalid --to=${JSON.stringify(value)}: must be an ISO 8601 time with a zone, e.g. 2026-12-01T08:30:00Z`);
  }
  return at;
}

/** The restore point asked for: LATEST, or a time inside the source's restorable window. */
export function checkRestorePoint(tableName: string, pitr: PitrWindow, to: Date | undefined): 'LATEST' | Date {
  if (pitr.status !== 'ENABLED') {
    throw new UsageError(`table ${tableName} has point-in-time recovery ${pitr.status === 'DISABLED' ? 'off' : `in state ${pitr.status}`}: there is nothing to restore from (enable PITR first)`);
  }
  if (!to) return 'LATEST';
  const { earliest, latest } = pitr;
  if (!earliest || !latest) throw new UsageError(`table ${tableName}: DynamoDB gave no restorable window, so --to cannot be checked; use --latest`);
  if (to < earliest || to > latest) {
    throw new UsageError(`--to=${to.toISOString()} is outside the restorable window of ${tableName} (${earliest.toISOString()} to ${latest.toISOString()})`);
  }
  return to;
}

export interface DrillPlan {
  drillId: string;
  accountId: string;
  region: string;
  tableName: string;
  tableArn: string;
  temporaryTableName: string;
  requested: 'LATEST' | Date;
  window: PitrWindow;
  source: TableShape & { itemCount?: number; tableSizeBytes?: number };
  tags: { Key: string; Value: string }[];
  checks: string[];
  cost: { tableSizeBytes: number | null; restore: string; storage: string };
}

export const CHECK_NAMES = ['restored', 'key-schema', 'global-secondary-indexes', 'local-secondary-indexes', 'item-count', 'restore-point', 'tagged'] as const;

/** What restoring this table would cost. No sourced per-GB restore price is known (aws-facts-org §6.2-6.3). */
export function drillCost(tableSizeBytes: number | undefined, lifetimeMs: number): DrillPlan['cost'] {
  const size = tableSizeBytes ?? null;
  const gb = size === null ? 'unknown size' : `${(size / 1024 ** 3).toFixed(3)} GB (TableSizeBytes, updated about every 6 hours)`;
  return {
    tableSizeBytes: size,
    restore: `restore is billed per GB restored (usage type <region>-RestoreDataSize-Bytes): price not known to pitr-guard; ${gb} would be restored`,
    storage: `the temporary table's storage for its lifetime (at most the wait timeout, ${Math.round(lifetimeMs / 60_000)} min, plus the checks): ${gb} at the Region's table storage price (not known to pitr-guard); the item-count check scans it once (read capacity, about 128 RCU per 1 MB page)`,
  };
}

const keyText = (k: KeyElement[]) => k.map((e) => `${e.AttributeName ?? '?'} ${e.KeyType ?? '?'}`).join(', ') || '(none)';
const indexText = (list: TableShape['gsis']) => list.map((i) => `${i.name} (${keyText(i.keySchema)})`).join('; ') || 'none';
const sortIndexes = (list: TableShape['gsis']) => [...list].sort((a, b) => a.name.localeCompare(b.name));

/** The shape checks: key schema, GSI and LSI names with their key schemas, each equal to the source's. */
export function shapeChecks(source: TableShape, restored: TableShape): DrillRecord['checks'] {
  const keys = keyText(source.keySchema) === keyText(restored.keySchema);
  const gsi = indexText(sortIndexes(source.gsis)) === indexText(sortIndexes(restored.gsis));
  const lsi = indexText(sortIndexes(source.lsis)) === indexText(sortIndexes(restored.lsis));
  return [
    { name: 'key-schema', passed: keys, detail: keys ? `equal: ${keyText(source.keySchema)}` : `source ${keyText(source.keySchema)}, restored ${keyText(restored.keySchema)}` },
    { name: 'global-secondary-indexes', passed: gsi, detail: gsi ? `equal: ${indexText(sortIndexes(source.gsis))}` : `source ${indexText(sortIndexes(source.gsis))}, restored ${indexText(sortIndexes(restored.gsis))}` },
    { name: 'local-secondary-indexes', passed: lsi, detail: lsi ? `equal: ${indexText(sortIndexes(source.lsis))}` : `source ${indexText(sortIndexes(source.lsis))}, restored ${indexText(sortIndexes(restored.lsis))}` },
  ];
}

/**
 * The item count: the restored table's count at the restore point cannot be known from the
 * source, so the check passes when the count was taken (a number); the source's ItemCount
 * (updated about every six hours) is only compared in the detail, as a hint.
 */
export function itemCountCheck(counted: number | undefined, sourceItemCount: number | undefined, note?: string): DrillRecord['checks'][number] {
  if (counted === undefined || !Number.isFinite(counted)) return { name: 'item-count', passed: false, detail: `not counted${note ? `: ${note}` : ''}` };
  const hint = sourceItemCount === undefined ? 'source ItemCount unknown' : counted === sourceItemCount ? `source ItemCount ${sourceItemCount} (same)` : `source ItemCount ${sourceItemCount} (updated about every 6 hours; differs by ${counted - sourceItemCount}: a warning only)`;
  return { name: 'item-count', passed: true, detail: `${counted} items counted by Scan (Select COUNT); ${hint}` };
}

/** The restore point reached (RestoreSummary.RestoreDateTime) against the one asked for. */
export function restorePointCheck(requested: 'LATEST' | Date, window: PitrWindow, reached: Date | undefined): DrillRecord['checks'][number] {
  if (!reached) return { name: 'restore-point', passed: false, detail: 'the restored table has no RestoreSummary.RestoreDateTime' };
  if (requested !== 'LATEST') {
    const ok = Math.abs(reached.getTime() - requested.getTime()) < 1000;
    return { name: 'restore-point', passed: ok, detail: `${reached.toISOString()} reached, ${requested.toISOString()} asked for` };
  }
  const ok = !window.earliest || reached >= window.earliest;
  return { name: 'restore-point', passed: ok, detail: `${reached.toISOString()} reached (latest restorable time)${ok ? '' : `, before the earliest restorable ${window.earliest?.toISOString()}`}` };
}

export function drillOutcome(checks: DrillRecord['checks'], error: string | undefined): DrillRecord['outcome'] {
  return !error && checks.length > 0 && checks.every((c) => c.passed) ? 'PASSED' : 'FAILED';
}

export function drillSummary(r: DrillRecord): DrillSummary {
  return { drillId: r.drillId, at: r.finishedAt, restoreSeconds: r.restoreSeconds ?? 0, restorePoint: r.restorePoint };
}

export function drillHistoryEntry(r: DrillRecord): HistoryEntry {
  const failed = r.checks.filter((c) => !c.passed).map((c) => c.name);
  const detail =
    r.outcome === 'PASSED'
      ? `drill ${r.drillId} PASSED: restored in ${r.restoreSeconds ?? '?'} s to ${r.restorePoint ?? 'an unreported point'}`
      : `drill ${r.drillId} FAILED${failed.length ? ` (${failed.join(', ')})` : ''}${r.error ? `: ${r.error}` : ''}`;
  return { at: r.finishedAt, event: 'DRILL', detail: detail.slice(0, 500) };
}

/** The AWS CLI command that deletes the temporary table (printed when pitr-guard cannot). */
export function deleteCommand(tableName: string, region: string): string {
  return `aws dynamodb delete-table --table-name ${tableName} --region ${region}`;
}

/** One table of the scheduled drill (serverless param drillTables): `region:table` or a table ARN. */
export interface DrillTarget {
  region: string;
  tableName: string;
  /** From an ARN: the drill refuses a table of another account. */
  accountId?: string;
}

export const DRILL_TABLES_MAX = 10;

/**
 * Param drillTables / PITR_GUARD_DRILL_TABLES: a comma list of `region:table` or table ARNs of this
 * account; empty = no scheduled drill. At most 10 (they run one after another in one invocation).
 */
export function parseDrillTables(value: string | undefined, variable: string): DrillTarget[] {
  const items = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = (item: string, why: string) => new ConfigError(variable, value ?? '', `${JSON.stringify(item)} ${why}; give region:table or a table ARN, comma-separated`);
  if (items.length > DRILL_TABLES_MAX) throw new ConfigError(variable, value ?? '', `at most ${DRILL_TABLES_MAX} tables (drills run one after another in one invocation)`);
  const out: DrillTarget[] = [];
  for (const item of items) {
    const arn = parseTableArn(item);
    if (arn) {
      out.push({ region: arn.region, tableName: arn.tableName, accountId: arn.accountId });
      continue;
    }
    const m = /^([a-z0-9-]+):([^:]+)$/.exec(item);
    if (!m) throw bad(item, 'is neither region:table nor a table ARN');
    if (!KNOWN_REGIONS.includes(m[1]!)) throw bad(item, `names ${JSON.stringify(m[1])}, not a known Region code`);
    if (!isTableName(m[2]!)) throw bad(item, `has a table name that is not ${TABLE_NAME_RULE}`);
    out.push({ region: m[1]!, tableName: m[2]! });
  }
  const keys = out.map((t) => `${t.region}:${t.tableName}`);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup) throw new ConfigError(variable, value ?? '', `${dup} is listed twice`);
  return out;
}

/** The name prefix of a source's drill tables (IAM: table/<prefix>*). */
export function drillTablePrefix(source: string): string {
  return drillTableName(source, new Date(0)).slice(0, -14);
}
