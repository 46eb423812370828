/**
 * The Organization scan on Step Functions (statemachine/org-scan.asl.json): what each step reads,
 * writes and returns. Nothing that grows with the number of shards or findings travels through the
 * state payload (256 KiB): shards, shard results and reports live in the report bucket
 * (PITR_GUARD_REPORT_BUCKET), under one prefix per run.
 *
 *   plan       in:  PlanInput (the schedule's event and the execution's name)
 *              writes runs/<runId>/plan.json (RunPlan) and runs/<runId>/shards.json (ShardItem[])
 *              out: PlanOutput (small)
 *   ScanShards Distributed Map: ItemReader = shards.json, one STANDARD child per ShardItem,
 *              MaxConcurrencyPath = $.maxConcurrency; each child invokes shard with the ShardItem,
 *              and again with each `next` item while the shard answers CONTINUE (continuation)
 *   shard      in:  ShardItem (with `continuation` from the second part on); reads the Region's
 *              tables in ListTables order from `continuation.startAfter` until its time budget
 *              (remaining Lambda time, a share kept for acting and writing; ShardDeps.budgetMs)
 *              ends, and writes what it finished as part n: runs/<runId>/shards/<accountId>/
 *              <region>.json for part 0, <region>.part-<n>.json after (ShardFile with `part`).
 *              out: ShardOutput when the Region is done (`parts` files), else ShardContinueOutput
 *              (its `next` = the item plus the continuation: the last table whose result is
 *              written is the cursor, so no table is read twice and none is skipped). A Lambda
 *              retry of the same item re-writes the same part file. A shard that still fails after
 *              its retries is caught by the state machine and becomes a ShardErrorOutput (with
 *              the continuation it failed in: the parts before it are in the report): never a
 *              failed run. ResultWriter writes every child's last output under
 *              runs/<runId>/results/ (manifest.json + SUCCEEDED_n.json / FAILED_n.json, the AWS shape).
 *   aggregate  in:  AggregateInput (= PlanOutput + the Map's ResultWriterDetails)
 *              reads the plan, the result manifest and each ShardFile (every part, in order, each
 *              checked to start where the one before ended) one at a time (bounded memory);
 *              writes reports/<runId>/report.json|report.csv|report.html|summary.json; sends the digest
 *              out: AggregateOutput (small)
 */
import type { AccountError, AccountResult, RegionError, ScanSummary, SecurityHubDelivery } from '../../aws/scan';
import type { RemediationOutcome } from '../../act/outcome';
import type { Finding } from '../../core/types';
import type { Transition } from '../../core/lifecycle';

/** plan's input, as the state machine passes it: `{ "event.$": "$", "executionName.$": "$$.Execution.Name" }`. */
export interface PlanInput {
  event: unknown;
  executionName: string;
}

/** runs/<runId>/plan.json: who is in scope and what could not even be planned. */
export interface RunPlan {
  runId: string;
  startedAt: string;
  /** The account pitr-guard runs in. */
  accountId: string;
  homeRegion: string;
  policy: { minRecoveryDays: number; exemptTag: string; mode: string; dryRun: boolean };
  /** Every account in scope, in scope order. ERROR = could not be reached at plan time (no shards). */
  accounts: Pick<AccountResult, 'accountId' | 'name' | 'status' | 'error' | 'regions'>[];
  accountErrors: AccountError[];
  /** Every Region of any shard, sorted. */
  regions: string[];
  shardCount: number;
}

/** One element of runs/<runId>/shards.json: one account and one Region, scanned by one Lambda invocation. */
export interface ShardItem {
  runId: string;
  bucket: string;
  accountId: string;
  name?: string;
  region: string;
  /** The schedule's time of this run (ISO 8601): the ledger's run time. */
  startedAt: string;
  /** Absent for part 0 (the items of shards.json); set by the shard itself for every later part. */
  continuation?: ShardContinuation;
}

/** Where the next part of a shard starts. */
export interface ShardContinuation {
  /** The part to write next (≥ 1); parts 0…part-1 are written. */
  part: number;
  /** The last table (ListTables order) whose result is in a written part: the next part lists after it. */
  startAfter: string;
  /** The counts of the parts written so far. */
  summary: ScanSummary;
}

/** Which range of the Region's tables one ShardFile holds (ListTables order). */
export interface ShardPart {
  index: number;
  /** Exclusive: the previous part's lastTable; absent for part 0. */
  startAfter?: string;
  /** Inclusive; absent when the range held no table. */
  lastTable?: string;
  /** The Region's last part. */
  done: boolean;
}

