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
 *
 * The other two plugins shape what module init loads: `pitr-guard-sdk-modules` (the SDK's schemas
 * made tree-shakeable, its imports of barrels resolved) and `pitr-guard-init-in-one-chunk`.
 */
const { mkdirSync, readFileSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/** The one entry point of a build (serverless-esbuild builds each function on its own), or an error naming the plugin. */
function oneEntry(build, plugin) {
  const entries = build.initialOptions.entryPoints;
  const entry = Array.isArray(entries) && entries.length === 1 ? entries[0] : undefined;
  const file = typeof entry === 'string' ? entry : entry && typeof entry === 'object' ? entry.in : undefined;
  if (!file) throw new Error(`${plugin}: expects one entry point per build (serverless-esbuild builds each function on its own)`);
  return path.resolve(build.initialOptions.absWorkingDir ?? process.cwd(), file);
}

const chunksPerFunction = {
  name: 'pitr-guard-chunks-per-function',
  setup(build) {
    const file = oneEntry(build, 'pitr-guard-chunks-per-function');
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
 * commands kept the schemas of all S3's operations (64 KB, parsed and run at module init).
 * `pitr-guard-sdk-modules` writes each such key as the string the constant holds (`{ "http": [...] }`, the same
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

/**
 * The AWS SDK's barrel modules, kept out of the chunks that do not use what they re-export. The SDK's
 * own modules import from barrels (`import { v4 } from "@smithy/core/serde"`, whose index.js
 * re-exports some fifty modules). With splitting, esbuild puts a module in every chunk whose entry
 * reaches it by imports, whether or not that entry uses it: so what only a client loaded on first
 * use needs (S3's checksum streams, SNS's XML and query serialisers) was reached through the barrels
 * from the DynamoDB client and parsed and run at every function's module init; S3's
 * `class ChecksumStream extends ReadableStream` alone makes Node load its web streams, about 4 ms.
 *
 * This plugin rewrites each `import { names } from "<barrel>"` in the SDK's ES modules to import
 * every name from the module that defines it (following `export { } from` and `export * from`),
 * and splits a barrel that also has code of its own (serde's `v4`, `Uint8ArrayBlobAdapter`) in two:
 * that code as a module of its own (namespace `pitr-guard-barrel-own`), and the barrel as its
 * re-exports plus `export * from` that module, so that there is one copy of its code whoever
 * imports it. A module whose exports it cannot read all of (a form other than `export { }`,
 * `export * from` and `export const|let|var|class|function`) is left as it is, and so is an import
 * of a name it cannot trace. test/unit/sdk-barrels.test.ts checks the rewrite;
 * test/integration/bundles.test.ts runs the built functions against moto.
 */
const SDK_ESM = /[\\/]node_modules[\\/]@(?:aws-sdk|smithy)[\\/][^\\/]+[\\/]dist-es[\\/].+\.js$/;
const OWN = 'pitr-guard-barrel-own';
const IMPORT = /^import \{([^}]*)\} from "([^"]+)";$/gm;
const REEXPORT = /^export \{([^}]*)\} from "([^"]+)";$/gm;
const STAR = /^export \* from "([^"]+)";$/gm;
const LOCAL_EXPORT = /^export \{([^}]*)\};$/gm;
const DECLARATION = /^export (?:const|let|var|class|function\*?|async function\*?) ([\w$]+)/gm;

/** `a, b as c` as [{ imported: 'a', local: 'a' }, { imported: 'b', local: 'c' }]; undefined if an entry is another form. */
function bindings(list) {
  const out = [];
  for (const entry of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([\w$]+)(?:\s+as\s+([\w$]+))?$/.exec(entry);
    if (!m) return undefined;
    out.push({ imported: m[1], local: m[2] ?? m[1] });
  }
  return out;
}

/**
 * What one module's source imports and exports, unresolved: `imports` and `reexports` hold
 * { spec, names }, `stars` the specifiers of `export * from`, `locals` the `export { a as b };`
 * entries, `declared` the names of `export const|class|…`. `readable` is false when some export
 * is of another form; `ownCode` says whether anything is left besides imports and re-exports.
 */
