/**
 * A synthetic Organization scan run in the report bucket, as the plan and shard steps and Step
 * Functions' ResultWriter would leave it (lib/jobs/org-scan/contract.ts, aws-facts-org.md §2.2):
 * plan.json, shards.json, one ShardFile per scanned shard, results/manifest.json and
 * SUCCEEDED_0.json / FAILED_0.json / PENDING_0.json. Used by the aggregate's tests and benchmark.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { summarize } from '../lib/aws/scan';
import type { RemediationOutcome } from '../lib/act/outcome';
import type { Finding, FindingStatus } from '../lib/core/types';
import type { Transition } from '../lib/core/lifecycle';
import { planKey, resultsPrefix, shardFileKey, shardsKey, type AggregateInput, type RunPlan, type ShardErrorOutput, type ShardFile, type ShardItem, type ShardOutput } from '../lib/jobs/org-scan/contract';

/** One finding of a synthetic table (the shape evaluate() produces). */
export function syntheticFinding(accountId: string, region: string, tableName: string, status: FindingStatus, since?: string): Finding {
  const enabled = status === 'COMPLIANT' || status === 'EXEMPT';
  return {
    accountId,
    region,
    tableName,
    tableArn: `arn:aws:dynamodb:${region}:${accountId}:table/${tableName}`,
    tableStatus: 'ACTIVE',
    status,
    reasons: status === 'COMPLIANT' ? ['PITR_ENABLED'] : status === 'NON_COMPLIANT' ? ['PITR_DISABLED'] : status === 'EXEMPT' ? ['EXEMPT'] : status === 'ERROR' ? ['READ_FAILED'] : ['TABLE_DELETING'],
    message: status === 'NON_COMPLIANT' ? 'PITR is not enabled.' : status === 'ERROR' ? 'The table could not be read.' : 'ok',
    pitr: enabled
      ? { status: 'ENABLED', recoveryPeriodInDays: 35, earliestRestorableDateTime: '2026-10-01T00:00:00.000Z', latestRestorableDateTime: '2026-12-01T09:55:00.000Z', restorableDays: 61 }
      : { status: status === 'ERROR' ? null : 'DISABLED', recoveryPeriodInDays: null, earliestRestorableDateTime: null, latestRestorableDateTime: null, restorableDays: null },
    exemption: status === 'EXEMPT' ? { reason: 'rebuilt nightly', active: true } : null,
    modeTag: null,
    ...(status === 'ERROR' ? { error: { operation: 'DescribeContinuousBackups', errorName: 'AccessDeniedException', message: 'DescribeContinuousBackups failed: AccessDeniedException: not authorized' } } : {}),
    ...(since ? { since } : {}),
  } as Finding;
}

/** The alert-mode outcome the shard records for a NON_COMPLIANT table. */
export function alertOutcome(f: Finding, result: RemediationOutcome['result'] = 'SKIPPED_MODE', mode: RemediationOutcome['mode'] = 'alert'): RemediationOutcome {
  return { accountId: f.accountId, region: f.region, tableName: f.tableName, result, before: f, message: 'alert only', mode, attempts: 0, waitedMs: 0 };
}

/** A lifecycle transition a shard's ledger write won for the synthetic table `f` (ShardFile.lifecycle). */
export function syntheticTransition(f: Finding, kind: Transition['kind'], extra: Partial<Transition> = {}): Transition {
  return {
    kind,
    tableArn: f.tableArn ?? `${f.accountId}/${f.region}/${f.tableName}`,
    accountId: f.accountId,
    region: f.region,
    tableName: f.tableName,
    status: f.status,
    reasons: [...f.reasons],
    incidentId: `inc-${f.accountId}-${f.region}-${f.tableName}`,
    openedAt: kind === 'NEW' ? '2026-12-01T10:00:00.000Z' : '2026-11-30T08:00:00.000Z',
    at: '2026-12-01T10:00:00.000Z',
    ...extra,
  };
}

export function shardFile(runId: string, accountId: string, region: string, findings: Finding[], extra: Partial<ShardFile> = {}): ShardFile {
  return {
    shard: { runId, accountId, region },
    generatedAt: '2026-12-01T10:00:00.000Z',
    summary: summarize(findings),
    findings,
    vanished: [],
    outcomes: [],
    unrecorded: [],
    ...extra,
  };
}

