// serverless.yml loads the functions' roles from here: `${file(./scripts/iam/serverless.js):ScheduledScanRole}`.
// Serverless v3 runs plain Node, so this bundles scripts/iam/derive.ts with esbuild and calls it with
// the service's params and functions. Every role is derived once per `serverless` run.
// `node scripts/iam/serverless.js --docs` (npm run docs:iam) rewrites docs/iam.md the same way.
const path = require('node:path');
const { buildSync } = require('esbuild');

const root = path.resolve(__dirname, '../..');

function load(entry) {
  const out = buildSync({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    logLevel: 'silent',
  });
  const mod = { exports: {} };
  new Function('module', 'exports', 'require', out.outputFiles[0].text)(mod, mod.exports, require);
  return mod.exports;
}

let roles;

async function derive({ resolveVariable, resolveConfigurationProperty }) {
  const d = load('scripts/iam/derive.ts');
  const [service, stage, readOnlyParam, mode, alertTopicArn, memberRole, accounts, organizationId, reportBucket, securityHub, drillTables, functions] = await Promise.all([
    resolveConfigurationProperty(['service']),
    resolveVariable('sls:stage'),
    resolveVariable('param:readOnly'),
    resolveVariable('param:mode'),
    resolveVariable('param:alertTopicArn'),
    resolveVariable('param:memberRole'),
    resolveVariable('param:accounts'),
    resolveVariable('param:organizationId'),
    resolveVariable('param:reportBucket'),
    resolveVariable('param:securityHub'),
    resolveVariable('param:drillTables'),
    resolveConfigurationProperty(['functions']),
  ]);
  d.checkForwardingParams(accounts, organizationId);
  const specs = Object.entries(functions ?? {}).map(([name, f]) => ({
    name,
    handler: f.handler,
    ...(f.destinations && f.destinations.onFailure ? { onFailureArn: f.destinations.onFailure.arn } : {}),
    ...(f.condition ? { condition: f.condition } : {}),
  }));
  return d.roleResources({ root, service, stage, readOnly: d.parseReadOnly(readOnlyParam, mode), singleAccount: d.isSingleAccount(accounts), securityHub: d.parseSecurityHub(securityHub), alertTopicArn, memberRole, reportBucket: d.reportBucketValue(reportBucket), drillTables: d.parseDrillTablesParam(drillTables), functions: specs });
}

module.exports = (ctx) => {
  // Serverless calls again when a variable it depends on is not resolvable yet: keep no rejection.
  roles ??= derive(ctx).catch((error) => {
    roles = undefined;
    throw error;
  });
  return roles;
};

if (require.main === module && process.argv.includes('--docs')) {
  const file = path.join(root, 'docs/iam.md');
  require('node:fs').writeFileSync(file, load('scripts/iam/docs.ts').renderIamDoc(root));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