function parseModule(source) {
  const list = (re, text) => [...text.matchAll(re)];
  const imports = list(IMPORT, source).map((m) => ({ spec: m[2], names: bindings(m[1]) }));
  const reexports = list(REEXPORT, source).map((m) => ({ spec: m[2], names: bindings(m[1]) }));
  const stars = list(STAR, source).map((m) => m[1]);
  const locals = list(LOCAL_EXPORT, source).flatMap((m) => bindings(m[1]) ?? [undefined]);
  const declared = list(DECLARATION, source).map((m) => m[1]);
  const exportLines = (source.match(/^export\b/gm) ?? []).length;
  const readable = exportLines === reexports.length + stars.length + list(LOCAL_EXPORT, source).length + declared.length
    && [...imports, ...reexports].every((i) => i.names !== undefined) && locals.every((l) => l !== undefined);
  const rest = withoutReexports(source).replace(IMPORT, '').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '').trim();
  return { imports, reexports, stars, locals, declared, readable, ownCode: rest.length > 0 };
}

/** The source without its `export { } from` and `export * from` statements. */
const withoutReexports = (source) => source.replace(REEXPORT, '').replace(STAR, '');

/** The file a relative specifier of an SDK ES module names: the path itself, with `.js`, or its `index.js`; undefined if none is a file. */
function relativeFile(dir, spec) {
  const base = path.resolve(dir, spec);
  return [base, `${base}.js`, path.join(base, 'index.js')].find((f) => f.endsWith('.js') && isFile(f));
}

const isFile = (f) => {
  try {
    return statSync(f).isFile();
  } catch {
    return false;
  }
};

/** `import { … } from "…";` statements rewritten by `target(spec, names)`: the replacement text, or undefined to keep one. */
async function rewriteImports(source, target) {
  const parts = [];
  let last = 0;
  for (const m of source.matchAll(IMPORT)) {
    const names = bindings(m[1]);
    const replacement = names && (await target(m[2], names));
    if (replacement === undefined) continue;
    parts.push(source.slice(last, m.index), replacement);
    last = m.index + m[0].length;
  }
  return parts.length === 0 ? source : parts.join('') + source.slice(last);
}

/**
 * The SDK's web-stream checksum class, defined on first use. @smithy/core defines at module load
 * `class ChecksumStream extends ReadableStream` (ChecksumStream.browser.js), which S3's response
 * checksums reach; on Node it is used only for a body that is a web ReadableStream, which Node's
 * HTTP handler never returns, but touching the `ReadableStream` global makes Node load its web
 * streams: about 4 ms of module init for a function that loads S3 at init. Both modules are
 * rewritten only if both read exactly as expected (else neither is, and
 * test/unit/sdk-barrels.test.ts fails): the class is made by `defineChecksumStream()`, which
 * createChecksumStream.browser.js calls where it used the class.
 */
const WEB_CHECKSUM = /[\\/]@smithy[\\/]core[\\/]dist-es[\\/]submodules[\\/]serde[\\/]util-stream[\\/]checksum[\\/](ChecksumStream|createChecksumStream)\.browser\.js$/;
const WEB_CHECKSUM_CLASS = 'const ReadableStreamRef = typeof ReadableStream === "function" ? ReadableStream : function () { };\nexport class ChecksumStream extends ReadableStreamRef {\n}\n';
const WEB_CHECKSUM_IMPORT = 'import { ChecksumStream } from "./ChecksumStream.browser";';
const WEB_CHECKSUM_USE = 'Object.setPrototypeOf(readable, ChecksumStream.prototype);';

/** The two modules' sources, rewritten as above; undefined unless both read as expected. */
function lazyWebChecksum(classSource, createSource) {
  const once = (text, part) => text.split(part).length === 2;
  if (classSource !== WEB_CHECKSUM_CLASS || !once(createSource, WEB_CHECKSUM_IMPORT) || !once(createSource, WEB_CHECKSUM_USE)) return undefined;
  return {
    classSource: 'export let ChecksumStream;\nexport const defineChecksumStream = () => (ChecksumStream ??= class ChecksumStream extends (typeof ReadableStream === "function" ? ReadableStream : function () { }) {\n});\n',
    createSource: createSource.replace(WEB_CHECKSUM_IMPORT, 'import { defineChecksumStream } from "./ChecksumStream.browser";').replace(WEB_CHECKSUM_USE, 'Object.setPrototypeOf(readable, defineChecksumStream().prototype);'),
  };
}

