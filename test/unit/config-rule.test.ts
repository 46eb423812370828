/**
 * The custom Config rule (functions/config-rule.ts + lib/jobs/config-rule.ts) with mocked
 * DynamoDB and Config clients: every message type and item status, rule parameters, TESTMODE,
 * batching, FailedEvaluations, unreadable tables and rejected events.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ConfigServiceClient,
  GetResourceConfigHistoryCommand,
  PutEvaluationsCommand,
  type PutEvaluationsCommandInput,
} from '@aws-sdk/client-config-service';
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ListTagsOfResourceCommand,
} from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { resetPolicyCache } from '../../lib/core/config';
import { AwsCallError, ConfigError, IncompleteReportError } from '../../lib/core/errors';
import { createLogger } from '../../lib/runtime/logger';
import { captureLogs } from '../helpers/lambda';
import { handleConfigInvocation, type ConfigRuleDeps } from '../../lib/jobs/config-rule';
import { parseInvocation, parseRuleParameters } from '../../lib/events/config-invocation';
import { handler, run } from '../../functions/config-rule';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const NOW = new Date('2026-11-21T10:16:00.000Z');
const DAY = 86_400_000;

const ddb = mockClient(DynamoDBClient);
const config = mockClient(ConfigServiceClient);

type Json = Record<string, unknown>;

/** A fresh copy of a sample event from events/. */
function sample(name: string): Json {
  return JSON.parse(readFileSync(path.join(__dirname, '../../events', name), 'utf8')) as Json;
}

/** The sample with its invokingEvent (a JSON string) changed by `edit`. */
function withInvoking(name: string, edit: (invoking: Json) => void): Json {
  const event = sample(name);
  const invoking = JSON.parse(event.invokingEvent as string) as Json;
  edit(invoking);
  event.invokingEvent = JSON.stringify(invoking);
  return event;
}

function withItem(name: string, edit: (item: Json) => void): Json {
  return withInvoking(name, (inv) => edit(inv.configurationItem as Json));
}

function captureOf(event: Json): Date {
  const inv = JSON.parse(event.invokingEvent as string) as { configurationItem?: Json; notificationCreationTime: string };
  return new Date((inv.configurationItem?.configurationItemCaptureTime as string | undefined) ?? inv.notificationCreationTime);
}

interface TableState {
  status?: string;
  pitr?: 'ENABLED' | 'DISABLED' | 'MISSING';
  period?: number;
  earliest?: Date;
  tags?: Record<string, string>;
}

function arnOf(name: string): string {
  return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
}

