/**
 * scripts/esbuild-plugins.js, what a function loads at module init (issue 15, cold start):
 * `pitr-guard-sdk-modules` resolves the AWS SDK's imports of barrel modules to the modules that
 * define the names, so that what only a client loaded on first use needs is not reached from
 * init; `pitr-guard-init-in-one-chunk` makes what init loads one chunk. The parsing is tested on
 * sources; the effect on the real builds of the functions (as serverless.yml builds them), with
 * the barrels part turned off as the control. test/integration/bundles.test.ts runs those builds.
 */
import { build, transformSync, type Metafile, type Plugin } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildFunction, LAMBDA_NODE, SERVERLESS_ESBUILD } from '../../bench/lambda-bundle';

interface Parsed {
  imports: { spec: string; names: { imported: string; local: string }[] | undefined }[];
  reexports: { spec: string; names: { imported: string; local: string }[] | undefined }[];
  stars: string[];
  locals: ({ imported: string; local: string } | undefined)[];
  declared: string[];
  readable: boolean;
  ownCode: boolean;
}
const plugins = require('../../scripts/esbuild-plugins.js') as Plugin[] & {
  parseModule: (source: string) => Parsed;
  rewriteImports: (source: string, target: (spec: string, names: { imported: string; local: string }[]) => Promise<string | undefined>) => Promise<string>;
  sdkModules: (options: { barrels: boolean }) => Plugin;
  lazyWebChecksum: (classSource: string, createSource: string) => { classSource: string; createSource: string } | undefined;
};

const root = path.resolve(__dirname, '..', '..');
// Each case below builds a function as serverless.yml does (one to three seconds, more on a busy CI machine).
jest.setTimeout(60_000);
const FUNCTIONS = readdirSync(path.join(root, 'functions')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));

/** A mixed barrel, as @smithy/core/dist-es/submodules/serde/index.js is written. */
const SERDE_LIKE = [
  'import { getRandomValues } from "node:crypto";',
  'import { toBase64 } from "./util-base64/toBase64";',
  'import { bindV4 } from "./uuid/v4";',
  'export { dateToUtcString, parseRfc3339DateTime as parseDate, } from "./date-utils";',
  'export * from "./util-stream";',
  'export { toBase64 };',
  'export class Uint8ArrayBlobAdapter extends Uint8Array {',
  '}',
  'export const v4 = bindV4(getRandomValues);',
  '',
].join('\n');

describe('parseModule', () => {
  it('reads a barrel with code of its own: imports, re-exports, stars, local exports, declarations', () => {
    expect(plugins.parseModule(SERDE_LIKE)).toEqual({
      imports: [
        { spec: 'node:crypto', names: [{ imported: 'getRandomValues', local: 'getRandomValues' }] },
        { spec: './util-base64/toBase64', names: [{ imported: 'toBase64', local: 'toBase64' }] },
        { spec: './uuid/v4', names: [{ imported: 'bindV4', local: 'bindV4' }] },
      ],
      reexports: [{ spec: './date-utils', names: [{ imported: 'dateToUtcString', local: 'dateToUtcString' }, { imported: 'parseRfc3339DateTime', local: 'parseDate' }] }],
      stars: ['./util-stream'],
      locals: [{ imported: 'toBase64', local: 'toBase64' }],
      declared: ['Uint8ArrayBlobAdapter', 'v4'],
      readable: true,
      ownCode: true,
    });
  });

  it('a pure barrel has no code of its own', () => {
    expect(plugins.parseModule('export * from "./a";\nexport { b } from "./b";\n')).toMatchObject({ readable: true, ownCode: false });
  });

  it('is not readable when an export has another form (export default, export * as, a destructuring)', () => {
    expect(plugins.parseModule('export default 1;\n').readable).toBe(false);
    expect(plugins.parseModule('export * as ns from "./a";\n').readable).toBe(false);
    expect(plugins.parseModule('export const { a, b } = o;\n').readable).toBe(false);
    expect(plugins.parseModule('import { a as } from "./a";\nexport const x = 1;\n').readable).toBe(false);
  });
});

describe('rewriteImports', () => {
  it('replaces each `import { … } from` the target function answers, keeps every other byte', async () => {
    const source = 'import { a, b as c } from "barrel";\nimport { d } from "./leaf";\nconst x = 1;\nimport { e } from "barrel";\n';
    const out = await plugins.rewriteImports(source, async (spec, names) => (spec === 'barrel' ? names.map((n) => `import { ${n.imported} as ${n.local} } from "/defs/${n.imported}.js";`).join('\n') : undefined));
    expect(out).toBe('import { a as a } from "/defs/a.js";\nimport { b as c } from "/defs/b.js";\nimport { d } from "./leaf";\nconst x = 1;\nimport { e as e } from "/defs/e.js";\n');
  });
});

