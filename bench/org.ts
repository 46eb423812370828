/**
 * `npm run bench:org`: the Organization scan against AWS's per-account, per-Region rates.
 *
 * moto holds an Organization (the management account pitr-guard runs in plus BENCH_MEMBERS created
 * members) with BENCH_TABLES tables in each of BENCH_REGIONS in every account. The fault proxy
 * emulates DynamoDB's documented 10 calls/s for DescribeContinuousBackups and ListTagsOfResource
 * with one token bucket per (account credentials, Region), answering ThrottlingException beyond it.
 * Every account-Region has its own budget, so the ideal wall time, with concurrency ≥ shards, is
 * the slowest shard's floor: its tables / 10 s. Printed: wall time / that floor (target ≤ 1.15),
 * throttles (target 0) and reads per table (target exactly 1 DescribeContinuousBackups each).
 *
 * Paths: `cli` is the in-process multi-account scan (`pitr-guard scan --accounts org`);
 * `step-functions` runs statemachine/org-scan.asl.json through the local runner
 * (dev/local/sfn-runner.ts) with the real plan, shard and aggregate handlers, MaxConcurrency ≥
 * shards, the report bucket in moto S3: its wall time includes plan and aggregate.
 * Options (env): BENCH_MEMBERS (default 3), BENCH_REGIONS (default us-east-1,eu-west-1),
 * BENCH_TABLES per account and Region (default 100), BENCH_DIAG=1 (when each shard's calls ran).
 *
 * BENCH_SCALE=1: the scale mode (bench/org-scale.ts), 200 accounts × 3 Regions × 5 tables by
 * default: plan, fan-out and aggregate timed and their memory measured apart, then extrapolated to
 * 1,000 accounts × 17 Regions (bench/org-model.ts).
 */
import { Clients } from '../lib/aws/clients';
import { scanAccounts } from '../lib/aws/org/scan-accounts';
import { parseScope } from '../lib/core/config';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SfnRunner } from '../dev/local/sfn-runner';
import { handler as planHandler } from '../functions/org-plan';
import { handler as shardHandler } from '../functions/org-shard';
import { handler as aggregateHandler } from '../functions/org-aggregate';
import type { AggregateOutput } from '../lib/jobs/org-scan/contract';
import { CENTRAL, LIMITED, lambdaContext as context, orgFixture, orgScanEnvironment, specFromEnv, type OrgFixture } from './org-fixture';
import { main as scaleMain } from './org-scale';

const SCALE = process.env.BENCH_SCALE === '1';
const { regions, perShard } = specFromEnv(SCALE);
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export interface OrgFigures {
  path: string;
  shards: number;
  tables: number;
  seconds: number;
  floorSeconds: number;
  ratio: number;
  throttles: number;
  readsPerTable: number;
}

/** The figures of one measured run, from the proxy's record of calls since `from`. */
export function figures(path: string, fx: OrgFixture, from: number, seconds: number, tables: number): OrgFigures {
  const seen = fx.proxy.seen.slice(from);
  const describes = seen.filter((s) => s.operation === 'DescribeContinuousBackups').length;
  const floorSeconds = perShard / 10;
  return {
    path,
    shards: fx.accounts.length * regions.length,
    tables,
    seconds: round(seconds, 1),
    floorSeconds,
    ratio: round(seconds / floorSeconds),
    throttles: LIMITED.reduce((n, op) => n + (fx.proxy.throttled[op] ?? 0), 0),
    readsPerTable: round(describes / fx.tables),
  };
}

