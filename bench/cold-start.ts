/**
 * `npm run bench:cold`: each Lambda function's bundle, built with the options serverless-esbuild
 * uses (serverless.yml custom.esbuild: bundle, minify, node22, ES modules with splitting and the
 * plugins of scripts/esbuild-plugins.js, keepNames, nothing external), what its module init
 * loads (the entry and the chunks it imports statically; the chunks reached only by `await import()`
 * are loaded on first use), and its module init time: a fresh `node` process times `await
 * import(bundle)` (hrtime and CPU time around the import), median of BENCH_RUNS (default 21) rounds.
 * The baseline is a bundle of only `@aws-sdk/client-dynamodb` (its client and the commands
 * pitr-guard sends) built the same way; each function's init is printed as a ratio of it (goal:
 * ≤ 1.3). A second reference row, "(S3 client only)", is a bundle of @aws-sdk/client-s3's client and
 * the two commands the report bucket code sends: the floor of a function that writes S3 at its
 * first step (org-aggregate). BENCH_CJS=1 adds the baseline built as one CommonJS file (the build before issue 15's
 * splitting), so that the ES-module baseline itself can be compared with it.
 *
 * For comparison (BENCH_EXTERNAL=1): the same handlers with `@aws-sdk/*` left external, loaded
 * from node_modules as the nodejs22.x runtime would load its own SDK copy from disk.
 *
 * Also prints which AWS SDK clients each bundle holds (esbuild's metafile).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { LAMBDA_NODE as NODE, SERVERLESS_ESBUILD } from './lambda-bundle';

const runs = Number(process.env.BENCH_RUNS ?? 21);
const root = path.resolve(__dirname, '..');
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** The build before splitting: one CommonJS file per function (BENCH_CJS=1, the baseline only). */
const COMMONJS: BuildOptions = { bundle: true, minify: true, sourcemap: false, target: 'node22', platform: 'node', format: 'cjs', keepNames: true, logLevel: 'error' };

/** One fresh process loading the bundle: wall and CPU (user + system) ms of the import (or require, for a CommonJS file). */
function initOnce(file: string): { wall: number; cpu: number } {
  const cjs = file.endsWith('.cjs');
  const before = cjs ? "const {createRequire}=await import('node:module');const r=createRequire(import.meta.url);" : '';
  const load = cjs ? `r(${JSON.stringify(file)})` : `await import(${JSON.stringify(pathToFileURL(file).href)})`;
  const script = `${before}const c=process.cpuUsage(),t=process.hrtime.bigint();${load};const u=process.cpuUsage(c);console.log(JSON.stringify({wall:Number(process.hrtime.bigint()-t)/1e6,cpu:(u.user+u.system)/1e3}))`;
  return JSON.parse(execFileSync(NODE, ['--input-type=module', '-e', script], { cwd: root }).toString()) as { wall: number; cpu: number };
}

/** The bytes module init reads: the entry and every chunk it imports statically (esbuild's metafile). */
function atInitBytes(metafile: Metafile, entryOut: string): number {
  const seen = new Set<string>();
  const walk = (out: string) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const i of metafile.outputs[out]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) walk(i.path);
  };
  walk(entryOut);
  return [...seen].reduce((n, out) => n + (metafile.outputs[out]?.bytes ?? 0), 0);
}

