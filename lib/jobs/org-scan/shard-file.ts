/** The check of a ShardFile read back from the report bucket: the shard's own file, well-formed. */
import type { ShardFile } from './contract';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A ShardFile as the shard wrote it, for that shard (and part: `expected.part`, default 0; a file
 * without `part` is a whole Region, part 0); otherwise why not (one line).
 */
export function checkShardFile(value: unknown, expected: { accountId: string; region: string; runId: string; part?: number }): ShardFile | string {
  if (!isObject(value) || !isObject(value.shard)) return 'not a ShardFile object';
  const { shard } = value;
  if (shard.accountId !== expected.accountId || shard.region !== expected.region || shard.runId !== expected.runId) {
    return `it is the file of ${String(shard.accountId)}/${String(shard.region)} in run ${String(shard.runId)}`;
  }
  const part = value.part;
  if (part === undefined ? (expected.part ?? 0) !== 0 : !isObject(part) || part.index !== (expected.part ?? 0)) return `it is not part ${expected.part ?? 0} of its shard`;
  if (isObject(part)) {
    if (typeof part.done !== 'boolean') return 'part.done is not true or false';
    for (const key of ['startAfter', 'lastTable'] as const) if (part[key] !== undefined && typeof part[key] !== 'string') return `part.${key} is not a table name`;
  }
  if (typeof value.generatedAt !== 'string') return 'generatedAt is missing';
  for (const key of ['findings', 'vanished', 'outcomes', 'unrecorded'] as const) if (!Array.isArray(value[key])) return `${key} is not an array`;
  const findings = value.findings as unknown[];
  for (let i = 0; i < findings.length; i++) {
    const f = findings[i];
    if (!isObject(f) || typeof f.status !== 'string' || typeof f.tableName !== 'string' || !Array.isArray(f.reasons) || !isObject(f.pitr)) return `findings[${i}] is not a Finding`;
    if (f.accountId !== expected.accountId || f.region !== expected.region) return `findings[${i}] is a table of ${String(f.accountId)}/${String(f.region)}`;
  }
  for (const [i, v] of (value.vanished as unknown[]).entries()) if (!isObject(v) || typeof v.tableName !== 'string' || typeof v.region !== 'string') return `vanished[${i}] is malformed`;
  for (const [i, o] of (value.outcomes as unknown[]).entries()) if (!isObject(o) || typeof o.result !== 'string' || !isObject(o.before)) return `outcomes[${i}] is not a RemediationOutcome`;
  for (const [i, u] of (value.unrecorded as unknown[]).entries()) if (typeof u !== 'string') return `unrecorded[${i}] is not a string`;
  if (value.lifecycle !== undefined) {
    const l = value.lifecycle;
    if (!isObject(l) || !Array.isArray(l.transitions)) return 'lifecycle.transitions is not an array';
    for (const key of ['openIncidents', 'repeatedlyDisabled'] as const) if (!Number.isInteger(l[key]) || (l[key] as number) < 0) return `lifecycle.${key} is not a count`;
    for (const [i, t] of (l.transitions as unknown[]).entries()) {
      if (!isObject(t) || !['NEW', 'REMINDER', 'RESOLVED', 'LOOP'].includes(t.kind as string) || typeof t.tableName !== 'string' || typeof t.incidentId !== 'string' || typeof t.openedAt !== 'string' || !Array.isArray(t.reasons)) {
        return `lifecycle.transitions[${i}] is not a Transition`;
      }
      if (t.accountId !== expected.accountId || t.region !== expected.region) return `lifecycle.transitions[${i}] is a table of ${String(t.accountId)}/${String(t.region)}`;
    }
  }
  if (value.securityHub !== undefined) {
    const h = value.securityHub;
    if (!isObject(h) || !Number.isInteger(h.failed) || (h.failed as number) < 0 || !Array.isArray(h.failures)) return 'securityHub is not a Security Hub delivery';
  }
  return value as unknown as ShardFile;
}

