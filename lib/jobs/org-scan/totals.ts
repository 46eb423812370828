/**
 * What the Organization aggregate keeps in memory while it reads the shards one at a time (its
 * memory bound, see aggregate.ts): counters overall, per account, per Region and per account and
 * Region (RunTotals), the digest's top lines (TopN) and the change digest's sections (ChangeTotals).
 */
import type { AccountResult, ShardError } from '../../aws/scan';
import { CostSum } from '../../core/cost';
import { LinkIndex } from '../../core/links';
import { countFinding, sortFindings, type RegionSummary, type ScanSummary } from '../../core/summary';
import type { RemediationOutcome } from '../../act/outcome';
import type { Finding } from '../../core/types';
import { outcomeRank, type ChangeDigestLine } from '../../notify/digest';
import { lifecycleDigestInput } from '../../notify/lifecycle-digest';
import type { Mode } from '../../core/types';
import type { ReportHead } from '../../report/csv';
import type { HtmlHead } from '../../report/html';
import { type RunPlan, type ShardFile } from './contract';
import { shardId } from './results';
import { FindingSpool } from './spool';

/** Unrecorded tables (ledger failures) listed in summary.json; beyond, only counted. */
export const UNRECORDED_LISTED = 1_000;

const empty = (): ScanSummary => ({ total: 0, compliant: 0, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 });

/** The lowest `n` of everything added, by `compare`; memory stays at 2n. */
export class TopN<T> {
  private items: T[] = [];
  total = 0;
  constructor(
    private readonly n: number,
    private readonly compare: (a: T, b: T) => number,
  ) {}

  add(item: T): void {
    this.total++;
    this.items.push(item);
    if (this.items.length >= 2 * this.n + 1) this.trim();
  }

  values(): T[] {
    this.trim();
    return [...this.items];
  }

  private trim(): void {
    this.items.sort(this.compare);
    this.items.length = Math.min(this.items.length, this.n);
  }
}

const byLine = (a: ChangeDigestLine, b: ChangeDigestLine) => a.region.localeCompare(b.region) || a.tableName.localeCompare(b.tableName) || a.plain.localeCompare(b.plain);

type ChangeSection = 'newIncidents' | 'resolved' | 'reminders' | 'loops';

/**
 * The run's change digest while the shards are read: the top lines of each section (the same
 * mapping as the scheduled scan: lifecycleDigestInput, one shard at a time) and the full counts.
 * Memory: at most 2 × maxListed lines per section, whatever the number of shards and transitions.
 */
export class ChangeTotals {
  readonly sections: Record<ChangeSection, TopN<ChangeDigestLine>>;
  /** Shard-level lifecycle problems (no lifecycle in the file, ledger failures): listed in every digest. */
  readonly problems: TopN<ChangeDigestLine>;
  stillOpen = 0;
  repeatedlyDisabled = 0;
  transitions = 0;

  constructor(maxListed: number) {
    const top = () => new TopN<ChangeDigestLine>(maxListed, byLine);
    this.sections = { newIncidents: top(), resolved: top(), reminders: top(), loops: top() };
    this.problems = top();
  }

  /** `centralAccount`: the account the run is from (lines of other accounts name theirs in Slack too). */
  add(file: ShardFile, mode: Mode, dryRun: boolean, centralAccount: string): void {
    const { accountId, region } = file.shard;
    if (file.unrecorded.length > 0) {
      const n = file.unrecorded.length;
      const text = `${n} table${n === 1 ? '' : 's'} could not be recorded in the findings ledger: not in the alert lifecycle this run`;
      this.problems.add({ region, tableName: accountId, plain: `Region ${region} of account ${accountId}: ${text}`, slack: `Region \`${region}\` of account \`${accountId}\`: ${text}` });
    }
    if (!file.lifecycle) {
      if ((file.part?.index ?? 0) > 0) return; // said once per shard, for its part 0
      const text = 'its shard recorded no alert lifecycle (PITR_GUARD_FINDINGS_TABLE not set for orgShard?): its tables are not in this digest';
      this.problems.add({ region, tableName: accountId, plain: `Region ${region} of account ${accountId}: ${text}`, slack: `Region \`${region}\` of account \`${accountId}\`: ${text}` });
      return;
    }
    const { transitions, openIncidents, repeatedlyDisabled } = file.lifecycle;
    this.stillOpen += openIncidents;
    this.repeatedlyDisabled += repeatedlyDisabled;
    this.transitions += transitions.length;
    if (transitions.length === 0) return;
    const input = lifecycleDigestInput({
      report: { accountId: centralAccount, regions: [region], generatedAt: file.generatedAt, findings: file.findings, regionErrors: [] },
      transitions,
      outcomes: file.outcomes,
      stillOpen: openIncidents,
      mode,
      dryRun,
    });
    for (const section of ['newIncidents', 'resolved', 'reminders', 'loops'] as const) for (const l of input[section]) this.sections[section].add(l);
  }
}

const byRegionName = (a: Finding, b: Finding) => a.region.localeCompare(b.region) || a.tableName.localeCompare(b.tableName);
const byDigestOrder = (a: RemediationOutcome, b: RemediationOutcome) => outcomeRank(a) - outcomeRank(b) || a.region.localeCompare(b.region) || a.tableName.localeCompare(b.tableName);

