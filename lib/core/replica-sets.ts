/**
 * Global tables: PITR is set per replica, so the replicas of one global table form a replica set
 * that is compliant only when every replica is. Pure: the set is built from one table's facts
 * (DescribeTable Replicas, GlobalTableVersion) and resolved against the statuses a report holds.
 *
 * Decisions (docs/configuration.md, "Global tables"):
 * - EXEMPT counts as compliant: an exemption is an explicit, owned decision about that replica.
 * - A replica that is not in the report (its Region or account outside the scan) is NOT_SCANNED,
 *   and a set with a NOT_SCANNED replica is not compliant: pitr-guard cannot vouch for it.
 * - A replica's account is the one in its ReplicaArn when DynamoDB gives one, else the table's own.
 */
import type { FindingStatus, ReplicaSetInfo, ReplicaStatusInfo, TableFacts } from './types';

export type ReplicaStatus = FindingStatus | 'NOT_SCANNED';

/** Finds a replica's status in the report: undefined when that table is not in it. */
export type ReplicaLookup = (accountId: string, region: string, tableName: string) => FindingStatus | undefined;

/** The account in a DynamoDB table ARN (arn:partition:dynamodb:region:account:table/name), if it is one. */
export function arnAccount(arn: string | undefined): string | undefined {
  const parts = arn?.split(':');
  return parts && parts.length >= 6 && /^\d{12}$/.test(parts[4] ?? '') ? parts[4] : undefined;
}

/** The set of a table with Replicas, its own replica already resolved (every other one NOT_SCANNED); undefined for a regional table. */
export function replicaSetOf(facts: Pick<TableFacts, 'accountId' | 'region' | 'tableName' | 'replicas' | 'globalTableVersion'>, ownStatus: FindingStatus): ReplicaSetInfo | undefined {
  if (!facts.replicas?.length) return undefined;
  const byRegion = new Map<string, ReplicaStatusInfo>();
  for (const r of facts.replicas) {
    const accountId = arnAccount(r.replicaArn) ?? facts.accountId;
    byRegion.set(`${accountId}/${r.regionName}`, { region: r.regionName, accountId, replicaStatus: r.replicaStatus ?? null, status: 'NOT_SCANNED' });
  }
  // DescribeTable may or may not list the Region it was called in: the table itself is always a replica.
  const own = `${facts.accountId}/${facts.region}`;
  const self = byRegion.get(own) ?? { region: facts.region, accountId: facts.accountId, replicaStatus: null, status: ownStatus };
  byRegion.set(own, { ...self, status: ownStatus });
  const replicas = [...byRegion.values()].sort((a, b) => a.region.localeCompare(b.region) || a.accountId.localeCompare(b.accountId));
  return { globalTableVersion: facts.globalTableVersion ?? null, setId: setIdOf(facts.accountId, facts.tableName, replicas), compliant: setCompliant(replicas), replicas };
}

/** `<account>:<table>@<region>+<region>…` (sorted): every replica of a same-account set computes the same id. */
export function setIdOf(accountId: string, tableName: string, replicas: readonly Pick<ReplicaStatusInfo, 'region'>[]): string {
  return `${accountId}:${tableName}@${[...new Set(replicas.map((r) => r.region))].sort().join('+')}`;
}

export function setCompliant(replicas: readonly Pick<ReplicaStatusInfo, 'status'>[]): boolean {
  return replicas.every((r) => r.status === 'COMPLIANT' || r.status === 'EXEMPT');
}

/** The set with each replica's status taken from the report (the table's own status stays its own). */
export function resolveReplicaSet(set: ReplicaSetInfo, self: { accountId: string; region: string; tableName: string; status: FindingStatus }, lookup: ReplicaLookup): ReplicaSetInfo {
  const replicas = set.replicas.map((r) => {
    const isSelf = r.accountId === self.accountId && r.region === self.region;
    const status: ReplicaStatus = isSelf ? self.status : (lookup(r.accountId, r.region, self.tableName) ?? 'NOT_SCANNED');
    return { ...r, status };
  });
  return { ...set, replicas, compliant: setCompliant(replicas) };
}

/** "us-east-1 COMPLIANT, eu-west-1 NOT_SCANNED": the other replicas (another account's named). */
export function otherReplicasText(set: ReplicaSetInfo, self: { accountId: string; region: string }): string {
  const others = set.replicas.filter((r) => !(r.accountId === self.accountId && r.region === self.region));
  return others.map((r) => `${r.region}${r.accountId !== self.accountId ? ` (account ${r.accountId})` : ''} ${r.status === 'NOT_SCANNED' ? 'not scanned' : r.status}`).join(', ');
}

/** The sentence a finding about one replica ends with. */
export function replicaSentence(set: ReplicaSetInfo, self: { accountId: string; region: string }): string {
  const others = otherReplicasText(set, self);
  return ` Replica of global table ${set.setId}${others ? ` (other replicas: ${others})` : ''}: the set is ${set.compliant ? 'compliant' : 'NOT compliant'}.`;
}