/** A ResultWriter child record: Input and Output are JSON strings, failed ones carry Error and Cause. */
export function childRecord(item: ShardItem, outcome: { output: ShardOutput | ShardErrorOutput } | { failed: { Error: string; Cause: string; Status?: string } } | { pending: true }): Record<string, unknown> {
  const base = {
    ExecutionArn: `arn:aws:states:us-east-1:111111111111:execution:pitr-guard-org-scan/${item.accountId}-${item.region}`,
    Name: `${item.accountId}-${item.region}`,
    StateMachineArn: 'arn:aws:states:us-east-1:111111111111:stateMachine:pitr-guard-org-scan/ScanShards',
    StartDate: '2026-12-01T10:00:00.000Z',
    Input: JSON.stringify(item),
    InputDetails: { Included: true },
    RedriveCount: 0,
  };
  if ('output' in outcome) return { ...base, Status: 'SUCCEEDED', StopDate: '2026-12-01T10:01:00.000Z', Output: JSON.stringify(outcome.output), OutputDetails: { Included: true }, RedriveStatus: 'NOT_REDRIVABLE' };
  if ('failed' in outcome) return { ...base, Status: outcome.failed.Status ?? 'FAILED', StopDate: '2026-12-01T10:01:00.000Z', Error: outcome.failed.Error, Cause: outcome.failed.Cause, RedriveStatus: 'REDRIVABLE' };
  return { ...base, Status: 'PENDING' };
}

export interface RunSpec {
  runId: string;
  bucket: string;
  plan: RunPlan;
  shards: ShardItem[];
  /** ShardFiles by shard (written under shardFileKey); a string is written as is (e.g. not JSON). */
  files: Map<string, ShardFile | string>;
  succeeded: Record<string, unknown>[];
  failed: Record<string, unknown>[];
  pending: Record<string, unknown>[];
}

export const aggregateInput = (spec: Pick<RunSpec, 'runId' | 'bucket' | 'shards' | 'plan'>): AggregateInput => ({
  runId: spec.runId,
  bucket: spec.bucket,
  planKey: planKey(spec.runId),
  shardsKey: shardsKey(spec.runId),
  maxConcurrency: 50,
  shardCount: spec.shards.length,
  startedAt: spec.plan.startedAt,
  results: { MapRunArn: 'arn:aws:states:us-east-1:111111111111:mapRun:pitr-guard-org-scan/ScanShards:0', ResultWriterDetails: { Bucket: spec.bucket, Key: `${resultsPrefix(spec.runId)}/manifest.json` } },
});

/** Writes the run's objects (files `concurrency` at a time). */
export async function writeRun(s3: S3Client, spec: RunSpec, concurrency = 16): Promise<void> {
  const put = (Key: string, body: unknown) => s3.send(new PutObjectCommand({ Bucket: spec.bucket, Key, Body: typeof body === 'string' ? body : JSON.stringify(body), ContentType: 'application/json' }));
  await put(planKey(spec.runId), spec.plan);
  await put(shardsKey(spec.runId), spec.shards);
  const entries = [...spec.files.entries()];
  for (let i = 0; i < entries.length; i += concurrency) {
    await Promise.all(
      entries.slice(i, i + concurrency).map(([id, file]) => {
        const [accountId, region] = id.split('/') as [string, string];
        return put(shardFileKey(spec.runId, accountId, region), file);
      }),
    );
  }
  const prefix = resultsPrefix(spec.runId);
  const files: Record<string, { Key: string; Size: number }[]> = { SUCCEEDED: [], FAILED: [], PENDING: [] };
  for (const [status, records] of [['SUCCEEDED', spec.succeeded], ['FAILED', spec.failed], ['PENDING', spec.pending]] as const) {
    if (records.length === 0) continue;
    const Key = `${prefix}/${status}_0.json`;
    const body = JSON.stringify(records);
    await put(Key, body);
    (files[status] as { Key: string; Size: number }[]).push({ Key, Size: Buffer.byteLength(body) });
  }
  await put(`${prefix}/manifest.json`, { DestinationBucket: spec.bucket, MapRunArn: 'arn:aws:states:us-east-1:111111111111:mapRun:pitr-guard-org-scan/ScanShards:0', ResultFiles: files });
}

/** The pointer a shard returns for its file. */
export const shardOutput = (file: ShardFile): ShardOutput => ({
  status: 'SCANNED',
  accountId: file.shard.accountId,
  region: file.shard.region,
  key: shardFileKey(file.shard.runId, file.shard.accountId, file.shard.region),
  parts: 1,
  summary: file.summary,
});

/** Permissions: none of the product's (dev tooling writes with the caller's credentials). */
export const permissions: readonly import('../lib/core/iam').Permission[] = [];
