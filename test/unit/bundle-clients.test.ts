/**
 * Cold start (issue 15): each Lambda function bundles only the AWS SDK clients it calls, and
 * evaluates at module init only the ones every invocation needs; the rest (STS for member
 * accounts, Organizations for accounts=org, Account for regions=all, SSM when Slack is
 * configured, SNS on the first alert, S3 when a report bucket is set) are loaded on first use by
 * dynamic import(). Read from esbuild's metafile of each handler (the import kinds), not assumed;
 * `npm run bench:cold` measures what this buys.
 */
import { buildSync, type Metafile } from 'esbuild';
import path from 'node:path';

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
