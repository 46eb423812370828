import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { resetPolicyCache } from '../../lib/core/config';
import { awsError } from '../helpers/aws-errors';
import { loadEvent } from '../helpers/builders';
import { captureLogs, lambdaContext } from '../helpers/lambda';

// Each test loads the handler in a fresh module registry (a new cold start); the mocks must wrap
// the client classes of that same registry.
let ddbMock = mockClient(DynamoDBClient);
let stsMock = mockClient(STSClient);
const saved = { ...process.env };

function serve(sdk: typeof import('@aws-sdk/client-dynamodb')) {
  const { DescribeContinuousBackupsCommand, DescribeTableCommand, ListTablesCommand, ListTagsOfResourceCommand } = sdk;
  ddbMock.on(ListTablesCommand).resolves({ TableNames: ['orders', 'payments', 'sessions'] });
  ddbMock.on(DescribeTableCommand).callsFake((input: { TableName: string }) => ({
    Table: { TableName: input.TableName, TableArn: `arn:aws:dynamodb:us-east-1:123456789012:table/${input.TableName}`, TableStatus: 'ACTIVE' },
  }));
  ddbMock.on(DescribeContinuousBackupsCommand, { TableName: 'orders' }).resolves({
    ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: 35 } },
  });
  ddbMock.on(DescribeContinuousBackupsCommand, { TableName: 'payments' }).resolves({
    ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' } },
  });
  ddbMock.on(DescribeContinuousBackupsCommand, { TableName: 'sessions' }).rejects(awsError('AccessDeniedException'));
  ddbMock.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
}

async function loadHandler(setup: (sdk: typeof import('@aws-sdk/client-dynamodb')) => void = () => undefined) {
  let mod: typeof import('../../functions/scheduled-scan') | undefined;
  jest.isolateModules(() => {
    const sdk = require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');
    ddbMock = mockClient(sdk.DynamoDBClient);
    stsMock = mockClient(require('@aws-sdk/client-sts').STSClient);
    setup(sdk);
    mod = require('../../functions/scheduled-scan');
  });
  return mod!.handler;
}

beforeEach(() => {
  resetPolicyCache();
  process.env = { ...saved, AWS_REGION: 'us-east-1', PITR_GUARD_REGIONS: 'us-east-1', PITR_GUARD_LOG_LEVEL: 'info' };
});
afterAll(() => {
  process.env = saved;
});