/**
 * The plugin that loads the SDK's ES modules (`SDK_ESM`): schemas with literal keys, and, unless
 * `barrels` is false, imports of barrels resolved as described above.
 */
const sdkModules = ({ barrels = true } = {}) => ({
  name: 'pitr-guard-sdk-modules',
  setup(build) {
    const resolved = new Map();
    /** A specifier's file: relative ones as Node's ES-module resolution of dist-es reads them (`./x` is x.js or x/index.js), packages by esbuild. */
    const resolve = (spec, dir) => {
      const key = `${dir}\0${spec}`;
      if (!resolved.has(key)) resolved.set(key, /^\.\.?\//.test(spec) ? Promise.resolve(relativeFile(dir, spec)) : build.resolve(spec, { kind: 'import-statement', resolveDir: dir }).then((r) => (r.errors.length > 0 || r.external || r.namespace !== 'file' ? undefined : r.path)));
      return resolved.get(key);
    };
    const infos = new Map();
    /** A module's exports, resolved: names re-exported (name -> { file, name }), star targets, names its own code defines. */
    const info = (file) => {
      if (!infos.has(file)) {
        infos.set(file, (async () => {
          const parsed = parseModule(readFileSync(file, 'utf8'));
          const dir = path.dirname(file);
          const imported = new Map();
          for (const i of parsed.imports) {
            const from = await resolve(i.spec, dir);
            for (const n of i.names ?? []) imported.set(n.local, from && { file: from, name: n.imported });
          }
          const reexports = new Map();
          const own = new Set(parsed.declared);
          for (const r of parsed.reexports) {
            const from = await resolve(r.spec, dir);
            for (const n of r.names ?? []) reexports.set(n.local, from && { file: from, name: n.imported });
          }
          for (const l of parsed.locals) {
            if (!l) continue;
            if (imported.has(l.imported)) reexports.set(l.local, imported.get(l.imported));
            else own.add(l.local);
          }
          const stars = [];
          for (const s of parsed.stars) stars.push(await resolve(s, dir));
          const barrel = parsed.reexports.length > 0 || parsed.stars.length > 0;
          return { readable: parsed.readable && stars.every(Boolean), barrel, split: barrel && parsed.ownCode, reexports, stars, own };
        })());
      }
      return infos.get(file);
    };
    /** The module that defines `name` exported by `file` ({ file, name, own }), or undefined if it cannot be traced. */
    const definer = async (file, name, seen = new Set()) => {
      if (!file || !SDK_ESM.test(file) || seen.has(`${file}\0${name}`)) return undefined;
      seen.add(`${file}\0${name}`);
      const i = await info(file);
      if (!i.readable) return undefined;
      if (i.own.has(name)) return { file, name, own: i.split };
      if (i.reexports.has(name)) {
        const r = i.reexports.get(name);
        if (!r) return undefined;
        const deeper = await definer(r.file, r.name, seen);
        if (deeper) return deeper;
        return SDK_ESM.test(r.file) ? undefined : { file: r.file, name: r.name, own: false };
      }
      for (const s of i.stars) {
        const d = await definer(s, name, seen);
        if (d) return d;
      }
      return undefined;
    };
    const rewrite = (source, dir) => rewriteImports(source, async (spec, names) => {
      const from = await resolve(spec, dir);
      if (!from || !SDK_ESM.test(from) || !(await info(from)).barrel) return undefined;
      const groups = new Map();
      for (const n of names) {
        const d = await definer(from, n.imported);
        const key = d ? (d.own ? `${OWN}:${d.file}` : d.file) : spec;
        if (!groups.has(key)) groups.set(key, []);
        const imported = d ? d.name : n.imported;
        groups.get(key).push(imported === n.local ? imported : `${imported} as ${n.local}`);
      }
      return [...groups].map(([key, list]) => `import { ${list.join(', ')} } from ${JSON.stringify(key)};`).join('\n');
    });
    build.onResolve({ filter: new RegExp(`^${OWN}:`) }, (args) => ({ path: args.path.slice(OWN.length + 1), namespace: OWN }));
    build.onLoad({ filter: /.*/, namespace: OWN }, async (args) => ({ contents: await rewrite(withoutReexports(readFileSync(args.path, 'utf8')), path.dirname(args.path)), loader: 'js', resolveDir: path.dirname(args.path) }));
    build.onLoad({ filter: SDK_ESM, namespace: 'file' }, async (args) => {
      let source = readFileSync(args.path, 'utf8');
      const dir = path.dirname(args.path);
      const web = WEB_CHECKSUM.exec(args.path);
      if (web && barrels) {
        const lazy = lazyWebChecksum(readFileSync(path.join(dir, 'ChecksumStream.browser.js'), 'utf8'), readFileSync(path.join(dir, 'createChecksumStream.browser.js'), 'utf8'));
        if (lazy) source = web[1] === 'ChecksumStream' ? lazy.classSource : lazy.createSource;
      }
      const schemas = SDK_SCHEMAS.test(args.path);
      if (!barrels) return schemas ? { contents: literalKeys(source), loader: 'js' } : undefined;
      const i = await info(args.path);
      if (i.split && i.readable) {
        const facade = [...source.matchAll(REEXPORT), ...source.matchAll(STAR)].map((m) => m[0]);
        return { contents: `${facade.join('\n')}\nexport * from ${JSON.stringify(`${OWN}:${args.path}`)};\n`, loader: 'js', resolveDir: dir };
      }
      return { contents: await rewrite(schemas ? literalKeys(source) : source, dir), loader: 'js', resolveDir: dir };
    });
  },
});

/**
 * What a function loads at module init, in one chunk. With splitting, esbuild makes a chunk of
 * each set of entry points (the function and each `await import()` target) that reach the same
 * modules; so the modules a function loads at init were cut into as many chunks as there are
 * combinations of lazy targets sharing them with it (15 in scheduledScan; 28 once the barrels
 * were resolved), and Node's ES-module loader reads, compiles and links each one on its own. Here
 * each `await import()` of an ES module (pitr-guard's own `lib/aws/sdk/*` and the SDK's lazy
 * credential providers) loads a two-line module, `import "<the function's entry>"; export * from
 * "<target>"`: every lazy target then reaches every module of the function's own, all of them
 * have one set of entry points and make one chunk. The added import costs nothing at run time:
 * by the time a lazy target loads, the function's modules have been evaluated.
 */
const LAZY = 'pitr-guard-lazy';

const initInOneChunk = {
  name: 'pitr-guard-init-in-one-chunk',
  setup(build) {
    const entry = oneEntry(build, 'pitr-guard-init-in-one-chunk');
    const esm = (file) => SDK_ESM.test(file) || (/\.ts$/.test(file) && !file.split(path.sep).includes('node_modules'));
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.pluginData === LAZY) return undefined;
      const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: LAZY });
      if (r.errors.length > 0 || r.external || r.namespace !== 'file' || !esm(r.path)) return undefined;
      return { path: r.path, namespace: LAZY };
    });
    build.onLoad({ filter: /.*/, namespace: LAZY }, (args) => {
      if (/^export default\b/m.test(readFileSync(args.path, 'utf8'))) throw new Error(`${LAZY}: ${args.path} has a default export, which \`export *\` would drop`);
      return { contents: `import ${JSON.stringify(entry)};\nexport * from ${JSON.stringify(args.path)};\n`, loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

module.exports = [chunksPerFunction, sdkModules(), initInOneChunk];
module.exports.sdkModules = sdkModules;
module.exports.parseModule = parseModule;
module.exports.rewriteImports = rewriteImports;
module.exports.lazyWebChecksum = lazyWebChecksum;
module.exports.literalKeys = literalKeys;
module.exports.SDK_SCHEMAS = SDK_SCHEMAS;
