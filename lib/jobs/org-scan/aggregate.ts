/**
 * The Organization scan's last step (Lambda handler: functions/org-aggregate.ts), after every
 * shard ran: read the run's plan, shard list and the Distributed Map's results, then each shard's
 * ShardFile one at a time, and write the run's ScanReport to the report bucket as
 * reports/<runId>/report.json, report.csv, report.html and summary.json; then, in alert or
 * remediate mode, send ONE digest through the same renderer and channels as the scheduled scan.
 *
 * Bounded memory: no step holds every finding. Findings go to one JSON-lines file per status on
 * local disk (spool.ts); what stays in memory is counters (overall, per account, per Region, per
 * account and Region), the digest's top lines (at most maxListed of each kind) and the lists of
 * what was not scanned (account errors, shard errors: one entry per account or shard, not per
 * table), deleted tables and unrecorded tables (capped, counted). Each report is streamed from the
 * spool to S3 with a multipart upload.
 *
 * Nothing is silently dropped: every shard of shards.json ends up read (its findings in the
 * report) or as a shard error: the shard's ShardErrorOutput, a FAILED or PENDING child, a
 * ShardFile that cannot be read or does not match its shard, or no result at all.
 *
 * Failure: a malformed input, plan or manifest throws (InvalidEventError / AwsCallError); so does a
 * failed upload; if every alert channel fails, deliver throws AlertDeliveryError. The state machine
 * then retries the step. A retry re-writes the same reports; the digest goes last, so a retry
 * re-sends it only if this invocation failed after delivering.
 *
 * Alert lifecycle (deps.lifecycle: a findings table is configured; not in mode report): each
 * ShardFile holds the transitions its shard's conditional ledger writes won (ShardFile.lifecycle),
 * so a transition is in exactly one file; the aggregate sends ONE change digest of them — new,
 * resolved, reminders due, loop protection, the count still open, plus account and shard errors
 * in every digest — through the scheduled scan's mapping and renderer (lifecycleDigestInput,
 * renderChangeDigest), holding only the top maxListed lines per section and the full counts
 * (ChangeTotals). Nothing changed and nothing unscanned: no digest at all. Mode report: nothing sent.
 */
import type { Clients } from '../../aws/clients';
import { getObjectJson, ReportBucketClient, uploadObject } from '../../aws/report-bucket';
import type { AccountResult, ShardError } from '../../aws/scan';
import { countFinding, hasProblems, sortFindings, type RegionSummary, type ScanSummary } from '../../core/summary';
import type { RemediationOutcome } from '../../act/outcome';
import { errorMessage, awsErrorName } from '../../core/errors';
import { truncate } from '../../core/text';
import type { Finding } from '../../core/types';
import { deliver, type DeliveryReport, type Notifier } from '../../notify';
import { changeDigestHasNews, outcomeRank, renderChangeDigest, renderDigest, type ChangeDigestInput, type ChangeDigestLine } from '../../notify/digest';
import { lifecycleDigestInput } from '../../notify/lifecycle-digest';
import type { Mode } from '../../core/types';
import type { ReportHead } from '../../report/csv';
import type { HtmlHead } from '../../report/html';
import type { Logger } from '../../runtime/logger';
import { silentMetrics, type Metrics } from '../../runtime/metrics';
import { reportPrefix, type AggregateOutput, type RunPlan, type ShardFile } from './contract';
import { csvChunks, htmlChunks, jsonChunks, readable } from './report-streams';
import { missingResults, mergeResult, parseAggregateInput, parseManifest, parsePlan, parseShards, recordResult, shardId, type ResultManifest, type ShardResult } from './results';
import { FindingSpool } from './spool';

export interface AggregateDeps {
  clients: Clients;
  /** The Region of the report bucket (the stack's). */
  homeRegion: string;
  logger: Logger;
  notifiers: Notifier[];
  metrics?: Metrics;
  now?: () => Date;
  /** Where the spool goes (default os.tmpdir(): Lambda's /tmp). */
  tmpDir?: string;
  /**
   * A findings table is configured (PITR_GUARD_FINDINGS_TABLE): the shards run the alert lifecycle
   * and the run sends one CHANGE digest (none when nothing changed); absent/false: the classic digest.
   */
  lifecycle?: boolean;
  /** Digest lines in the email (default 50) and in Slack (default 20). */
  maxListed?: number;
  maxListedSlack?: number;
}

export interface AggregateInvocation {
  /** Milliseconds the invocation has left: the digest's channel retries stay within them. */
  remainingMs?: () => number;
}

