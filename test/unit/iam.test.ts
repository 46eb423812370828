/**
 * IAM derived from the code (scripts/iam/): every AWS command a lib/ module sends is declared next
 * to it, the derivation follows what each handler bundles, readOnly leaves remediation out, and
 * docs/iam.md is what the declarations say.
 */
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { actionsInBundle, actionsInSource } from '../../scripts/iam/commands';
import { bundleOf, checkForwardingParams, declarationsOf, deriveFunction, isSingleAccount, parseReadOnly, roleResources } from '../../scripts/iam/derive';
import { functionsOf, renderIamDoc } from '../../scripts/iam/docs';
import { effectiveMode } from '../../lib/core/decide';
import { parsePolicy } from '../../lib/core/config';

const root = path.join(__dirname, '../..');

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}
const libModules = filesUnder('lib').sort();
const declared = declarationsOf(root, libModules);

describe('every AWS command in lib/ is declared by its module', () => {
  const sending = libModules.map((m) => [m, actionsInSource(readFileSync(path.join(root, m), 'utf8'), m)] as const).filter(([, a]) => a.length > 0);

  it('finds the modules that call AWS', () => {
    expect(sending.map(([m]) => m)).toEqual(expect.arrayContaining(['lib/aws/inventory/tables.ts', 'lib/act/steps.ts', 'lib/report/config.ts']));
  });

  it.each(sending)('%s declares every action it sends', (module, actions) => {
    const mine = (declared.get(module) ?? []).flatMap((p) => p.actions);
    expect(actions.filter((a) => !mine.includes(a))).toEqual([]);
  });

  it.each([...declared].filter(([, p]) => p.length > 0))('%s declares nothing it does not send (or says why)', (module, permissions) => {
    const sent = actionsInSource(readFileSync(path.join(root, module), 'utf8'), module);
    for (const p of permissions) {
      for (const a of p.actions) if (!sent.includes(a)) expect([module, a, p.implied]).toEqual([module, a, expect.any(String)]);
      // calledBy names real functions of the module
      for (const name of p.calledBy ?? []) expect([module, name, readFileSync(path.join(root, module), 'utf8')]).toEqual([module, name, expect.stringMatching(new RegExp(`function ${name}\\(`))]);
    }
  });

  it('rejects a module that sends a command without a declaration', () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'pitr-guard-iam-'));
    mkdirSync(path.join(tmp, 'lib'));
    writeFileSync(
      path.join(tmp, 'lib/new-call.ts'),
      "import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport const drop = (d: DynamoDBClient) => d.send(new DeleteTableCommand({ TableName: 't' }));\n",
    );
    expect(() => declarationsOf(tmp, ['lib/new-call.ts'])).toThrow('lib/new-call.ts sends AWS commands but declares no `export const permissions`');
  });

  it('reads the service prefix from the import, in source and in bundles', () => {
    expect(actionsInSource("import { PutEvaluationsCommand } from '@aws-sdk/client-config-service';\nnew PutEvaluationsCommand({})", 'x')).toEqual(['config:PutEvaluations']);
    expect(actionsInBundle('c.send(new import_client_dynamodb3.UpdateContinuousBackupsCommand(x))', 'x')).toEqual(['dynamodb:UpdateContinuousBackups']);
    expect(actionsInSource("import { GetObjectCommand } from '@aws-sdk/client-s3';\nnew GetObjectCommand({})", 'x')).toEqual(['s3:GetObject']);
    expect(actionsInSource("const { AssumeRoleCommand } = await import('../sdk/client-sts');\nnew AssumeRoleCommand({})", 'x')).toEqual(['sts:AssumeRole']);
    expect(actionsInSource("const { PublishCommand } = await import('../aws/sdk/client-sns');\nnew PublishCommand({})", 'x')).toEqual(['sns:Publish']);
    expect(actionsInBundle('const { PublishCommand, SNSClient } = await import("./lib/aws/sdk/client-sns");\nnew PublishCommand(x)', 'x')).toEqual(['sns:Publish']);
    expect(actionsInBundle('new import_client_s3.GetObjectCommand(x); new import_client_s32.GetObjectCommand(y); new import_client_ssm.GetParameterCommand(z)', 'x')).toEqual(['s3:GetObject', 'ssm:GetParameter']);
  });
});