export interface PlanOutput {
  runId: string;
  bucket: string;
  planKey: string;
  shardsKey: string;
  /** ScanShards' MaxConcurrencyPath (serverless param maxConcurrency, default 50). */
  maxConcurrency: number;
  shardCount: number;
  startedAt: string;
}

/** runs/<runId>/shards/<accountId>/<region>.json (part 0) or <region>.part-<n>.json, written by one shard invocation. */
export interface ShardFile {
  shard: Pick<ShardItem, 'runId' | 'accountId' | 'name' | 'region'>;
  /** The range of tables this file covers (absent in files written before continuation: one whole Region). */
  part?: ShardPart;
  generatedAt: string;
  summary: ScanSummary;
  /** Sorted worst first (as in ScanReport). */
  findings: Finding[];
  vanished: { accountId: string; region: string; tableName: string }[];
  /** Remediation outcomes of this shard's NON_COMPLIANT tables (mode, tags; empty in report mode). */
  outcomes: RemediationOutcome[];
  /** Tables the findings ledger could not record (ARN: error). */
  unrecorded: string[];
  /**
   * The alert lifecycle of this shard's tables (absent without a lifecycle ledger: no findings
   * table, or mode report). Only the transitions this shard's conditional writes won (a duplicate
   * or concurrent run of the same shard never holds the same transition), the closes of the tables
   * it re-enabled included; bounded by the shard's tables. The aggregate sends them as one change digest.
   */
  lifecycle?: ShardLifecycle;
  /** Only with PITR_GUARD_SECURITY_HUB=true: the shard's Security Hub delivery (lib/aws/security-hub.ts). */
  securityHub?: SecurityHubDelivery;
}

export interface ShardLifecycle {
  transitions: Transition[];
  /** Incidents of this shard's tables still open after the shard (the new and reminded ones included). */
  openIncidents: number;
  /** Tables loop protection is watching (REPEATEDLY_DISABLED). */
  repeatedlyDisabled: number;
}

/** What shard returns when the Region is done (and ResultWriter records): a pointer, never the findings. */
export interface ShardOutput {
  status: 'SCANNED';
  accountId: string;
  region: string;
  /** Part 0's file; parts 1…parts-1 are at shardFileKey(…, n). */
  key: string;
  /** Files written (≥ 1). */
  parts: number;
  /** The whole shard's counts (every part). */
  summary: ScanSummary;
}

/** What shard returns when its time budget ended before the Region did: the state machine invokes it again with `next`. */
export interface ShardContinueOutput {
  status: 'CONTINUE';
  accountId: string;
  region: string;
  /** The part just written. */
  key: string;
  /** The counts of the parts written so far. */
  summary: ScanSummary;
  /** The same item, with the continuation. */
  next: ShardItem & { continuation: ShardContinuation };
}

/**
 * What the state machine's catcher makes of a shard that failed after its retries: the item it
 * was invoked with (its `continuation`, when a later part failed: the parts before it are written),
 * the error, and status ERROR.
 */
export interface ShardErrorOutput extends Partial<ShardItem> {
  status: 'ERROR';
  accountId: string;
  region: string;
  /** Step Functions' error output: `Error` is the error name, `Cause` often a JSON string. */
  error: { Error: string; Cause?: string };
}

/** A shard that produced no ShardFile: in the report as (account, Region, error), never a silent gap (ScanReport.shardErrors). */
export type { ShardError } from '../../aws/scan';

/** aggregate's input: the plan's output, plus the Map's output under `results` (ResultPath $.results). */
export interface AggregateInput extends PlanOutput {
  results: { MapRunArn?: string; ResultWriterDetails: { Bucket: string; Key: string } };
}

export interface AggregateOutput {
  runId: string;
  reportKeys: { json: string; csv: string; html: string; summary: string };
  summary: ScanSummary;
  accounts: number;
  accountErrors: number;
  shardErrors: number;
  regionErrors: number;
  problems: boolean;
}

export type { RegionError };

export const runPrefix = (runId: string): string => `runs/${runId}/`;
export const planKey = (runId: string): string => `${runPrefix(runId)}plan.json`;
export const shardsKey = (runId: string): string => `${runPrefix(runId)}shards.json`;
/** Part 0 keeps the key a one-part shard always had; part n ≥ 1 is <region>.part-<n>.json. */
export const shardFileKey = (runId: string, accountId: string, region: string, part = 0): string => `${runPrefix(runId)}shards/${accountId}/${region}${part === 0 ? '' : `.part-${part}`}.json`;
export const resultsPrefix = (runId: string): string => `${runPrefix(runId)}results`;
export const reportPrefix = (runId: string): string => `reports/${runId}/`;

/** No AWS command of its own. */
export const permissions: readonly import('../../core/iam').Permission[] = [];