export interface AggregateResult extends AggregateOutput {
  /** Set when a digest was sent. */
  delivery?: DeliveryReport;
}

/** ShardFiles fetched ahead of the one being added: S3 latency overlaps, memory stays at this many files. */
export const READ_AHEAD = 16;

/** Unrecorded tables (ledger failures) listed in summary.json; beyond, only counted. */
export const UNRECORDED_LISTED = 1_000;

export const reportKeys = (runId: string) => ({
  json: `${reportPrefix(runId)}report.json`,
  csv: `${reportPrefix(runId)}report.csv`,
  html: `${reportPrefix(runId)}report.html`,
  summary: `${reportPrefix(runId)}summary.json`,
});

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
  restoreWindowNotFull = 0;
  generatedAt: string | undefined;
  readonly errorFindings: TopN<Finding>;
  readonly outcomes: TopN<RemediationOutcome>;
  readonly outcomeCounts = { enabled: 0, failed: 0, notChanged: 0 };
  /** The change digest's lines and counts (alert lifecycle only). */
  readonly changes: ChangeTotals | undefined;

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

  /** One shard's file (already checked), its findings sorted and spooled. */
  async addShard(file: ShardFile, spool: FindingSpool): Promise<void> {
    const { accountId, region } = file.shard;
    const account = this.byAccount.get(accountId) ?? empty();
    this.byAccount.set(accountId, account);
    const regionTotal = this.byRegion.get(region) ?? empty();
    this.byRegion.set(region, regionTotal);
    const pair: RegionSummary = { accountId, region, summary: empty() };
    this.byPair.set(shardId(file.shard), pair);
    this.accountRegions.set(accountId, [...(this.accountRegions.get(accountId) ?? []), region]);
    for (const f of sortFindings(file.findings)) {
      for (const s of [this.summary, account, regionTotal, pair.summary]) countFinding(s, f.status);
      if (f.reasons.includes('RESTORE_WINDOW_NOT_FULL')) this.restoreWindowNotFull++;
      if (f.status === 'ERROR') this.errorFindings.add(f);
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
      vanished: this.vanished,
      regionErrors: [],
      regionSummaries: [...totals, ...pairs],
      shardErrors: [...this.shardErrors].sort((a, b) => a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region)),
    };
    return { ...head, restoreWindowNotFull: this.restoreWindowNotFull };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A ShardFile as the shard wrote it, for that shard; otherwise why not (one line). */
