/**
 * bench:org's extrapolation from a measured Organization run (bench/org-scale.ts) to a larger one
 * (1,000 accounts × 17 Regions by default). Pure arithmetic: each line carries the formula with the
 * numbers put in, so the README can show it as printed.
 *
 * Model (the assumptions are the `ASSUMPTIONS` lines, printed with it):
 * - plan = its fixed start (measured) + ListAccounts pages (20 accounts a page, one after the
 *   other) × the measured time per page + AssumeRole waves (PLAN_ACCOUNT_CONCURRENCY accounts at
 *   once) × the measured time per wave + writing shards.json and plan.json, scaled with the shard
 *   count (an upper bound: it is one PutObject each, whose size grows with the shards).
 * - fan-out = ceil(shards / MaxConcurrency) waves × one shard's time, where a shard's time is its
 *   fixed part (AssumeRole, ListTables, PutObject…: measured p50 or p95 minus its paced reads) plus
 *   tables / 10 s (DescribeContinuousBackups at 10/s: every account-Region has its own budget).
 * - aggregate: linear in shards and findings; bench:aggregate measured it at 1,000 × 17 directly,
 *   so that figure is used (scaled by shards for another target) and this run's is shown beside it.
 */
import { DEADLINE_MARGIN_MS } from '../lib/jobs/org-scan/shard';
import { PLAN_ACCOUNT_CONCURRENCY } from '../lib/jobs/org-scan/plan';

/** Organizations ListAccounts: MaxResults 1..20 (aws-facts-org.md §1.1); pitr-guard asks for 20. */
export const LIST_ACCOUNTS_PAGE = 20;
/** DescribeContinuousBackups: 10 calls/s (aws-facts.md §1.6), per account and Region. */
export const READS_PER_SECOND = 10;
/** Distributed Map: at most 10,000 child executions at once (aws-facts-org.md §2.1). */
export const DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000;
/** Lambda's default concurrency per account and Region, shared by every function (aws-facts.md §6.2, 2023 doc). */
export const LAMBDA_REGIONAL_CONCURRENCY = 1_000;
/** Standard StartExecution token bucket: 1,300, refilled 300/s in us-east-1 (aws-facts-org.md §2.3); the shard children are STANDARD (continuation). */
export const STANDARD_START_BUCKET = 1_300;
export const STANDARD_START_REFILL = 300;
/** Standard state transitions: bucket 5,000, refill 1,500/s in us-east-1 (aws-facts-org.md §2.3). */
export const STANDARD_TRANSITION_BUCKET = 5_000;
/** serverless.yml: orgPlan 300 s / 512 MB, orgShard 900 s / 512 MB, orgAggregate 900 s / 1,024 MB; param maxConcurrency 50. */
export const LAMBDA_TIMEOUTS = { plan: 300, shard: 900, aggregate: 900 };
export const LAMBDA_MEMORY_MB = { plan: 512, shard: 512, aggregate: 1024 };
export const DEPLOYED_MAX_CONCURRENCY = 50;
/** `npm run bench:aggregate` at 1,000 accounts × 17 Regions (docs/organization.md#measured, 2026-12-02). */
export const AGGREGATE_MEASURED = { shards: 17_000, findings: 200_000, seconds: 96, peakRssMb: 220 };

export interface Measured {
  accounts: number;
  shards: number;
  tablesPerShard: number;
  /** The plan's handler time and, from the proxy's arrival times, its phases: ListAccounts pages, AssumeRole waves, S3 writes. */
  plan: { ms: number; listAccountsPages: number; listMs: number; assumeRoles: number; assumeMs: number; writeMs: number };
  shardMs: { p50: number; p95: number; max: number };
  concurrency: number;
  fanOutMs: number;
  aggregateMs: number;
}

export interface Target {
  accounts: number;
  regions: number;
  tablesPerShard: number;
  maxConcurrency: number;
}

export interface Line {
  figure: string;
  seconds: number;
  arithmetic: string;
}

