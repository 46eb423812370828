/**
 * IAM derived from the code. For each function in serverless.yml: esbuild's metafile lists the
 * modules its handler bundles; the `permissions` each of them declares (lib/core/iam.ts), merged
 * by statement id, plus what the function itself needs (its log group, its on-failure queue),
 * become its role. The same data renders docs/iam.md. Used by serverless.yml (through
 * scripts/iam/serverless.js), `npm run docs:iam` and the tests; never bundled into a Lambda.
 */
import { buildSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Permission, ResourceScope } from '../../lib/core/iam';
import { drillTablePrefix, parseDrillTables, type DrillTarget } from '../../lib/core/drill';

export interface FunctionSpec {
  /** The serverless function name, e.g. scheduledScan. */
  name: string;
  /** serverless.yml `handler`, e.g. functions/scheduled-scan.handler. */
  handler: string;
  /** `destinations.onFailure.arn` (a CloudFormation value), if the function has one. */
  onFailureArn?: unknown;
  /** serverless.yml `condition`: the role is created under the same one. */
  condition?: string;
}

export interface DeriveOptions {
  root: string;
  service: string;
  stage: string;
  readOnly: boolean;
  /** Param accounts is self: the statements marked multiAccount (AssumeRole, ListAccounts) are left out. */
  singleAccount?: boolean;
  /** Param securityHub is true: the statements marked securityHub are granted (left out otherwise). */
  securityHub?: boolean;
  /** The value of param alertTopicArn (a CloudFormation value). */
  alertTopicArn: unknown;
  /** The value of param memberRole (default pitr-guard-member): the role assumed in other accounts. */
  memberRole?: string;
  /** The report bucket's name (a CloudFormation value: by default `{ Ref: ReportBucket }`). */
  reportBucket?: unknown;
  /** Param drillTables, parsed: the scheduled drill's sources (their drill copies: `<name>-pitr-drill-*`). */
  drillTables?: readonly DrillTarget[];
  functions: readonly FunctionSpec[];
}

/** One statement of a function's role, before it is rendered as CloudFormation. */
export interface DerivedStatement {
  sid: string;
  actions: string[];
  /** A declared scope, or `logGroup` / `onFailureQueue` for what the function itself needs. */
  resource: ResourceScope | 'logGroup' | 'onFailureQueue';
  why: string[];
  /** The modules that declared it (root-relative), or `serverless.yml`. */
  from: string[];
}

export interface DerivedFunction {
  name: string;
  roleName: string;
  condition?: string;
  modules: string[];
  statements: DerivedStatement[];
}

