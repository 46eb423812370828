/**
 * Lambda functions as the deployment builds them, for the benchmarks: serverless.yml's esbuild
 * options and the Node that matches the nodejs22.x runtime (bench:cold times module init with
 * them; bench:org runs the Organization scan's functions from these bundles in their own processes).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions } from 'esbuild';

const root = path.resolve(__dirname, '..');

/** Node 22 (the nodejs22.x runtime; the project pins it as a devDependency), else this Node. */
export const LAMBDA_NODE = process.env.BENCH_NODE ?? (existsSync(path.join(root, 'node_modules', '.bin', 'node')) ? path.join(root, 'node_modules', '.bin', 'node') : process.execPath);

/** serverless.yml custom.esbuild, as serverless-esbuild passes it to esbuild. */
export const SERVERLESS_ESBUILD: BuildOptions = { bundle: true, minify: true, sourcemap: false, target: 'node22', platform: 'node', format: 'cjs', keepNames: true, logLevel: 'error', ...(process.env.BENCH_MAIN_FIELDS ? { mainFields: process.env.BENCH_MAIN_FIELDS.split(',') } : {}) };

/** Bundles functions/<name>.ts to <dir>/<name>.js as serverless-esbuild would; returns the file. */
export async function buildFunction(name: string, dir: string): Promise<string> {
  const outfile = path.join(dir, `${name}.js`);
  await build({ ...SERVERLESS_ESBUILD, entryPoints: [path.join(root, 'functions', `${name}.ts`)], outfile, nodePaths: [path.join(root, 'node_modules')] });
  return outfile;
}
