/**
 * `npm run bench:cold`: each Lambda function's bundle, built with the options serverless-esbuild
 * uses (serverless.yml custom.esbuild: bundle, minify, node22, cjs, keepNames, nothing external),
 * its size, and its module init time: a fresh `node` process times `require(bundle)` (hrtime around
 * the require), median of BENCH_RUNS (default 21) runs. The baseline is a bundle of only
 * `@aws-sdk/client-dynamodb` (its client and the commands pitr-guard sends) built the same way;
 * each function's init is printed as a ratio of it (goal: ≤ 1.3).
 *
 * For comparison (BENCH_EXTERNAL=1): the same handlers with `@aws-sdk/*` left external, loaded
 * from node_modules as the nodejs22.x runtime would load its own SDK copy from disk.
 *
 * Also prints which AWS SDK clients each bundle holds (esbuild's metafile).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { LAMBDA_NODE as NODE, SERVERLESS_ESBUILD } from './lambda-bundle';

const runs = Number(process.env.BENCH_RUNS ?? 21);
const root = path.resolve(__dirname, '..');
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;


/** One fresh process requiring the bundle: wall and CPU (user + system) ms of the require. */
function initOnce(file: string): { wall: number; cpu: number } {
  const script = `const c=process.cpuUsage(),t=process.hrtime.bigint();require(${JSON.stringify(file)});const u=process.cpuUsage(c);console.log(JSON.stringify({wall:Number(process.hrtime.bigint()-t)/1e6,cpu:(u.user+u.system)/1e3}))`;
  return JSON.parse(execFileSync(NODE, ['-e', script], { cwd: root }).toString()) as { wall: number; cpu: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * Module init of every file, in `runs` rounds that each load every file once (so a machine that
 * gets busier affects all alike); ratios are taken per round against the baseline, then the median.
 */
function measureInit(files: string[], baseline: string): Map<string, { wall: number; cpu: number; wallRatio: number; cpuRatio: number }> {
  const samples = new Map<string, { wall: number; cpu: number }[]>([baseline, ...files].map((f) => [f, []]));
  for (let i = 0; i < runs; i++) for (const f of [baseline, ...files]) samples.get(f)?.push(initOnce(f));
  const base = samples.get(baseline) ?? [];
  const out = new Map<string, { wall: number; cpu: number; wallRatio: number; cpuRatio: number }>();
  for (const [f, xs] of samples) {
    out.set(f, {
      wall: median(xs.map((x) => x.wall)),
      cpu: median(xs.map((x) => x.cpu)),
      wallRatio: median(xs.map((x, n) => x.wall / (base[n]?.wall ?? NaN))),
      cpuRatio: median(xs.map((x, n) => x.cpu / (base[n]?.cpu ?? NaN))),
    });
  }
  return out;
}

/** The AWS SDK clients (@aws-sdk/client-*) a bundle holds, from esbuild's metafile. */
export function clientsOf(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /node_modules\/@aws-sdk\/client-([a-z0-9-]+)\//.exec(input);
    if (m) names.add(m[1] as string);
  }
  return [...names].sort();
}

async function main() {
  // Under the project, so that externals resolve from its node_modules.
  const dir = path.join(root, '.bench', 'cold');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(`module init measured with ${NODE} (${execFileSync(NODE, ['--version']).toString().trim()}), the Lambda runtime's major version when node_modules holds it`);
  const entries = readdirSync(path.join(root, 'functions')).filter((f) => f.endsWith('.ts'));
  writeFileSync(path.join(dir, 'bare.ts'), "export { DynamoDBClient, DescribeContinuousBackupsCommand, DescribeTableCommand, ListTablesCommand, ListTagsOfResourceCommand, UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';\n");
  const nodePaths = [path.join(root, 'node_modules')];
  const variants: { label: string; options: BuildOptions }[] = [{ label: 'bundled (serverless.yml)', options: SERVERLESS_ESBUILD }];
  if (process.env.BENCH_EXTERNAL === '1') variants.push({ label: '@aws-sdk external (loaded from node_modules)', options: { ...SERVERLESS_ESBUILD, external: ['@aws-sdk/*', '@smithy/*'] } });
  for (const { label, options } of variants) {
    const out = path.join(dir, label.replace(/\W+/g, '-'));
    const baseFile = path.join(out, 'bare.js');
    await build({ ...options, entryPoints: [path.join(dir, 'bare.ts')], outfile: baseFile, nodePaths });
    const built = new Map<string, { outfile: string; clients: string[] }>();
    for (const entry of entries) {
      const outfile = path.join(out, entry.replace(/\.ts$/, '.js'));
      const result = await build({ ...options, entryPoints: [path.join(root, 'functions', entry)], outfile, nodePaths, metafile: true });
      built.set(entry.replace(/\.ts$/, ''), { outfile, clients: clientsOf(result.metafile) });
    }
    const init = measureInit([...built.values()].map((b) => b.outfile), baseFile);
    const base = init.get(baseFile) as { wall: number; cpu: number };
    const rows: Record<string, Record<string, number | string>> = {};
    for (const [name, b] of built) {
      const m = init.get(b.outfile) as { wall: number; cpu: number; wallRatio: number; cpuRatio: number };
      rows[name] = {
        'bundle KB': round(statSync(b.outfile).size / 1024, 1),
        'init ms': round(m.wall, 1),
        'init / DynamoDB-only': round(m.wallRatio, 2),
        'init CPU ms': round(m.cpu, 1),
        'CPU / DynamoDB-only': round(m.cpuRatio, 2),
        'SDK clients bundled': b.clients.join(' '),
      };
    }
    console.log(`\n== cold start: ${label} ==`);
    console.log(`baseline: a bundle of only @aws-sdk/client-dynamodb is ${round(statSync(baseFile).size / 1024, 1)} KB, module init ${round(base.wall, 1)} ms wall, ${round(base.cpu, 1)} ms CPU (medians of ${runs} rounds; ratios per round, then the median)`);
    console.table(rows);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