/** Mocks DynamoDB so that each named table has the given real state. */
function tables(states: Record<string, TableState>): void {
  const names = Object.keys(states).sort();
  ddb.on(ListTablesCommand).callsFake((input: { ExclusiveStartTableName?: string; Limit?: number }) => {
    const start = input.ExclusiveStartTableName ? names.indexOf(input.ExclusiveStartTableName) + 1 : 0;
    const page = names.slice(start, start + (input.Limit ?? 100));
    const last = start + page.length < names.length ? page[page.length - 1] : undefined;
    return { TableNames: page, ...(last ? { LastEvaluatedTableName: last } : {}) };
  });
  ddb.on(DescribeTableCommand).callsFake((input: { TableName: string }) => {
    const s = states[input.TableName];
    if (!s) throw Object.assign(new Error(`Requested resource not found: Table: ${input.TableName} not found`), { name: 'ResourceNotFoundException' });
    return { Table: { TableName: input.TableName, TableArn: arnOf(input.TableName), TableId: `id-${input.TableName}`, TableStatus: s.status ?? 'ACTIVE' } };
  });
  ddb.on(DescribeContinuousBackupsCommand).callsFake((input: { TableName: string }) => {
    const s = states[input.TableName];
    if (!s) throw Object.assign(new Error('Table not found'), { name: 'TableNotFoundException' });
    if (s.pitr === 'MISSING') return { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED' } };
    return {
      ContinuousBackupsDescription: {
        ContinuousBackupsStatus: 'ENABLED',
        PointInTimeRecoveryDescription: {
          PointInTimeRecoveryStatus: s.pitr ?? 'ENABLED',
          ...(s.pitr === 'DISABLED' ? {} : { RecoveryPeriodInDays: s.period ?? 35, EarliestRestorableDateTime: s.earliest ?? new Date(NOW.getTime() - 60 * DAY) }),
        },
      },
    };
  });
  ddb.on(ListTagsOfResourceCommand).callsFake((input: { ResourceArn: string }) => {
    const name = input.ResourceArn.split('/').pop() as string;
    return { Tags: Object.entries(states[name]?.tags ?? {}).map(([Key, Value]) => ({ Key, Value })) };
  });
}

let logLines: Json[];

function deps(over: Partial<ConfigRuleDeps> = {}): ConfigRuleDeps {
  return {
    policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' },
    clients: new Clients(),
    logger: createLogger({ level: 'debug', write: (line) => logLines.push(JSON.parse(line) as Json) }),
    homeRegion: REGION,
    accountId: ACCOUNT,
    now: () => NOW,
    inventory: { ratePerSecond: 1_000_000, vanishRecheckMs: 0, sleep: async () => undefined },
    ...over,
  };
}

function putCalls(): PutEvaluationsCommandInput[] {
  return config.commandCalls(PutEvaluationsCommand).map((c) => c.args[0].input);
}

beforeEach(() => {
  ddb.reset();
  config.reset();
  config.on(PutEvaluationsCommand).resolves({ FailedEvaluations: [] });
  logLines = [];
});

describe('change-triggered evaluations', () => {
  it('sends COMPLIANT for a table whose real PITR state meets the policy, with TestMode for TESTMODE', async () => {
    tables({ orders: { pitr: 'ENABLED', period: 35 } });
    const event = sample('config-change-compliant.json');
    const result = await handleConfigInvocation(event, deps());

    expect(ddb).toHaveReceivedCommandWith(DescribeContinuousBackupsCommand, { TableName: 'orders' });
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 1);
    expect(config).toHaveReceivedCommandWith(PutEvaluationsCommand, {
      ResultToken: 'TESTMODE',
      TestMode: true,
      Evaluations: [
        {
          ComplianceResourceType: 'AWS::DynamoDB::Table',
          ComplianceResourceId: 'orders',
          ComplianceType: 'COMPLIANT',
          Annotation: 'PITR is enabled with a recovery period of 35 days.',
          OrderingTimestamp: new Date('2026-11-21T10:15:02.871Z'),
        },
      ],
    });
    expect(result).toEqual({
      outcome: 'reported',
      messageType: 'ConfigurationItemChangeNotification',
      testMode: true,
      batches: 1,
      evaluations: [
        {
          ComplianceResourceType: 'AWS::DynamoDB::Table',
          ComplianceResourceId: 'orders',
          ComplianceType: 'COMPLIANT',
          Annotation: 'PITR is enabled with a recovery period of 35 days.',
          OrderingTimestamp: '2026-11-21T10:15:02.871Z',
        },
      ],
    });
  });

  it('sends NON_COMPLIANT when PITR is disabled', async () => {
    tables({ payments: { pitr: 'DISABLED' } });
    await handleConfigInvocation(sample('config-change-noncompliant.json'), deps());
    const [call] = putCalls();
    expect(call?.Evaluations).toEqual([
      expect.objectContaining({ ComplianceResourceId: 'payments', ComplianceType: 'NON_COMPLIANT', Annotation: 'PITR is disabled.' }),
    ]);
  });

  it('sends NON_COMPLIANT when the recovery period is shorter than required', async () => {
    tables({ ledger: { pitr: 'ENABLED', period: 7 } });
    await handleConfigInvocation(sample('config-change-short-period.json'), deps());
    expect(putCalls()[0]?.Evaluations).toEqual([
      expect.objectContaining({
        ComplianceResourceId: 'ledger',
        ComplianceType: 'NON_COMPLIANT',
        Annotation: 'PITR is enabled but its recovery period is 7 days, shorter than the required 35 days.',
      }),
    ]);
  });

  it('trusts the real state, not the lagging configuration item', async () => {
    // The item says DISABLED, but PITR was switched on since: COMPLIANT.
    tables({ payments: { pitr: 'ENABLED', period: 35 } });
    await handleConfigInvocation(sample('config-change-noncompliant.json'), deps());
    // The item says ENABLED, but PITR is off now: NON_COMPLIANT.
    tables({ orders: { pitr: 'DISABLED' } });
    await handleConfigInvocation(sample('config-change-compliant.json'), deps());
    expect(putCalls().map((c) => c.Evaluations?.[0]?.ComplianceType)).toEqual(['COMPLIANT', 'NON_COMPLIANT']);
  });

  it('omits TestMode for a real result token and passes the token through unchanged', async () => {
    tables({ orders: {} });
    const event = sample('config-change-compliant.json');
    event.resultToken = 'eyJlbmNyeXB0ZWREYXRhIjpbLTEyOCwxMjQsNDFdfQ==';
    const result = await handleConfigInvocation(event, deps());
    const [call] = putCalls();
    expect(call?.ResultToken).toBe('eyJlbmNyeXB0ZWREYXRhIjpbLTEyOCwxMjQsNDFdfQ==');
    expect(call).not.toHaveProperty('TestMode');
    expect(result.testMode).toBe(false);
  });

  it('reports an exempt table as NOT_APPLICABLE with the reason and expiry in the annotation', async () => {
    tables({ orders: { pitr: 'DISABLED', tags: { 'pitr-guard:exempt': 'scratch data, rebuilt nightly', 'pitr-guard:exempt-until': '2026-12-31' } } });
    await handleConfigInvocation(sample('config-change-compliant.json'), deps());
    expect(putCalls()[0]?.Evaluations).toEqual([
      expect.objectContaining({
        ComplianceType: 'NOT_APPLICABLE',
        Annotation: 'Exempt from the PITR policy (tag pitr-guard:exempt) until the end of 2026-12-31 UTC: scratch data, rebuilt nightly',
      }),
    ]);
  });

  it('says when an exemption has no expiry, and evaluates normally once it expired', async () => {
    tables({ orders: { pitr: 'DISABLED', tags: { 'pitr-guard:exempt': 'load test' } } });
    await handleConfigInvocation(sample('config-change-compliant.json'), deps());
    tables({ orders: { pitr: 'DISABLED', tags: { 'pitr-guard:exempt': 'load test', 'pitr-guard:exempt-until': '2026-11-20' } } });
    await handleConfigInvocation(sample('config-change-compliant.json'), deps());
    const [first, second] = putCalls().map((c) => c.Evaluations?.[0]);
    expect(first).toMatchObject({ ComplianceType: 'NOT_APPLICABLE', Annotation: 'Exempt from the PITR policy (tag pitr-guard:exempt) with no expiry date: load test' });
    expect(second).toMatchObject({ ComplianceType: 'NON_COMPLIANT', Annotation: 'PITR is disabled. The exemption expired at the end of 2026-11-20.' });
  });

  it('keeps every annotation within 256 characters, cut with an ellipsis', async () => {
    tables({ orders: { tags: { 'pitr-guard:exempt': 'a very long reason '.repeat(14).trim() } } });
    await handleConfigInvocation(sample('config-change-compliant.json'), deps());
    const annotation = putCalls()[0]?.Evaluations?.[0]?.Annotation as string;
    expect(annotation).toHaveLength(256);
    expect(annotation.endsWith('…')).toBe(true);
    expect(annotation.startsWith('Exempt from the PITR policy (tag pitr-guard:exempt) with no expiry date: a very long reason')).toBe(true);
  });

  it('reports a table in DELETING state as NOT_APPLICABLE', async () => {
    tables({ orders: { status: 'DELETING' } });
    await handleConfigInvocation(sample('config-change-compliant.json'), deps());
    expect(putCalls()[0]?.Evaluations?.[0]).toMatchObject({ ComplianceType: 'NOT_APPLICABLE', Annotation: 'Table is DELETING; PITR does not apply.' });
    expect(ddb).toHaveReceivedCommandTimes(DescribeContinuousBackupsCommand, 0);
  });

  it('reports a table deleted since the item was recorded as NOT_APPLICABLE', async () => {
    tables({});
    await handleConfigInvocation(sample('config-change-compliant.json'), deps());
    expect(ddb).toHaveReceivedCommandTimes(DescribeTableCommand, 2); // re-checked once: DescribeTable is eventually consistent
    expect(putCalls()[0]?.Evaluations?.[0]).toMatchObject({
      ComplianceResourceId: 'orders',
      ComplianceType: 'NOT_APPLICABLE',
      Annotation: 'The table no longer exists in DynamoDB (deleted after this configuration item was recorded).',
    });
  });

  it.each(['ResourceDeleted', 'ResourceDeletedNotRecorded', 'ResourceNotRecorded'])(
    'sends NOT_APPLICABLE without reading DynamoDB for item status %s',
    async (status) => {
      const event = withItem('config-deleted.json', (item) => (item.configurationItemStatus = status));
      await handleConfigInvocation(event, deps());
      expect(ddb.calls()).toHaveLength(0);
      expect(config).toHaveReceivedCommandWith(PutEvaluationsCommand, {
        ResultToken: 'TESTMODE',
        TestMode: true,
        Evaluations: [
          {
            ComplianceResourceType: 'AWS::DynamoDB::Table',
            ComplianceResourceId: 'old-orders',
            ComplianceType: 'NOT_APPLICABLE',
            Annotation: `The table is not evaluated: its configuration item status is ${status}.`,
            OrderingTimestamp: new Date('2026-11-21T10:20:11.004Z'),
          },
        ],
      });
    },
  );

  it('sends NOT_APPLICABLE without reading DynamoDB when the event left the rule scope', async () => {
    await handleConfigInvocation(sample('config-left-scope.json'), deps());
    expect(ddb.calls()).toHaveLength(0);
    expect(putCalls()[0]?.Evaluations).toEqual([
      {
        ComplianceResourceType: 'AWS::DynamoDB::Table',
        ComplianceResourceId: 'orders',
        ComplianceType: 'NOT_APPLICABLE',
        Annotation: 'The resource is no longer in the scope of this rule.',
        OrderingTimestamp: new Date('2026-11-21T10:15:02.871Z'),
      },
    ]);
  });

  it('sends NOT_APPLICABLE for a resource that is not a DynamoDB table', async () => {
    const event = withItem('config-change-compliant.json', (item) => {
      item.resourceType = 'AWS::S3::Bucket';
      item.resourceId = 'my-bucket';
      item.ARN = 'arn:aws:s3:::my-bucket';
    });
    await handleConfigInvocation(event, deps());
    expect(ddb.calls()).toHaveLength(0);
    expect(putCalls()[0]?.Evaluations?.[0]).toMatchObject({
      ComplianceResourceType: 'AWS::S3::Bucket',
      ComplianceResourceId: 'my-bucket',
      ComplianceType: 'NOT_APPLICABLE',
    });
  });

  it('sends nothing and fails when the table cannot be read (Config rejects INSUFFICIENT_DATA)', async () => {
    tables({ orders: {} });
    ddb.on(DescribeContinuousBackupsCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const error = await handleConfigInvocation(sample('config-change-compliant.json'), deps()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IncompleteReportError);
    expect((error as IncompleteReportError).problems).toEqual([expect.stringContaining('orders: Could not read')]);
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 0);
    expect(logLines).toContainEqual(expect.objectContaining({ level: 'error', table: 'orders', error: expect.objectContaining({ errorName: 'AccessDeniedException' }) }));
  });

  it('sends the same evaluation again for a duplicate delivery (harmless, nothing else happens)', async () => {
    tables({ payments: { pitr: 'DISABLED' } });
    const event = sample('config-change-noncompliant.json');
    await handleConfigInvocation(event, deps());
    await handleConfigInvocation(structuredClone(event), deps());
    const [a, b] = putCalls();
    expect(a).toEqual(b);
    expect(ddb.commandCalls(DescribeTableCommand)).toHaveLength(2);
  });
});

