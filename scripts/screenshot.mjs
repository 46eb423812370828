// `npm run screenshot`: bundles dev/screenshot.ts with esbuild and runs it (writes docs/html-report.png).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(root, '.bench', 'screenshot.js');
// playwright-core and @sparticuz/chromium load files of their own at run time: left as packages.
await build({ entryPoints: [path.join(root, 'dev/screenshot.ts')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['playwright-core', '@sparticuz/chromium'], logLevel: 'warning' });
const result = spawnSync(process.execPath, [outfile], { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
