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
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
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

/**
 * The AWS SDK's schemas, made tree-shakeable. Each @aws-sdk/client-x describes all its operations
 * and shapes in one module, `dist-es/schemas/schemas_0.js`, whose trait objects use computed keys
 * naming module constants: `{ [_h]: ["GET", "/{Key+}?x-id=GetObject", 200] }` with
 * `const _h = "http"`. esbuild cannot prove a computed key free of side effects, so it keeps every
 * statement holding one and every shape that statement reaches: a bundle of S3's client with two
 * commands kept the schemas of all S3's operations (64 KB, parsed and run at module init). This
 * plugin writes each such key as the string the constant holds (`{ "http": [...] }`, the same
 * object), so esbuild drops the schemas no bundled command reaches. Only keys naming a
 * `const _x = "…";` of the same file are rewritten; test/unit/sdk-schemas.test.ts checks that every
 * installed client's schemas evaluate to the same values either way.
 */
const SDK_SCHEMAS = /@aws-sdk[\\/]client-[a-z0-9-]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/** The source of a schemas module with its computed keys of string constants written as literal keys. */
function literalKeys(source) {
  const strings = new Map();
  for (const m of source.matchAll(/^const (_[A-Za-z0-9_$]+) = ("(?:[^"\\\n]|\\.)*");$/gm)) strings.set(m[1], m[2]);
  return source.replace(/\[(_[A-Za-z0-9_$]+)\]:/g, (key, name) => (strings.has(name) ? `${strings.get(name)}:` : key));
}

const treeShakeableSchemas = {
  name: 'pitr-guard-tree-shakeable-sdk-schemas',
  setup(build) {
    build.onLoad({ filter: SDK_SCHEMAS }, (args) => ({ contents: literalKeys(readFileSync(args.path, 'utf8')), loader: 'js' }));
  },
};

module.exports = [chunksPerFunction, treeShakeableSchemas];
module.exports.literalKeys = literalKeys;
module.exports.SDK_SCHEMAS = SDK_SCHEMAS;
