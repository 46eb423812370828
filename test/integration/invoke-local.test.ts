/**
 * The documented `serverless invoke local` commands (docs/deployment.md, docs/config-rule.md,
 * docs/reactor.md's DeleteTable and member-account events),
 * read from the docs and run exactly as written, as a user runs them (bundled by
 * serverless-esbuild, env from serverless.yml) against a moto server with real tables.
 */
import { CreateTableCommand, DescribeContinuousBackupsCommand, DynamoDBClient, GetItemCommand, ScanCommand, UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { localClients, seedTable } from '../../dev/seed';
import { memberRoleCredentials } from '../../lib/aws/org/member-credentials';
import { createIdempotencyTable, topicWithInbox } from '../helpers/alerting';

const exec = promisify(execFile);
const root = path.join(__dirname, '../..');
let moto: MotoServer;

/**
 * The `npx serverless invoke local -f FN …` command in `doc` (continuation lines joined, shell
 * quotes around --param values removed), as the argument list after `npx`.
 */
function documentedCommand(doc: string, fn: string, eventPath?: string): string[] {
  const text = readFileSync(path.join(root, doc), 'utf8').replace(/\\\n\s*/g, ' ');
  const start = `npx serverless invoke local -f ${fn} ${eventPath ? `--path ${eventPath} ` : ''}`;
  const line = text.split('\n').find((l) => l.startsWith(start));
  if (!line) throw new Error(`${doc} has no "${start.trim()}" command`);
  return line
    .replace(/\s#.*$/, '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map((a) => a.replace(/^(--param=)"(.*)"$/, '$1$2'));
}

async function invokeLocal(doc: string, fn: string, eventPath?: string): Promise<{ result: Record<string, unknown>; logs: Record<string, unknown>[] }> {
  const lock = `${process.env.TMPDIR ?? '/tmp'}/pitr-guard-package.lock`; // serverless-esbuild's work folder is shared
  const { stdout } = await exec('flock', [lock, 'npx', '--no-install', ...documentedCommand(doc, fn, eventPath)], {
    cwd: root,
    env: {
      ...process.env,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      SLS_TELEMETRY_DISABLED: '1',
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  const logs = stdout
    .split('\n')
    .filter((l) => l.startsWith('{"timestamp"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  // the handler's return value is printed last, pretty-printed
  const start = stdout.lastIndexOf('\n{\n');
  return { result: JSON.parse(stdout.slice(start + 1)) as Record<string, unknown>, logs };
}

beforeAll(async () => {
  moto = await startMoto();
  const ddb = localClients(moto.endpoint).get(DynamoDBClient, 'us-east-1');
  await seedTable(ddb, { tableName: 'orders', state: 'on', recoveryPeriodInDays: 35 });
  await seedTable(ddb, { tableName: 'payments', state: 'off' });
  await seedTable(ddb, { tableName: 'ledger', state: 'short', recoveryPeriodInDays: 7 });
  // The placeholder findings ledger, as docs/deployment.md creates it before the command.
  await ddb.send(
    new CreateTableCommand({
      TableName: 'pitr-guard-findings',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'tableArn', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'tableArn', KeyType: 'HASH' }],
    }),
  );
  await ddb.send(new UpdateContinuousBackupsCommand({ TableName: 'pitr-guard-findings', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 } }));
});

afterAll(async () => {
  await moto?.stop();
});

describe('serverless invoke local (the documented commands) against moto', () => {
  it('docs/deployment.md: scheduledScan scans the Region and returns the summary', async () => {
    expect(documentedCommand('docs/deployment.md', 'scheduledScan')).toEqual([
      'serverless', 'invoke', 'local', '-f', 'scheduledScan', '--path', 'events/scheduled.json',
      '--param=alertTopicArn=arn:aws:sns:us-east-1:123456789012:pitr-guard-alerts', '--param=idempotencyTable=pitr-guard-idempotency',
      '--param=findingsTable=pitr-guard-findings',
    ]);
    const { result, logs } = await invokeLocal('docs/deployment.md', 'scheduledScan');
    expect(result).toEqual({
      accountId: '123456789012',
      regions: ['us-east-1'],
      summary: { total: 4, compliant: 2, nonCompliant: 2, exempt: 0, notApplicable: 0, error: 0 },
      regionErrors: 0,
      accounts: 1,
      accountErrors: 0,
      problems: true,
    });
    const findingLines = logs.filter((l) => l.event === 'finding');
    expect(findingLines.map((l) => l.tableName).sort()).toEqual(['ledger', 'payments']);
    // Every table (the ledger's own too) is in the ledger, under the schedule event's ID, and the log lines say since when.
    const { Items } = await localClients(moto.endpoint).get(DynamoDBClient, 'us-east-1').send(new ScanCommand({ TableName: 'pitr-guard-findings', ConsistentRead: true }));
    expect((Items ?? []).map((i) => [i.tableName?.S, i.status?.S, i.lastRunId?.S]).sort()).toEqual([
      ['ledger', 'NON_COMPLIANT', '89d1a02d-5ec7-412e-82f5-13505f849b41'],
      ['orders', 'COMPLIANT', '89d1a02d-5ec7-412e-82f5-13505f849b41'],
      ['payments', 'NON_COMPLIANT', '89d1a02d-5ec7-412e-82f5-13505f849b41'],
      ['pitr-guard-findings', 'COMPLIANT', '89d1a02d-5ec7-412e-82f5-13505f849b41'],
    ]);
    for (const l of findingLines) expect(l.since).toBe(Items?.find((i) => i.tableName?.S === l.tableName)?.since?.S);
  });

  it('docs/reactor.md: pitrChange with a DeleteTable event sends one alert, naming the principal, and changes nothing', async () => {
    // The reactor's placeholders, as docs/reactor.md creates them (after the scan above, which would count them):
    // the alert topic and the de-duplication table.
    await createIdempotencyTable(moto.endpoint, 'pitr-guard-idempotency');
    await topicWithInbox(moto.endpoint);
    const { result } = await invokeLocal('docs/reactor.md', 'pitrChange', 'events/cloudtrail-delete-table.json');
    expect(result).toMatchObject({
      status: 'handled',
      deleted: { backup: 'NONE' },
      alert: { subject: '[pitr-guard] Table orders deleted (123456789012 us-east-1): NO BACKUP, data gone', delivered: ['sns'] },
    });
    expect((result.alert as { lines: string[] }).lines).toContain('Who:            arn:aws:sts::123456789012:assumed-role/Admin/alice');
    // orders (PITR on, 35 days) was not touched.
    const pitr = await localClients(moto.endpoint).get(DynamoDBClient, 'us-east-1').send(new DescribeContinuousBackupsCommand({ TableName: 'orders' }));
    expect(pitr.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus).toBe('ENABLED');
  });

  it('docs/reactor.md: pitrChange with a member account’s event (params accounts, regions) re-enables PITR in that account', async () => {
    const member = localClients(moto.endpoint);
    member.setAccountCredentials('222222222222', memberRoleCredentials(member, { accountId: '222222222222', roleName: 'pitr-guard-member', homeRegion: 'us-east-1', runId: 'seed' }));
    const ddb = member.get(DynamoDBClient, 'eu-west-1', '222222222222');
    await seedTable(ddb, { tableName: 'payments', state: 'off' });
    const { result } = await invokeLocal('docs/reactor.md', 'pitrChange', 'events/cloudtrail-member-pitr-disabled.json');
    expect(result).toMatchObject({ status: 'handled', result: 'ENABLED', table: { accountId: '222222222222', region: 'eu-west-1', tableName: 'payments' } });
    const pitr = await ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'payments' }));
    expect(pitr.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus).toBe('ENABLED');
  });

  it('docs/reactor.md: pitrChange re-enables PITR, alerts, and records the disable and the incident in the findings ledger', async () => {
    expect(documentedCommand('docs/reactor.md', 'pitrChange')).toEqual([
      'serverless', 'invoke', 'local', '-f', 'pitrChange', '--path', 'events/cloudtrail-pitr-disabled.json',
      '--param=mode=remediate', '--param=alertTopicArn=arn:aws:sns:us-east-1:123456789012:pitr-guard-alerts',
      '--param=idempotencyTable=pitr-guard-idempotency', '--param=findingsTable=pitr-guard-findings',
    ]);
    const clients = localClients(moto.endpoint);
    const ddb = clients.get(DynamoDBClient, 'us-east-1');
    // What the doc's setup does: the de-duplication table and the topic; then someone switches PITR off on orders.
    // (The DeleteTable test above may have created the de-duplication table already.)
    await ddb
      .send(new CreateTableCommand({ TableName: 'pitr-guard-idempotency', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'eventId', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'eventId', KeyType: 'HASH' }] }))
      .catch((error: unknown) => {
        if ((error as Error).name !== 'ResourceInUseException') throw error;
      });
    await clients.get(SNSClient, 'us-east-1').send(new CreateTopicCommand({ Name: 'pitr-guard-alerts' }));
    await ddb.send(new UpdateContinuousBackupsCommand({ TableName: 'orders', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false } }));
    const { result } = await invokeLocal('docs/reactor.md', 'pitrChange');
    expect(result).toMatchObject({ status: 'handled', result: 'ENABLED', alert: { delivered: ['sns'] } });
    const { Item } = await ddb.send(new GetItemCommand({ TableName: 'pitr-guard-findings', Key: { tableArn: { S: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders' } }, ConsistentRead: true }));
    expect([Item?.incidentState?.S, Item?.fixedBy?.S, Item?.disables?.L?.length]).toEqual(['CLOSED', 'pitr-guard', 1]);
  });

  it('docs/config-rule.md: configRule reports the non-compliant table of the sample change event (TESTMODE)', async () => {
    const { result } = await invokeLocal('docs/config-rule.md', 'configRule');
    expect(result).toMatchObject({
      outcome: 'reported',
      testMode: true,
      evaluations: [{ ComplianceResourceType: 'AWS::DynamoDB::Table', ComplianceResourceId: 'payments', ComplianceType: 'NON_COMPLIANT', Annotation: 'PITR is disabled.' }],
    });
  });
});