describe('roles follow what each handler bundles', () => {
  const fns = functionsOf(root);

  it.each(fns.map((f) => [f.name, f] as const))('%s: the role grants every command its bundle sends, and nothing else but logs, its queue and kms', (_name, fn) => {
    const d = deriveFunction(root, fn, false, false, true);
    const granted = d.statements.flatMap((s) => s.actions);
    const sent = actionsInBundle(bundleOf(root, fn.handler).text, fn.handler).filter((a) => a !== 'sts:GetCallerIdentity');
    expect(sent.filter((a) => !granted.includes(a))).toEqual([]);
    const extra = granted.filter((a) => !sent.includes(a));
    // Actions sent on the code's behalf by a library (lib-storage's Upload), declared with `implied`
    const implied = [...declarationsOf(root, d.modules).values()].flat().flatMap((p) => (p.implied ? p.actions : []));
    expect(extra.filter((a) => !['logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage', 'kms:Decrypt', ...implied].includes(a))).toEqual([]);
  });

  it('leaves a calledBy statement out when the bundle drops that function: the reactor lists no tables', () => {
    const reactor = deriveFunction(root, fns.find((f) => f.name === 'pitrChange')!, false);
    const actions = reactor.statements.flatMap((s) => s.actions);
    expect(actions).not.toContain('dynamodb:ListTables');
    expect(actions).not.toContain('account:ListRegions');
    expect(actions).toContain('dynamodb:UpdateContinuousBackups');
  });

  it('grants the Security Hub actions only with param securityHub=true, to the functions that scan, on the account’s own product and hub', () => {
    const off = roleResources({ root, service: 'pitr-guard', stage: 'ci', readOnly: false, alertTopicArn: { Ref: 'AlertTopic' }, functions: fns });
    expect(JSON.stringify(off)).not.toContain('securityhub:');
    const on = deriveFunction(root, fns.find((f) => f.name === 'scheduledScan')!, false, false, true).statements.filter((s) => s.actions.some((a) => a.startsWith('securityhub:')));
    expect(on.map((s) => [s.sid, s.actions, s.resource])).toEqual([
      ['SecurityHubImport', ['securityhub:BatchImportFindings'], 'securityHubProduct'],
      ['SecurityHubRead', ['securityhub:GetFindings'], 'securityHubHub'],
    ]);
    const roles = roleResources({ root, service: 'pitr-guard', stage: 'ci', readOnly: false, securityHub: true, alertTopicArn: { Ref: 'AlertTopic' }, functions: fns });
    const holders = Object.entries(roles).filter(([, r]) => JSON.stringify(r).includes('securityhub:')).map(([name]) => name);
    expect(holders.sort()).toEqual(['OrgShardRole', 'ScheduledScanRole']);
    expect(JSON.stringify(roles.ScheduledScanRole)).toContain('arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default');
  });

  it('with readOnly, no role holds dynamodb:UpdateContinuousBackups', () => {
    const roles = roleResources({ root, service: 'pitr-guard', stage: 'ci', readOnly: true, alertTopicArn: { Ref: 'AlertTopic' }, functions: fns });
    expect(Object.keys(roles).sort()).toEqual(['ConfigRuleRole', 'OrgAggregateRole', 'OrgPlanRole', 'OrgShardRole', 'PitrChangeRole', 'RestoreDrillRole', 'ScheduledScanRole']);
    expect(JSON.stringify(roles)).not.toContain('UpdateContinuousBackups');
    const full = roleResources({ root, service: 'pitr-guard', stage: 'ci', readOnly: false, alertTopicArn: { Ref: 'AlertTopic' }, functions: fns });
    expect(JSON.stringify(full)).toContain('UpdateContinuousBackups');
  });
});

describe('readOnly', () => {
  it('refuses mode=remediate at package time, and anything but true or false', () => {
    expect(parseReadOnly('false', 'remediate')).toBe(false);
    expect(parseReadOnly('true', 'alert')).toBe(true);
    expect(() => parseReadOnly('true', 'remediate')).toThrow('serverless params readOnly=true and mode=remediate contradict each other');
    expect(() => parseReadOnly('yes', 'report')).toThrow('serverless param readOnly="yes": must be true or false');
  });

  it('refuses mode=remediate at cold start, with one line naming both variables', () => {
    const env = { AWS_REGION: 'us-east-1', PITR_GUARD_READ_ONLY: 'true' };
    expect(() => parsePolicy({ ...env, PITR_GUARD_MODE: 'remediate' })).toThrow(
      'Invalid PITR_GUARD_MODE="remediate": not allowed with PITR_GUARD_READ_ONLY=true (serverless param readOnly)',
    );
    expect(parsePolicy({ ...env, PITR_GUARD_MODE: 'alert' })).toMatchObject({ mode: 'alert', readOnly: true });
    expect(parsePolicy({ AWS_REGION: 'us-east-1', PITR_GUARD_MODE: 'remediate' }).readOnly).toBeUndefined();
    expect(() => parsePolicy({ ...env, PITR_GUARD_READ_ONLY: 'maybe' })).toThrow('Invalid PITR_GUARD_READ_ONLY="maybe": must be true or false.');
  });

  it('counts a pitr-guard:mode=remediate tag as alert on a read-only stack', () => {
    expect(effectiveMode('report', 'remediate', true)).toEqual({ mode: 'alert', ignoredTag: 'remediate' });
    expect(effectiveMode('alert', 'remediate', false)).toEqual({ mode: 'remediate' });
    expect(effectiveMode('report', 'alert', true)).toEqual({ mode: 'alert' });
  });
});

