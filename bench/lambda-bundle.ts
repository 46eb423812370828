/**
 * Lambda functions as the deployment builds them, for the benchmarks: serverless.yml's esbuild
 * options and the Node that matches the nodejs22.x runtime (bench:cold times module init with
 * them; bench:org and test/integration/bundles.test.ts run the functions from these bundles, one
 * invocation per process: runRole).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
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

/** Memory of one invocation (bench/lambda-role.ts): before the handler, its peaks, and the process's maxRSS. */
export interface RoleMemory {
  rssBefore: number;
  heapBefore: number;
  peakRss: number;
  peakHeap: number;
  maxRss: number;
}

/** One invocation of a function bundle in a process of its own: its result or error, times and memory. */
export interface RoleRun {
  result?: unknown;
  error?: { name: string; message: string };
  handlerMs: number;
  initMs: number;
  /** Spawn to exit, as seen from the parent. */
  processMs: number;
  memory: RoleMemory;
}

/** bench/lambda-role.ts bundled into `dir` (CommonJS, run by LAMBDA_NODE); returns its file. */
export async function buildRoleScript(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const script = path.join(dir, 'lambda-role.js');
  await build({ entryPoints: [path.join(root, 'bench', 'lambda-role.ts')], outfile: script, bundle: true, platform: 'node', target: 'node22', format: 'cjs', logLevel: 'warning' });
  return script;
}

/**
 * One invocation of a function bundle in a fresh LAMBDA_NODE process (bench/lambda-role.ts), with
 * `env` (this process's environment when omitted) and the function's ARN in its context.
 */
export function runRole(script: string, bundle: string, functionArn: string, timeoutSeconds: number, payload: unknown, flags: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<RoleRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const args = ['--expose-gc', ...flags, script, bundle, functionArn, String(timeoutSeconds)];
    const child = spawn(LAMBDA_NODE, args, { env: { ...env, BENCH_PAYLOAD: JSON.stringify(payload) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let [out, err] = ['', ''];
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_ROLE '));
      if (!line) return reject(new Error(`${functionArn}'s process exited ${code} without a result: ${err.slice(-2000)}`));
      resolve({ ...(JSON.parse(line.slice('BENCH_ROLE '.length)) as Omit<RoleRun, 'processMs'>), processMs: Date.now() - started });
    });
  });
}