export function checkShardFile(value: unknown, expected: { accountId: string; region: string; runId: string }): ShardFile | string {
  if (!isObject(value) || !isObject(value.shard)) return 'not a ShardFile object';
  const { shard } = value;
  if (shard.accountId !== expected.accountId || shard.region !== expected.region || shard.runId !== expected.runId) {
    return `it is the file of ${String(shard.accountId)}/${String(shard.region)} in run ${String(shard.runId)}`;
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
  return value as unknown as ShardFile;
}

export async function aggregate(event: unknown, deps: AggregateDeps, invocation: AggregateInvocation = {}): Promise<AggregateResult> {
  const started = Date.now();
  const logger = deps.logger;
  const now = deps.now ?? (() => new Date());
  const input = parseAggregateInput(event);
  const { bucket, runId } = input;
  const s3 = deps.clients.get(ReportBucketClient, deps.homeRegion);

  const plan = parsePlan(await getObjectJson(s3, bucket, input.planKey), runId);
  const shards = parseShards(await getObjectJson(s3, bucket, input.shardsKey));
  const manifest = parseManifest(await getObjectJson(s3, bucket, input.results.ResultWriterDetails.Key));

  // Every record of every result file, one file at a time, down to one small result per shard.
  const results = new Map<string, ShardResult>();
  const unreadableFiles: string[] = [];
  let unattributed = 0;
  for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as (keyof ResultManifest)[]) {
    for (const key of manifest[status]) {
      let records: unknown;
      try {
        records = await getObjectJson(s3, bucket, key);
        if (!Array.isArray(records)) throw new Error(`${key} is not a JSON array of child executions`);
      } catch (error) {
        unreadableFiles.push(key);
        logger.error('could not read a Step Functions result file', { event: 'result-file-unreadable', key, errorName: awsErrorName(error), errorMessage: errorMessage(error) });
        continue;
      }
      for (const record of records as unknown[]) {
        const result = recordResult(record, status, runId);
        if (result) mergeResult(results, result);
        else unattributed++;
      }
    }
  }
  if (unattributed > 0) logger.warn('result records that name no shard (their shards count as having no result)', { event: 'result-unattributed', count: unattributed });
  for (const missing of missingResults(shards, results)) {
    if (missing.kind === 'error' && unreadableFiles.length > 0) missing.error.message += `; ${unreadableFiles.length} result file(s) could not be read`;
  }

  const totals = new RunTotals(plan, deps.maxListed ?? 50, deps.lifecycle === true && plan.policy.mode !== 'report');
  const files = [...results.values()].flatMap((r) => (r.kind === 'file' ? [r] : []));
  files.sort((a, b) => a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region));
  for (const r of results.values()) if (r.kind === 'error') totals.shardError(r.error);

  const keys = reportKeys(runId);
  const spool = new FindingSpool(deps.tmpDir);
  let head: HtmlHead;
  try {
    const read = async (f: (typeof files)[number]): Promise<ShardFile | string> => {
      try {
        return checkShardFile(await getObjectJson(s3, bucket, f.key), { accountId: f.accountId, region: f.region, runId });
      } catch (error) {
        return errorMessage(error);
      }
    };
    // Files are fetched READ_AHEAD at a time but added strictly in order (the spool's order).
    const pending: Promise<ShardFile | string>[] = [];
    for (let i = 0; i < Math.min(READ_AHEAD, files.length); i++) pending.push(read(files[i] as (typeof files)[number]));
    for (let i = 0; i < files.length; i++) {
      const f = files[i] as (typeof files)[number];
      const checked = await (pending.shift() as Promise<ShardFile | string>);
      const next = files[i + READ_AHEAD];
      if (next) pending.push(read(next));
      if (typeof checked === 'string') {
        totals.shardError({ accountId: f.accountId, region: f.region, errorName: 'ShardFileUnreadable', message: truncate(`${f.key}: ${checked}`, 500) });
        continue;
      }
      await totals.addShard(checked, spool);
    }
    await spool.close();
    head = totals.head(now());
    const findings = () => spool.findings();
    // One upload at a time: each holds up to PART_SIZE × QUEUE_SIZE bytes while it runs.
    await uploadObject(s3, bucket, keys.json, readable(jsonChunks(head, findings)), { contentType: 'application/json' });
    await uploadObject(s3, bucket, keys.csv, readable(csvChunks(head, findings)), { contentType: 'text/csv; charset=utf-8' });
    await uploadObject(s3, bucket, keys.html, readable(htmlChunks(head, findings)), { contentType: 'text/html; charset=utf-8' });
  } finally {
    spool.remove();
  }

  for (const e of head.shardErrors) logger.error('shard not scanned', { event: 'shard-error', accountId: e.accountId, region: e.region, errorName: e.errorName, errorMessage: e.message });
  for (const u of totals.unrecorded) logger.error('could not record the table in the findings ledger', { event: 'ledger-failed', table: u });
  const problems = hasProblems(head) || totals.unrecordedCount > 0;
  const summary = {
    runId,
    startedAt: plan.startedAt,
    generatedAt: head.generatedAt,
    accountId: plan.accountId,
    mode: plan.policy.mode,
    dryRun: plan.policy.dryRun,
    problems,
    summary: head.summary,
    accounts: head.accounts,
    regionSummaries: head.regionSummaries,
    accountErrors: head.accountErrors,
    shardErrors: head.shardErrors,
    vanished: head.vanished.length,
    unrecorded: totals.unrecorded,
    unrecordedCount: totals.unrecordedCount,
    reportKeys: keys,
  };
  await uploadObject(s3, bucket, keys.summary, JSON.stringify(summary, null, 2) + '\n', { contentType: 'application/json' });

  const delivery = await sendDigest(totals, head, deps, invocation);
  const metrics = deps.metrics ?? silentMetrics;
  metrics.count('ShardErrors', head.shardErrors.length);
  metrics.count('AccountErrors', head.accountErrors.length);
  const output: AggregateOutput = {
    runId,
    reportKeys: keys,
    summary: head.summary,
    accounts: head.accounts.length,
    accountErrors: head.accountErrors.length,
    shardErrors: head.shardErrors.length,
    regionErrors: head.regionErrors.length,
    problems,
  };
  logger.info('organization scan aggregated', {
    event: 'aggregate',
    ...output,
    shards: shards.length,
    vanished: head.vanished.length,
    unrecorded: totals.unrecordedCount,
    digest: delivery ? delivery.delivered : 'none',
    durationMs: Date.now() - started,
  });
  return { ...output, ...(delivery ? { delivery } : {}) };
}

