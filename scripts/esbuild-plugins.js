/**
 * esbuild plugins for serverless-esbuild (serverless.yml custom.esbuild.plugins) and for
 * `npm run bench:cold`, which builds the bundles the same way.
 *
 * The functions are bundled as ES modules with splitting, so what a function loads only on first use
 * (`await import()` of the SNS, SSM, S3, STS, Organizations, Account, Tagging and Security Hub
 * clients) becomes a chunk of its own that is neither parsed nor run at module init (issue 15: cold
 * start). serverless-esbuild builds each function on its own into the one `functions/` folder and
 * zips, for each function, every file there except the other functions' `<name>.*`; so:
 *
 * - a function's chunks are named after it (`scheduled-scan.chunk-<hash>.js`): each zip holds its own
 *   function's chunks and no other's;
 * - `functions/package.json` says `"type": "module"`, so Lambda (and `serverless invoke local`) load
 *   the `.js` bundles as ES modules.
 */
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const chunksPerFunction = {
  name: 'pitr-guard-chunks-per-function',
  setup(build) {
    const entries = build.initialOptions.entryPoints;
    const entry = Array.isArray(entries) && entries.length === 1 ? entries[0] : undefined;
    const file = typeof entry === 'string' ? entry : entry && typeof entry === 'object' ? entry.in : undefined;
    if (!file) throw new Error('pitr-guard-chunks-per-function: expects one entry point per build (serverless-esbuild builds each function on its own)');
    build.initialOptions.chunkNames = `${path.basename(file, path.extname(file))}.[name]-[hash]`;
    build.onEnd((result) => {
      const outdir = build.initialOptions.outdir;
      if (!outdir || result.errors.length > 0) return;
      mkdirSync(outdir, { recursive: true });
      writeFileSync(path.join(outdir, 'package.json'), '{ "type": "module" }\n');
    });
  },
};

module.exports = [chunksPerFunction];
