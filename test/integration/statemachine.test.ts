/**
 * statemachine/org-scan.asl.json in moto's Step Functions: created through the real SDK
 * (CreateStateMachine, STANDARD, as serverless.yml declares it, placeholders substituted) and read
 * back unchanged. moto's own checks on a definition are probed too, and the finding is stated:
 * moto stores a definition without validating it as ASL (the asl-validator unit test,
 * test/unit/statemachine.test.ts, is the check that rejects a broken one).
 */
import { CreateStateMachineCommand, DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startMoto, type MotoServer } from '../../dev/local/moto';

let moto: MotoServer;
let sfn: SFNClient;
const ROLE = 'arn:aws:iam::123456789012:role/pitr-guard-ci-org-scan';
const text = readFileSync(path.join(__dirname, '../../statemachine/org-scan.asl.json'), 'utf8');
const definition = text.replace(/\$\{([A-Za-z]+)FunctionArn\}/g, (_, fn: string) => `arn:aws:lambda:us-east-1:123456789012:function:pitr-guard-ci-org${fn}`);

beforeAll(async () => {
  moto = await startMoto();
  sfn = new SFNClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
});

afterAll(async () => {
  await moto?.stop();
});

describe('the Organization scan state machine in moto Step Functions', () => {
  it('is created as a STANDARD state machine and read back exactly', async () => {
    const created = await sfn.send(new CreateStateMachineCommand({ name: 'pitr-guard-org-scan-ci', definition, roleArn: ROLE, type: 'STANDARD' }));
    expect(created.stateMachineArn).toBe('arn:aws:states:us-east-1:123456789012:stateMachine:pitr-guard-org-scan-ci');
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: created.stateMachineArn }));
    expect(described).toMatchObject({ name: 'pitr-guard-org-scan-ci', type: 'STANDARD', roleArn: ROLE, status: 'ACTIVE' });
    expect(JSON.parse(described.definition as string)).toEqual(JSON.parse(definition));
    expect(described.definition).not.toContain('${');
  });

  it('moto checks the name but not the ASL: it stores a definition AWS would reject (so the unit test validates the ASL)', async () => {
    await expect(sfn.send(new CreateStateMachineCommand({ name: 'bad name!', definition, roleArn: ROLE }))).rejects.toMatchObject({ name: 'InvalidName' });
    const broken = JSON.stringify({ StartAt: 'Missing', States: { Plan: { Type: 'NoSuchType' } } });
    const out = await sfn.send(new CreateStateMachineCommand({ name: 'broken', definition: broken, roleArn: ROLE }));
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: out.stateMachineArn }));
    expect(described.definition).toBe(broken);
  });
});
