/**
 * Cold start (issue 15): each Lambda function bundles only the AWS SDK clients it calls, and
 * evaluates at module init only the ones every invocation needs; the rest (STS for member
 * accounts, Organizations for accounts=org, Account for regions=all, SSM when Slack is
 * configured, SNS on the first alert, S3 when a report bucket is set) are loaded on first use by
 * dynamic import(). Read from esbuild's metafile of each handler (the import kinds), not assumed;
 * `npm run bench:cold` measures what this buys.
 */
import { build, buildSync, type Metafile } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_PREFIX, actionsInSource } from '../../scripts/iam/commands';
import { SERVERLESS_ESBUILD } from '../../bench/lambda-bundle';

const root = path.resolve(__dirname, '..', '..');

/** The SDK packages (@aws-sdk/client-*, lib-storage) a handler's bundle holds, and those reached by static imports only (evaluated at init). */
function sdkOf(handlerFile: string): { bundled: string[]; atInit: string[] } {
  const result = buildSync({ absWorkingDir: root, entryPoints: [handlerFile], bundle: true, write: false, metafile: true, platform: 'node', format: 'cjs', packages: 'external', logLevel: 'silent' });
  const inputs: Metafile['inputs'] = result.metafile.inputs;
  const sdk = (p: string) => /^@aws-sdk\/(client-[a-z0-9-]+|lib-storage)$/.exec(p)?.[1];
  const bundled = new Set<string>();
  for (const input of Object.values(inputs)) for (const i of input.imports) if (sdk(i.path)) bundled.add(sdk(i.path) as string);
  const atInit = new Set<string>();
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of inputs[file]?.imports ?? []) {
      if (i.kind === 'dynamic-import') continue;
      const name = sdk(i.path);
      if (name) atInit.add(name);
      else if (!i.external && inputs[i.path]) walk(i.path);
    }
  };
  walk(handlerFile);
  return { bundled: [...bundled].sort(), atInit: [...atInit].sort() };
}

describe('SDK clients per Lambda bundle', () => {
  it.each([
    ['functions/pitr-change.ts', ['client-account', 'client-dynamodb', 'client-organizations', 'client-sns', 'client-ssm', 'client-sts'], ['client-dynamodb']],
    ['functions/scheduled-scan.ts', ['client-account', 'client-dynamodb', 'client-organizations', 'client-resource-groups-tagging-api', 'client-s3', 'client-securityhub', 'client-sns', 'client-ssm', 'client-sts', 'lib-storage'], ['client-dynamodb']],
    ['functions/config-rule.ts', ['client-account', 'client-config-service', 'client-dynamodb', 'client-resource-groups-tagging-api', 'client-sts'], ['client-config-service', 'client-dynamodb']],
    ['functions/org-plan.ts', ['client-account', 'client-dynamodb', 'client-organizations', 'client-resource-groups-tagging-api', 'client-s3', 'client-sts', 'lib-storage'], ['client-dynamodb']],
    ['functions/org-shard.ts', ['client-account', 'client-dynamodb', 'client-organizations', 'client-resource-groups-tagging-api', 'client-s3', 'client-securityhub', 'client-sts', 'lib-storage'], ['client-dynamodb']],
    ['functions/org-aggregate.ts', ['client-s3', 'client-sns', 'client-ssm', 'lib-storage'], ['client-s3']],
  ])('%s bundles %j and loads only %j at init', (handler, bundled, atInit) => {
    expect(sdkOf(handler)).toEqual({ bundled, atInit });
  });
});

/** The AWS SDK commands (service:Command) whose code a build keeps, in any of its files (entry and chunks). */
function commandsKept(metafile: Metafile): string[] {
  const kept = new Set<string>();
  for (const out of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
      const m = /@aws-sdk\/client-([a-z0-9-]+)\/dist-es\/commands\/(\w+)Command\.js$/.exec(input);
      if (m && bytesInOutput > 0) kept.add(`${m[1]}:${m[2]}`);
    }
  }
  return [...kept].sort();
}

/** Sent on the code's behalf: by lib-storage's Upload, and by the clients themselves (DynamoDB endpoint discovery, S3 Express sessions). */
const LIB_STORAGE = ['s3:AbortMultipartUpload', 's3:CompleteMultipartUpload', 's3:CreateMultipartUpload', 's3:PutObject', 's3:PutObjectTagging', 's3:UploadPart'];
const BY_CLIENT = { dynamodb: ['dynamodb:DescribeEndpoints'], s3: ['s3:CreateSession'] };

/** Every command pitr-guard's own code names (lib/), as service:Command. */
function commandsNamedInLib(dir = path.join(root, 'lib')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? commandsNamedInLib(path.join(dir, e.name)) : e.name.endsWith('.ts') ? actionsInSource(readFileSync(path.join(dir, e.name), 'utf8'), e.name) : [],
  );
}

describe('each function bundles the code of commands pitr-guard names, not the whole SDK', () => {
  // An `await import('@aws-sdk/client-x')` keeps every export of the package (S3: over 100 commands
  // and their schemas); lib/aws/sdk/<package>.ts re-exports by name what is used, and is tree-shaken.
  // (Which of these commands a function's role grants is the IAM derivation's business: iam.test.ts.)
  const named = new Set(commandsNamedInLib());
  const handlers = readdirSync(path.join(root, 'functions')).filter((f) => f.endsWith('.ts'));
  it.each(handlers)('functions/%s', async (file) => {
    const { plugins: _plugins, ...options } = SERVERLESS_ESBUILD;
    const result = await build({ ...options, entryPoints: [path.join(root, 'functions', file)], outdir: path.join(root, '.bench', 'commands-kept'), write: false, metafile: true, nodePaths: [path.join(root, 'node_modules')] });
    const kept = commandsKept(result.metafile).map((c) => c.replace(/^([a-z0-9-]+):/, (_, s: string) => `${SERVICE_PREFIX[`client-${s}`] ?? s}:`));
    const services = new Set(kept.map((c) => c.split(':')[0]));
    const expected = new Set([...named, ...(Object.keys(result.metafile.inputs).some((i) => i.includes('@aws-sdk/lib-storage/')) ? LIB_STORAGE : []), ...Object.entries(BY_CLIENT).flatMap(([s, c]) => (services.has(s) ? c : []))]);
    expect(kept.filter((c) => !expected.has(c))).toEqual([]);
    expect(kept.length).toBeGreaterThan(0);
  });

  it('lib/aws/sdk/<package>.ts re-exports only from @aws-sdk/<package>, by name', () => {
    const dir = path.join(root, 'lib', 'aws', 'sdk');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const code = readFileSync(path.join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').trim();
      expect([f, code]).toEqual([f, expect.stringMatching(new RegExp(`^export \\{ [A-Za-z, ]+ \\} from '@aws-sdk/${f.replace(/\.ts$/, '')}';$`))]);
    }
  });
});