async function cliPath(fx: OrgFixture): Promise<OrgFigures> {
  const clients = new Clients({ endpoint: fx.proxy.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const from = fx.proxy.seen.length;
  const started = Date.now();
  const report = await scanAccounts(
    { policy: { regions, minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, homeRegion: 'us-east-1', accountId: CENTRAL, scope: parseScope({ PITR_GUARD_ACCOUNTS: 'org' }), runId: 'bench', concurrency: fx.accounts.length },
    { clients },
  );
  const seconds = (Date.now() - started) / 1000;
  if (process.env.BENCH_DIAG) {
    const seen = fx.proxy.seen.slice(from);
    const byShard = new Map<string, number[]>();
    for (const s of seen) {
      const key = `${s.accessKey.slice(0, 8)} ${s.region} ${s.operation}`;
      byShard.set(key, [...(byShard.get(key) ?? []), s.at - started]);
    }
    for (const [key, at] of [...byShard].sort()) console.log(`${key}: ${at.length} calls, first at ${at[0]} ms, last at ${at[at.length - 1]} ms`);
  }
  if (report.accountErrors.length > 0 || report.regionErrors.length > 0 || report.summary.error > 0) throw new Error(`the benchmark scan was incomplete: ${JSON.stringify({ accountErrors: report.accountErrors, regionErrors: report.regionErrors, errors: report.summary.error })}`);
  return figures('cli (in-process, pitr-guard scan --accounts org)', fx, from, seconds, report.summary.total);
}

const steps: Record<string, [number, number][]> = {};
function timed<T>(step: string, fn: (payload: unknown) => Promise<T>): (payload: unknown) => Promise<T> {
  return async (payload) => {
    const at = Date.now();
    try {
      return await fn(payload);
    } finally {
      (steps[step] ??= []).push([at, Date.now()]);
    }
  };
}

async function stepFunctionsPath(fx: OrgFixture): Promise<OrgFigures> {
  const bucket = 'pitr-guard-bench-reports';
  const s3 = await orgScanEnvironment(fx, bucket, regions, fx.accounts.length * regions.length);
  const definition = JSON.parse(readFileSync(path.join(__dirname, '..', 'statemachine', 'org-scan.asl.json'), 'utf8')) as unknown;
  const runner = new SfnRunner({
    definition,
    s3,
    handlers: {
      PlanFunctionArn: timed('plan', (payload) => planHandler(payload, context('orgPlan', 900))),
      ShardFunctionArn: timed('shard', (payload) => shardHandler(payload as never, context('orgShard', 270))),
      AggregateFunctionArn: timed('aggregate', (payload) => aggregateHandler(payload as never, context('orgAggregate', 900))),
    },
  });
  const from = fx.proxy.seen.length;
  const started = Date.now();
  const event = { ...(JSON.parse(readFileSync(path.join(__dirname, '..', 'events', 'scheduled.json'), 'utf8')) as Record<string, unknown>), time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
  const run = await runner.start(event, 'bench-run');
  const seconds = (Date.now() - started) / 1000;
  if (process.env.BENCH_DIAG) for (const [step, t] of Object.entries(steps)) console.log(`${step}: ${t.map((x) => `${x[0] - started}–${x[1] - started} ms`).join(', ')}`);
  const out = run.output as AggregateOutput | undefined;
  if (run.status !== 'SUCCEEDED' || !out || out.accountErrors + out.shardErrors + out.regionErrors + out.summary.error > 0) throw new Error(`the benchmark run was incomplete: ${JSON.stringify({ status: run.status, error: run.error, cause: run.cause, output: out })}`);
  return figures('step-functions (local runner: plan → shards → aggregate)', fx, from, seconds, out.summary.total);
}

export async function main(paths: Record<string, (fx: OrgFixture) => Promise<OrgFigures>> = { cli: cliPath, 'step-functions': stepFunctionsPath }): Promise<void> {
  const fx = await orgFixture(specFromEnv(false));
  try {
    const rows: OrgFigures[] = [];
    for (const run of Object.values(paths)) {
      for (const op of LIMITED) fx.proxy.throttled[op] = 0;
      rows.push(await run(fx));
    }
    console.log('\n== Organization scan at 10 calls/s per (account, Region) ==');
    console.table(Object.fromEntries(rows.map((r) => [r.path, { shards: r.shards, tables: r.tables, seconds: r.seconds, 'slowest shard floor (s)': r.floorSeconds, 'wall / floor (target ≤ 1.15)': r.ratio, throttles: r.throttles, 'DescribeContinuousBackups per table': r.readsPerTable }])));
  } finally {
    await fx.stop();
  }
}

if (require.main === module) {
  (SCALE ? scaleMain() : main()).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