/** The output files a function's entry loads at init (static imports), and the inputs they hold. */
async function atInit(name: string, pluginList: Plugin[]): Promise<{ files: string[]; inputs: string[] }> {
  const result = await build({ ...SERVERLESS_ESBUILD, plugins: pluginList, entryPoints: [path.join(root, 'functions', `${name}.ts`)], outdir: path.join(root, '.bench', 'test-barrels', name), nodePaths: [path.join(root, 'node_modules')], metafile: true, write: false });
  const outputs: Metafile['outputs'] = result.metafile.outputs;
  const entry = Object.keys(outputs).find((f) => outputs[f]?.entryPoint?.endsWith(`functions/${name}.ts`)) as string;
  const seen = new Set<string>();
  const walk = (out: string) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const i of outputs[out]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) walk(i.path);
  };
  walk(entry);
  return { files: [...seen], inputs: [...seen].flatMap((f) => Object.entries(outputs[f]?.inputs ?? {}).filter(([, v]) => v.bytesInOutput > 0).map(([i]) => i)) };
}

/** Modules only a client loaded on first use needs: S3's web checksum stream (it touches ReadableStream, which makes Node load its web streams), SNS's query and XML serialisers. */
const FIRST_USE_ONLY = /util-stream\/checksum\/ChecksumStream\.browser\.js$|submodules\/protocols\/query\/|submodules\/protocols\/xml\//;

describe('what a function loads at module init', () => {
  it.each(FUNCTIONS)('%s: its entry and one chunk', async (name) => {
    const { files } = await atInit(name, SERVERLESS_ESBUILD.plugins as Plugin[]);
    expect(files).toHaveLength(2);
  });

  it('scheduledScan: none of what only S3 and SNS (loaded on first use) need; without the barrels resolved, it had them', async () => {
    const withBarrels = await atInit('scheduled-scan', SERVERLESS_ESBUILD.plugins as Plugin[]);
    expect(withBarrels.inputs.filter((i) => FIRST_USE_ONLY.test(i))).toEqual([]);
    expect(withBarrels.inputs.some((i) => i.includes('@aws-sdk/client-dynamodb/'))).toBe(true);
    const control = (SERVERLESS_ESBUILD.plugins as Plugin[]).map((p) => (p.name === 'pitr-guard-sdk-modules' ? plugins.sdkModules({ barrels: false }) : p));
    const without = await atInit('scheduled-scan', control);
    expect(without.inputs.filter((i) => FIRST_USE_ONLY.test(i)).length).toBeGreaterThan(0);
  });

  it('orgAggregate (S3 at init) does not make Node load its web streams at init: the web checksum class is defined on first use', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pitr-guard-init-'));
    try {
      const entry = await buildFunction('org-aggregate', dir);
      const script = `const before = new Set(process.moduleLoadList); await import(${JSON.stringify(pathToFileURL(entry).href)}); console.log(JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m))))`;
      const loaded = JSON.parse(execFileSync(LAMBDA_NODE, ['--input-type=module', '-e', script]).toString()) as string[];
      expect(loaded.filter((m) => /webstreams/.test(m))).toEqual([]);
      expect(loaded).toContain('NativeModule zlib'); // it did load the S3 client's own builtins
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('lazyWebChecksum', () => {
  const dir = path.join(root, 'node_modules/@smithy/core/dist-es/submodules/serde/util-stream/checksum');
  const installed = { classSource: readFileSync(path.join(dir, 'ChecksumStream.browser.js'), 'utf8'), createSource: readFileSync(path.join(dir, 'createChecksumStream.browser.js'), 'utf8') };

  it('reads the installed @smithy/core as expected (if this fails after an SDK update, the rewrite no longer applies)', () => {
    const lazy = plugins.lazyWebChecksum(installed.classSource, installed.createSource);
    expect(lazy?.classSource).not.toContain('extends ReadableStreamRef');
    expect(lazy?.createSource).toContain('Object.setPrototypeOf(readable, defineChecksumStream().prototype);');
    expect(lazy?.createSource).not.toMatch(/\bChecksumStream\.prototype/);
  });

  it('defines the same class on first use, once', () => {
    const lazy = plugins.lazyWebChecksum(installed.classSource, installed.createSource);
    const cjs = { exports: {} as { ChecksumStream?: unknown; defineChecksumStream: () => { prototype: unknown; name: string } } };
    new Function('module', 'exports', transformSync(lazy?.classSource ?? '', { format: 'cjs', keepNames: true }).code)(cjs, cjs.exports);
    const mod = cjs.exports;
    expect(mod.ChecksumStream).toBeUndefined();
    const c = mod.defineChecksumStream();
    expect(c.name).toBe('ChecksumStream');
    expect(Object.getPrototypeOf(c.prototype)).toBe(ReadableStream.prototype);
    expect(mod.defineChecksumStream()).toBe(c);
    expect(mod.ChecksumStream).toBe(c);
  });

  it('leaves both modules alone when either reads otherwise', () => {
    expect(plugins.lazyWebChecksum(installed.classSource + '\n', installed.createSource)).toBeUndefined();
    expect(plugins.lazyWebChecksum(installed.classSource, installed.createSource.replace('ChecksumStream.prototype', 'X.prototype'))).toBeUndefined();
  });
});