describe('oversized configuration items', () => {
  const apiItem = (over: Json = {}) => ({
    version: '1.3',
    accountId: ACCOUNT,
    configurationItemCaptureTime: new Date('2026-11-21T10:15:02.871Z'),
    configurationItemStatus: 'OK',
    configurationStateId: '1763719502871',
    arn: arnOf('orders'),
    resourceType: 'AWS::DynamoDB::Table',
    resourceId: 'orders',
    resourceName: 'orders',
    awsRegion: REGION,
    availabilityZone: 'Not Applicable',
    tags: {},
    relatedEvents: [],
    relationships: [],
    // The API form: configuration and every supplementaryConfiguration value are JSON strings.
    configuration: JSON.stringify({ tableName: 'orders', tableArn: arnOf('orders'), tableId: 'id-orders', tableStatus: 'ACTIVE' }),
    supplementaryConfiguration: {
      ContinuousBackupsDescription: JSON.stringify({ continuousBackupsStatus: 'ENABLED', pointInTimeRecoveryDescription: { pointInTimeRecoveryStatus: 'ENABLED' } }),
    },
    ...over,
  });

  it('fetches the item with GetResourceConfigHistory, then evaluates the real state', async () => {
    config.on(GetResourceConfigHistoryCommand).resolves({ configurationItems: [apiItem()] as never });
    tables({ orders: { pitr: 'ENABLED', period: 14 } });
    await handleConfigInvocation(sample('config-oversized.json'), deps());
    expect(config).toHaveReceivedCommandWith(GetResourceConfigHistoryCommand, {
      resourceType: 'AWS::DynamoDB::Table',
      resourceId: 'orders',
      laterTime: new Date('2026-11-21T10:15:02.871Z'),
      limit: 1,
    });
    expect(ddb).toHaveReceivedCommandWith(DescribeContinuousBackupsCommand, { TableName: 'orders' });
    expect(putCalls()[0]?.Evaluations).toEqual([
      {
        ComplianceResourceType: 'AWS::DynamoDB::Table',
        ComplianceResourceId: 'orders',
        ComplianceType: 'NON_COMPLIANT',
        Annotation: 'PITR is enabled but its recovery period is 14 days, shorter than the required 35 days.',
        OrderingTimestamp: new Date('2026-11-21T10:15:02.871Z'),
      },
    ]);
  });

  it('sends NOT_APPLICABLE when the fetched item says the table was deleted', async () => {
    config.on(GetResourceConfigHistoryCommand).resolves({ configurationItems: [apiItem({ configurationItemStatus: 'ResourceDeleted', configuration: 'null' })] as never });
    await handleConfigInvocation(sample('config-oversized.json'), deps());
    expect(ddb.calls()).toHaveLength(0);
    expect(putCalls()[0]?.Evaluations?.[0]).toMatchObject({ ComplianceType: 'NOT_APPLICABLE', ComplianceResourceId: 'orders' });
  });

  it('falls back to the notification summary when Config returns no item', async () => {
    config.on(GetResourceConfigHistoryCommand).resolves({ configurationItems: [] });
    tables({ orders: { pitr: 'DISABLED' } });
    await handleConfigInvocation(sample('config-oversized.json'), deps());
    expect(putCalls()[0]?.Evaluations?.[0]).toMatchObject({ ComplianceResourceId: 'orders', ComplianceType: 'NON_COMPLIANT' });
    expect(logLines).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining('GetResourceConfigHistory returned no item') }));
  });

  it('also falls back to the summary when Config has no history of the resource', async () => {
    config.on(GetResourceConfigHistoryCommand).rejects(Object.assign(new Error('Resource orders is unknown or has not been discovered'), { name: 'ResourceNotDiscoveredException' }));
    tables({ orders: { pitr: 'ENABLED', period: 35 } });
    await handleConfigInvocation(sample('config-oversized.json'), deps());
    expect(putCalls()[0]?.Evaluations?.[0]).toMatchObject({ ComplianceResourceId: 'orders', ComplianceType: 'COMPLIANT', OrderingTimestamp: new Date('2026-11-21T10:15:02.871Z') });
  });

  it('fails (and sends nothing) when GetResourceConfigHistory fails', async () => {
    config.on(GetResourceConfigHistoryCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const error = await handleConfigInvocation(sample('config-oversized.json'), deps()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect((error as AwsCallError).operation).toBe('GetResourceConfigHistory');
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 0);
  });

  it('rejects a fetched item about another resource', async () => {
    config.on(GetResourceConfigHistoryCommand).resolves({ configurationItems: [apiItem({ resourceId: 'payments', resourceName: 'payments' })] as never });
    const result = await handleConfigInvocation(sample('config-oversized.json'), deps());
    expect(result.outcome).toBe('rejected');
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 0);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('periodic evaluations', () => {
  function manyTables(n: number, state: (i: number) => TableState = () => ({})): Record<string, TableState> {
    return Object.fromEntries(Array.from({ length: n }, (_, i) => [`t-${String(i).padStart(4, '0')}`, state(i)]));
  }

  it.each([
    [1, [1]],
    [100, [100]],
    [101, [100, 1]],
    [250, [100, 100, 50]],
  ])('evaluates %i tables in batches of at most 100, all with the same result token', async (n, sizes) => {
    tables(manyTables(n, (i) => (i % 3 === 0 ? { pitr: 'DISABLED' } : {})));
    const result = await handleConfigInvocation(sample('config-periodic.json'), deps());
    const calls = putCalls();
    expect(calls.map((c) => c.Evaluations?.length)).toEqual(sizes);
    expect(new Set(calls.map((c) => c.ResultToken))).toEqual(new Set(['TESTMODE']));
    expect(calls.every((c) => c.TestMode === true)).toBe(true);
    const all = calls.flatMap((c) => c.Evaluations ?? []);
    expect(new Set(all.map((e) => e.ComplianceResourceId)).size).toBe(n);
    expect(all.every((e) => e.OrderingTimestamp?.toISOString() === '2026-11-21T11:00:00.512Z')).toBe(true);
    expect(all.filter((e) => e.ComplianceType === 'NON_COMPLIANT')).toHaveLength(Math.ceil(n / 3));
    expect(result.batches).toBe(sizes.length);
    expect(result.evaluations).toHaveLength(n);
  });

  it('lists and reads only the rule\'s own Region', async () => {
    tables(manyTables(3));
    await handleConfigInvocation(sample('config-periodic.json'), deps());
    const regions = await Promise.all(ddb.calls().map((c) => (c.thisValue as DynamoDBClient).config.region()));
    expect(new Set(regions)).toEqual(new Set([REGION]));
  });

  it('sends nothing for a Region without tables', async () => {
    tables({});
    const result = await handleConfigInvocation(sample('config-periodic.json'), deps());
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 0);
    expect(result).toMatchObject({ outcome: 'reported', batches: 0, evaluations: [] });
  });

  it('sends every other table, then fails, when some tables cannot be read', async () => {
    tables(manyTables(120));
    ddb.on(DescribeContinuousBackupsCommand, { TableName: 't-0007' }).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const error = await handleConfigInvocation(sample('config-periodic.json'), deps()).catch((e: unknown) => e);
    const sent = putCalls().flatMap((c) => c.Evaluations ?? []);
    expect(sent).toHaveLength(119);
    expect(sent.map((e) => e.ComplianceResourceId)).not.toContain('t-0007');
    expect(error).toBeInstanceOf(IncompleteReportError);
    expect((error as Error).message).toContain('1 table(s) could not be evaluated');
    expect((error as IncompleteReportError).problems).toEqual([expect.stringMatching(/^t-0007: /)]);
  });

  it('checks FailedEvaluations in every response and fails loudly after sending every batch', async () => {
    tables(manyTables(250));
    config
      .on(PutEvaluationsCommand)
      .resolvesOnce({ FailedEvaluations: [] })
      .resolvesOnce({ FailedEvaluations: [{ ComplianceResourceType: 'AWS::DynamoDB::Table', ComplianceResourceId: 't-0150', ComplianceType: 'COMPLIANT', OrderingTimestamp: new Date() }] })
      .resolves({ FailedEvaluations: [] });
    const error = await handleConfigInvocation(sample('config-periodic.json'), deps()).catch((e: unknown) => e);
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 3);
    expect(error).toBeInstanceOf(IncompleteReportError);
    expect((error as Error).message).toContain('Config rejected 1 evaluation(s)');
    expect((error as Error).message).toContain('249 evaluation(s) stored');
    expect((error as IncompleteReportError).problems).toEqual(['t-0150: rejected by Config (FailedEvaluations)']);
  });

  it('keeps sending the other batches when one PutEvaluations call fails, then fails with the cause', async () => {
    tables(manyTables(250));
    config
      .on(PutEvaluationsCommand)
      .resolvesOnce({ FailedEvaluations: [] })
      .rejectsOnce(Object.assign(new Error('bad token'), { name: 'InvalidResultTokenException' }))
      .resolves({ FailedEvaluations: [] });
    const error = await handleConfigInvocation(sample('config-periodic.json'), deps()).catch((e: unknown) => e);
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 3);
    expect(error).toBeInstanceOf(IncompleteReportError);
    expect((error as IncompleteReportError).problems).toHaveLength(100);
    expect((error as Error).cause).toBeInstanceOf(AwsCallError);
    expect(((error as Error).cause as AwsCallError).errorName).toBe('InvalidResultTokenException');
  });

  it('retries a throttled PutEvaluations call instead of dropping the batch', async () => {
    tables(manyTables(2));
    config
      .on(PutEvaluationsCommand)
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }))
      .resolves({ FailedEvaluations: [] });
    const result = await handleConfigInvocation(sample('config-periodic.json'), deps());
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 2);
    expect(result.evaluations).toHaveLength(2);
  });

  it('fails without sending anything when the Region\'s tables cannot be listed', async () => {
    ddb.on(ListTablesCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const error = await handleConfigInvocation(sample('config-periodic.json'), deps()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect((error as AwsCallError).errorName).toBe('AccessDeniedException');
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 0);
  });
});

