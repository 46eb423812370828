/**
 * `npm run bench:compare`: pitr-guard against Cloud Custodian (c7n, pinned in requirements-dev.txt)
 * on the same moto, behind the same fault proxy enforcing DynamoDB's documented 10 calls/s per
 * (account, Region) on DescribeContinuousBackups and ListTagsOfResource as AWS does (token bucket,
 * burst 10, ThrottlingException beyond it).
 *
 * Both tools run as a user runs them (a fresh process: `pitr-guard scan --format json`, `custodian
 * run`), each against a fresh proxy (full buckets, as an idle account) and must find the same set
 * of non-compliant tables: PITR off or a recovery period under 35 days, and not exempt (the
 * `pitr-guard:exempt` tag, unless `pitr-guard:exempt-until` has passed). The c7n policy says
 * exactly that (bench/compare-policy.yml: its `continuous-backup` filter reads
 * DescribeContinuousBackups; tags come from the Tagging API's GetResources, 100 ARNs a call).
 *
 * Scenarios: 100 and 400 tables in one Region, 200 over two Regions. The floor is the busiest
 * Region's tables / 10 s (one DescribeContinuousBackups per table at the documented rate).
 * Options (env): BENCH_REPEAT (default 1), BENCH_SCENARIOS (comma list of names below).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startMoto } from '../dev/local/moto';
import { DYNAMODB_LIMITS, startFaultProxy } from '../dev/local/proxy';
import { EXPECTED_STATUS, localClients, roundRobinPlan, seed, type SeedTable } from '../dev/seed';
import type { ScanReport } from '../lib/aws/scan';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const custodian = path.join(root, '.venv/bin/custodian');
const policyFile = path.join(root, 'bench/compare-policy.yml');
const repeat = Number(process.env.BENCH_REPEAT ?? 1);

interface Scenario {
  name: string;
  perRegion: Record<string, number>;
}
const SCENARIOS: Scenario[] = [
  { name: '100 tables, 1 Region', perRegion: { 'us-west-2': 100 } },
  { name: '400 tables, 1 Region', perRegion: { 'us-east-1': 400 } },
  { name: '200 tables, 2 Regions', perRegion: { 'eu-west-1': 100, 'ap-southeast-2': 100 } },
];
const wanted = process.env.BENCH_SCENARIOS?.split(',');

interface Outcome {
  seconds: number;
  found: Set<string>;
  calls: Record<string, number>;
  throttled: number;
}

const key = (region: string, table: string) => `${region}/${table}`;
const env = { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_DEFAULT_REGION: 'us-east-1', AWS_REGION: 'us-east-1' };

async function measured(moto: string, go: (endpoint: string) => Promise<Set<string>>): Promise<Outcome> {
  const proxy = await startFaultProxy(moto, [], { limits: DYNAMODB_LIMITS });
  try {
    const started = Date.now();
    const found = await go(proxy.endpoint);
    const seconds = (Date.now() - started) / 1000;
    return { seconds, found, calls: { ...proxy.calls }, throttled: Object.values(proxy.throttled).reduce((a, b) => a + b, 0) };
  } finally {
    await proxy.stop();
  }
}

async function pitrGuard(endpoint: string, regions: string[]): Promise<Set<string>> {
  const args = [path.join(root, 'bin/pitr-guard.js'), 'scan', '--endpoint-url', endpoint, '--regions', regions.join(','), '--format', 'json'];
  const out = await run(process.execPath, args, { env: { ...env, AWS_ENDPOINT_URL: '' }, maxBuffer: 256 * 2 ** 20 }).catch((e: { code?: number; stdout?: string; stderr?: string }) => {
    if (e.code !== 1) throw new Error(`pitr-guard scan failed (exit ${e.code}): ${e.stderr}`);
    return { stdout: e.stdout ?? '' }; // exit 1: drift found, the report is on stdout
  });
  const report = JSON.parse(out.stdout) as ScanReport;
  return new Set(report.findings.filter((f) => f.status === 'NON_COMPLIANT').map((f) => key(f.region, f.tableName)));
}

async function cloudCustodian(endpoint: string, regions: string[]): Promise<Set<string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pitr-guard-c7n-'));
  const args = ['run', '--cache-period', '0', '-s', dir, ...regions.flatMap((r) => ['--region', r]), policyFile];
  await run(custodian, args, { env: { ...env, AWS_ENDPOINT_URL: endpoint }, maxBuffer: 64 * 2 ** 20 });
  const found = new Set<string>();
  for (const file of walk(dir).filter((f) => path.basename(f) === 'resources.json')) {
    for (const r of JSON.parse(readFileSync(file, 'utf8')) as { TableArn: string; TableName: string }[]) found.add(key(r.TableArn.split(':')[3] as string, r.TableName));
  }
  return found;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

function row(tool: string, s: Scenario, o: Outcome, expected: Set<string>, tables: number) {
  const floor = Math.max(...Object.values(s.perRegion)) / 10;
  const missed = [...expected].filter((k) => !o.found.has(k)).length;
  const extra = [...o.found].filter((k) => !expected.has(k)).length;
  const dcb = o.calls.DescribeContinuousBackups ?? 0;
  const tagCalls = (o.calls.ListTagsOfResource ?? 0) + (o.calls.GetResources ?? 0);
  const all = Object.values(o.calls).reduce((a, b) => a + b, 0);
  return {
    scenario: s.name,
    tool,
    'wall s': round(o.seconds, 1),
    'wall / floor': round(o.seconds / floor),
    'DescribeContinuousBackups / table': round(dcb / tables),
    'tag calls / table': round(tagCalls / tables),
    'AWS calls / table': round(all / tables),
    throttles: o.throttled,
    correct: missed === 0 && extra === 0 ? `yes (${o.found.size})` : `NO: ${missed} missed, ${extra} extra`,
  };
}

void (async () => {
  await run(process.execPath, [path.join(root, 'scripts/build-cli.mjs')], { cwd: root });
  const moto = await startMoto();
  try {
    const scenarios = SCENARIOS.filter((s) => !wanted || wanted.some((w) => s.name.startsWith(w)));
    const plans = new Map<Scenario, SeedTable[]>(scenarios.map((s) => [s, roundRobinPlan(s.perRegion)]));
    const seedStart = Date.now();
    await seed(localClients(moto.endpoint), [...plans.values()].flat(), { concurrency: 16 });
    console.log(`seeded ${[...plans.values()].flat().length} tables in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
    const rows = [];
    for (let i = 0; i < repeat; i++) {
      for (const [s, plan] of plans) {
        const regions = Object.keys(s.perRegion);
        const expected = new Set(plan.filter((t) => EXPECTED_STATUS[t.state] === 'NON_COMPLIANT').map((t) => key(t.region, t.tableName)));
        const load = os.loadavg()[0]?.toFixed(1);
        const pg = await measured(moto.endpoint, (e) => pitrGuard(e, regions));
        rows.push({ ...row('pitr-guard', s, pg, expected, plan.length), load });
        const c7n = await measured(moto.endpoint, (e) => cloudCustodian(e, regions));
        rows.push({ ...row('Cloud Custodian', s, c7n, expected, plan.length), load: os.loadavg()[0]?.toFixed(1) });
      }
    }
    console.log(`\n== pitr-guard vs Cloud Custodian (${os.cpus().length} cores; load = 1-minute load average at the start of each run) ==`);
    console.table(rows);
  } finally {
    await moto.stop();
  }
})().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
