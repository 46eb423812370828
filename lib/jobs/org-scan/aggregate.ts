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
import { getObjectJson, uploadObject } from '../../aws/report-bucket';
import { ReportBucketClient } from '../../aws/report-bucket-client';
import { hasProblems } from '../../core/summary';
import { errorMessage, awsErrorName } from '../../core/errors';
import { deliver, type DeliveryReport, type Notifier } from '../../notify';
import { changeDigestHasNews, renderChangeDigest, renderDigest, type ChangeDigestInput } from '../../notify/digest';
import { lifecycleDigestInput } from '../../notify/lifecycle-digest';
import { linkEach } from '../../core/links';
import type { Mode } from '../../core/types';
import type { HtmlHead } from '../../report/html';
import type { Logger } from '../../runtime/logger';
import { silentMetrics, type Metrics } from '../../runtime/metrics';
import { reportPrefix, type AggregateOutput, type RunPlan } from './contract';
import { csvChunks, htmlChunks, jsonChunks, readable } from './report-streams';
import { missingResults, mergeResult, parseAggregateInput, parseManifest, parsePlan, parseShards, recordResult, type ResultManifest, type ShardResult } from './results';
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

export const reportKeys = (runId: string) => ({
  json: `${reportPrefix(runId)}report.json`,
  csv: `${reportPrefix(runId)}report.csv`,
  html: `${reportPrefix(runId)}report.html`,
  summary: `${reportPrefix(runId)}summary.json`,
});

export { ChangeTotals, RunTotals, TopN, UNRECORDED_LISTED } from './totals';
export { checkShardFile } from './shard-file';
import { ChangeTotals, RunTotals } from './totals';
import { addShardFiles } from './read-shards';

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
    await addShardFiles(files, { runId, readAhead: READ_AHEAD, get: (key) => getObjectJson(s3, bucket, key), totals, spool });
    await spool.close();
    head = totals.head(now());
    // Restore sources named before their table was read: one more pass over the spool resolves them.
    if (totals.links.unresolved > 0) for await (const f of spool.findings()) totals.links.resolve(f);
    if (totals.links.size > 0) logger.info('links across shards', { event: 'links', indexed: totals.links.size, unresolvedSources: totals.links.unresolved });
    const findings = () => linkEach(spool.findings(), totals.links);
    // One upload at a time: each holds up to PART_SIZE × QUEUE_SIZE bytes while it runs.
    await uploadObject(s3, bucket, keys.json, readable(jsonChunks(head, findings)), { contentType: 'application/json' });
    await uploadObject(s3, bucket, keys.csv, readable(csvChunks(head, findings)), { contentType: 'text/csv; charset=utf-8' });
    await uploadObject(s3, bucket, keys.html, readable(htmlChunks(head, findings)), { contentType: 'text/html; charset=utf-8' });
  } finally {
    spool.remove();
  }

  for (const e of head.shardErrors) logger.error('shard not scanned', { event: 'shard-error', accountId: e.accountId, region: e.region, errorName: e.errorName, errorMessage: e.message });
  for (const u of totals.unrecorded) logger.error('could not record the table in the findings ledger', { event: 'ledger-failed', table: u });
  for (const f of totals.securityHubFailures) logger.error('Security Hub import failed', { event: 'security-hub-failed', failure: f });
  const problems = hasProblems(head) || totals.unrecordedCount > 0 || totals.securityHubFailed > 0;
  const summary = {
    runId,
    startedAt: plan.startedAt,
    generatedAt: head.generatedAt,
    accountId: plan.accountId,
    mode: plan.policy.mode,
    dryRun: plan.policy.dryRun,
    problems,
    summary: head.summary,
    cost: head.cost,
    accounts: head.accounts,
    regionSummaries: head.regionSummaries,
    accountErrors: head.accountErrors,
    shardErrors: head.shardErrors,
    vanished: head.vanished.length,
    unrecorded: totals.unrecorded,
    unrecordedCount: totals.unrecordedCount,
    ...(totals.securityHubFailed > 0 ? { securityHubFailed: totals.securityHubFailed, securityHubFailures: totals.securityHubFailures } : {}),
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
