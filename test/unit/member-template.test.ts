/**
 * member/template.yaml (the member role a StackSet deploys in every scanned account): its read
 * actions are exactly what the scan calls in an account, derived from the modules' `permissions`
 * declarations (scripts/iam/member.ts), so the template cannot drift from the code; remediation
 * only with AllowRemediation=true; trust limited to the central account's pitr-guard roles.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCfnYaml } from '../../scripts/cfn-yaml';
import { loadMemberTemplate, memberStatements } from '../../scripts/iam/member';

const root = path.join(__dirname, '../..');
const template = loadMemberTemplate(root) as {
  Parameters: Record<string, { Default?: string; AllowedValues?: string[]; AllowedPattern?: string }>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};
const role = template.Resources.MemberRole!;
const props = role.Properties as {
  RoleName: unknown;
  AssumeRolePolicyDocument: { Statement: Record<string, unknown>[] };
  Policies: { PolicyName: string; PolicyDocument: { Statement: unknown[] } }[];
};
const statements = props.Policies[0]!.PolicyDocument.Statement;

type Stmt = { Sid: string; Effect: string; Action: string | string[]; Resource: unknown };
const TABLES = { 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/*' };
const asList = (a: string | string[]) => (Array.isArray(a) ? [...a] : [a]).sort();
const HUB_SCOPES: Record<string, unknown> = {
  securityHubProduct: { 'Fn::Sub': 'arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default' },
  securityHubHub: { 'Fn::Sub': 'arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:hub/default' },
};
const scope = (resource: string) => (resource === 'tables' ? TABLES : resource === '*' ? '*' : (HUB_SCOPES[resource] ?? `unexpected scope ${resource}`));

const unconditional = statements.filter((s): s is Stmt => !(s as Record<string, unknown>)['Fn::If']);
const conditional = statements.filter((s) => (s as Record<string, unknown>)['Fn::If']) as { 'Fn::If': [string, Stmt, unknown] }[];

describe('member role read actions', () => {
  const derived = memberStatements(root);

  it('derives the scan’s member-side reads from the declarations', () => {
    // Sanity of the derivation itself: the reads the inventory declares are there.
    expect(derived.read.flatMap((s) => s.actions).sort()).toEqual(
      expect.arrayContaining(['dynamodb:DescribeContinuousBackups', 'dynamodb:DescribeTable', 'dynamodb:ListTables', 'dynamodb:ListTagsOfResource']),
    );
    expect(derived.remediation.flatMap((s) => s.actions)).toEqual(['dynamodb:UpdateContinuousBackups']);
  });

  it('grants exactly the scan’s read set, statement by statement, on the same scopes', () => {
    const inTemplate = unconditional.map((s) => ({ sid: s.Sid, effect: s.Effect, actions: asList(s.Action), resource: s.Resource })).sort((a, b) => a.sid.localeCompare(b.sid));
    const expected = derived.read.map((s) => ({ sid: s.sid, effect: 'Allow', actions: [...s.actions].sort(), resource: scope(s.resource) })).sort((a, b) => a.sid.localeCompare(b.sid));
    expect(inTemplate).toEqual(expected);
  });

  it('grants UpdateContinuousBackups only under the Remediates condition (AllowRemediation=true)', () => {
    const remediates = conditional.filter((c) => c['Fn::If'][0] === 'Remediates');
    expect(remediates).toHaveLength(1);
    const [condition, granted, otherwise] = remediates[0]!['Fn::If'];
    expect(condition).toBe('Remediates');
    expect(template.Conditions.Remediates).toEqual({ 'Fn::Equals': [{ Ref: 'AllowRemediation' }, 'true'] });
    expect(template.Parameters.AllowRemediation).toEqual(expect.objectContaining({ Default: 'false', AllowedValues: ['true', 'false'] }));
    expect(otherwise).toEqual({ Ref: 'AWS::NoValue' });
    const expected = derived.remediation.map((s) => ({ Sid: s.sid, Effect: 'Allow', Action: s.actions.length === 1 ? s.actions[0] : s.actions, Resource: scope(s.resource) }));
    expect([granted]).toEqual(expected);
    // Nowhere else.
    expect(unconditional.flatMap((s) => asList(s.Action))).not.toContain('dynamodb:UpdateContinuousBackups');
  });

  it('grants the Security Hub import only under ImportsToSecurityHub (SecurityHub=true), exactly the declared statements on the account’s own product and hub', () => {
    expect(derived.securityHub.flatMap((s) => s.actions).sort()).toEqual(['securityhub:BatchImportFindings', 'securityhub:GetFindings']);
    expect(template.Conditions.ImportsToSecurityHub).toEqual({ 'Fn::Equals': [{ Ref: 'SecurityHub' }, 'true'] });
    expect(template.Parameters.SecurityHub).toEqual(expect.objectContaining({ Default: 'false', AllowedValues: ['true', 'false'] }));
    const hub = conditional.filter((c) => c['Fn::If'][0] === 'ImportsToSecurityHub');
    expect(hub.map((c) => c['Fn::If'][2])).toEqual(hub.map(() => ({ Ref: 'AWS::NoValue' })));
    const expected = derived.securityHub.map((s) => ({ Sid: s.sid, Effect: 'Allow', Action: s.actions.length === 1 ? s.actions[0] : s.actions, Resource: scope(s.resource) }));
    expect(hub.map((c) => c['Fn::If'][1]).sort((a, b) => a.Sid.localeCompare(b.Sid))).toEqual(expected.sort((a, b) => a.Sid.localeCompare(b.Sid)));
    expect(conditional).toHaveLength(1 + hub.length);
    expect(unconditional.flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('securityhub:'))).toEqual([]);
  });

  it('has no wildcard action and nothing but Allow', () => {
    const all = [...unconditional, ...conditional.map((c) => c['Fn::If'][1])];
    for (const s of all) {
      expect(s.Effect).toBe('Allow');
      for (const a of asList(s.Action)) expect(a).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
    }
  });
});

describe('member role trust and name', () => {
  const trust = props.AssumeRolePolicyDocument.Statement;
  const prefixArn = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${CentralAccountId}:role/${CentralRolePrefix}*' };

  it('is named by the MemberRoleName parameter, pitr-guard-member by default', () => {
    expect(props.RoleName).toEqual({ Ref: 'MemberRoleName' });
    expect(template.Parameters.MemberRoleName!.Default).toBe('pitr-guard-member');
  });

  it('trusts only the central account’s roles with the stack prefix, and requires the ExternalId when one is set', () => {
    expect(trust).toHaveLength(1);
    const t = trust[0]!;
    expect(t).toEqual(
      expect.objectContaining({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${CentralAccountId}:root' } } }),
    );
    expect(t.Condition).toEqual({
      'Fn::If': [
        'HasExternalId',
        { ArnLike: { 'aws:PrincipalArn': prefixArn }, StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } },
        { ArnLike: { 'aws:PrincipalArn': prefixArn } },
      ],
    });
    expect(template.Conditions.HasExternalId).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'ExternalId' }, ''] }] });
  });

  it('accepts only a 12-digit central account ID', () => {
    const pattern = new RegExp(template.Parameters.CentralAccountId!.AllowedPattern!);
    expect(['123456789012'].map((v) => pattern.test(v))).toEqual([true]);
    expect(['12345678901', '1234567890123', 'abcdefghijkl', ''].map((v) => pattern.test(v))).toEqual([false, false, false, false]);
  });

  it('creates the member role only in MemberRoleRegion (IAM is global), us-east-1 by default or none', () => {
    expect((role as { Condition?: string }).Condition).toBe('CreatesRole');
    expect(template.Conditions.CreatesRole).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, { Ref: 'MemberRoleRegion' }] });
    expect(template.Parameters.MemberRoleRegion!.Default).toBe('us-east-1');
    const pattern = new RegExp(template.Parameters.MemberRoleRegion!.AllowedPattern!);
    expect(['us-east-1', 'eu-central-2', 'none', 'None', 'us-east-1 ', ''].map((v) => pattern.test(v))).toEqual([true, true, true, false, false, false]);
  });
});

describe('event forwarding to the central bus', () => {
  const sls = parseCfnYaml(readFileSync(path.join(root, 'serverless.yml'), 'utf8')) as { resources: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> } };
  const central = sls.resources.Resources;
  const busArn = { 'Fn::Sub': 'arn:${AWS::Partition}:events:${CentralRegion}:${CentralAccountId}:event-bus/${CentralEventBusName}' };
  type Rule = { Type: string; Condition?: string; Properties: { EventPattern: unknown; State: string; Targets: Record<string, unknown>[]; EventBusName?: unknown } };
  const forwarding = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule') as [string, Rule][];

  it('has one forwarding rule per reactor rule, with exactly the central stack’s pattern (no second hand-kept copy)', () => {
    // The reactor's rules on the default bus (their copies on the forwarded-events bus are YAML aliases of them).
    const reactorRules = Object.entries(central).filter(([, r]) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern !== undefined && r.Properties.EventBusName === undefined);
    expect(reactorRules.map(([n]) => n).sort()).toEqual(['PitrDisabledRule', 'TableCreatedRule']);
    expect(reactorRules.map(([n]) => `Forward${n}`).sort()).toEqual(forwarding.map(([n]) => n).sort());
    for (const [name, rule] of reactorRules) {
      expect(template.Resources[`Forward${name}`]!.Properties.EventPattern).toEqual(rule.Properties.EventPattern);
    }
  });

  it('puts matched events from the default bus on the central forwarded-events bus (one hop), through the forwarding role, under Forwards', () => {
    for (const [, rule] of forwarding) {
      expect(rule.Condition).toBe('Forwards');
      expect(rule.Properties.State).toBe('ENABLED');
      expect(rule.Properties.EventBusName).toBeUndefined(); // the member's default bus, where CloudTrail delivers
      expect(rule.Properties.Targets).toEqual([{ Id: 'central', Arn: busArn, RoleArn: { 'Fn::GetAtt': ['ForwardingRole', 'Arn'] } }]);
    }
    expect(template.Parameters.CentralEventBusName!.Default).toBe('pitr-guard-events-prod'); // the central stack's bus for stage prod
  });

  it('gives the forwarding role events:PutEvents on the central bus only, trusted by EventBridge of this account', () => {
    const fr = template.Resources.ForwardingRole as unknown as { Condition: string; Properties: { RoleName?: unknown; AssumeRolePolicyDocument: { Statement: unknown[] }; Policies: { PolicyDocument: { Statement: unknown[] } }[] } };
    expect(fr.Condition).toBe('Forwards');
    expect(fr.Properties.RoleName).toBeUndefined(); // one per Region's stack: a fixed name would collide
    expect(fr.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } },
    ]);
    expect(fr.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement)).toEqual([{ Sid: 'PutOnCentralBus', Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn }]);
  });

  it('never forwards from the central account’s home Region (its default bus has the reactor’s rules: each event would come twice), and can be switched off', () => {
    expect(template.Conditions.IsCentralHomeRegion).toEqual({
      'Fn::And': [{ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, { Ref: 'CentralAccountId' }] }, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, { Ref: 'CentralRegion' }] }],
    });
    expect(template.Conditions.Forwards).toEqual({ 'Fn::And': [{ 'Fn::Equals': [{ Ref: 'ForwardEvents' }, 'true'] }, { 'Fn::Not': [{ Condition: 'IsCentralHomeRegion' }] }] });
    expect(template.Parameters.ForwardEvents).toEqual(expect.objectContaining({ Default: 'true', AllowedValues: ['true', 'false'] }));
  });

  it('creates the role, the forwarding role and the two rules, nothing else', () => {
    expect(Object.entries(template.Resources).map(([n, r]) => `${n}:${r.Type}`).sort()).toEqual(
      ['ForwardPitrDisabledRule:AWS::Events::Rule', 'ForwardTableCreatedRule:AWS::Events::Rule', 'ForwardingRole:AWS::IAM::Role', 'MemberRole:AWS::IAM::Role'],
    );
  });
});