/** `new XxxCommand(` in a module: the AWS calls it sends. */
export const COMMAND_PATTERN = /\bnew\s+([A-Z][A-Za-z0-9]*)Command\s*\(/g;

/** The project's own modules (root-relative, under lib/ or functions/) the handler's bundle contains. */
export function reachedModules(root: string, handler: string): string[] {
  return bundleOf(root, handler).modules;
}

/**
 * lib/aws/sdk/<package>.ts re-exports (by name) what pitr-guard sends with @aws-sdk/<package>, loaded
 * on first use. Kept external like the packages, so a bundle's text shows `await import("…/sdk/client-x")`
 * where the command comes from (actionsInBundle reads it as the package).
 */
export const sdkWrappers = (root: string): string => path.join(root, 'lib', 'aws', 'sdk', '*');

/** The handler's bundle (tree-shaken, not minified: function names stay) and the modules in it. */
export function bundleOf(root: string, handler: string): { modules: string[]; text: string } {
  const entry = handlerFile(root, handler);
  const result = buildSync({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    external: [sdkWrappers(root)],
    logLevel: 'silent',
  });
  const modules = Object.keys(result.metafile.inputs)
    .filter((p) => /^(lib|functions)\//.test(p))
    .sort();
  return { modules, text: result.outputFiles[0]!.text };
}

/** Whether the bundle kept a function (or const) of that name; esbuild may suffix a renamed one with digits. */
export function keeps(bundle: string, name: string): boolean {
  return new RegExp(`(?:\\bfunction\\s+|\\b(?:const|let|var|class)\\s+)${name}\\d*\\s*[=(<{]`).test(bundle);
}

function handlerFile(root: string, handler: string): string {
  const base = handler.replace(/\.[A-Za-z_$][\w$]*$/, '');
  for (const ext of ['.ts', '.js']) {
    const file = base + ext;
    try {
      readFileSync(path.join(root, file));
      return file;
    } catch {
      // next extension
    }
  }
  throw new Error(`handler ${handler}: no ${base}.ts or ${base}.js`);
}

const DECLARES = /^export const permissions\b/m;

/**
 * The `permissions` of every module that declares them. A module that sends an AWS command
 * without declaring any is an error: its calls would be denied at run time.
 */
export function declarationsOf(root: string, modules: readonly string[]): Map<string, readonly Permission[]> {
  const declaring: string[] = [];
  for (const m of modules) {
    const text = readFileSync(path.join(root, m), 'utf8');
    if (DECLARES.test(text)) declaring.push(m);
    else if (new RegExp(COMMAND_PATTERN.source).test(text)) {
      throw new Error(`${m} sends AWS commands but declares no \`export const permissions\` (see lib/core/iam.ts)`);
    }
  }
  const out = new Map<string, readonly Permission[]>();
  if (declaring.length === 0) return out;
  const contents = declaring.map((m, i) => `export { permissions as m${i} } from './${m}';`).join('\n');
  const bundle = buildSync({
    absWorkingDir: root,
    stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: 'iam-declarations.ts' },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    logLevel: 'silent',
  });
  const code = bundle.outputFiles[0]!.text;
  const mod: { exports: Record<string, readonly Permission[]> } = { exports: {} };
  new Function('module', 'exports', 'require', code)(mod, mod.exports, createRequire(path.join(root, 'package.json')));
  declaring.forEach((m, i) => out.set(m, mod.exports[`m${i}`] ?? []));
  return out;
}

/** A function's statements: its log group, the declarations of what it reaches, its on-failure queue. */
export function deriveFunction(root: string, fn: FunctionSpec, readOnly: boolean, singleAccount = false, securityHub = false): DerivedFunction {
  const { modules, text } = bundleOf(root, fn.handler);
  const declared = declarationsOf(root, modules);
  const statements: DerivedStatement[] = [
    { sid: 'Logs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: 'logGroup', why: ['writes its own log group'], from: ['serverless.yml'] },
  ];
  const bySid = new Map<string, DerivedStatement>();
  for (const [module, permissions] of declared) {
    for (const p of permissions) {
      if (p.resource === 'noGrantNeeded') continue;
      if (readOnly && p.remediation) continue;
      if (singleAccount && p.multiAccount) continue;
      if (!securityHub && p.securityHub) continue;
      if (p.calledBy && !p.calledBy.some((name) => keeps(text, name))) continue;
      checkActions(module, p);
      const known = bySid.get(p.sid);
      if (!known) {
        const s: DerivedStatement = { sid: p.sid, actions: [...p.actions], resource: p.resource, why: [p.why], from: [module] };
        bySid.set(p.sid, s);
        statements.push(s);
        continue;
      }
      if (known.resource !== p.resource) {
        throw new Error(`statement ${p.sid}: ${module} declares resource ${p.resource}, ${known.from.join(', ')} declared ${known.resource}`);
      }
      for (const a of p.actions) if (!known.actions.includes(a)) known.actions.push(a);
      if (!known.why.includes(p.why)) known.why.push(p.why);
      known.from.push(module);
    }
  }
  for (const s of statements) s.actions.sort();
  if (fn.onFailureArn !== undefined) {
    statements.push({
      sid: 'OnFailureDestination',
      actions: ['sqs:SendMessage'],
      resource: 'onFailureQueue',
      why: ['Lambda records a failed asynchronous invocation in the on-failure queue'],
      from: ['serverless.yml'],
    });
  }
  return {
    name: fn.name,
    roleName: roleName(fn.name),
    ...(fn.condition ? { condition: fn.condition } : {}),
    modules,
    statements,
  };
}

function checkActions(module: string, p: Permission): void {
  for (const a of p.actions) {
    if (!/^[a-z0-9-]+:[A-Za-z0-9]+$/.test(a)) throw new Error(`${module}: ${JSON.stringify(a)} is not a service:Action name without wildcards`);
  }
}

export function roleName(functionName: string): string {
  return functionName.charAt(0).toUpperCase() + functionName.slice(1) + 'Role';
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

const TABLES = { 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/*' };

/** One derived statement as CloudFormation: conditional scopes become Fn::If … AWS::NoValue. */
function renderStatement(s: DerivedStatement, fn: FunctionSpec, o: DeriveOptions): unknown {
  const Action = s.actions.length === 1 ? s.actions[0] : s.actions;
  const base = { Sid: s.sid, Effect: 'Allow', Action };
  switch (s.resource) {
    case '*':
      return { ...base, Resource: '*' };
    case 'tables':
      return { ...base, Resource: TABLES };
    case 'idempotencyTable':
      return { ...base, Resource: { 'Fn::GetAtt': ['IdempotencyTable', 'Arn'] } };
    case 'findingsTable':
      return { ...base, Resource: { 'Fn::GetAtt': ['FindingsTable', 'Arn'] } };
    case 'alertTopic':
      return { ...base, Resource: o.alertTopicArn };
    case 'slackWebhookParameter':
      // A plain name's ARN is parameter/NAME, a path's is parameter/PATH (one slash): both forms
      // are listed; the one that does not apply matches no parameter.
      return {
        'Fn::If': [
          'HasSlackWebhook',
          {
            ...base,
            Resource: [
              { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${SlackWebhookParameterName}' },
              { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SlackWebhookParameterName}' },
            ],
          },
          { Ref: 'AWS::NoValue' },
        ],
      };
    case 'slackWebhookKey':
      return {
        'Fn::If': [
          'HasSlackWebhookKey',
          {
            ...base,
            Resource: { Ref: 'SlackWebhookKmsKeyArn' },
            Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com' } } },
          },
          { Ref: 'AWS::NoValue' },
        ],
      };
    case 'logGroup':
      return {
        ...base,
        Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${o.service}-${o.stage}-${fn.name}:*` },
      };
    case 'onFailureQueue':
      return { ...base, Resource: fn.onFailureArn };
    case 'memberRole':
      return { ...base, Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${o.memberRole || 'pitr-guard-member'}` } };
    case 'runFiles':
      return { ...base, Resource: { 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Bucket}/runs/*', { Bucket: o.reportBucket ?? { Ref: 'ReportBucket' } }] } };
    case 'reportFiles':
      return { ...base, Resource: { 'Fn::Sub': ['arn:${AWS::Partition}:s3:::${Bucket}/reports/*', { Bucket: o.reportBucket ?? { Ref: 'ReportBucket' } }] } };
    case 'securityHubProduct':
      return { ...base, Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default' } };
    case 'securityHubHub':
      return { ...base, Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:hub/default' } };
    case 'drillSources':
    case 'drillTables':
      return { ...base, Resource: drillResources(o.drillTables ?? [], s.resource === 'drillTables') };
    case 'noGrantNeeded':
      throw new Error(`statement ${s.sid}: noGrantNeeded is never rendered`);
  }
}

/**
 * The drill's tables in this account: the sources, or their drill copies. With no drillTables the
 * drill function and its role are not created (condition CreateRestoreDrill); the template still
 * holds the role's policy, naming a placeholder table (pitr-guard-no-drill-tables).
 */
function drillResources(targets: readonly DrillTarget[], copies: boolean): unknown[] {
  const list = targets.length > 0 ? targets : [{ region: '${AWS::Region}', tableName: 'pitr-guard-no-drill-tables' }];
  return list.map((t) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:dynamodb:${t.region}:\${AWS::AccountId}:table/${copies ? `${drillTablePrefix(t.tableName)}*` : t.tableName}` }));
}

/** Param drillTables (comma list of region:table or table ARNs); throws one clear line at package time. */
export function parseDrillTablesParam(value: unknown): DrillTarget[] {
  try {
    return parseDrillTables(typeof value === 'string' ? value : '', 'serverless param drillTables');
  } catch (error) {
    throw new Error(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** The AWS::IAM::Role resource of every function, keyed by its logical ID (FunctionNameRole). */
export function roleResources(o: DeriveOptions): Record<string, unknown> {
  const roles: Record<string, unknown> = {};
  for (const fn of o.functions) {
    const d = deriveFunction(o.root, fn, o.readOnly, o.singleAccount === true, o.securityHub === true);
    roles[d.roleName] = {
      Type: 'AWS::IAM::Role',
      ...(d.condition ? { Condition: d.condition } : {}),
      Properties: {
        Description: `pitr-guard ${fn.name}: the actions its code calls (scripts/iam/derive.ts${o.readOnly ? ', readOnly' : ''})`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
        Policies: [{ PolicyName: kebab(fn.name), PolicyDocument: { Version: '2012-10-17', Statement: d.statements.map((s) => renderStatement(s, fn, o)) } }],
      },
    };
  }
  return roles;
}

/** Param reportBucket: a bucket name, or (the default, `!Ref ReportBucket`; also when empty) the stack's own ReportBucket. */
export function reportBucketValue(param: unknown): unknown {
  if (typeof param === 'string' && param.trim() !== '') return param.trim();
  if (param !== null && typeof param === 'object') return param;
  return { Ref: 'ReportBucket' };
}

/** Param accounts: only `self` (the default) scans no other account, so its roles need no AssumeRole. */
export function isSingleAccount(accounts: unknown): boolean {
  const text = String(accounts ?? 'self').trim().toLowerCase();
  return text === '' || text === 'self';
}

/**
 * accounts=org needs param organizationId: the forwarded-events bus opens to the Organization by
 * aws:PrincipalOrgID, and without it no member account could forward (EventBridge would refuse
 * every event, silently for the central stack). Throws one clear line at package time.
 */
export function checkForwardingParams(accounts: unknown, organizationId: unknown): void {
  const scope = String(accounts ?? 'self').trim().toLowerCase();
  const org = String(organizationId ?? '').trim();
  if (scope === 'org' && org === '') {
    throw new Error('serverless param accounts=org needs param organizationId (o-...): the forwarded-events bus accepts member accounts\' events only from the Organization (aws:PrincipalOrgID)');
  }
  if (org !== '' && !/^o-[a-z0-9]{10,32}$/.test(org)) throw new Error(`serverless param organizationId=${JSON.stringify(organizationId)}: must be an Organization ID (o- and 10-32 lowercase letters or digits)`);
}

/** Checks the serverless params that shape IAM; throws one clear line on a bad combination. */
/** Param securityHub: true or false (anything else stops the deployment). */
export function parseSecurityHub(value: unknown): boolean {
  const text = String(value ?? 'false').trim().toLowerCase();
  if (text !== 'true' && text !== 'false') throw new Error(`serverless param securityHub=${JSON.stringify(value)}: must be true or false`);
  return text === 'true';
}

export function parseReadOnly(value: unknown, mode: unknown): boolean {
  const text = String(value ?? 'false').trim().toLowerCase();
  if (text !== 'true' && text !== 'false') throw new Error(`serverless param readOnly=${JSON.stringify(value)}: must be true or false`);
  const readOnly = text === 'true';
  if (readOnly && String(mode).trim().toLowerCase() === 'remediate') {
    throw new Error('serverless params readOnly=true and mode=remediate contradict each other: a read-only stack cannot re-enable PITR; use mode=alert or mode=report');
  }
  return readOnly;
}