describe('docs/iam.md', () => {
  it('is what the declarations say (run npm run docs:iam after changing one)', () => {
    expect(readFileSync(path.join(root, 'docs/iam.md'), 'utf8')).toBe(renderIamDoc(root));
  });
});

describe('accounts=self leaves out what only scanning other accounts needs', () => {
  const scanFn = { name: 'scheduledScan', handler: 'functions/scheduled-scan.handler' };
  const sids = (singleAccount: boolean) => deriveFunction(root, scanFn, false, singleAccount).statements.map((s) => s.sid);

  it('no sts:AssumeRole and no organizations:ListAccounts in the scheduled scan role with accounts=self; both with any other scope', () => {
    expect(sids(true)).not.toEqual(expect.arrayContaining(['AssumeMemberRole']));
    expect(sids(true)).not.toContain('ListOrganizationAccounts');
    expect(sids(false)).toEqual(expect.arrayContaining(['AssumeMemberRole', 'ListOrganizationAccounts']));
    expect(sids(false).filter((s) => !['AssumeMemberRole', 'ListOrganizationAccounts'].includes(s))).toEqual(sids(true));
  });

  it.each([
    [undefined, true],
    ['', true],
    ['self', true],
    [' SELF ', true],
    ['org', false],
    ['111111111111,222222222222', false],
  ])('param accounts=%p is single-account: %p', (value, expected) => {
    expect(isSingleAccount(value)).toBe(expected);
  });
});

describe('checkForwardingParams (serverless params accounts and organizationId, at package time)', () => {
  it('refuses accounts=org without an Organization ID, and a malformed ID', () => {
    expect(() => checkForwardingParams('org', '')).toThrow('serverless param accounts=org needs param organizationId (o-...)');
    expect(() => checkForwardingParams('org', 'o-abc')).toThrow('serverless param organizationId="o-abc": must be an Organization ID');
  });
  it('accepts self, a list without an ID (exactly those accounts may forward), and org with an ID', () => {
    expect(() => checkForwardingParams('self', '')).not.toThrow();
    expect(() => checkForwardingParams('111111111111,222222222222', '')).not.toThrow();
    expect(() => checkForwardingParams('org', 'o-abcd1234ef')).not.toThrow();
  });
});

describe('the Organization aggregate (functions/org-aggregate.ts)', () => {
  const fn = { name: 'orgAggregate', handler: 'functions/org-aggregate.handler' };

  it('reads runs/* and writes reports/* of the report bucket, and alerts through the notifier modules', () => {
    const d = deriveFunction(root, fn, false);
    const bySid = Object.fromEntries(d.statements.map((s) => [s.sid, { actions: s.actions, resource: s.resource }]));
    expect(bySid.ReadRunFiles).toEqual({ actions: ['s3:GetObject'], resource: 'runFiles' });
    expect(bySid.StreamReports).toEqual({ actions: ['s3:AbortMultipartUpload', 's3:PutObject'], resource: 'reportFiles' });
    // it writes no run file and no single-PutObject report
    expect(bySid.WriteRunFiles).toBeUndefined();
    expect(bySid.WriteReports).toBeUndefined();
    expect(d.statements.flatMap((s) => s.actions)).toEqual(expect.arrayContaining(['sns:Publish', 'ssm:GetParameter']));
    // it reads no table and assumes no role
    expect(d.statements.flatMap((s) => s.actions).filter((a) => a.startsWith('dynamodb:') || a.startsWith('sts:'))).toEqual([]);
  });

  it('renders the bucket scopes as the ReportBucket resource’s prefixes', () => {
    const roles = roleResources({ root, service: 'pitr-guard', stage: 'dev', readOnly: false, alertTopicArn: { Ref: 'AlertTopic' }, functions: [fn] }) as Record<string, { Properties: { Policies: { PolicyDocument: { Statement: { Sid?: string; Resource?: unknown }[] } }[] } }>;
    const statements = roles.OrgAggregateRole!.Properties.Policies[0]!.PolicyDocument.Statement;
    expect(statements.find((s) => s.Sid === 'ReadRunFiles')?.Resource).toEqual({ 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Bucket}/runs/*', { Bucket: { Ref: 'ReportBucket' } }] });
    expect(statements.find((s) => s.Sid === 'StreamReports')?.Resource).toEqual({ 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Bucket}/reports/*', { Bucket: { Ref: 'ReportBucket' } }] });
  });
});
