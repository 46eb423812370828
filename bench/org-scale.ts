/**
 * `BENCH_SCALE=1 npm run bench:org`: the Organization scan at Organization scale on moto, each phase
 * measured on its own, then extrapolated (bench/org-model.ts).
 *
 * Setup (bench/org-fixture.ts): 200 accounts (the management account + BENCH_MEMBERS=199 created in
 * moto Organizations) × BENCH_REGIONS (3) × BENCH_TABLES (5) tables, behind the fault proxy's token
 * buckets (10 calls/s per account credentials and Region). statemachine/org-scan.asl.json runs
 * through the local runner (dev/local/sfn-runner.ts), the Distributed Map with MaxConcurrency
 * BENCH_CONCURRENCY (default 50, serverless.yml's param maxConcurrency), mode report.
 *
 * Where each role runs, so that its memory can be told apart:
 * - plan and aggregate: each in a fresh Node process of its own (bench/lambda-role.ts) that loads
 *   only that function's bundle, built as serverless.yml builds it (the aggregate with the
 *   deployed NODE_OPTIONS): its kernel maxRSS is what Lambda reports as Max Memory Used.
 * - shards: BENCH_ISOLATED_SHARDS (default 3, spread over the run) each in a process of its own
 *   the same way, which gives a shard's memory; the others in the runner's process (one warm
 *   "container", as the bench always ran them), whose RSS is shared by the runner, the proxy and
 *   up to MaxConcurrency shards at once and is printed as such.
 * Times: each handler's own wall time (a process's start and module init are printed apart); the
 * fan-out is from the plan's end to the aggregate's start (ItemReader and ResultWriter included).
 * Checked and printed: 0 throttles, 0 shard retries, exactly one DescribeContinuousBackups per table
 * (and per distinct account session, Region and table), and the report's summary equal to what was
 * seeded. A failed check sets a non-zero exit code after the figures are printed.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { SfnRunner } from '../dev/local/sfn-runner';
import { expectedSummary } from '../dev/seed';
import { handler as shardHandler } from '../functions/org-shard';
import type { AggregateOutput, PlanOutput } from '../lib/jobs/org-scan/contract';
import { buildFunction, buildRoleScript, LAMBDA_NODE, runRole, type RoleMemory, type RoleRun } from './lambda-bundle';
import { CENTRAL, lambdaContext, LIMITED, orgFixture, orgScanEnvironment, specFromEnv, type OrgFixture } from './org-fixture';
import { AGGREGATE_MEASURED, ASSUMPTIONS, DEPLOYED_MAX_CONCURRENCY, extrapolate, LAMBDA_MEMORY_MB, LAMBDA_TIMEOUTS, type Measured } from './org-model';

const root = path.resolve(__dirname, '..');
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? DEPLOYED_MAX_CONCURRENCY);
const ISOLATED = Number(process.env.BENCH_ISOLATED_SHARDS ?? 3);
const TARGET = { accounts: Number(process.env.BENCH_TARGET_ACCOUNTS ?? 1000), regions: Number(process.env.BENCH_TARGET_REGIONS ?? 17) };
const BUCKET = 'pitr-guard-bench-reports';
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const r1 = (n: number) => Math.round(n * 10) / 10;
const load = () => loadavg().map((l) => l.toFixed(2)).join(' / ');

/** The deployed orgAggregate's NODE_OPTIONS, read from serverless.yml (the only NODE_OPTIONS there). */
function aggregateNodeFlags(): string[] {
  const m = /NODE_OPTIONS:\s*(.+)/.exec(readFileSync(path.join(root, 'serverless.yml'), 'utf8'));
  if (!m) throw new Error('serverless.yml: no NODE_OPTIONS for orgAggregate');
  return (m[1] as string).trim().split(/\s+/);
}

/** The runner sees a function error as Lambda reports it: the error named by errorType. */
function outcome(run: RoleRun): unknown {
  if (!run.error) return run.result;
  const error = new Error(run.error.message);
  error.name = run.error.name;
  throw error;
}