/** One digest per run, as the scheduled scan's (lib/act/scan-actions.ts), from the bounded totals. */
async function sendDigest(totals: RunTotals, head: HtmlHead, deps: AggregateDeps, invocation: AggregateInvocation): Promise<DeliveryReport | undefined> {
  const { policy } = totals.plan;
  if (deps.lifecycle && policy.mode === 'report') return undefined; // mode report: the lifecycle sends nothing
  if (totals.changes) {
    const input = changeDigestOf(totals.changes, head, totals.plan, deps);
    if (!changeDigestHasNews(input)) {
      deps.logger.info('nothing changed since the last scan: no digest', { event: 'digest-skipped', stillOpen: input.stillOpen });
      return undefined;
    }
    const alert = renderChangeDigest(input);
    return deliver(deps.notifiers, alert, { logger: deps.logger, ...(deps.metrics ? { metrics: deps.metrics } : {}), ...(invocation.remainingMs ? { remainingMs: invocation.remainingMs } : {}) });
  }
  const includeErrors = policy.mode !== 'report';
  const errors = includeErrors ? head.summary.error + head.regionErrors.length + head.accountErrors.length + head.shardErrors.length : 0;
  if (totals.outcomes.total === 0 && errors === 0) return undefined;
  const outcomes = totals.outcomes.values();
  const errorFindings = totals.errorFindings.values();
  const alert = renderDigest({
    report: { accountId: head.accountId, regions: head.regions, generatedAt: head.generatedAt, summary: head.summary, regionErrors: head.regionErrors, accountErrors: head.accountErrors, shardErrors: head.shardErrors, findings: errorFindings },
    outcomes,
    mode: policy.mode as Parameters<typeof renderDigest>[0]['mode'],
    dryRun: policy.dryRun,
    includeErrors,
    totals: {
      outOfPolicy: totals.outcomes.total,
      ...totals.outcomeCounts,
      unlisted: totals.outcomes.total - outcomes.length + (includeErrors ? totals.errorFindings.total - errorFindings.length : 0),
    },
    ...(deps.maxListed ? { maxListed: deps.maxListed } : {}),
    ...(deps.maxListedSlack ? { maxListedSlack: deps.maxListedSlack } : {}),
  });
  return deliver(deps.notifiers, alert, { logger: deps.logger, ...(deps.metrics ? { metrics: deps.metrics } : {}), ...(invocation.remainingMs ? { remainingMs: invocation.remainingMs } : {}) });
}

/**
 * The change digest of the run: the top lines of each section and their full counts; account
 * errors and shard errors (the ledger cannot deduplicate them: listed in every digest sent, as the
 * scheduled scan's "Not scanned"), through the same mapping and renderer as the scheduled scan.
 */
export function changeDigestOf(changes: ChangeTotals, head: Pick<HtmlHead, 'accountId' | 'regions' | 'generatedAt' | 'accounts' | 'accountErrors' | 'shardErrors'>, plan: Pick<RunPlan, 'policy'>, deps: Pick<AggregateDeps, 'maxListed' | 'maxListedSlack'>): ChangeDigestInput {
  const mode = plan.policy.mode as Mode;
  const base = lifecycleDigestInput({
    report: { accountId: head.accountId, regions: head.regions, generatedAt: head.generatedAt, findings: [], regionErrors: [], accountErrors: head.accountErrors, shardErrors: head.shardErrors },
    transitions: [],
    outcomes: [],
    stillOpen: changes.stillOpen,
    mode,
    dryRun: plan.policy.dryRun,
    ...(deps.maxListed ? { maxListed: deps.maxListed } : {}),
    ...(deps.maxListedSlack ? { maxListedSlack: deps.maxListedSlack } : {}),
  });
  const extra = changes.problems.values();
  return {
    ...base,
    accounts: head.accounts.length,
    newIncidents: changes.sections.newIncidents.values(),
    resolved: changes.sections.resolved.values(),
    reminders: changes.sections.reminders.values(),
    loops: changes.sections.loops.values(),
    problems: [...base.problems, ...extra],
    totals: {
      newIncidents: changes.sections.newIncidents.total,
      resolved: changes.sections.resolved.total,
      reminders: changes.sections.reminders.total,
      loops: changes.sections.loops.total,
      problems: base.problems.length + changes.problems.total,
    },
  };
}

/** No AWS command of its own: report-bucket.ts and the notifiers declare theirs. */
export const permissions: readonly import('../../core/iam').Permission[] = [];
