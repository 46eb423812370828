// `npm run bench [-- name]`: bundles bench/<name>.ts (default scan) with esbuild and runs it (figures on stdout).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const name = process.argv[2] ?? 'scan';
if (!/^[a-z-]+$/.test(name)) throw new Error(`bench name ${JSON.stringify(name)}: expected bench/<name>.ts`);
const outfile = path.join(root, '.bench', `${name}.js`);
await build({ entryPoints: [path.join(root, `bench/${name}.ts`)], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['esbuild'], logLevel: 'warning' });
const result = spawnSync(process.execPath, ['--expose-gc', outfile], { stdio: 'inherit', cwd: root, env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' } });
process.exit(result.status ?? 1);