function percentile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** RSS and heap of this process, sampled every 50 ms, peak per phase. */
function sampler(): { phase: (name: string) => void; stop: () => Record<string, { rss: number; heap: number }> } {
  const peaks: Record<string, { rss: number; heap: number }> = {};
  let current = 'setup';
  const take = () => {
    const m = process.memoryUsage();
    const p = (peaks[current] ??= { rss: 0, heap: 0 });
    p.rss = Math.max(p.rss, m.rss);
    p.heap = Math.max(p.heap, m.heapUsed);
  };
  const timer = setInterval(take, 50);
  return {
    phase: (name) => {
      take();
      current = name;
    },
    stop: () => {
      take();
      clearInterval(timer);
      return peaks;
    },
  };
}

interface ShardTiming {
  handlerMs: number;
  isolated?: RoleRun;
}

async function buildRoles(): Promise<{ script: string; plan: string; shard: string; aggregate: string }> {
  const dir = path.join(root, '.bench', 'org-scale');
  mkdirSync(dir, { recursive: true });
  const script = await buildRoleScript(dir);
  const [plan, shard, aggregate] = await Promise.all(['org-plan', 'org-shard', 'org-aggregate'].map((f) => buildFunction(f, dir)));
  return { script, plan: plan as string, shard: shard as string, aggregate: aggregate as string };
}

