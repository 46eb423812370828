/**
 * Checks on what `serverless package` produced (scripts/check-package.sh runs this after cfn-lint):
 * runtime, per-function least-privilege IAM, and bundle sizes.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NO_GRANT_NEEDED, actionsInBundle } from '../../scripts/iam/commands';
import { bundleOf, declarationsOf, reachedModules, roleName, roleResources } from '../../scripts/iam/derive';
import { functionsOf } from '../../scripts/iam/docs';

const dir = process.env.PITR_GUARD_PACKAGE_DIR ?? path.join(__dirname, '../../.serverless');
const template = JSON.parse(readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};
const resources = Object.entries(template.Resources);
const functions = resources.filter(([, r]) => r.Type === 'AWS::Lambda::Function');
// The functions' roles (derived from code); the Organization scan's state machine and schedule
// roles are written in serverless.yml and checked in test/package/org-scan.test.ts.
const NOT_FUNCTION_ROLES = new Set(['OrgScanStateMachineRole', 'OrgScanScheduleRole']);
const roles = resources.filter(([name, r]) => r.Type === 'AWS::IAM::Role' && !NOT_FUNCTION_ROLES.has(name));

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
function statements(role: { Properties: Record<string, unknown> }): Statement[] {
  const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  // A conditional statement ({ "Fn::If": [condition, statement, AWS::NoValue] }) counts as granted.
  return policies.flatMap((p) => p.PolicyDocument.Statement).map((s) => conditionalStatement(s)?.statement ?? s);
}
function conditionalStatement(s: unknown): { condition: string; statement: Statement } | undefined {
  const branches = (s as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
  return branches ? { condition: branches[0], statement: branches[1] } : undefined;
}
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const root = path.join(__dirname, '../..');
const specs = functionsOf(root);
const readTemplate = (d: string) =>
  JSON.parse(readFileSync(path.join(d, 'cloudformation-template-update-stack.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };

describe('packaged CloudFormation template', () => {
  it('has the scheduled scan function on nodejs22.x, arm64, each function with its own role', () => {
    expect(functions.map(([name]) => name)).toContain('ScheduledScanLambdaFunction');
    const roleRefs = new Set<string>();
    for (const [, fn] of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      const role = fn.Properties.Role as { 'Fn::GetAtt': [string, string] };
      expect(role['Fn::GetAtt'][1]).toBe('Arn');
      roleRefs.add(role['Fn::GetAtt'][0]);
    }
    expect(roleRefs.size).toBe(functions.length);
  });

  it('grants no wildcard action, and "*" resources only to actions that have no resource type', () => {
    // the actions declared with resource "*" (lib/core/iam.ts: the action has no resource type)
    const declared = specs.flatMap((f) => [...declarationsOf(root, reachedModules(root, f.handler)).values()].flat());
    const resourceless = new Set(declared.filter((p) => p.resource === '*').flatMap((p) => p.actions));
    expect(resourceless.size).toBeGreaterThan(0);
    for (const [, role] of roles) {
      for (const s of statements(role)) {
        for (const a of actions(s)) {
          expect(a).not.toContain('*');
          if (s.Resource === '*') expect(resourceless).toContain(a);
        }
      }
    }
  });

  it('gives each function the role derived from the modules its handler bundles (scripts/iam/derive.ts), nothing more', () => {
    const derived = roleResources({ root, service: 'pitr-guard', stage: 'ci', readOnly: false, singleAccount: true, alertTopicArn: { Ref: 'AlertTopic' }, functions: specs });
    expect(roles.map(([name]) => name).sort()).toEqual(Object.keys(derived).sort());
    for (const [name, role] of roles) expect([name, role]).toEqual([name, derived[name]]);
    for (const fn of specs) {
      expect(template.Resources[`${fn.name[0]!.toUpperCase()}${fn.name.slice(1)}LambdaFunction`]?.Properties.Role).toEqual({ 'Fn::GetAtt': [roleName(fn.name), 'Arn'] });
    }
    // and the derivation covers every AWS command the bundle of each handler sends (read from its text),
    // except what only scanning other accounts needs: the default param accounts=self leaves that out
    for (const fn of specs) {
      const granted = statements(template.Resources[roleName(fn.name)]!).flatMap(actions);
      // and what only Security Hub needs: the default param securityHub=false leaves that out
      const multiAccountOnly = new Set([...declarationsOf(root, reachedModules(root, fn.handler)).values()].flat().filter((p) => p.multiAccount || p.securityHub).flatMap((p) => p.actions));
      const sent = actionsInBundle(bundleOf(root, fn.handler).text, fn.handler).filter((a) => !NO_GRANT_NEEDED.has(a));
      expect([fn.name, sent.filter((a) => !granted.includes(a) && !multiAccountOnly.has(a))]).toEqual([fn.name, []]);
      expect([fn.name, granted.filter((a) => multiAccountOnly.has(a))]).toEqual([fn.name, []]);
    }
  });

  it('keeps every function bundle small (only the clients it uses)', () => {
    const zips = readdirSync(dir).filter((f) => f.endsWith('.zip'));
    expect(zips.length).toBe(functions.length);
    const sizes = Object.fromEntries(zips.map((z) => [z, statSync(path.join(dir, z)).size]));
    for (const size of Object.values(sizes)) expect(size).toBeLessThan(600 * 1024);
  });
});

describe('custom AWS Config rule (param configRule)', () => {
  type Resource = { Type: string; Condition?: string; DependsOn?: string | string[]; Properties: Record<string, unknown> };
  const res = template.Resources as Record<string, Resource>;
  const full = template as unknown as { Parameters?: Record<string, { Default?: string; AllowedValues?: string[] }>; Conditions?: Record<string, unknown>; Outputs?: Record<string, unknown> };
  const ruleResources = ['ConfigRuleLambdaFunction', 'ConfigRuleLogGroup', 'ConfigRuleRole', 'ConfigRuleInvokePermission', 'PitrConfigRule'];

  it('creates the function, its role and log group, the permission and the rule only under one condition', () => {
    expect(full.Parameters?.ConfigRuleEnabled).toMatchObject({ Default: 'true', AllowedValues: ['true', 'false'] });
    expect(full.Conditions?.CreateConfigRule).toEqual({ 'Fn::Equals': [{ Ref: 'ConfigRuleEnabled' }, 'true'] });
    for (const name of ruleResources) expect([name, res[name]?.Condition]).toEqual([name, 'CreateConfigRule']);
    expect(res.ConfigRuleLambdaFunction?.Properties.Role).toEqual({ 'Fn::GetAtt': ['ConfigRuleRole', 'Arn'] });
    // nothing unconditional refers to a conditional resource (the stack must deploy with configRule=false)
    const conditional = Object.entries(res).filter(([, r]) => r.Condition === 'CreateConfigRule').map(([n]) => n);
    const unconditional = [...Object.values(res).filter((r) => !r.Condition), ...Object.values(full.Outputs ?? {})].map((r) => JSON.stringify(r));
    for (const name of conditional) {
      for (const text of unconditional) {
        expect(text).not.toContain(`"Ref":"${name}"`);
        expect(text).not.toContain(`"Fn::GetAtt":["${name}"`);
      }
    }
  });

  it('is a CUSTOM_LAMBDA rule on AWS::DynamoDB::Table with change, oversized and periodic triggers', () => {
    const rule = res.PitrConfigRule!;
    expect(rule.Type).toBe('AWS::Config::ConfigRule');
    expect(rule.DependsOn).toEqual(['ConfigRuleInvokePermission']);
    expect(rule.Properties).toMatchObject({
      ConfigRuleName: 'pitr-guard-ci-dynamodb-pitr',
      InputParameters: { minRecoveryDays: '35', exemptTag: 'pitr-guard:exempt' },
      Scope: { ComplianceResourceTypes: ['AWS::DynamoDB::Table'] },
      Source: {
        Owner: 'CUSTOM_LAMBDA',
        SourceIdentifier: { 'Fn::GetAtt': ['ConfigRuleLambdaFunction', 'Arn'] },
        SourceDetails: [
          { EventSource: 'aws.config', MessageType: 'ConfigurationItemChangeNotification' },
          { EventSource: 'aws.config', MessageType: 'OversizedConfigurationItemChangeNotification' },
          { EventSource: 'aws.config', MessageType: 'ScheduledNotification', MaximumExecutionFrequency: 'TwentyFour_Hours' },
        ],
      },
    });
    expect(String(rule.Properties.Description).length).toBeLessThanOrEqual(256);
  });

  it('lets only AWS Config from this account invoke the function', () => {
    expect(res.ConfigRuleInvokePermission).toMatchObject({
      Type: 'AWS::Lambda::Permission',
      Properties: {
        FunctionName: { 'Fn::GetAtt': ['ConfigRuleLambdaFunction', 'Arn'] },
        Action: 'lambda:InvokeFunction',
        Principal: 'config.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
      },
    });
  });

  it('scopes the rule function\'s reads to tables, its logs to its own group, its failures to the queue', () => {
    const role = template.Resources.ConfigRuleRole!;
    const read = statements(role).find((s) => s.Sid === 'ReadTables');
    expect(read?.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/*' });
    const logs = statements(role).find((s) => s.Sid === 'Logs');
    expect(JSON.stringify(logs?.Resource)).toContain('/aws/lambda/pitr-guard-ci-configRule:*');
    const destination = statements(role).find((s) => s.Sid === 'OnFailureDestination');
    expect(destination?.Resource).toEqual({ 'Fn::GetAtt': ['FailedEventsQueue', 'Arn'] });
    expect(statements(role).flatMap(actions)).not.toContain('dynamodb:UpdateContinuousBackups');
  });

  it('records failed rule runs in the failed-events queue, under the rule condition', () => {
    const conf = template.Resources.ConfigRuleLambdaEvConf as unknown as { Condition?: string; Properties: Record<string, unknown> };
    expect(conf.Condition).toBe('CreateConfigRule');
    expect(conf.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['FailedEventsQueue', 'Arn'] } } },
    });
  });

  it('alarms when anything lands in the failed-events queue', () => {
    const alarm = template.Resources.FailedEventsAlarm as unknown as { Type: string; Properties: Record<string, unknown> };
    expect(alarm.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['FailedEventsQueue', 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: 'FailedEventsAlarmTopic' }],
    });
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key: the alarm topic has none.
    expect(template.Resources.FailedEventsAlarmTopic?.Properties ?? {}).not.toHaveProperty('KmsMasterKeyId');
  });

  it('packages with configRule=false into a template whose condition is off', () => {
    const noRuleDir = process.env.PITR_GUARD_PACKAGE_DIR_NO_CONFIG_RULE ?? path.join(tmpdir(), 'pitr-guard-package-no-config-rule');
    const other = JSON.parse(readFileSync(path.join(noRuleDir, 'cloudformation-template-update-stack.json'), 'utf8')) as typeof full & { Resources: Record<string, Resource> };
    expect(other.Parameters?.ConfigRuleEnabled?.Default).toBe('false');
    expect(other.Conditions?.CreateConfigRule).toEqual(full.Conditions?.CreateConfigRule);
    for (const name of ruleResources) expect([name, other.Resources[name]?.Condition]).toEqual([name, 'CreateConfigRule']);
  });
});

describe('CloudTrail reactor, alerts and failed events', () => {
  type Resource = { Type: string; Condition?: string; Properties: Record<string, unknown> };
  const res = template.Resources as Record<string, Resource>;
  const full = template as unknown as { Conditions?: Record<string, unknown>; Parameters?: Record<string, { Default?: string }> };
  const bySid = (role: string, sid: string) => statements(res[role]!).find((s) => s.Sid === sid);
  const tableStar = { 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/*' };
  const queueArn = { 'Fn::GetAtt': ['FailedEventsQueue', 'Arn'] };

  it('gives the reactor each action on its own resources', () => {
    expect(res.PitrChangeLambdaFunction?.Properties.Role).toEqual({ 'Fn::GetAtt': ['PitrChangeRole', 'Arn'] });
    expect(bySid('PitrChangeRole', 'ReadTables')?.Resource).toEqual(tableStar);
    expect(bySid('PitrChangeRole', 'Remediate')).toMatchObject({ Action: 'dynamodb:UpdateContinuousBackups', Resource: tableStar });
    // item-level actions only on the de-duplication table, never on table/*
    expect(bySid('PitrChangeRole', 'Idempotency')?.Resource).toEqual({ 'Fn::GetAtt': ['IdempotencyTable', 'Arn'] });
    expect(bySid('PitrChangeRole', 'Alert')).toMatchObject({ Action: 'sns:Publish', Resource: { Ref: 'AlertTopic' } });
    expect(bySid('PitrChangeRole', 'OnFailureDestination')).toMatchObject({ Action: 'sqs:SendMessage', Resource: queueArn });
    expect(JSON.stringify(bySid('PitrChangeRole', 'Logs')?.Resource)).toContain('pitrChange:*');
    // it reads one table: no listing of tables or Regions (tree-shaken out of its bundle)
    expect(statements(res.PitrChangeRole!).flatMap(actions)).not.toContain('dynamodb:ListTables');
  });

  it('grants ssm:GetParameter only on the webhook parameter, and kms:Decrypt only for a customer key, both conditionally', () => {
    for (const role of ['PitrChangeRole', 'ScheduledScanRole']) {
      const raw = (res[role]!.Properties.Policies as { PolicyDocument: { Statement: unknown[] } }[]).flatMap((p) => p.PolicyDocument.Statement);
      const conditional = raw.map(conditionalStatement).filter((c) => c !== undefined);
      const ssm = conditional.find((c) => c.statement.Sid === 'SlackWebhookUrl');
      expect(ssm?.condition).toBe('HasSlackWebhook');
      expect(ssm?.statement.Action).toBe('ssm:GetParameter');
      expect(JSON.stringify(ssm?.statement.Resource)).toContain(':parameter/${SlackWebhookParameterName}');
      const kms = conditional.find((c) => c.statement.Sid === 'SlackWebhookKey');
      expect(kms?.condition).toBe('HasSlackWebhookKey');
      expect(kms?.statement).toMatchObject({ Action: 'kms:Decrypt', Resource: { Ref: 'SlackWebhookKmsKeyArn' } });
      expect(JSON.stringify(kms?.statement)).toContain('kms:ViaService');
      // nothing else is conditional, nothing else reads SSM or KMS
      expect(conditional).toHaveLength(2);
    }
    expect(full.Parameters?.SlackWebhookParameterName?.Default).toBe('');
    expect(full.Conditions?.HasSlackWebhook).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'SlackWebhookParameterName' }, ''] }] });
  });

  it('allows UpdateContinuousBackups only to the functions whose bundle remediates', () => {
    const remediating = Object.entries(res)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .filter(([, r]) => statements(r).some((s) => actions(s).includes('dynamodb:UpdateContinuousBackups')))
      .map(([name]) => name)
      .sort();
    const bundlingRemediation = specs.filter((f) => reachedModules(root, f.handler).includes('lib/act/remediate.ts')).map((f) => roleName(f.name));
    expect(remediating).toEqual(bundlingRemediation.sort());
    expect(remediating.length).toBeGreaterThan(0);
  });

  it('gives the reactor a small reserved concurrency, retries and an on-failure queue; the scan an on-failure queue too', () => {
    expect(res.PitrChangeLambdaFunction?.Properties.ReservedConcurrentExecutions).toBe(2);
    expect(res.PitrChangeLambdaFunction?.Properties.Timeout).toBe(300);
    const env = (res.PitrChangeLambdaFunction?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      PITR_GUARD_ALERT_TOPIC_ARN: { Ref: 'AlertTopic' },
      PITR_GUARD_IDEMPOTENCY_TABLE: { Ref: 'IdempotencyTable' },
      PITR_GUARD_SLACK_WEBHOOK_PARAM: '',
    });
    const configs = Object.values(res).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    const forFn = (fn: string) => configs.find((c) => JSON.stringify(c.Properties.FunctionName) === JSON.stringify({ Ref: fn }));
    expect(forFn('PitrChangeLambdaFunction')?.Properties).toMatchObject({ MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: queueArn } } });
    expect(forFn('ScheduledScanLambdaFunction')?.Properties).toMatchObject({ MaximumRetryAttempts: 1, DestinationConfig: { OnFailure: { Destination: queueArn } } });
  });

  it('routes both EventBridge rules to the reactor with a retry policy and the dead-letter queue, which only they may write to', () => {
    for (const rule of ['PitrDisabledRule', 'TableCreatedRule', 'ForwardedPitrDisabledRule', 'ForwardedTableCreatedRule']) {
      const r = res[rule]!;
      expect(r.Type).toBe('AWS::Events::Rule');
      expect(r.Properties.State).toBe('ENABLED');
      const targets = r.Properties.Targets as Record<string, unknown>[];
      expect(targets).toHaveLength(1);
      expect(targets[0]).toMatchObject({
        Arn: { 'Fn::GetAtt': ['PitrChangeLambdaFunction', 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
        DeadLetterConfig: { Arn: queueArn },
      });
      const permission = Object.values(res).find(
        (p) => p.Type === 'AWS::Lambda::Permission' && JSON.stringify(p.Properties.SourceArn) === JSON.stringify({ 'Fn::GetAtt': [rule, 'Arn'] }),
      );
      expect(permission?.Properties).toMatchObject({ Principal: 'events.amazonaws.com', Action: 'lambda:InvokeFunction' });
    }
    const policy = res.FailedEventsQueuePolicy!.Properties.PolicyDocument as { Statement: Record<string, unknown>[] };
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0]).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      // (and the Organization scan's schedule rule, when it exists: param accounts is not self)
      Condition: {
        ArnEquals: {
          'aws:SourceArn': [
            { 'Fn::GetAtt': ['PitrDisabledRule', 'Arn'] },
            { 'Fn::GetAtt': ['TableCreatedRule', 'Arn'] },
            { 'Fn::GetAtt': ['ForwardedPitrDisabledRule', 'Arn'] },
            { 'Fn::GetAtt': ['ForwardedTableCreatedRule', 'Arn'] },
            { 'Fn::If': ['ScheduleOrganizationScan', { 'Fn::GetAtt': ['OrgScanScheduleRule', 'Arn'] }, { Ref: 'AWS::NoValue' }] },
          ],
        },
      },
    });
  });

  it('has the alert topic, an optional email subscription, and a TTL de-duplication table with PITR on', () => {
    expect(res.AlertTopic?.Type).toBe('AWS::SNS::Topic');
    expect(res.AlertEmailSubscription).toMatchObject({ Condition: 'HasAlertEmail', Properties: { Protocol: 'email', TopicArn: { Ref: 'AlertTopic' } } });
    expect(res.IdempotencyTable?.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'eventId', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      // the param minRecoveryDays, as a string (CloudFormation converts it)
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: '35' },
    });
  });
});

describe('findings ledger (lib/state/ledger.ts) in the packaged template', () => {
  type Resource = { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string; Properties: Record<string, unknown> };
  const res = template.Resources as Record<string, Resource>;

  it('is an on-demand, encrypted table keyed on tableArn, with PITR on, kept when the stack goes', () => {
    expect(res.FindingsTable).toMatchObject({
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'tableArn', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'tableArn', KeyType: 'HASH' }],
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: '35' },
      },
    });
  });

  it('is named to the scheduled scan (PITR_GUARD_FINDINGS_TABLE), which may UpdateItem on it and nowhere else', () => {
    const env = (res.ScheduledScanLambdaFunction?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.PITR_GUARD_FINDINGS_TABLE).toEqual({ Ref: 'FindingsTable' });
    const ledger = statements(res.ScheduledScanRole!).filter((s) => actions(s).includes('dynamodb:UpdateItem'));
    expect(ledger).toEqual([{ Sid: 'FindingsLedger', Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: { 'Fn::GetAtt': ['FindingsTable', 'Arn'] } }]);
    expect(statements(res.ScheduledScanRole!).flatMap(actions)).not.toContain('dynamodb:GetItem');
  });

  it('is named to the reactor too (incidents, loop protection), which may GetItem and UpdateItem on it and nowhere else', () => {
    const env = (res.PitrChangeLambdaFunction?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ PITR_GUARD_FINDINGS_TABLE: { Ref: 'FindingsTable' }, PITR_GUARD_REMIND_HOURS: '24', PITR_GUARD_LOOP_LIMIT: '3', PITR_GUARD_LOOP_WINDOW_MINUTES: '60' });
    const ledger = statements(res.PitrChangeRole!).filter((s) => actions(s).some((a) => a === 'dynamodb:GetItem' || a === 'dynamodb:UpdateItem') && JSON.stringify(s.Resource).includes('FindingsTable'));
    expect(ledger).toEqual([{ Sid: 'FindingsLedgerIncidents', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': ['FindingsTable', 'Arn'] } }]);
  });
});

describe('readOnly=true (npx serverless package --param="readOnly=true")', () => {
  const readOnlyDir = process.env.PITR_GUARD_PACKAGE_DIR_READ_ONLY ?? path.join(tmpdir(), 'pitr-guard-package-read-only');
  const ro = readTemplate(readOnlyDir);
  const roRoles = Object.entries(ro.Resources).filter(([name, r]) => r.Type === 'AWS::IAM::Role' && !NOT_FUNCTION_ROLES.has(name));

  it('has no role that can call UpdateContinuousBackups, and the roles derived with readOnly', () => {
    expect(roRoles.length).toBe(roles.length);
    for (const [name, role] of roRoles) expect([name, statements(role).flatMap(actions)]).toEqual([name, expect.not.arrayContaining(['dynamodb:UpdateContinuousBackups'])]);
    const derived = roleResources({ root, service: 'pitr-guard', stage: 'ci', readOnly: true, singleAccount: true, alertTopicArn: { Ref: 'AlertTopic' }, functions: specs });
    for (const [name, role] of roRoles) expect([name, role]).toEqual([name, derived[name]]);
  });

  it('tells every function it is read-only (mode remediate is then refused at cold start)', () => {
    for (const [name, fn] of Object.entries(ro.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function')) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect([name, env.PITR_GUARD_READ_ONLY, env.PITR_GUARD_MODE]).toEqual([name, 'true', 'report']);
    }
    const full = functions.map(([, fn]) => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.PITR_GUARD_READ_ONLY);
    expect(new Set(full)).toEqual(new Set(['false']));
  });
});

describe('accounts=list (npx serverless package --param="accounts=111111111111,222222222222"): the central stack for other accounts', () => {
  const multiDir = process.env.PITR_GUARD_PACKAGE_DIR_MULTI_ACCOUNT ?? path.join(tmpdir(), 'pitr-guard-package-multi-account');
  const multi = readTemplate(multiDir) as ReturnType<typeof readTemplate> & { Parameters: Record<string, { Default?: string }>; Conditions: Record<string, unknown> };
  const r = multi.Resources as Record<string, { Type: string; Condition?: string; Properties: Record<string, unknown> }>;

  it('gives the reactor sts:AssumeRole on the member role only, ListAccounts and ListBackups; the default (self) template has no AssumeRole', () => {
    const reactor = statements(r.PitrChangeRole!);
    expect(reactor.find((s) => s.Sid === 'AssumeMemberRole')).toEqual({ Sid: 'AssumeMemberRole', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/pitr-guard-member' } });
    expect(reactor.find((s) => s.Sid === 'ListOrganizationAccounts')).toMatchObject({ Action: 'organizations:ListAccounts', Resource: '*' });
    expect(reactor.find((s) => s.Sid === 'FindSystemBackups')).toMatchObject({ Action: 'dynamodb:ListBackups', Resource: '*' });
    const self = statements(template.Resources.PitrChangeRole!);
    expect(self.flatMap(actions)).not.toContain('sts:AssumeRole');
    expect(self.flatMap(actions)).toContain('dynamodb:ListBackups');
    const derived = roleResources({ root, service: 'pitr-guard', stage: 'ci', readOnly: false, singleAccount: false, alertTopicArn: { Ref: 'AlertTopic' }, functions: specs });
    expect(r.PitrChangeRole).toEqual(derived.PitrChangeRole);
  });

  it('has the forwarded-events bus, open to other accounts with events:PutEvents only: the listed accounts (no Organization ID given), or the Organization', () => {
    expect(multi.Parameters.Accounts?.Default).toBe('111111111111,222222222222');
    expect(r.ForwardedEventsBus).toEqual({ Type: 'AWS::Events::EventBus', Properties: { Name: 'pitr-guard-events-ci' } });
    // The default (accounts=self) template has the bus too (this account's other Regions forward to it), and no grant can apply.
    expect(template.Resources.ForwardedEventsBus?.Type).toBe('AWS::Events::EventBus');
    expect((template as unknown as { Parameters: Record<string, { Default?: string }> }).Parameters.Accounts?.Default).toBe('self');
    expect(multi.Conditions.MultiAccount).toEqual({ 'Fn::Not': [{ Condition: 'ScopeIsSelf' }] });
    expect(r.ForwardedEventsFromAccounts).toEqual({
      Type: 'AWS::Events::EventBusPolicy',
      Condition: 'AcceptsAccountList',
      Properties: {
        EventBusName: { Ref: 'ForwardedEventsBus' },
        StatementId: 'pitr-guard-accounts',
        Statement: { Sid: 'pitr-guard-accounts', Effect: 'Allow', Principal: { AWS: { 'Fn::Split': [',', { Ref: 'Accounts' }] } }, Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': ['ForwardedEventsBus', 'Arn'] } },
      },
    });
    expect(r.ForwardedEventsFromOrganization?.Condition).toBe('AcceptsOrganization');
    expect(r.ForwardedEventsFromOrganization?.Properties.Statement).toMatchObject({ Principal: '*', Action: 'events:PutEvents', Condition: { StringEquals: { 'aws:PrincipalOrgID': { Ref: 'OrganizationId' } } } });
  });

  it('has the reactor’s rules on that bus with the default bus’s patterns, invoking the reactor', () => {
    for (const name of ['PitrDisabledRule', 'TableCreatedRule']) {
      const forwarded = r[`Forwarded${name}`]!;
      expect(forwarded.Condition).toBeUndefined();
      expect(forwarded.Properties.EventBusName).toEqual({ Ref: 'ForwardedEventsBus' });
      expect(forwarded.Properties.EventPattern).toEqual(r[name]!.Properties.EventPattern);
      expect((forwarded.Properties.Targets as Record<string, unknown>[])[0]).toMatchObject({ Arn: { 'Fn::GetAtt': ['PitrChangeLambdaFunction', 'Arn'] } });
    }
    expect((r.TableCreatedRule!.Properties.EventPattern as { detail: { eventName: string[] } }).detail.eventName).toContain('DeleteTable');
  });
});