/** Every output file of a build (the entry and all its chunks). */
const allBytes = (metafile: Metafile) => Object.entries(metafile.outputs).filter(([f]) => f.endsWith('.js')).reduce((n, [, o]) => n + o.bytes, 0);

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
  // A second reference: the S3 client alone, with the commands the report bucket code sends (org-aggregate's floor)
  writeFileSync(path.join(dir, 'bare-s3.ts'), "export { S3Client, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';\n");
  const nodePaths = [path.join(root, 'node_modules')];
  const variants: { label: string; options: BuildOptions }[] = [{ label: 'bundled (serverless.yml)', options: SERVERLESS_ESBUILD }];
  if (process.env.BENCH_EXTERNAL === '1') variants.push({ label: '@aws-sdk external (loaded from node_modules)', options: { ...SERVERLESS_ESBUILD, external: ['@aws-sdk/*', '@smithy/*'] } });
  for (const { label, options } of variants) {
    const out = path.join(dir, label.replace(/\W+/g, '-'));
    // each build in a folder of its own, as serverless-esbuild's functions/ folder (package.json "type": "module" from the plugin)
    const buildOne = async (entry: string, name: string) => {
      const outdir = path.join(out, name);
      const result = await build({ ...options, entryPoints: [entry], outdir, nodePaths, metafile: true });
      // (the chunks of `await import()` targets are entry points too: the one built from `entry` is wanted)
      const entryOut = Object.keys(result.metafile.outputs).find((f) => { const from = result.metafile.outputs[f]?.entryPoint; return from !== undefined && path.resolve(root, from) === entry; }) as string;
      return { outfile: path.resolve(root, entryOut), atInit: atInitBytes(result.metafile, entryOut), all: allBytes(result.metafile), clients: clientsOf(result.metafile) };
    };
    const base = await buildOne(path.join(dir, 'bare.ts'), 'bare');
    const built = new Map<string, Awaited<ReturnType<typeof buildOne>>>();
    for (const entry of entries) built.set(entry.replace(/\.ts$/, ''), await buildOne(path.join(root, 'functions', entry), entry.replace(/\.ts$/, '')));
    built.set('(S3 client only)', await buildOne(path.join(dir, 'bare-s3.ts'), 'bare-s3'));
    const cjsBase = path.join(out, 'bare-commonjs.cjs');
    if (process.env.BENCH_CJS === '1') await build({ ...COMMONJS, ...(options.external ? { external: options.external } : {}), entryPoints: [path.join(dir, 'bare.ts')], outfile: cjsBase, nodePaths });
    const extra = process.env.BENCH_CJS === '1' ? [cjsBase] : [];
    const init = measureInit([...[...built.values()].map((b) => b.outfile), ...extra], base.outfile);
    const b0 = init.get(base.outfile) as { wall: number; cpu: number };
    const rows: Record<string, Record<string, number | string>> = {};
    for (const [name, b] of built) {
      const m = init.get(b.outfile) as { wall: number; cpu: number; wallRatio: number; cpuRatio: number };
      rows[name] = {
        'KB loaded at init': round(b.atInit / 1024, 1),
        'KB in all': round(b.all / 1024, 1),
        'init ms': round(m.wall, 1),
        'init / DynamoDB-only': round(m.wallRatio, 2),
        'init CPU ms': round(m.cpu, 1),
        'CPU / DynamoDB-only': round(m.cpuRatio, 2),
        'SDK clients bundled': b.clients.join(' '),
      };
    }
    if (process.env.BENCH_CJS === '1') {
      const m = init.get(cjsBase) as { wall: number; cpu: number; wallRatio: number; cpuRatio: number };
      rows['(baseline as one CommonJS file)'] = { 'KB loaded at init': round(statSync(cjsBase).size / 1024, 1), 'KB in all': round(statSync(cjsBase).size / 1024, 1), 'init ms': round(m.wall, 1), 'init / DynamoDB-only': round(m.wallRatio, 2), 'init CPU ms': round(m.cpu, 1), 'CPU / DynamoDB-only': round(m.cpuRatio, 2), 'SDK clients bundled': 'dynamodb' };
    }
    console.log(`\n== cold start: ${label} ==`);
    console.log(`baseline: a bundle of only @aws-sdk/client-dynamodb loads ${round(base.atInit / 1024, 1)} KB at init, module init ${round(b0.wall, 1)} ms wall, ${round(b0.cpu, 1)} ms CPU (medians of ${runs} rounds; ratios per round, then the median)`);
    console.table(rows);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
