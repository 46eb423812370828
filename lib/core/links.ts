/**
 * What a finding says about other tables: the source of a restored table (Finding.restore) and the
 * replica set of a global table (Finding.replicaSet). Pure.
 *
 * `withLinks` (called by evaluate) fills both from the table's own facts, with nothing else known:
 * the source is NOT_SCANNED, every other replica NOT_SCANNED. `linkFinding` / `linkFindings` (a
 * post-pass over a report: scan, multi-account merge, Organization aggregate) then take the
 * statuses from the report. The message ends with a sentence naming those statuses; a re-link
 * replaces that sentence (it is computed from the fields, so the pass can run again on its output).
 *
 * Exemptions do not carry over from a source to a restored table (docs/configuration.md): the
 * restored table is evaluated on its own tags only, and a restore starts without tags.
 */
import { costOf } from './cost';
import { replicaSentence, replicaSetOf, resolveReplicaSet, type ReplicaLookup } from './replica-sets';
import type { Finding, FindingStatus, RestoreSummaryInfo, TableFacts } from './types';

/** Finds statuses in a report: by table ARN (restore sources) and by account, Region and name (replicas). */
export interface FindingLookup {
  byArn(arn: string): FindingStatus | undefined;
  replica: ReplicaLookup;
}

export function restoreInfoOf(facts: Pick<TableFacts, 'restoreSummary'>): RestoreSummaryInfo | undefined {
  const r = facts.restoreSummary;
  if (!r) return undefined;
  const sourceBackupArn = r.sourceBackupArn ?? null;
  const sourceTableArn = r.sourceTableArn ?? null;
  return {
    sourceTableArn,
    sourceBackupArn,
    restoreDateTime: r.restoreDateTime?.toISOString() ?? null,
    restoreInProgress: r.restoreInProgress ?? false,
    // A backup is a frozen copy: its source table's status today says nothing about it (null).
    sourceStatus: sourceBackupArn ? null : sourceTableArn ? 'NOT_SCANNED' : null,
  };
}

/** The sentence about the links, from the fields alone (so an earlier one can be found and replaced). */
export function linkSentence(f: Pick<Finding, 'accountId' | 'region' | 'status' | 'reasons' | 'restore' | 'replicaSet'>): string {
  let out = '';
  const r = f.restore;
  if (r) {
    // A NON_COMPLIANT restored table's message already names the source (evaluate); others get it here.
    if (!f.reasons.includes('RESTORED_WITHOUT_PITR')) {
      const source = r.sourceBackupArn ? `backup ${r.sourceBackupArn}` : r.sourceTableArn ? `table ${r.sourceTableArn}` : 'an unnamed source';
      out += ` Restored from ${source}${r.restoreDateTime ? ` at ${r.restoreDateTime}` : ''}.`;
    }
    if (r.sourceStatus === 'NOT_SCANNED') out += ' Its source table was not scanned with it (NOT_SCANNED).';
    else if (r.sourceStatus) out += ` Its source table is ${r.sourceStatus} in this report.`;
    else if (r.sourceBackupArn) out += " The source is a backup: the source table's current status does not apply to it.";
  }
  if (f.replicaSet) out += replicaSentence(f.replicaSet, f);
  return out;
}

/** Cost, restore and replica set from the table's own facts (evaluate's last step). */
export function withLinks(finding: Finding, facts: TableFacts): Finding {
  const out: Finding = { ...finding, cost: costOf(facts) };
  const restore = restoreInfoOf(facts);
  if (restore) out.restore = restore;
  const set = replicaSetOf(facts, finding.status);
  if (set) out.replicaSet = set;
  out.message = finding.message + linkSentence(out);
  return out;
}

/** The finding with its source's and replicas' statuses from the report. */
export function linkFinding(f: Finding, lookup: FindingLookup): Finding {
  if (!f.restore && !f.replicaSet) return f;
  const out: Finding = { ...f };
  const src = f.restore?.sourceBackupArn ? undefined : f.restore?.sourceTableArn;
  if (f.restore && src) {
    // Restored under its source's own name (the source was deleted first): the ARN is the same, the table is not.
    out.restore = { ...f.restore, sourceStatus: (src !== f.tableArn ? lookup.byArn(src) : undefined) ?? 'NOT_SCANNED' };
  }
  if (f.replicaSet) out.replicaSet = resolveReplicaSet(f.replicaSet, f, lookup.replica);
  const old = linkSentence(f);
  const base = old && f.message.endsWith(old) ? f.message.slice(0, f.message.length - old.length) : f.message;
  out.message = base + linkSentence(out);
  return out;
}

/** A stream of findings, each linked as it passes (the Organization aggregate's spool). */
export async function* linkEach(findings: AsyncIterable<Finding>, lookup: FindingLookup): AsyncGenerator<Finding> {
  for await (const f of findings) yield linkFinding(f, lookup);
}

const replicaKey = (accountId: string, region: string, tableName: string) => `${accountId}/${region}/${tableName}`;

/** An index of a whole report's findings (in memory: for reports that are in memory anyway). */
export function lookupOf(findings: readonly Finding[]): FindingLookup {
  const byArn = new Map<string, FindingStatus>();
  const byKey = new Map<string, FindingStatus>();
  for (const f of findings) {
    if (f.tableArn) byArn.set(f.tableArn, f.status);
    byKey.set(replicaKey(f.accountId, f.region, f.tableName), f.status);
  }
  return { byArn: (arn) => byArn.get(arn), replica: (a, r, t) => byKey.get(replicaKey(a, r, t)) };
}

/** Every finding linked against the others of the same report (same order). */
export function linkFindings(findings: Finding[]): Finding[] {
  if (!findings.some((f) => f.restore || f.replicaSet)) return findings;
  const lookup = lookupOf(findings);
  return findings.map((f) => linkFinding(f, lookup));
}

/**
 * The Organization aggregate's bounded index: only what links need. Replica statuses of global
 * tables (a finding with a replicaSet; a table without Replicas never enters), the ARNs restored
 * tables name as their source, and the statuses of those ARNs once seen. Memory grows with the
 * number of global-table replicas and restored tables, never with the number of tables.
 */
export class LinkIndex implements FindingLookup {
  private readonly replicas = new Map<string, FindingStatus>();
  private readonly wanted = new Set<string>();
  private readonly sources = new Map<string, FindingStatus>();

  /** First pass, one finding at a time. */
  add(f: Finding): void {
    if (f.replicaSet) this.replicas.set(replicaKey(f.accountId, f.region, f.tableName), f.status);
    const src = f.restore?.sourceBackupArn ? undefined : f.restore?.sourceTableArn;
    if (src && !this.sources.has(src)) this.wanted.add(src);
    if (f.tableArn && this.wanted.has(f.tableArn)) {
      this.sources.set(f.tableArn, f.status);
      this.wanted.delete(f.tableArn);
    }
  }

  /** Sources named before their table was seen: resolve them with a second pass over the findings (`resolve`). */
  get unresolved(): number {
    return this.wanted.size;
  }

  resolve(f: Pick<Finding, 'tableArn' | 'status'>): void {
    if (f.tableArn && this.wanted.has(f.tableArn)) {
      this.sources.set(f.tableArn, f.status);
      this.wanted.delete(f.tableArn);
    }
  }

  get size(): number {
    return this.replicas.size + this.sources.size + this.wanted.size;
  }

  byArn(arn: string): FindingStatus | undefined {
    return this.sources.get(arn);
  }

  replica: ReplicaLookup = (accountId, region, tableName) => this.replicas.get(replicaKey(accountId, region, tableName));
}
