// Bundles the CLI (lib/cli/main.ts and everything it uses) into dist/cli.js for bin/pitr-guard.js.
import { build } from 'esbuild';

await build({
  entryPoints: ['lib/cli/main.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'none',
});