describe('rule parameters', () => {
  it('override the environment: minRecoveryDays', async () => {
    tables({ ledger: { pitr: 'ENABLED', period: 7 } });
    const event = sample('config-change-short-period.json');
    event.ruleParameters = JSON.stringify({ minRecoveryDays: '7' });
    await handleConfigInvocation(event, deps());
    expect(putCalls()[0]?.Evaluations?.[0]).toMatchObject({ ComplianceType: 'COMPLIANT' });
  });

  it('override the environment: exemptTag', async () => {
    tables({ payments: { pitr: 'DISABLED', tags: { 'acme:no-pitr': 'replica of a warehouse table' } } });
    const event = sample('config-change-noncompliant.json');
    event.ruleParameters = JSON.stringify({ exemptTag: 'acme:no-pitr', minRecoveryDays: '' });
    await handleConfigInvocation(event, deps());
    expect(putCalls()[0]?.Evaluations?.[0]).toMatchObject({
      ComplianceType: 'NOT_APPLICABLE',
      Annotation: 'Exempt from the PITR policy (tag acme:no-pitr) with no expiry date: replica of a warehouse table',
    });
  });

  it('fall back to the environment when absent or empty', () => {
    expect(parseRuleParameters(undefined)).toEqual({});
    expect(parseRuleParameters('{}')).toEqual({});
    expect(parseRuleParameters('{"minRecoveryDays":" ","exemptTag":""}')).toEqual({});
    expect(parseRuleParameters('{"minRecoveryDays":14}')).toEqual({ minRecoveryDays: 14 });
  });

  it.each([
    ['{"minRecoveryDays":"0"}', 'Invalid rule parameter minRecoveryDays="0": must be a whole number of days from 1 to 35.'],
    ['{"minRecoveryDays":"36"}', 'Invalid rule parameter minRecoveryDays="36": must be a whole number of days from 1 to 35.'],
    ['{"minRecoveryDays":"seven"}', 'Invalid rule parameter minRecoveryDays="seven": must be a whole number of days from 1 to 35.'],
    ['{"minRecoveryDays":true}', 'Invalid rule parameter minRecoveryDays="true": must be a string.'],
    ['{"exemptTag":"aws:reserved"}', 'Invalid rule parameter exemptTag="aws:reserved"'],
    ['{"minRecoveryDay":"7"}', 'Invalid rule parameter minRecoveryDay="7": is not a parameter of this rule; allowed: minRecoveryDays, exemptTag.'],
    ['minRecoveryDays=7', 'Invalid ruleParameters="minRecoveryDays=7": must be a JSON object'],
    ['["7"]', 'Invalid ruleParameters="[\\"7\\"]": must be a JSON object'],
  ])('reject %s with a clear error and send nothing', async (ruleParameters, message) => {
    tables({ orders: {} });
    const event = sample('config-change-compliant.json');
    event.ruleParameters = ruleParameters;
    const error = await handleConfigInvocation(event, deps()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message.startsWith(message)).toBe(true);
    expect(config.calls()).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('rejected events (logged, nothing read or sent)', () => {
  const cases: [string, () => unknown, string][] = [
    ['not an object', () => 'hello', 'must be an object, got string'],
    // issue 8 item 9: null is "null", not "object"
    ['null', () => null, 'a Config rule invocation must be an object, got null'],
    ['an array', () => [], 'must be an object, got an array'],
    ['invokingEvent already parsed', () => ({ ...sample('config-change-compliant.json'), invokingEvent: { messageType: 'ScheduledNotification' } }), 'invokingEvent is missing or not a string'],
    ['invokingEvent not JSON', () => ({ ...sample('config-change-compliant.json'), invokingEvent: '{oops' }), 'invokingEvent is not valid JSON'],
    ['unknown message type', () => withInvoking('config-periodic.json', (inv) => (inv.messageType = 'ConfigurationSnapshotDeliveryCompleted')), 'unsupported invokingEvent.messageType'],
    ['no result token', () => ({ ...sample('config-change-compliant.json'), resultToken: '' }), 'event.resultToken is missing'],
    ['no configuration item', () => withInvoking('config-change-compliant.json', (inv) => (inv.configurationItem = null)), 'configurationItem is missing'],
    ['bad capture time', () => withItem('config-change-compliant.json', (item) => (item.configurationItemCaptureTime = 'yesterday')), 'configurationItemCaptureTime is not a timestamp'],
    ['another account (event)', () => ({ ...sample('config-change-compliant.json'), accountId: '999999999999' }), "is not this function's account"],
    ['another account (item)', () => withItem('config-change-compliant.json', (item) => (item.awsAccountId = '999999999999')), 'awsAccountId is 999999999999'],
    ['another Region (item)', () => withItem('config-change-compliant.json', (item) => { item.awsRegion = 'eu-west-1'; item.ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders'; }), "not in this rule's Region us-east-1"],
    ['another Region (rule)', () => ({ ...sample('config-change-compliant.json'), configRuleArn: 'arn:aws:config:eu-west-1:123456789012:config-rule/config-rule-0a1b2c' }), "not in this function's Region"],
    ['names that disagree', () => withItem('config-change-compliant.json', (item) => (item.resourceName = 'payments')), 'names different tables'],
    ['ARN of another service', () => withItem('config-change-compliant.json', (item) => (item.ARN = 'arn:aws:s3:::orders')), 'is not a DynamoDB table ARN'],
    ['invalid table name', () => withItem('config-change-compliant.json', (item) => { item.resourceId = 'a b'; delete item.resourceName; delete item.ARN; item.configuration = null; }), 'invalid table'],
  ];

  it.each(cases)('%s', async (_label, build, reason) => {
    tables({ orders: {} });
    const result = await handleConfigInvocation(build(), deps());
    expect(result).toEqual({ outcome: 'rejected', reason: expect.stringContaining(reason), batches: 0, evaluations: [] });
    expect(config.calls()).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
    expect(logLines).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining('rejected Config rule invocation'), reason: expect.stringContaining(reason) }));
    // one clear line, nothing else
    expect(logLines.filter((l) => l.level === 'error' || l.level === 'warn')).toHaveLength(1);
  });
});

describe('handler wiring (lib/runtime/handler.ts)', () => {
  const env = { ...process.env };
  afterEach(() => {
    process.env = { ...env };
    resetPolicyCache();
  });

  // First: once deps are built they are kept for the life of the process (a cold start).
  it('fails with one line naming AWS_REGION when the Region is unknown, sending nothing', async () => {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const context = { invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:pitr-guard-dev-configRule`, awsRequestId: 'req-0' } as Context;
      await expect(handler(sample('config-change-compliant.json'), context)).rejects.toThrow('Invalid AWS_REGION="": must name the Region the function runs in (Lambda sets it).');
    } finally {
      write.mockRestore();
    }
    expect(config.calls()).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('builds its deps from the environment and the Lambda context, and returns what it sent', async () => {
    process.env.AWS_REGION = REGION;
    process.env.PITR_GUARD_MIN_RECOVERY_DAYS = '10';
    resetPolicyCache();
    tables({ ledger: { pitr: 'ENABLED', period: 7 } });
    const event = sample('config-change-short-period.json');
    event.ruleParameters = '{}'; // the environment's 10 days applies
    const context = { invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:pitr-guard-dev-configRule`, awsRequestId: 'req-1' } as Context;
    const { result, lines } = await captureLogs(() => handler(event, context));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', message: 'Config evaluations sent', function: 'configRule', counts: { NON_COMPLIANT: 1 } }));
    expect(result).toMatchObject({
      outcome: 'reported',
      evaluations: [
        {
          ComplianceResourceId: 'ledger',
          ComplianceType: 'NON_COMPLIANT',
          Annotation: 'PITR is enabled but its recovery period is 7 days, shorter than the required 10 days.',
          OrderingTimestamp: captureOf(event).toISOString(),
        },
      ],
    });
  });

  it('run() is the plain function behind the handler', async () => {
    await handleConfigInvocation(sample('config-left-scope.json'), deps());
    await run(sample('config-left-scope.json'), deps());
    const [a, b] = putCalls();
    expect(a).toEqual(b);
  });
});

describe('Config invocation rejections quote event values capped', () => {
  it('a 20,000-character account ID is quoted in at most 256 characters plus its length', () => {
    const huge = '1'.repeat(20_000);
    const event = { invokingEvent: JSON.stringify({ messageType: 'ScheduledNotification', notificationCreationTime: '2026-11-20T10:00:00Z' }), resultToken: 't', accountId: huge };
    let message = '';
    try {
      parseInvocation(event);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^event\.accountId "1{256}"…\(20000 chars\) is not an account ID$/);
  });
});
