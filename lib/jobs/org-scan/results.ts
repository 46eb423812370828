/**
 * What the aggregate reads besides the shard files, checked strictly and pure: its input, the
 * run's plan and shard list, the Distributed Map's ResultWriter manifest and result records
 * (aws-facts-org.md §2.2), and, from the records, each shard's result: a pointer to its ShardFile,
 * or a shard error. A shard with no record at all is a shard error too ("no result recorded").
 */
import { InvalidEventError } from '../../core/errors';
import { oneLine, truncate } from '../../core/text';
import { MODES, type Mode } from '../../core/types';
import type { ShardError } from '../../aws/scan';
import { planKey as planKeyOf, runPrefix, shardFileKey, shardsKey as shardsKeyOf, type AggregateInput, type RunPlan, type ShardItem, type ShardOutput } from './contract';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** Longest error message kept per shard error (Step Functions' Cause can carry a whole stack trace). */
export const MESSAGE_MAX = 500;

function fail(what: string, why: string): never {
  throw new InvalidEventError(`aggregate: ${what} ${why}`);
}

function text(o: Json, key: string, where: string): string {
  const v = o[key];
  if (!isText(v)) fail(`${where}.${key}`, `must be a non-empty string, got ${v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 80)}`);
  return v;
}

function count(o: Json, key: string, where: string, min: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(`${where}.${key}`, `must be an integer ≥ ${min}, got ${JSON.stringify(v)?.slice(0, 80)}`);
  return v;
}

/** The state machine's input to the aggregate step, or InvalidEventError naming the bad field. */
export function parseAggregateInput(event: unknown): AggregateInput {
  if (!isObject(event)) fail('input', `must be an object (AggregateInput), got ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`);
  const runId = text(event, 'runId', 'input');
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(runId)) fail('input.runId', `must be 1-128 of A-Z a-z 0-9 . _ : -, got ${JSON.stringify(runId.slice(0, 80))}`);
  const bucket = text(event, 'bucket', 'input');
  const planKey = text(event, 'planKey', 'input');
  const shardsKey = text(event, 'shardsKey', 'input');
  if (planKey !== planKeyOf(runId)) fail('input.planKey', `must be ${planKeyOf(runId)}, got ${JSON.stringify(planKey.slice(0, 200))}`);
  if (shardsKey !== shardsKeyOf(runId)) fail('input.shardsKey', `must be ${shardsKeyOf(runId)}, got ${JSON.stringify(shardsKey.slice(0, 200))}`);
  const maxConcurrency = count(event, 'maxConcurrency', 'input', 1);
  const shardCount = count(event, 'shardCount', 'input', 0);
  const startedAt = text(event, 'startedAt', 'input');
  if (Number.isNaN(Date.parse(startedAt))) fail('input.startedAt', `must be an ISO 8601 time, got ${JSON.stringify(startedAt.slice(0, 80))}`);
  const results = event.results;
  if (!isObject(results)) fail('input.results', 'must be the Map state’s output (ResultPath $.results), an object with ResultWriterDetails');
  const details = results.ResultWriterDetails;
  if (!isObject(details)) fail('input.results.ResultWriterDetails', 'must be an object { Bucket, Key }: the Map needs a ResultWriter');
  const resultBucket = text(details, 'Bucket', 'input.results.ResultWriterDetails');
  const resultKey = text(details, 'Key', 'input.results.ResultWriterDetails');
  if (resultBucket !== bucket) fail('input.results.ResultWriterDetails.Bucket', `must be the run's bucket ${bucket}, got ${JSON.stringify(resultBucket.slice(0, 80))}`);
  if (!resultKey.startsWith(runPrefix(runId))) fail('input.results.ResultWriterDetails.Key', `must be under ${runPrefix(runId)}, got ${JSON.stringify(resultKey.slice(0, 200))}`);
  const mapRunArn = results.MapRunArn;
  return {
    runId,
    bucket,
    planKey,
    shardsKey,
    maxConcurrency,
    shardCount,
    startedAt,
    results: { ...(typeof mapRunArn === 'string' ? { MapRunArn: mapRunArn } : {}), ResultWriterDetails: { Bucket: resultBucket, Key: resultKey } },
  };
}

function list(o: Json, key: string, where: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(`${where}.${key}`, 'must be an array');
  return v;
}

