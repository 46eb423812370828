/**
 * The Organization scan in the packaged template (scripts/check-package.sh): the state machine and
 * its definition, its least-privilege role, the report bucket's security, the schedule that starts
 * the state machine only when param accounts is not self, and the three functions' S3 scopes.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

type Resource = { Type: string; Condition?: string; DeletionPolicy?: string; UpdateReplacePolicy?: string; Properties: Record<string, unknown> };
type Template = { Parameters: Record<string, { Default?: unknown; AllowedValues?: string[] }>; Conditions: Record<string, unknown>; Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Principal?: unknown };

const load = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
const template = load(process.env.PITR_GUARD_PACKAGE_DIR ?? path.join(__dirname, '../../.serverless'));
const org = load(process.env.PITR_GUARD_PACKAGE_DIR_ORG ?? path.join(tmpdir(), 'pitr-guard-package-org'));
const R = template.Resources;
const root = path.join(__dirname, '../..');

function statementsOf(role: Resource): Statement[] {
  return (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement);
}
const bySid = (role: Resource): Record<string, Statement> => Object.fromEntries(statementsOf(role).map((s) => [s.Sid ?? '', s]));
const bucketScope = (suffix: string) => ({ 'Fn::Sub': [`arn:\${AWS::Partition}:s3:::\${Bucket}/${suffix}`, { Bucket: { Ref: 'ReportBucket' } }] });

describe('the Organization scan state machine', () => {
  const sm = R.OrgScanStateMachine!;

  it('is a STANDARD state machine with a fixed name, the definition file, the three functions substituted, and error logging', () => {
    expect(sm.Type).toBe('AWS::StepFunctions::StateMachine');
    expect(sm.Properties).toMatchObject({ StateMachineName: 'pitr-guard-org-scan-ci', StateMachineType: 'STANDARD', RoleArn: { 'Fn::GetAtt': ['OrgScanStateMachineRole', 'Arn'] } });
    expect(sm.Properties.Definition).toEqual(JSON.parse(readFileSync(path.join(root, 'statemachine/org-scan.asl.json'), 'utf8')));
    expect(sm.Properties.DefinitionSubstitutions).toEqual({
      PlanFunctionArn: { 'Fn::GetAtt': ['OrgPlanLambdaFunction', 'Arn'] },
      ShardFunctionArn: { 'Fn::GetAtt': ['OrgShardLambdaFunction', 'Arn'] },
      AggregateFunctionArn: { 'Fn::GetAtt': ['OrgAggregateLambdaFunction', 'Arn'] },
    });
    expect(sm.Properties.LoggingConfiguration).toEqual({ Level: 'ERROR', IncludeExecutionData: false, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['OrgScanLogGroup', 'Arn'] } } }] });
    expect(R.OrgScanLogGroup?.Properties).toEqual({ LogGroupName: '/aws/vendedlogs/states/pitr-guard-org-scan-ci', RetentionInDays: 90 });
  });

  it('has its own role with exactly the actions a Distributed Map of lambda:invoke tasks needs, scoped to its functions, executions and run files', () => {
    const role = R.OrgScanStateMachineRole!;
    expect(role.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }],
    });
    const s = bySid(role);
    expect(Object.keys(s).sort()).toEqual(['DistributedMapChildren', 'DistributedMapExecutions', 'InvokeSteps', 'ItemReader', 'LogDelivery', 'ResultWriter']);
    for (const st of Object.values(s)) expect(st.Effect).toBe('Allow');
    expect(s.InvokeSteps).toMatchObject({ Action: 'lambda:InvokeFunction', Resource: ['OrgPlanLambdaFunction', 'OrgShardLambdaFunction', 'OrgAggregateLambdaFunction'].map((f) => ({ 'Fn::GetAtt': [f, 'Arn'] })) });
    expect(s.DistributedMapChildren).toMatchObject({ Action: 'states:StartExecution', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:pitr-guard-org-scan-ci' } });
    expect(s.DistributedMapExecutions).toMatchObject({ Action: ['states:DescribeExecution', 'states:StopExecution'], Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:pitr-guard-org-scan-ci/*' } });
    expect(s.ItemReader).toMatchObject({ Action: 's3:GetObject', Resource: bucketScope('runs/*/shards.json') });
    expect(s.ResultWriter).toMatchObject({ Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'], Resource: bucketScope('runs/*/results/*') });
    expect(s.LogDelivery).toMatchObject({
      Action: ['logs:CreateLogDelivery', 'logs:DeleteLogDelivery', 'logs:DescribeLogGroups', 'logs:DescribeResourcePolicies', 'logs:GetLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:UpdateLogDelivery'],
      Resource: '*',
    });
    // No reference to the machine itself from its role (a circular dependency): its ARN is built from the fixed name.
    expect(JSON.stringify(role)).not.toContain('"Ref":"OrgScanStateMachine"');
  });
});

describe('the alarm on an unfinished run', () => {
  it('sums the state machine’s failed, timed-out and aborted executions and notifies the alarm topic', () => {
    const alarm = R.OrgScanFailedAlarm!;
    expect(alarm.Type).toBe('AWS::CloudWatch::Alarm');
    const metrics = alarm.Properties.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] } } }[];
    expect(metrics.filter((m) => m.MetricStat).map((m) => [m.MetricStat!.Metric.Namespace, m.MetricStat!.Metric.MetricName, m.MetricStat!.Metric.Dimensions])).toEqual(
      ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'].map((name) => ['AWS/States', name, [{ Name: 'StateMachineArn', Value: { Ref: 'OrgScanStateMachine' } }]]),
    );
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)');
    expect(alarm.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching', AlarmActions: [{ Ref: 'FailedEventsAlarmTopic' }] });
  });
});

describe('the report bucket', () => {
  const bucket = R.ReportBucket!;

  it('is private, encrypted, owner-enforced, kept when the stack goes, and expires runs/ after 30 days and reports/ after reportRetentionDays', () => {
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect([bucket.DeletionPolicy, bucket.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.Properties.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket.Properties.LifecycleConfiguration).toEqual({
      Rules: [
        { Id: 'expire-run-files', Status: 'Enabled', Prefix: 'runs/', ExpirationInDays: 30 },
        { Id: 'expire-reports', Status: 'Enabled', Prefix: 'reports/', ExpirationInDays: { Ref: 'ReportRetentionDays' } },
        { Id: 'abort-incomplete-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
      ],
    });
    expect(template.Parameters.ReportRetentionDays).toMatchObject({ Default: 400, MinValue: 1 });
  });

  it('denies every request that is not TLS', () => {
    expect(R.ReportBucketPolicy?.Properties).toEqual({
      Bucket: { Ref: 'ReportBucket' },
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [{ 'Fn::GetAtt': ['ReportBucket', 'Arn'] }, { 'Fn::Sub': '${ReportBucket.Arn}/*' }], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
      },
    });
  });
});

describe('the schedule: scheduledScan with accounts=self, the state machine otherwise', () => {
  it('decides with one stack parameter and two conditions (default packaging: accounts=self)', () => {
    expect(template.Parameters.OrganizationScan).toMatchObject({ Default: 'false', AllowedValues: ['true', 'false'] });
    expect(org.Parameters.OrganizationScan).toMatchObject({ Default: 'true' });
    expect(template.Conditions.ScheduleOrganizationScan).toEqual({ 'Fn::Equals': [{ Ref: 'OrganizationScan' }, 'true'] });
    expect(template.Conditions.ScheduleSingleAccountScan).toEqual({ 'Fn::Not': [{ Condition: 'ScheduleOrganizationScan' }] });
    expect(R.ScheduledScanEventsRuleSchedule1?.Condition).toBe('ScheduleSingleAccountScan');
    expect(R.ScheduledScanLambdaPermissionEventsRuleSchedule1?.Condition).toBe('ScheduleSingleAccountScan');
    // scheduledScan itself always exists (invokable as today)
    expect(R.ScheduledScanLambdaFunction?.Condition).toBeUndefined();
  });

  it('starts the state machine through a role allowed exactly states:StartExecution on it, with retries and the dead-letter queue', () => {
    const rule = R.OrgScanScheduleRule!;
    expect(rule.Condition).toBe('ScheduleOrganizationScan');
    expect(rule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [{ Id: 'orgScan', Arn: { Ref: 'OrgScanStateMachine' }, RoleArn: { 'Fn::GetAtt': ['OrgScanScheduleRole', 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 7200 }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['FailedEventsQueue', 'Arn'] } } }],
    });
    const role = R.OrgScanScheduleRole!;
    expect(role.Condition).toBe('ScheduleOrganizationScan');
    expect(statementsOf(role)).toEqual([{ Sid: 'StartOrgScan', Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: 'OrgScanStateMachine' } }]);
    expect((role.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement[0]?.Principal).toEqual({ Service: 'events.amazonaws.com' });
  });
});

describe('the Organization scan functions', () => {
  const env = (fn: string, t: Template = template) => (t.Resources[fn]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

  it('get the report bucket (the stack’s own) and the concurrency; scheduledScan gets the bucket too', () => {
    for (const fn of ['OrgPlanLambdaFunction', 'OrgShardLambdaFunction', 'OrgAggregateLambdaFunction', 'ScheduledScanLambdaFunction']) expect([fn, env(fn).PITR_GUARD_REPORT_BUCKET]).toEqual([fn, { Ref: 'ReportBucket' }]);
    expect(env('OrgPlanLambdaFunction').PITR_GUARD_MAX_CONCURRENCY).toBe('50');
    // the aggregate's bounded heap, the setting bench:aggregate measures
    expect(env('OrgAggregateLambdaFunction').NODE_OPTIONS).toBe('--max-old-space-size=160');
    expect(env('OrgShardLambdaFunction').PITR_GUARD_FINDINGS_TABLE).toEqual({ Ref: 'FindingsTable' });
    // a shard part runs inside a STANDARD child: Lambda's full 15 minutes, and a bigger Region continues in the next part
    expect(R.OrgShardLambdaFunction!.Properties.Timeout).toBe(900);
  });

  it('have S3 grants scoped to the bucket’s prefixes: plan and shard write runs/*, scheduledScan writes reports/*', () => {
    expect(bySid(R.OrgPlanRole!).WriteRunFiles).toEqual({ Sid: 'WriteRunFiles', Effect: 'Allow', Action: 's3:PutObject', Resource: bucketScope('runs/*') });
    expect(bySid(R.OrgShardRole!).WriteRunFiles).toEqual({ Sid: 'WriteRunFiles', Effect: 'Allow', Action: 's3:PutObject', Resource: bucketScope('runs/*') });
    expect(bySid(R.ScheduledScanRole!).WriteReports).toEqual({ Sid: 'WriteReports', Effect: 'Allow', Action: 's3:PutObject', Resource: bucketScope('reports/*') });
    // plan reads no table; shard reads, records and remediates
    expect(Object.keys(bySid(R.OrgPlanRole!)).sort()).toEqual(['EnabledRegionsForAll', 'Logs', 'WriteRunFiles']);
    expect(Object.keys(bySid(R.OrgShardRole!)).sort()).toEqual(['EnabledRegionsForAll', 'FindingsLedger', 'ListTables', 'Logs', 'ReadTables', 'Remediate', 'TagsInBulk', 'WriteRunFiles']);
  });

  it('with accounts=org, plan lists the Organization and assumes member roles, the shard assumes member roles', () => {
    const planRole = bySid(org.Resources.OrgPlanRole!);
    const shardRole = bySid(org.Resources.OrgShardRole!);
    expect(Object.keys(planRole).sort()).toEqual(['AssumeMemberRole', 'EnabledRegionsForAll', 'ListOrganizationAccounts', 'Logs', 'WriteRunFiles'].sort());
    expect(shardRole.AssumeMemberRole).toMatchObject({ Action: 'sts:AssumeRole', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/pitr-guard-member' } });
    expect(shardRole.ListOrganizationAccounts).toBeUndefined();
  });
});