/** Everything the aggregate keeps in memory while it reads the shards. */
export class RunTotals {
  readonly summary = empty();
  private readonly byAccount = new Map<string, ScanSummary>();
  private readonly byRegion = new Map<string, ScanSummary>();
  private readonly byPair = new Map<string, RegionSummary>();
  private readonly accountRegions = new Map<string, string[]>();
  readonly shardErrors: ShardError[] = [];
  readonly vanished: { accountId: string; region: string; tableName: string }[] = [];
  readonly unrecorded: string[] = [];
  unrecordedCount = 0;
  /** Findings Security Hub did not take (shards with PITR_GUARD_SECURITY_HUB=true), and the first lines naming them. */
  securityHubFailed = 0;
  readonly securityHubFailures: string[] = [];
  restoreWindowNotFull = 0;
  generatedAt: string | undefined;
  readonly errorFindings: TopN<Finding>;
  readonly outcomes: TopN<RemediationOutcome>;
  readonly outcomeCounts = { enabled: 0, failed: 0, notChanged: 0 };
  /** The change digest's lines and counts (alert lifecycle only). */
  readonly changes: ChangeTotals | undefined;
  /** Cost totals: sums only. */
  readonly cost = new CostSum();
  /** Restore sources and global-table replicas across shards (bounded: see LinkIndex). */
  readonly links = new LinkIndex();

  constructor(
    readonly plan: RunPlan,
    maxListed: number,
    lifecycle = false,
  ) {
    this.changes = lifecycle ? new ChangeTotals(maxListed) : undefined;
    for (const r of plan.regions) this.byRegion.set(r, empty());
    this.errorFindings = new TopN(maxListed, byRegionName);
    this.outcomes = new TopN(maxListed, byDigestOrder);
  }

  shardError(e: ShardError): void {
    this.shardErrors.push(e);
  }

  /** One shard's file, or one part of it (already checked; parts in order), its findings sorted and spooled. */
  async addShard(file: ShardFile, spool: FindingSpool): Promise<void> {
    const { accountId, region } = file.shard;
    const account = this.byAccount.get(accountId) ?? empty();
    this.byAccount.set(accountId, account);
    const regionTotal = this.byRegion.get(region) ?? empty();
    this.byRegion.set(region, regionTotal);
    let pair = this.byPair.get(shardId(file.shard));
    if (!pair) {
      pair = { accountId, region, summary: empty() };
      this.byPair.set(shardId(file.shard), pair);
      this.accountRegions.set(accountId, [...(this.accountRegions.get(accountId) ?? []), region]);
    }
    for (const f of sortFindings(file.findings)) {
      for (const s of [this.summary, account, regionTotal, pair.summary]) countFinding(s, f.status);
      if (f.reasons.includes('RESTORE_WINDOW_NOT_FULL')) this.restoreWindowNotFull++;
      if (f.status === 'ERROR') this.errorFindings.add(f);
      this.cost.add(f);
      this.links.add(f);
      await spool.add(f);
    }
    for (const v of file.vanished) this.vanished.push({ accountId, region: v.region, tableName: v.tableName });
    for (const o of file.outcomes) {
      // As in the scheduled scan: tables whose mode asks for an alert; report-mode ones are only logged.
      if (o.mode === 'report' || o.result === 'ALREADY_COMPLIANT' || o.result === 'GONE') continue;
      if (o.result === 'ENABLED') this.outcomeCounts.enabled++;
      else if (o.result === 'FAILED' || o.result === 'DEFERRED') this.outcomeCounts.failed++;
      else if (o.result === 'SKIPPED_MODE' || o.result === 'SKIPPED_DRY_RUN') this.outcomeCounts.notChanged++;
      this.outcomes.add(o);
    }
    for (const u of file.unrecorded) {
      this.unrecordedCount++;
      if (this.unrecorded.length < UNRECORDED_LISTED) this.unrecorded.push(u);
    }
    this.securityHubFailed += file.securityHub?.failed ?? 0;
    for (const f of file.securityHub?.failures ?? []) {
      if (this.securityHubFailures.length < UNRECORDED_LISTED) this.securityHubFailures.push(`${f.accountId}/${f.region} ${f.operation}${f.id ? ` ${f.id}` : ''}: ${f.errorName}: ${f.message}`);
    }
    if (!this.generatedAt || file.generatedAt > this.generatedAt) this.generatedAt = file.generatedAt;
    this.changes?.add(file, this.plan.policy.mode as Mode, this.plan.policy.dryRun, this.plan.accountId);
  }

  /** The report without its findings (those are in the spool), in ScanReport's shape. */
  head(now: Date): HtmlHead {
    const plan = this.plan;
    const accounts: AccountResult[] = plan.accounts.map((a) => {
      const named = a.name ? { name: a.name } : {};
      if (a.status !== 'SCANNED') return { accountId: a.accountId, ...named, status: 'ERROR', ...(a.error ? { error: a.error } : {}) };
      return { accountId: a.accountId, ...named, status: 'SCANNED', regions: [...(this.accountRegions.get(a.accountId) ?? [])].sort(), summary: this.byAccount.get(a.accountId) ?? empty() };
    });
    const totals = [...this.byRegion.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([region, summary]) => ({ region, summary }));
    const pairs = [...this.byPair.values()].sort((a, b) => (a.accountId as string).localeCompare(b.accountId as string) || a.region.localeCompare(b.region));
    const head: ReportHead = {
      generatedAt: this.generatedAt ?? now.toISOString(),
      accountId: plan.accountId,
      accounts,
      accountErrors: plan.accountErrors,
      regions: plan.regions,
      policy: { minRecoveryDays: plan.policy.minRecoveryDays, exemptTag: plan.policy.exemptTag },
      summary: this.summary,
      cost: this.cost.totals(),
      vanished: this.vanished,
      regionErrors: [],
      regionSummaries: [...totals, ...pairs],
      shardErrors: [...this.shardErrors].sort((a, b) => a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region)),
    };
    return { ...head, restoreWindowNotFull: this.restoreWindowNotFull };
  }
}
