/**
 * member/template.yaml deployed on moto the way a StackSet deploys it: CloudFormation CreateStack in
 * a second account (moto keeps accounts apart by the x-moto-account-id header), then the role and
 * its policy as IAM holds them, and AssumeRole from the central account into it. moto does not
 * evaluate trust policies, so what the trust allows is asserted on the document IAM stores.
 */
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetRoleCommand, GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import path from 'node:path';
import { CreateEventBusCommand, EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { parseCfnYaml } from '../../scripts/cfn-yaml';
import { loadEvent } from '../helpers/builders';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { memberStatements, memberTemplateJson } from '../../scripts/iam/member';

const root = path.join(__dirname, '../..');
const CENTRAL = '123456789012'; // moto's default account
const MEMBER = '222222222222';
const MEMBER_READ_ONLY = '333333333333';
const creds = { accessKeyId: 'testing', secretAccessKey: 'testing' };
let moto: MotoServer;

/** A client acting in `account` (moto's x-moto-account-id header). */
function inAccount<C extends { middlewareStack: { add: (...a: never[]) => void } }>(client: C, account: string): C {
  (client.middlewareStack as unknown as { add: (mw: unknown, o: unknown) => void }).add(
    (next: (args: { request: { headers: Record<string, string> } }) => unknown) => (args: { request: { headers: Record<string, string> } }) => {
      args.request.headers['x-moto-account-id'] = account;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  return client;
}

const options = () => ({ endpoint: moto.endpoint, region: 'us-east-1', credentials: creds });

async function deploy(account: string, parameters: Record<string, string>, region = 'us-east-1'): Promise<Record<string, string>> {
  const cfn = inAccount(new CloudFormationClient({ ...options(), region }), account);
  await cfn.send(
    new CreateStackCommand({
      StackName: 'pitr-guard-member',
      TemplateBody: memberTemplateJson(root),
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
    }),
  );
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: 'pitr-guard-member' }));
  expect(Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
  return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
}

/**
 * IAM returns policy documents URL-encoded JSON. moto gap: an inline policy created through
 * CloudFormation comes back as a Python dict repr ({'Version': ...}); the documents here hold no
 * quote characters, so that form is read by swapping the quotes. Second moto gap: a list entry
 * that is `!Ref AWS::NoValue` stays in the list as None, where CloudFormation removes it; those
 * entries are dropped here (only from moto's repr form).
 */
function policyJson(text: string | undefined): { Statement: Record<string, unknown>[] & { Action: string | string[] }[] } {
  const decoded = decodeURIComponent(text ?? '');
  if (!decoded.startsWith("{'")) return JSON.parse(decoded);
  const doc = JSON.parse(decoded.replace(/'/g, '"').replace(/\bNone\b/g, 'null'));
  return { ...doc, Statement: doc.Statement.filter((s: unknown) => s !== null) };
}

async function policyOf(account: string, roleName: string) {
  const iam = inAccount(new IAMClient(options()), account);
  const role = await iam.send(new GetRoleCommand({ RoleName: roleName }));
  const policy = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'pitr-guard-member' }));
  return { role: role.Role!, trust: policyJson(role.Role!.AssumeRolePolicyDocument), policy: policyJson(policy.PolicyDocument) };
}

const actionsOf = (doc: { Statement: { Action: string | string[] }[] }) => doc.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(() => moto?.stop());

