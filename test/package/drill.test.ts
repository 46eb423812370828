/**
 * The scheduled restore drill in the packaged templates (scripts/check-package.sh): off by default
 * (everything of it under condition CreateRestoreDrill, nothing unconditional refers to it), and,
 * packaged with param drillTables set, a role that restores exactly those tables and touches only
 * their drill copies, a schedule, and no Lambda retry.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

type Resource = { Type: string; Condition?: string; Properties: Record<string, unknown> };
type Template = { Parameters?: Record<string, { Default?: string }>; Conditions?: Record<string, unknown>; Outputs?: Record<string, unknown>; Resources: Record<string, Resource> };
const load = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
const base = load(process.env.PITR_GUARD_PACKAGE_DIR ?? path.join(__dirname, '../../.serverless'));
const drill = load(process.env.PITR_GUARD_PACKAGE_DIR_DRILL ?? path.join(tmpdir(), 'pitr-guard-package-drill'));
const DRILL_RESOURCES = ['RestoreDrillLambdaFunction', 'RestoreDrillRole', 'RestoreDrillLogGroup', 'RestoreDrillLambdaEvConf', 'RestoreDrillEventsRuleSchedule1', 'RestoreDrillLambdaPermissionEventsRuleSchedule1'];

type Statement = { Sid: string; Action: string | string[]; Resource: unknown };
const statements = (t: Template) => ((t.Resources.RestoreDrillRole?.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[])[0]!.PolicyDocument.Statement);

describe('scheduled restore drill (param drillTables)', () => {
  it('is off by default: every drill resource under CreateRestoreDrill, which is false for an empty list', () => {
    expect(base.Parameters?.DrillTables?.Default).toBe('');
    expect(base.Conditions?.CreateRestoreDrill).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'DrillTables' }, ''] }] });
    for (const name of DRILL_RESOURCES) expect([name, base.Resources[name]?.Condition]).toEqual([name, 'CreateRestoreDrill']);
    const unconditional = [...Object.values(base.Resources).filter((r) => !r.Condition), ...Object.values(base.Outputs ?? {})].map((r) => JSON.stringify(r));
    for (const name of DRILL_RESOURCES) {
      for (const text of unconditional) {
        expect(text).not.toContain(`"Ref":"${name}"`);
        expect(text).not.toContain(`"Fn::GetAtt":["${name}"`);
      }
    }
  });

  it('with drillTables set: restores exactly those tables, writes only their drill copies, never holds UpdateContinuousBackups', () => {
    expect(drill.Parameters?.DrillTables?.Default).toBe('eu-west-1:orders,us-east-1:payments');
    const bySid = Object.fromEntries(statements(drill).map((s) => [s.Sid, s]));
    const table = (region: string, name: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:dynamodb:${region}:\${AWS::AccountId}:table/${name}` });
    expect(bySid.DrillRestore).toMatchObject({ Action: 'dynamodb:RestoreTableToPointInTime', Resource: [table('eu-west-1', 'orders'), table('us-east-1', 'payments')] });
    expect(bySid.DrillReadSource?.Resource).toEqual([table('eu-west-1', 'orders'), table('us-east-1', 'payments')]);
    expect(bySid.DrillTemporaryTable?.Resource).toEqual([table('eu-west-1', 'orders-pitr-drill-*'), table('us-east-1', 'payments-pitr-drill-*')]);
    expect(JSON.stringify(drill.Resources.RestoreDrillRole)).not.toContain('UpdateContinuousBackups');
    expect(JSON.stringify(drill.Resources.RestoreDrillRole)).not.toContain(':table/*');
  });

  it('runs on its schedule, with the tables in its environment, and is never retried by Lambda', () => {
    const fn = drill.Resources.RestoreDrillLambdaFunction!;
    expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables.PITR_GUARD_DRILL_TABLES).toBe('eu-west-1:orders,us-east-1:payments');
    expect(fn.Properties.Timeout).toBe(900);
    expect(drill.Resources.RestoreDrillEventsRuleSchedule1?.Properties.ScheduleExpression).toBe('rate(7 days)');
    expect(drill.Resources.RestoreDrillLambdaEvConf?.Properties).toMatchObject({ MaximumRetryAttempts: 0, DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['FailedEventsQueue', 'Arn'] } } } });
  });
});