/** runs/<runId>/plan.json, checked as far as the aggregate relies on it. */
export function parsePlan(value: unknown, runId: string): RunPlan & { policy: { mode: Mode } } {
  const where = 'plan.json';
  if (!isObject(value)) fail(where, 'must be an object (RunPlan)');
  if (value.runId !== runId) fail(`${where}.runId`, `must be ${runId}, got ${JSON.stringify(value.runId)?.slice(0, 80)}`);
  text(value, 'accountId', where);
  text(value, 'startedAt', where);
  const policy = value.policy;
  if (!isObject(policy)) fail(`${where}.policy`, 'must be an object');
  count(policy, 'minRecoveryDays', `${where}.policy`, 1);
  text(policy, 'exemptTag', `${where}.policy`);
  if (!(MODES as readonly unknown[]).includes(policy.mode)) fail(`${where}.policy.mode`, `must be one of ${MODES.join(', ')}, got ${JSON.stringify(policy.mode)?.slice(0, 80)}`);
  if (typeof policy.dryRun !== 'boolean') fail(`${where}.policy.dryRun`, 'must be true or false');
  list(value, 'accounts', where).forEach((a, i) => {
    if (!isObject(a) || !isText(a.accountId) || (a.status !== 'SCANNED' && a.status !== 'ERROR')) fail(`${where}.accounts[${i}]`, 'must be { accountId, status: SCANNED | ERROR }');
  });
  list(value, 'accountErrors', where).forEach((e, i) => {
    if (!isObject(e) || !isText(e.accountId)) fail(`${where}.accountErrors[${i}]`, 'must be an AccountError');
  });
  list(value, 'regions', where).forEach((r, i) => {
    if (!isText(r)) fail(`${where}.regions[${i}]`, 'must be a Region name');
  });
  return value as unknown as RunPlan & { policy: { mode: Mode } };
}

/** runs/<runId>/shards.json: every (account, Region) that must end up with a result. */
export function parseShards(value: unknown): Pick<ShardItem, 'accountId' | 'region'>[] {
  if (!Array.isArray(value)) fail('shards.json', 'must be an array of ShardItem');
  return value.map((s, i) => {
    if (!isObject(s) || !isText(s.accountId) || !isText(s.region)) fail(`shards.json[${i}]`, 'must be { accountId, region, … }');
    return { accountId: s.accountId, region: s.region };
  });
}

/** The ResultWriter manifest: the result files' keys per status. */
export interface ResultManifest {
  SUCCEEDED: string[];
  FAILED: string[];
  PENDING: string[];
}

export function parseManifest(value: unknown): ResultManifest {
  const where = 'manifest.json';
  if (!isObject(value)) fail(where, 'must be an object');
  const files = value.ResultFiles;
  if (!isObject(files)) fail(`${where}.ResultFiles`, 'must be an object { SUCCEEDED, FAILED, PENDING }');
  const keys = (status: keyof ResultManifest): string[] => {
    const v = files[status];
    if (v === undefined) return [];
    if (!Array.isArray(v)) fail(`${where}.ResultFiles.${status}`, 'must be an array of { Key, Size }');
    return v.map((f, i) => {
      if (!isObject(f) || !isText(f.Key)) fail(`${where}.ResultFiles.${status}[${i}]`, 'must be { Key, Size }');
      return f.Key;
    });
  };
  return { SUCCEEDED: keys('SUCCEEDED'), FAILED: keys('FAILED'), PENDING: keys('PENDING') };
}

/**
 * One shard's result: its ShardFiles to read (part 0 at `key`, parts 1…parts-1 at shardFileKey), or
 * why there is none. `incomplete`: a later part failed after its retries; the parts before it are
 * to be read, and the rest of the Region is a shard error.
 */
export type ShardResult = { kind: 'file'; accountId: string; region: string; key: string; parts: number; incomplete?: ShardError } | { kind: 'error'; error: ShardError };

export const shardId = (s: { accountId: string; region: string }): string => `${s.accountId}/${s.region}`;

