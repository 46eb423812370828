/**
 * Lambda functions as the deployment builds them, for the benchmarks: serverless.yml's esbuild
 * options and the Node that matches the nodejs22.x runtime (bench:cold times module init with
 * them; bench:org runs the Organization scan's functions from these bundles in their own processes).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS plugin file serverless-esbuild loads
const plugins = require('../scripts/esbuild-plugins.js') as Plugin[];

const root = path.resolve(__dirname, '..');

/** Node 22 (the nodejs22.x runtime; the project pins it as a devDependency), else this Node. */
export const LAMBDA_NODE = process.env.BENCH_NODE ?? (existsSync(path.join(root, 'node_modules', '.bin', 'node')) ? path.join(root, 'node_modules', '.bin', 'node') : process.execPath);

/** serverless.yml custom.esbuild, as serverless-esbuild passes it to esbuild (ES modules with splitting: scripts/esbuild-plugins.js). */
export const SERVERLESS_ESBUILD: BuildOptions = {
  bundle: true,
  minify: true,
  sourcemap: false,
  target: 'node22',
  platform: 'node',
  format: 'esm',
  splitting: true,
  mainFields: ['module', 'main'],
  banner: { js: "import { createRequire as __pitrGuardCreateRequire } from 'node:module'; const require = __pitrGuardCreateRequire(import.meta.url);" },
  plugins,
  keepNames: true,
  logLevel: 'error',
};

/**
 * Bundles functions/<name>.ts into <dir>/<name>/ as serverless-esbuild would (the entry, its
 * chunks, package.json "type": "module"); returns the entry's file, to be loaded with import().
 */
export async function buildFunction(name: string, dir: string): Promise<string> {
  const outdir = path.join(dir, name);
  await build({ ...SERVERLESS_ESBUILD, entryPoints: [path.join(root, 'functions', `${name}.ts`)], outdir, nodePaths: [path.join(root, 'node_modules')] });
  return path.join(outdir, `${name}.js`);
}