export const ASSUMPTIONS = [
  'every member account is ACTIVE and reachable; fixed Regions (regions=all adds one Account ListRegions per account inside its AssumeRole wave, at 5/s per account)',
  'per-call latencies as measured on moto behind the proxy on this machine (AWS round trips differ; the counts of calls do not)',
  'shards of equal size; a shard in AWS is its own Lambda with its own CPU, so its fixed part measured here under CPU contention is an upper bound',
  'no throttling beyond the paced 10 reads/s per account-Region (0 throttles measured); no shard retries',
];

const s = (ms: number) => Math.round(ms / 100) / 10;
const f = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d });

/** A shard's time for `tables` tables: the measured shard minus its paced reads, plus the new reads. */
export function shardSeconds(measuredMs: number, measuredTables: number, tables: number): { fixed: number; total: number } {
  const fixed = Math.max(0, measuredMs / 1000 - measuredTables / READS_PER_SECOND);
  return { fixed, total: fixed + tables / READS_PER_SECOND };
}

export function extrapolate(m: Measured, t: Target): { lines: Line[]; limits: string[] } {
  const shards = t.accounts * t.regions;
  const lines: Line[] = [];

  const pageMs = m.plan.listMs / Math.max(1, m.plan.listAccountsPages);
  const measuredWaves = Math.ceil(m.plan.assumeRoles / PLAN_ACCOUNT_CONCURRENCY);
  const waveMs = m.plan.assumeMs / Math.max(1, measuredWaves);
  const fixedMs = Math.max(0, m.plan.ms - m.plan.listMs - m.plan.assumeMs - m.plan.writeMs);
  const pages = Math.ceil(t.accounts / LIST_ACCOUNTS_PAGE);
  const waves = Math.ceil((t.accounts - 1) / PLAN_ACCOUNT_CONCURRENCY);
  const writeMs = (m.plan.writeMs * shards) / m.shards;
  const planMs = fixedMs + pages * pageMs + waves * waveMs + writeMs;
  lines.push({
    figure: 'plan',
    seconds: s(planMs),
    arithmetic: `${f(fixedMs, 0)} ms start + ceil(${f(t.accounts, 0)}/${LIST_ACCOUNTS_PAGE}) = ${pages} ListAccounts pages × ${f(pageMs, 0)} ms + ceil(${f(t.accounts - 1, 0)}/${PLAN_ACCOUNT_CONCURRENCY}) = ${waves} AssumeRole waves × ${f(waveMs, 0)} ms + ${f(m.plan.writeMs, 0)} ms S3 writes × ${f(shards, 0)}/${f(m.shards, 0)} shards = ${f(s(planMs))} s`,
  });

  const fan = (label: 'p50' | 'p95') => {
    const shard = shardSeconds(m.shardMs[label], m.tablesPerShard, t.tablesPerShard);
    const w = Math.ceil(shards / t.maxConcurrency);
    return { shard, waves: w, seconds: w * shard.total };
  };
  for (const label of ['p50', 'p95'] as const) {
    const x = fan(label);
    lines.push({
      figure: `fan-out (shard ${label})`,
      seconds: Math.round(x.seconds * 10) / 10,
      arithmetic: `ceil(${f(shards, 0)}/${t.maxConcurrency}) = ${f(x.waves, 0)} waves × (${f(x.shard.fixed, 2)} s fixed + ${t.tablesPerShard}/${READS_PER_SECOND} s reads) = ${f(x.seconds)} s`,
    });
  }

  const cited = AGGREGATE_MEASURED.seconds * (shards / AGGREGATE_MEASURED.shards);
  const perShard = (ms: number, n: number) => f(ms / n, 2);
  lines.push({
    figure: 'aggregate',
    seconds: Math.round(cited * 10) / 10,
    arithmetic: `bench:aggregate measured ${AGGREGATE_MEASURED.seconds} s at ${f(AGGREGATE_MEASURED.shards, 0)} shards, ${f(AGGREGATE_MEASURED.findings, 0)} findings (${perShard(AGGREGATE_MEASURED.seconds * 1000, AGGREGATE_MEASURED.shards)} ms a shard)${shards === AGGREGATE_MEASURED.shards ? '' : `, × ${f(shards, 0)}/${f(AGGREGATE_MEASURED.shards, 0)}`}; this run: ${f(m.aggregateMs / 1000, 2)} s at ${f(m.shards, 0)} shards (${perShard(m.aggregateMs, m.shards)} ms a shard)`,
  });
  const p50 = lines.find((l) => l.figure === 'fan-out (shard p50)') as Line;
  const total = lines[0]!.seconds + p50.seconds + cited;
  lines.push({ figure: 'total (shard p50)', seconds: Math.round(total * 10) / 10, arithmetic: `${f(lines[0]!.seconds)} + ${f(p50.seconds)} + ${f(cited)} = ${f(total)} s (${f(total / 60)} min)` });

  // The model, checked on the run itself: waves × p50 against the fan-out measured here.
  const localWaves = Math.ceil(m.shards / m.concurrency);
  const localModel = (localWaves * m.shardMs.p50) / 1000;
  lines.push({ figure: 'model check on this run', seconds: Math.round(localModel * 10) / 10, arithmetic: `ceil(${m.shards}/${m.concurrency}) = ${localWaves} waves × ${f(m.shardMs.p50 / 1000, 2)} s p50 = ${f(localModel)} s; measured fan-out ${f(m.fanOutMs / 1000)} s (ratio ${f(m.fanOutMs / 1000 / localModel, 2)})` });

  const p95 = fan('p95');
  const shardBudget = LAMBDA_TIMEOUTS.shard - DEADLINE_MARGIN_MS / 1000;
  const perInvocation = Math.floor((shardBudget - p95.shard.fixed) * READS_PER_SECOND);
  const startsPerSecond = t.maxConcurrency / fan('p50').shard.total;
  const limits = [
    `MaxConcurrency ${t.maxConcurrency}: Distributed Map allows ${f(DISTRIBUTED_MAP_MAX_CONCURRENCY, 0)}; Lambda's default regional concurrency is ${f(LAMBDA_REGIONAL_CONCURRENCY, 0)}, shared with every function in the account and Region (${t.maxConcurrency <= LAMBDA_REGIONAL_CONCURRENCY ? 'fits' : 'EXCEEDS it'})`,
    `one shard invocation (p95 ${f(p95.shard.total, 1)} s) reads up to ${f(perInvocation, 0)} tables in its orgShard timeout ${LAMBDA_TIMEOUTS.shard} s − ${DEADLINE_MARGIN_MS / 1000} s margin = ${shardBudget} s at 10 reads/s; a bigger account-Region continues in the next invocation of its STANDARD child (no cap)`,
    `child executions start at about ${f(startsPerSecond, 0)}/s (MaxConcurrency / shard time); the Standard StartExecution bucket is ${f(STANDARD_START_BUCKET, 0)}, refilled ${f(STANDARD_START_REFILL, 0)}/s (whether Map children draw on it is not documented in the fact sheet: ${startsPerSecond > STANDARD_START_REFILL ? 'above the refill, so starts could be paced by it' : 'within it'}); each child makes a few state transitions per part`,
    `the STANDARD parent makes a handful of transitions per run (Plan, ScanShards, Aggregate, plus retries), far below its bucket of ${f(STANDARD_TRANSITION_BUCKET, 0)}`,
    `plan ${f(lines[0]!.seconds)} s of orgPlan's ${LAMBDA_TIMEOUTS.plan} s; aggregate ${f(cited)} s of orgAggregate's ${LAMBDA_TIMEOUTS.aggregate} s (peak RSS ${AGGREGATE_MEASURED.peakRssMb} MB at ${f(AGGREGATE_MEASURED.shards, 0)} shards)`,
  ];
  return { lines, limits };
}