describe('member template on moto', () => {
  const derived = memberStatements(root);
  const readActions = derived.read.flatMap((s) => s.actions).sort();

  it('creates the remediating role in the member account with the read set, UpdateContinuousBackups and the ExternalId trust', async () => {
    const outputs = await deploy(MEMBER, { CentralAccountId: CENTRAL, CentralRegion: 'us-east-1', CentralRolePrefix: 'pitr-guard-prod-', AllowRemediation: 'true', ExternalId: 'pitr-guard-ext-1' });
    expect(outputs.MemberRoleArn).toBe(`arn:aws:iam::${MEMBER}:role/pitr-guard-member`);
    const { role, trust, policy } = await policyOf(MEMBER, 'pitr-guard-member');
    expect(role.Arn).toBe(`arn:aws:iam::${MEMBER}:role/pitr-guard-member`);
    expect(actionsOf(policy)).toEqual([...readActions, 'dynamodb:UpdateContinuousBackups'].sort());
    expect(trust.Statement).toEqual([
      {
        Sid: 'CentralPitrGuardRoles',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${CENTRAL}:root` },
        Action: 'sts:AssumeRole',
        Condition: {
          ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${CENTRAL}:role/pitr-guard-prod-*` },
          StringEquals: { 'sts:ExternalId': 'pitr-guard-ext-1' },
        },
      },
    ]);
    // Not in the central account: the role exists only where the stack was created.
    await expect(policyOf(CENTRAL, 'pitr-guard-member')).rejects.toThrow(/not found|cannot be found/i);
  });

  it('creates a read-only role without ExternalId by default, under a custom name', async () => {
    await deploy(MEMBER_READ_ONLY, { CentralAccountId: CENTRAL, CentralRegion: 'us-east-1', MemberRoleName: 'audit-pitr' });
    const { trust, policy } = await policyOf(MEMBER_READ_ONLY, 'audit-pitr');
    expect(actionsOf(policy)).toEqual(readActions);
    expect(trust.Statement[0]?.Condition).toEqual({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${CENTRAL}:role/pitr-guard-prod-*` } });
  });

  it('can be assumed from the central account, and the session acts in the member account', async () => {
    const sts = new STSClient(options());
    const { Credentials } = await sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${MEMBER}:role/pitr-guard-member`, RoleSessionName: 'pitr-guard-scan', ExternalId: 'pitr-guard-ext-1' }),
    );
    const member = new STSClient({
      ...options(),
      credentials: { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! },
    });
    const me = await member.send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe(MEMBER);
    expect(me.Arn).toBe(`arn:aws:sts::${MEMBER}:assumed-role/pitr-guard-member/pitr-guard-scan`);
  });

  it('forwards from a member Region: the two rules on the default bus target the central bus through the forwarding role; a member event reaches the reactor’s rule there', async () => {
    const FORWARDER = '444444444444';
    const outputs = await deploy(FORWARDER, { CentralAccountId: CENTRAL, CentralRegion: 'us-east-1', MemberRoleRegion: 'us-east-1' }, 'eu-west-1');
    expect(outputs.Forwarding).toBe('true');
    expect(outputs.MemberRoleArn).toBeUndefined(); // eu-west-1 is not MemberRoleRegion: no role here
    const memberEvents = inAccount(new EventBridgeClient({ ...options(), region: 'eu-west-1' }), FORWARDER);
    const { Rules } = await memberEvents.send(new ListRulesCommand({}));
    // (CloudFormation names a rule <stack>-<logical ID>-<suffix>.)
    const forwarding = (Rules ?? []).sort((a, b) => String(a.Name).localeCompare(String(b.Name)));
    expect(forwarding.map((r) => /(Forward\w+Rule)/.exec(r.Name ?? '')?.[1])).toEqual(['ForwardPitrDisabledRule', 'ForwardTableCreatedRule']);
    for (const rule of forwarding) {
      const { Targets } = await memberEvents.send(new ListTargetsByRuleCommand({ Rule: rule.Name }));
      expect(Targets).toHaveLength(1);
      expect(Targets?.[0]?.Arn).toBe(`arn:aws:events:us-east-1:${CENTRAL}:event-bus/pitr-guard-events-prod`);
      expect(Targets?.[0]?.RoleArn).toMatch(new RegExp(`^arn:aws:iam::${FORWARDER}:role/`));
    }

    // The central side: the reactor's rule (serverless.yml's pattern) with a queue as its target.
    const sls = parseCfnYaml(readFileSync(path.join(root, 'serverless.yml'), 'utf8')) as { resources: { Resources: Record<string, { Properties: { EventPattern: unknown } }> } };
    const centralEvents = new EventBridgeClient(options());
    const sqs = new SQSClient(options());
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'central-reactor' }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await centralEvents.send(new CreateEventBusCommand({ Name: 'pitr-guard-events-prod' }));
    await centralEvents.send(new PutRuleCommand({ Name: 'ForwardedPitrDisabledRule', EventBusName: 'pitr-guard-events-prod', EventPattern: JSON.stringify(sls.resources.Resources.ForwardedPitrDisabledRule!.Properties.EventPattern), State: 'ENABLED' }));
    await centralEvents.send(new PutTargetsCommand({ Rule: 'ForwardedPitrDisabledRule', EventBusName: 'pitr-guard-events-prod', Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }] }));

    // CloudTrail's event in the member account and Region (moto: PutEvents stands in for CloudTrail).
    const event = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-member-pitr-disabled.json');
    event.detail.recipientAccountId = FORWARDER;
    const put = await memberEvents.send(new PutEventsCommand({ Entries: [{ Source: 'aws.dynamodb', DetailType: 'AWS API Call via CloudTrail', Detail: JSON.stringify(event.detail) }] }));
    expect(put.FailedEntryCount ?? 0).toBe(0);
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const bodies = (got.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}') as { account?: string; detail?: { eventID?: string; recipientAccountId?: string } });
    expect(bodies.map((b) => b.detail?.eventID)).toEqual([event.detail.eventID]);
    expect(bodies[0]?.detail?.recipientAccountId).toBe(FORWARDER);
    // moto gaps: moto re-puts a forwarded event as a new one on the central bus, so its envelope has
    // no `account` and the central Region as `region`; AWS keeps the sender's account (aws-facts-org
    // §3), which the reactor requires to equal recipientAccountId. detail, the record, is unchanged.
    expect(bodies[0]?.account).toBeUndefined();
    expect((bodies[0] as { region?: string }).region).toBe('us-east-1');
  });

  it('forwards nothing from the central account’s home Region, forwards from its other Regions, and creates no role with MemberRoleRegion=none', async () => {
    const outputs = await deploy(CENTRAL, { CentralAccountId: CENTRAL, CentralRegion: 'us-east-1', MemberRoleRegion: 'none' });
    expect(outputs.Forwarding).toBe('false');
    expect(outputs.MemberRoleArn).toBeUndefined();
    const other = await deploy(CENTRAL, { CentralAccountId: CENTRAL, CentralRegion: 'us-east-1', MemberRoleRegion: 'none' }, 'ap-southeast-2');
    expect(other.Forwarding).toBe('true');
    expect(other.MemberRoleArn).toBeUndefined();
    const { Rules } = await new EventBridgeClient({ ...options(), region: 'ap-southeast-2' }).send(new ListRulesCommand({}));
    expect(Rules).toHaveLength(2);
  });
});