async function measure(fx: OrgFixture): Promise<boolean> {
  const { spec } = fx;
  const roles = await buildRoles();
  const s3 = await orgScanEnvironment(fx, BUCKET, spec.regions, CONCURRENCY);
  const mem = sampler();
  const windows: Record<string, [number, number]> = {};
  let plan: RoleRun | undefined;
  let aggregate: RoleRun | undefined;
  const shards: ShardTiming[] = [];
  let isolatedAt = new Set<number>();
  let started = 0;

  const runner = new SfnRunner({
    definition: JSON.parse(readFileSync(path.join(root, 'statemachine', 'org-scan.asl.json'), 'utf8')) as unknown,
    s3,
    handlers: {
      PlanFunctionArn: async (payload) => {
        mem.phase('plan');
        const at = Date.now();
        plan = await runRole(roles.script, roles.plan, `arn:aws:lambda:us-east-1:${CENTRAL}:function:orgPlan`, LAMBDA_TIMEOUTS.plan, payload);
        windows.plan = [at, Date.now()];
        const out = outcome(plan) as PlanOutput;
        isolatedAt = new Set(Array.from({ length: Math.min(ISOLATED, out.shardCount) }, (_, i) => Math.floor(((i + 0.5) * out.shardCount) / ISOLATED)));
        mem.phase('fan-out');
        return out;
      },
      ShardFunctionArn: async (payload) => {
        const index = started++;
        if (isolatedAt.has(index)) {
          const run = await runRole(roles.script, roles.shard, `arn:aws:lambda:us-east-1:${CENTRAL}:function:orgShard`, LAMBDA_TIMEOUTS.shard, payload);
          shards.push({ handlerMs: run.handlerMs, isolated: run });
          return outcome(run);
        }
        const at = performance.now();
        try {
          return await shardHandler(payload as never, lambdaContext('orgShard', LAMBDA_TIMEOUTS.shard));
        } finally {
          shards.push({ handlerMs: performance.now() - at });
        }
      },
      AggregateFunctionArn: async (payload) => {
        mem.phase('aggregate');
        windows.fanOut = [windows.plan?.[1] ?? Date.now(), Date.now()];
        const at = Date.now();
        aggregate = await runRole(roles.script, roles.aggregate, `arn:aws:lambda:us-east-1:${CENTRAL}:function:orgAggregate`, LAMBDA_TIMEOUTS.aggregate, payload, aggregateNodeFlags());
        windows.aggregate = [at, Date.now()];
        return outcome(aggregate);
      },
    },
  });

  const from = fx.proxy.seen.length;
  const loadBefore = load();
  const t0 = Date.now();
  const event = { ...(JSON.parse(readFileSync(path.join(root, 'events', 'scheduled.json'), 'utf8')) as Record<string, unknown>), time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
  const run = await runner.start(event, 'bench-scale');
  const wallMs = Date.now() - t0;
  const peaks = mem.stop();
  const loadAfter = load();
  if (!plan || !aggregate || !windows.plan || !windows.fanOut || !windows.aggregate) throw new Error(`the run did not reach every step: ${JSON.stringify({ status: run.status, error: run.error, cause: run.cause })}`);
  const out = run.output as AggregateOutput | undefined;

  // ---- checks
  const seen = fx.proxy.seen.slice(from);
  const describes = seen.filter((c) => c.operation === 'DescribeContinuousBackups');
  const distinct = new Set(describes.map((c) => `${c.accessKey} ${c.region} ${String(c.body.TableName)}`)).size;
  const throttles = LIMITED.reduce((n, op) => n + (fx.proxy.throttled[op] ?? 0), 0);
  const retries = run.invocations.filter((i) => i.attempt > 0).length;
  const one = expectedSummary(fx.plan);
  const expected = Object.fromEntries(Object.entries(one).map(([k, v]) => [k, v * fx.accounts.length]));
  const checks: Record<string, { value: string; ok: boolean }> = {
    'run status': { value: run.status, ok: run.status === 'SUCCEEDED' },
    'account / shard / Region errors': { value: out ? `${out.accountErrors} / ${out.shardErrors} / ${out.regionErrors}` : 'no output', ok: !!out && out.accountErrors + out.shardErrors + out.regionErrors === 0 },
    'report summary = seeded tables': { value: JSON.stringify(out?.summary), ok: JSON.stringify(out?.summary) === JSON.stringify(expected) },
    throttles: { value: String(throttles), ok: throttles === 0 },
    'shard and step retries': { value: String(retries), ok: retries === 0 },
    'DescribeContinuousBackups / tables': { value: `${describes.length} / ${fx.tables}`, ok: describes.length === fx.tables },
    'distinct (session, Region, table) read': { value: `${distinct} / ${fx.tables}`, ok: distinct === fx.tables },
    'shards run / planned': { value: `${shards.length} / ${fx.accounts.length * spec.regions.length}`, ok: shards.length === fx.accounts.length * spec.regions.length },
  };

  // ---- plan's calls, from the proxy
  const inWindow = (w: [number, number]) => seen.filter((c) => c.at >= w[0] && c.at <= w[1]);
  const planCalls = inWindow(windows.plan);
  const count = (calls: typeof seen) => calls.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.operation]: (acc[c.operation] ?? 0) + 1 }), {});
  const firstAt = (op: string) => planCalls.find((c) => c.operation === op)?.at;
  const [listAt, assumeAt, putAt] = [firstAt('ListAccounts'), firstAt('AssumeRole'), firstAt('PutObject')];
  const planCounts = count(planCalls);
  const listMs = listAt !== undefined && assumeAt !== undefined ? assumeAt - listAt : 0;
  const assumeMs = assumeAt !== undefined && putAt !== undefined ? putAt - assumeAt : 0;
  const writeMs = putAt !== undefined ? windows.plan[1] - putAt : 0;

  // ---- figures
  const times = shards.map((s) => s.handlerMs);
  const isolated = shards.flatMap((s) => (s.isolated ? [s.isolated] : []));
  const shardMax = (f: (m: RoleMemory) => number) => Math.max(...isolated.map((r) => f(r.memory)));
  console.log(`\n== Organization scan at scale: ${fx.accounts.length} accounts × ${spec.regions.length} Regions = ${shards.length} shards, ${fx.tables} tables (${spec.perShard} per shard), MaxConcurrency ${CONCURRENCY} ==`);
  console.log(`setup: ${spec.members} member accounts created in ${r1(fx.setup.accounts)} s, ${fx.tables} tables seeded in ${r1(fx.setup.tables)} s; load average (1/5/15 min) ${loadBefore} before the run, ${loadAfter} after; ${LAMBDA_NODE === process.execPath ? 'this' : 'the project\'s'} Node for the function processes`);
  console.table({
    'plan (own process)': { seconds: r1(plan.handlerMs / 1000), detail: `process start + module init ${r1((plan.processMs - plan.handlerMs) / 1000)} s; calls: ${Object.entries(planCounts).map(([k, v]) => `${k} ${v}`).join(', ')}; ListAccounts phase ${listMs} ms (${r1(listMs / Math.max(1, planCounts.ListAccounts ?? 1))} ms a page), AssumeRole phase ${assumeMs} ms, S3 writes to the end ${writeMs} ms` },
    'fan-out (Distributed Map)': { seconds: r1((windows.fanOut[1] - windows.fanOut[0]) / 1000), detail: `${shards.length} shards, at most ${runner.maxRunning} at once (MaxConcurrency ${CONCURRENCY}); shard p50 ${r1(percentile(times, 0.5))} ms, p95 ${r1(percentile(times, 0.95))} ms, max ${r1(Math.max(...times))} ms; floor ${spec.perShard}/10 s = ${spec.perShard * 100} ms` },
    'aggregate (own process)': { seconds: r1(aggregate.handlerMs / 1000), detail: `process start + module init ${r1((aggregate.processMs - aggregate.handlerMs) / 1000)} s; flags ${aggregateNodeFlags().join(' ')}` },
    'whole execution': { seconds: r1(wallMs / 1000), detail: 'the runner, start to end' },
  });
  const memRow = (r: RoleMemory, lambdaMb: number) => ({ 'maxRSS (MB, Lambda Max Memory Used)': mb(r.maxRss), 'RSS before the handler (MB)': mb(r.rssBefore), 'peak RSS during (MB)': mb(r.peakRss), 'peak heap used (MB)': mb(r.peakHeap), [`of the Lambda's memory`]: `${Math.round((r.maxRss / (lambdaMb * 2 ** 20)) * 100)} % of ${lambdaMb} MB` });
  console.log('\nmemory per Lambda role (fresh process each, the function bundle only):');
  console.table({
    plan: memRow(plan.memory, LAMBDA_MEMORY_MB.plan),
    [`shard, max of ${isolated.length}`]: isolated.length ? memRow({ rssBefore: shardMax((m) => m.rssBefore), heapBefore: shardMax((m) => m.heapBefore), peakRss: shardMax((m) => m.peakRss), peakHeap: shardMax((m) => m.peakHeap), maxRss: shardMax((m) => m.maxRss) }, LAMBDA_MEMORY_MB.shard) : {},
    aggregate: memRow(aggregate.memory, LAMBDA_MEMORY_MB.aggregate),
  });
  const fan = peaks['fan-out'];
  if (fan) console.log(`the runner's own process during the fan-out (shared: runner, proxy, up to ${runner.maxRunning} in-process shards at once): peak RSS ${mb(fan.rss)} MB, peak heap used ${mb(fan.heap)} MB`);
  console.log('\nchecks:');
  console.table(Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, { value: v.value, ok: v.ok ? 'yes' : 'NO' }])));

  // ---- extrapolation
  const measured: Measured = {
    accounts: fx.accounts.length,
    shards: shards.length,
    tablesPerShard: spec.perShard,
    plan: { ms: plan.handlerMs, listAccountsPages: planCounts.ListAccounts ?? 0, listMs, assumeRoles: planCounts.AssumeRole ?? 0, assumeMs, writeMs },
    shardMs: { p50: percentile(times, 0.5), p95: percentile(times, 0.95), max: Math.max(...times) },
    concurrency: runner.maxRunning,
    fanOutMs: windows.fanOut[1] - windows.fanOut[0],
    aggregateMs: aggregate.handlerMs,
  };
  const targetTables = Number(process.env.BENCH_TARGET_TABLES ?? Math.ceil(AGGREGATE_MEASURED.findings / AGGREGATE_MEASURED.shards));
  for (const maxConcurrency of [DEPLOYED_MAX_CONCURRENCY, 1000]) {
    const model = extrapolate(measured, { ...TARGET, tablesPerShard: targetTables, maxConcurrency });
    console.log(`\n== extrapolated to ${TARGET.accounts.toLocaleString('en-US')} accounts × ${TARGET.regions} Regions, ${targetTables} tables per shard, MaxConcurrency ${maxConcurrency} ==`);
    console.table(Object.fromEntries(model.lines.map((l) => [l.figure, { seconds: l.seconds, arithmetic: l.arithmetic }])));
    console.log(model.limits.map((l) => `- ${l}`).join('\n'));
  }
  console.log(`assumptions:\n${ASSUMPTIONS.map((a) => `- ${a}`).join('\n')}`);
  return Object.values(checks).every((c) => c.ok);
}

export async function main(): Promise<void> {
  const fx = await orgFixture(specFromEnv(true));
  try {
    if (!(await measure(fx))) {
      console.error('bench:org (scale): a check failed (see "checks" above)');
      process.exitCode = 1;
    }
  } finally {
    await fx.stop();
  }
}