describe('scheduledScan handler', () => {
  it('logs one JSON line per NON_COMPLIANT or ERROR finding and one summary line, and returns the summary', async () => {
    const handler = await loadHandler(serve);
    const { result, lines } = await captureLogs(() => handler(loadEvent('scheduled.json'), lambdaContext()));
    expect(result).toEqual({
      accountId: '123456789012',
      regions: ['us-east-1'],
      summary: { total: 3, compliant: 1, nonCompliant: 1, exempt: 0, notApplicable: 0, error: 1 },
      regionErrors: 0,
      accounts: 1,
      accountErrors: 0,
      problems: true,
    });
    const findings = lines.filter((l) => l.event === 'finding');
    expect(findings.map((l) => [l.status, l.tableName, l.reasons])).toEqual([
      ['NON_COMPLIANT', 'payments', ['PITR_DISABLED']],
      ['ERROR', 'sessions', ['READ_FAILED']],
    ]);
    expect(findings[1]).toMatchObject({ error: { operation: 'DescribeContinuousBackups', errorName: 'AccessDeniedException' }, function: 'scheduledScan' });
    const summaries = lines.filter((l) => l.event === 'scan-summary');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ level: 'info', accountId: '123456789012', summary: { total: 3 }, mode: 'report', dryRun: false });
    // the account comes from the function ARN: no STS call
    expect(stsMock.calls()).toHaveLength(0);
  });

  it('alert mode: decides from what the scan read; remediation lines (and re-reads) only for a table tagged to be remediated', async () => {
    process.env.PITR_GUARD_MODE = 'alert';
    let client!: typeof import('@aws-sdk/client-dynamodb');
    const handler = await loadHandler((sdk) => {
      client = sdk;
      serve(sdk);
      const { DescribeContinuousBackupsCommand, ListTablesCommand, ListTagsOfResourceCommand, UpdateContinuousBackupsCommand } = sdk;
      ddbMock.on(ListTablesCommand).resolves({ TableNames: ['ledger', 'orders', 'payments', 'sessions'] });
      ddbMock.on(ListTagsOfResourceCommand, { ResourceArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/ledger' }).resolves({ Tags: [{ Key: 'pitr-guard:mode', Value: 'remediate' }] });
      ddbMock
        .on(DescribeContinuousBackupsCommand, { TableName: 'ledger' })
        .resolvesOnce({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' } } })
        .resolvesOnce({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' } } })
        .resolves({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: 35 } } });
      ddbMock.on(UpdateContinuousBackupsCommand).resolves({});
    });
    const { lines } = await captureLogs(() => handler(loadEvent('scheduled.json'), lambdaContext()));
    const byEvent = (e: string) => lines.filter((l) => l.event === e);
    expect(byEvent('finding').map((l) => l.tableName)).toEqual(['ledger', 'payments', 'sessions']);
    expect(byEvent('scan-summary')).toHaveLength(1);
    expect(byEvent('remediation').map((l) => [l.tableName, l.result])).toEqual([['ledger', 'ENABLED']]);
    expect(byEvent('scan-actions')).toEqual([expect.objectContaining({ results: { ENABLED: 1, SKIPPED_MODE: 1 } })]);
    // No channel configured: the digest is logged once as not sent. No other event line (the only
    // other line is the inventory's warning about the unreadable table).
    expect(byEvent('alert-not-sent')).toHaveLength(1);
    expect(lines.filter((l) => l.event !== undefined)).toHaveLength(7);
    // payments was read once (by the scan) and never again; ledger was re-read before it was changed.
    const dcb = ddbMock.commandCalls(client.DescribeContinuousBackupsCommand).map((c) => c.args[0].input.TableName);
    expect(dcb.filter((t) => t === 'payments')).toHaveLength(1);
    expect(dcb.filter((t) => t === 'ledger')).toHaveLength(3); // scan, remediation's re-read, verification
  });

  it('fails the invocation with one line naming a bad variable', async () => {
    process.env.PITR_GUARD_MIN_RECOVERY_DAYS = '0';
    const handler = await loadHandler();
    const { lines } = await captureLogs(async () => {
      await expect(handler(loadEvent('scheduled.json'), lambdaContext())).rejects.toThrow(
        'Invalid PITR_GUARD_MIN_RECOVERY_DAYS="0": must be a whole number of days from 1 to 35.',
      );
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', message: 'Invalid PITR_GUARD_MIN_RECOVERY_DAYS="0": must be a whole number of days from 1 to 35.', errorCode: 'CONFIG_INVALID' });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it('rejects a malformed event with one log line and takes no action', async () => {
    const handler = await loadHandler(serve);
    const { result, lines } = await captureLogs(() => handler(['not', 'an', 'event'] as unknown, lambdaContext()));
    expect(result).toEqual({ rejected: 'scheduled scan expects an event object, got an array' });
    expect(lines).toEqual([expect.objectContaining({ level: 'error', message: 'rejected event', reason: 'scheduled scan expects an event object, got an array' })]);
    expect(ddbMock.calls()).toHaveLength(0);
  });
});

describe('scheduledScan handler with the findings ledger (PITR_GUARD_FINDINGS_TABLE)', () => {
  const LEDGER = 'pitr-guard-dev-FindingsTable-1A2B';

  it('records every finding under the run ID of the schedule event, and logs since when', async () => {
    process.env.PITR_GUARD_FINDINGS_TABLE = LEDGER;
    let sdk!: typeof import('@aws-sdk/client-dynamodb');
    const handler = await loadHandler((s) => {
      sdk = s;
      serve(s);
      ddbMock.on(s.UpdateItemCommand).resolves({ Attributes: { since: { S: '2026-11-01T00:00:00.000Z' } } });
    });
    const { lines } = await captureLogs(() => handler(loadEvent('scheduled.json'), lambdaContext()));
    const writes = ddbMock.commandCalls(sdk.UpdateItemCommand).map((c) => c.args[0].input);
    expect(writes.map((w) => [w.TableName, w.Key?.tableArn?.S, w.ExpressionAttributeValues?.[':status']?.S, w.ExpressionAttributeValues?.[':run']?.S]).sort()).toEqual([
      [LEDGER, 'arn:aws:dynamodb:us-east-1:123456789012:table/orders', 'COMPLIANT', '89d1a02d-5ec7-412e-82f5-13505f849b41'],
      [LEDGER, 'arn:aws:dynamodb:us-east-1:123456789012:table/payments', 'NON_COMPLIANT', '89d1a02d-5ec7-412e-82f5-13505f849b41'],
      [LEDGER, 'arn:aws:dynamodb:us-east-1:123456789012:table/sessions', 'ERROR', '89d1a02d-5ec7-412e-82f5-13505f849b41'],
    ]);
    expect(lines.filter((l) => l.event === 'finding').map((l) => [l.tableName, l.since])).toEqual([
      ['payments', '2026-11-01T00:00:00.000Z'],
      ['sessions', '2026-11-01T00:00:00.000Z'],
    ]);
  });

  it('without the variable: no ledger write, no since', async () => {
    let sdk!: typeof import('@aws-sdk/client-dynamodb');
    const handler = await loadHandler((s) => {
      sdk = s;
      serve(s);
    });
    const { lines } = await captureLogs(() => handler(loadEvent('scheduled.json'), lambdaContext()));
    expect(ddbMock.commandCalls(sdk.UpdateItemCommand)).toHaveLength(0);
    expect(lines.filter((l) => l.event === 'finding').map((l) => 'since' in l)).toEqual([false, false]);
  });

  it('a table the ledger cannot record: logged by name, the summary still logged, then the run fails', async () => {
    process.env.PITR_GUARD_FINDINGS_TABLE = LEDGER;
    const handler = await loadHandler((s) => {
      serve(s);
      ddbMock.on(s.UpdateItemCommand).resolves({ Attributes: { since: { S: '2026-11-01T00:00:00.000Z' } } });
      ddbMock.on(s.UpdateItemCommand, { Key: { tableArn: { S: 'arn:aws:dynamodb:us-east-1:123456789012:table/payments' } } }).rejects(awsError('AccessDeniedException'));
    });
    let failure: unknown;
    const { lines } = await captureLogs(() => handler(loadEvent('scheduled.json'), lambdaContext()).catch((e: unknown) => void (failure = e)));
    expect(failure).toMatchObject({ code: 'REPORT_INCOMPLETE', message: 'the findings ledger could not record 1 table(s)' });
    expect(lines.filter((l) => l.event === 'ledger-failed')).toEqual([
      expect.objectContaining({ tableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/payments', errorName: 'AccessDeniedException' }),
    ]);
    expect(lines.filter((l) => l.event === 'scan-summary')).toHaveLength(1);
  });

  it('a bad PITR_GUARD_FINDINGS_TABLE fails at cold start naming it', async () => {
    process.env.PITR_GUARD_FINDINGS_TABLE = 'x';
    const handler = await loadHandler(serve);
    await expect(captureLogs(() => handler(loadEvent('scheduled.json'), lambdaContext()))).rejects.toThrow(/PITR_GUARD_FINDINGS_TABLE="x"/);
  });
});
