/**
 * scripts/esbuild-plugins.js `pitr-guard-sdk-modules`, its schemas part (issue 15, cold start): the
 * AWS SDK clients' schema modules with their computed keys of string constants written as literal
 * keys. What it must keep: every installed client's schemas evaluate to the same values with and
 * without it. What it must buy: a bundle keeps the schemas of the commands it sends, not all.
 */
import { build, type Plugin } from 'esbuild';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { SERVERLESS_ESBUILD } from '../../bench/lambda-bundle';

const plugins = require('../../scripts/esbuild-plugins.js') as Plugin[] & { literalKeys: (source: string) => string; SDK_SCHEMAS: RegExp; sdkModules: (options: { barrels: boolean }) => Plugin };
const root = path.resolve(__dirname, '..', '..');
const schemasPlugin = plugins.sdkModules({ barrels: false });

/** Every schemas module of the @aws-sdk/client-* packages node_modules holds (the project's and the tests'). */
function schemaModules(): string[] {
  const sdk = path.join(root, 'node_modules', '@aws-sdk');
  return readdirSync(sdk)
    .filter((name) => name.startsWith('client-'))
    .flatMap((name) => {
      const dir = path.join(sdk, name, 'dist-es', 'schemas');
      return readdirSync(dir).filter((f) => /^schemas_\d+\.js$/.test(f)).map((f) => path.join(dir, f));
    });
}

/** The exports of `file` bundled on its own (CommonJS, nothing tree-shaken from its exports), with or without the plugin. */
async function evaluate(file: string, withPlugin: boolean): Promise<Record<string, unknown>> {
  const { outputFiles } = await build({ entryPoints: [file], bundle: true, write: false, platform: 'node', format: 'cjs', logLevel: 'silent', plugins: withPlugin ? [schemasPlugin] : [] });
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', 'exports', 'require', outputFiles[0]?.text ?? '')(module, module.exports, require);
  return module.exports;
}

/**
 * A value as a tree comparable across two evaluations: objects and arrays by their own keys,
 * Maps by entries, lazy references (`() => Shape$`) by what they return, classes and other
 * functions by their source; an object seen before as {$ref: n} (schemas are recursive).
 */
function canonical(value: unknown, seen = new Map<object, number>()): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
  const known = seen.get(value);
  if (known !== undefined) return { $ref: known };
  seen.set(value, seen.size);
  if (typeof value === 'function') {
    const source = Function.prototype.toString.call(value);
    return value.length === 0 && !source.startsWith('class') ? { lazy: canonical((value as () => unknown)(), seen) } : { fn: source };
  }
  if (value instanceof Map) return { map: [...value.entries()].map(([k, v]) => [canonical(k, seen), canonical(v, seen)]) };
  const out: Record<string, unknown> = { $type: Object.prototype.toString.call(value) };
  for (const key of Object.keys(value)) out[key] = canonical((value as Record<string, unknown>)[key], seen);
  return out;
}

describe('tree-shakeable SDK schemas', () => {
  const modules = schemaModules();

  it('finds a schemas module for every AWS SDK client installed, and the plugin applies to each', () => {
    expect(modules.length).toBeGreaterThanOrEqual(15);
    for (const file of modules) expect(plugins.SDK_SCHEMAS.test(file)).toBe(true);
  });

  it.each(schemaModules().map((f) => [path.relative(root, f), f]))('%s evaluates to the same schemas with its keys written as literals', async (_name, file) => {
    const plain = await evaluate(file, false);
    const rewritten = await evaluate(file, true);
    expect(Object.keys(rewritten).sort()).toEqual(Object.keys(plain).sort());
    expect(Object.keys(plain).length).toBeGreaterThan(10);
    expect(canonical(rewritten)).toEqual(canonical(plain));
  });

  it('rewrites only computed keys that name a string constant of the same module', () => {
    const source = ['const _h = "http";', 'const _e = "error";', 'let _l = "later";', 'export var X$ = [9, n0, { [_h]: ["GET", "/", 200], [_e]: "client", [_l]: 1, [other]: 2 }];', ''].join('\n');
    expect(plugins.literalKeys(source)).toBe(['const _h = "http";', 'const _e = "error";', 'let _l = "later";', 'export var X$ = [9, n0, { "http": ["GET", "/", 200], "error": "client", [_l]: 1, [other]: 2 }];', ''].join('\n'));
  });

  it('lets a bundle of the S3 client with GetObject and PutObject drop the schemas of the other S3 operations', async () => {
    const bundle = async (withPlugin: boolean) =>
      (
        await build({
        ...SERVERLESS_ESBUILD,
        plugins: withPlugin ? [schemasPlugin] : [],
        splitting: false,
        stdin: { contents: "export { S3Client, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';", resolveDir: root, loader: 'ts' },
        write: false,
        })
      ).outputFiles[0]?.text ?? '';
    const [plain, shaken] = await Promise.all([bundle(false), bundle(true)]);
    // the two commands' HTTP bindings stay; another operation's (UploadPartCopy) goes, as does its input shape's name
    for (const text of [plain, shaken]) expect(text).toContain('/{Key+}?x-id=GetObject');
    expect(shaken).toContain('/{Key+}?x-id=PutObject');
    expect(plain).toContain('/{Key+}?x-id=UploadPartCopy');
    expect(shaken).not.toContain('/{Key+}?x-id=UploadPartCopy');
    expect(shaken).not.toContain('"UploadPartCopyRequest"');
    expect(shaken.length).toBeLessThan(plain.length - 40_000);
  });
});
