/**
 * Checks on what `serverless package` produced (scripts/check-package.sh runs this after cfn-lint):
 * runtime, per-function least-privilege IAM, and bundle sizes.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.PITR_GUARD_PACKAGE_DIR ?? path.join(__dirname, '../../.serverless');
const template = JSON.parse(readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};
const resources = Object.entries(template.Resources);
const functions = resources.filter(([, r]) => r.Type === 'AWS::Lambda::Function');
const roles = resources.filter(([, r]) => r.Type === 'AWS::IAM::Role');

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
function statements(role: { Properties: Record<string, unknown> }): Statement[] {
  const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

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
    const resourceless = new Set(['dynamodb:ListTables', 'account:ListRegions', 'config:PutEvaluations', 'config:GetResourceConfigHistory']);
    for (const [, role] of roles) {
      for (const s of statements(role)) {
        for (const a of actions(s)) {
          expect(a).not.toContain('*');
          if (s.Resource === '*') expect(resourceless).toContain(a);
        }
      }
    }
  });

  it('gives the scheduled scan exactly the read actions its code uses', () => {
    const role = template.Resources.ScheduledScanRole;
    expect(role).toBeDefined();
    const granted = statements(role!).flatMap(actions).sort();
    expect(granted).toEqual(
      [
        'account:ListRegions',
        'dynamodb:DescribeContinuousBackups',
        'dynamodb:DescribeTable',
        'dynamodb:ListTables',
        'dynamodb:ListTagsOfResource',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ].sort(),
    );
    const read = statements(role!).find((s) => s.Sid === 'ReadTables');
    expect(JSON.stringify(read?.Resource)).toContain(':table/*');
    expect(JSON.stringify(read?.Resource)).toContain('${AWS::AccountId}');
  });

  it('keeps every function bundle small (only the clients it uses)', () => {
    const zips = readdirSync(dir).filter((f) => f.endsWith('.zip'));
    expect(zips.length).toBe(functions.length);
    const sizes = Object.fromEntries(zips.map((z) => [z, statSync(path.join(dir, z)).size]));
    console.log('bundle sizes (bytes, zipped):', sizes);
    for (const size of Object.values(sizes)) expect(size).toBeLessThan(600 * 1024);
  });
});