function parseJsonText(value: unknown): unknown {
  if (typeof value !== 'string') return isObject(value) ? value : undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** Step Functions' Cause, when it is a Lambda error's JSON, is reduced to its errorMessage. */
export function causeMessage(cause: unknown): string {
  if (typeof cause !== 'string' || cause.trim() === '') return 'no cause recorded';
  const parsed = parseJsonText(cause);
  const message = isObject(parsed) && typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  return truncate(oneLine(message), MESSAGE_MAX);
}

const shardError = (accountId: string, region: string, errorName: string, message: string): ShardResult => ({
  kind: 'error',
  error: { accountId, region, errorName: truncate(oneLine(errorName), 128), message: truncate(oneLine(message), MESSAGE_MAX) },
});

/**
 * One ResultWriter record (a child execution) as a shard result; undefined when not even its Input
 * names a shard (the shard is then reported as "no result recorded"). `status`: the result file's.
 */
export function recordResult(record: unknown, status: keyof ResultManifest, runId: string): ShardResult | undefined {
  if (!isObject(record)) return undefined;
  const input = parseJsonText(record.Input);
  if (!isObject(input) || !isText(input.accountId) || !isText(input.region)) return undefined;
  const { accountId, region } = input;
  if (status === 'PENDING') return shardError(accountId, region, 'PENDING', 'the shard never ran: the Map Run ended before it started');
  if (status === 'FAILED') {
    const name = isText(record.Error) ? record.Error : isText(record.Status) ? `States.${record.Status}` : 'FAILED';
    return shardError(accountId, region, name, causeMessage(record.Cause));
  }
  const output = parseJsonText(record.Output);
  if (!isObject(output)) return shardError(accountId, region, 'ResultUnreadable', 'the shard’s recorded output is not a JSON object');
  if (output.status === 'ERROR') {
    const error = isObject(output.error) ? output.error : {};
    const failed = shardError(accountId, region, isText(error.Error) ? error.Error : 'Error', causeMessage(error.Cause));
    const c = output.continuation;
    // A later part failed: the parts before it were written (their tables are in the report).
    if (!isObject(c) || !Number.isInteger(c.part) || (c.part as number) < 1 || !isText(c.startAfter) || failed.kind !== 'error') return failed;
    const parts = c.part as number;
    const message = truncate(oneLine(`the Region was scanned in ${parts} part(s) through table ${c.startAfter}; the tables after it were not scanned: ${failed.error.message}`), MESSAGE_MAX);
    return { kind: 'file', accountId, region, key: shardFileKey(runId, accountId, region), parts, incomplete: { ...failed.error, message } };
  }
  const o = output as Partial<ShardOutput>;
  if (o.status !== 'SCANNED' || !isText(o.key)) return shardError(accountId, region, 'ResultUnreadable', 'the shard’s output is neither SCANNED with a key nor ERROR');
  const parts = o.parts ?? 1;
  if (!Number.isInteger(parts) || parts < 1) return shardError(accountId, region, 'ResultUnreadable', `the shard’s output has parts ${JSON.stringify(o.parts)?.slice(0, 40)}, not a count ≥ 1`);
  if (o.accountId !== accountId || o.region !== region) return shardError(accountId, region, 'ResultMismatch', `the shard’s output names ${String(o.accountId)}/${String(o.region)}`);
  if (!o.key.startsWith(runPrefix(runId))) return shardError(accountId, region, 'ResultMismatch', `the shard file ${truncate(o.key, 200)} is outside ${runPrefix(runId)}`);
  return { kind: 'file', accountId, region, key: o.key, parts };
}

const rank = (r: ShardResult): number => (r.kind === 'error' ? 0 : r.incomplete ? 1 : 2);

/** Keeps one result per shard: a complete file beats an incomplete one, which beats an error (a redriven shard that then succeeded). */
export function mergeResult(into: Map<string, ShardResult>, result: ShardResult): void {
  const id = result.kind === 'file' ? shardId(result) : shardId(result.error);
  const known = into.get(id);
  if (!known || rank(result) > rank(known)) into.set(id, result);
}

/** Every shard of the plan without a result becomes a shard error; returns them. */
export function missingResults(shards: readonly { accountId: string; region: string }[], results: Map<string, ShardResult>): ShardResult[] {
  const out: ShardResult[] = [];
  for (const s of shards) {
    if (results.has(shardId(s))) continue;
    const missing = shardError(s.accountId, s.region, 'NoResult', 'no result recorded: the shard is in shards.json but no Step Functions result names it');
    results.set(shardId(s), missing);
    out.push(missing);
  }
  return out;
}
