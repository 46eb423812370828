#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is bundled to dist/cli.js by `npm run build` (run automatically by npm ci / npm install).
let cli;
try {
  cli = require('../dist/cli.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND') {
    process.stderr.write('pitr-guard: dist/cli.js is missing; run `npm run build` (npm ci runs it for you).\n');
    process.exit(2);
  }
  throw error;
}
// Node 20 works; the AWS SDK's nine-line NodeVersionSupportWarning (Node 22 recommended) would
// bury the CLI's one-line messages, so exactly that warning is dropped. Every other warning stays.
cli.dropNodeVersionSupportWarning();
cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
