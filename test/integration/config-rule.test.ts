/**
 * The Config rule handler on moto: real tables, real SDK clients, the sample events (TESTMODE
 * result token: moto accepts PutEvaluations only with TestMode). moto stores no evaluations, so
 * every PutEvaluations request is recorded by a middleware on the injected ConfigServiceClient,
 * and the calls that reached moto are counted by the fault proxy in front of it.
 */
import { ConfigServiceClient, type PutEvaluationsCommandInput } from '@aws-sdk/client-config-service';
import {
  DescribeContinuousBackupsCommand,
  DynamoDBClient,
  TagResourceCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { Clients } from '../../lib/aws/clients';
import { silentLogger } from '../../lib/runtime/logger';
import { startMoto, resetMoto, type MotoServer } from '../../dev/local/moto';
import { mapLimit } from '../../lib/aws/pace';
import type { Context } from 'aws-lambda';
import { resetPolicyCache } from '../../lib/core/config';
import { handler, run, type ConfigRuleDeps } from '../../functions/config-rule';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';
import { loadEvent } from '../helpers/builders';
import { seedTable } from '../../dev/seed';

const ACCOUNT = '123456789012'; // moto's default account, as in the sample events
const REGION = 'us-east-1';
let moto: MotoServer;
let proxy: FaultProxy;

type Json = Record<string, unknown>;
const sample = (name: string): Json => loadEvent<Json>(name);

function ddb(region = REGION): DynamoDBClient {
  return new DynamoDBClient({ region, endpoint: moto.endpoint });
}

/** Creates a table in moto with the given PITR state (period in days, 'off', or never touched). */
async function createTable(name: string, pitr: number | 'off', opts: { region?: string; tags?: Record<string, string> } = {}): Promise<void> {
  const client = ddb(opts.region);
  const arn = await seedTable(client, { tableName: name, state: 'off' });
  if (opts.tags) {
    await client.send(
      new TagResourceCommand({ ResourceArn: arn, Tags: Object.entries(opts.tags).map(([Key, Value]) => ({ Key, Value })) }),
    );
  }
  if (pitr !== 'off') {
    await client.send(
      new UpdateContinuousBackupsCommand({ TableName: name, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: pitr } }),
    );
  }
}

interface Recorder {
  deps: ConfigRuleDeps;
  sent: PutEvaluationsCommandInput[];
}

/** Deps as the handler builds them, against moto through the proxy, with PutEvaluations recorded. */
function depsWithRecorder(): Recorder {
  const clients = new Clients({ endpoint: proxy.endpoint });
  const sent: PutEvaluationsCommandInput[] = [];
  clients.get(ConfigServiceClient, REGION).middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutEvaluationsCommand') {
        const input = args.input as PutEvaluationsCommandInput;
        sent.push({ ...input, Evaluations: input.Evaluations?.map((e) => ({ ...e })) });
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordPutEvaluations' },
  );
  return {
    sent,
    deps: {
      policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' },
      clients,
      logger: silentLogger,
      homeRegion: REGION,
      accountId: ACCOUNT,
      inventory: { ratePerSecond: 500 },
    },
  };
}

function resetCounts(): void {
  for (const key of Object.keys(proxy.calls)) delete proxy.calls[key];
}

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

describe('change-triggered invocations on moto', () => {
  beforeAll(async () => {
    await resetMoto(moto.endpoint);
    await createTable('orders', 35, { tags: { team: 'checkout' } });
    await createTable('payments', 'off');
    await createTable('ledger', 7);
  });
  beforeEach(resetCounts);

  it.each([
    // moto's tables are brand new: PITR is on, but its restore window has only just begun.
    ['config-change-compliant.json', 'orders', 'COMPLIANT', expect.stringMatching(/^PITR is enabled \(35 days\), but only 0 days can be restored yet: it was enabled on 20\d\d-.*Z\.$/)],
    ['config-change-noncompliant.json', 'payments', 'NON_COMPLIANT', 'PITR is disabled.'],
    ['config-change-short-period.json', 'ledger', 'NON_COMPLIANT', 'PITR is enabled but its recovery period is 7 days, shorter than the required 35 days.'],
  ])('%s: reads the real table and sends one evaluation with TestMode', async (file, table, compliance, annotationText) => {
    const { deps, sent } = depsWithRecorder();
    const result = await run(sample(file), deps);
    expect(sent).toEqual([
      {
        ResultToken: 'TESTMODE',
        TestMode: true,
        Evaluations: [
          {
            ComplianceResourceType: 'AWS::DynamoDB::Table',
            ComplianceResourceId: table,
            ComplianceType: compliance,
            Annotation: annotationText,
            OrderingTimestamp: new Date('2026-11-21T10:15:02.871Z'),
          },
        ],
      },
    ]);
    expect(result.outcome).toBe('reported');
    expect(proxy.calls.DescribeContinuousBackups).toBe(1);
    expect(proxy.calls.PutEvaluations).toBe(1); // moto accepted it (TestMode)
  });

  it('reads the state now, not the item: a table switched on since the item was recorded is COMPLIANT', async () => {
    await createTable('payments-later', 'off');
    await ddb().send(
      new UpdateContinuousBackupsCommand({ TableName: 'payments-later', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
    );
    const event = sample('config-change-noncompliant.json'); // the item says DISABLED
    const invoking = JSON.parse(event.invokingEvent as string) as { configurationItem: Json };
    const item = invoking.configurationItem;
    item.resourceId = item.resourceName = 'payments-later';
    item.ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/payments-later`;
    (item.configuration as Json).tableName = 'payments-later';
    (item.configuration as Json).tableArn = item.ARN;
    event.invokingEvent = JSON.stringify(invoking);
    const { deps, sent } = depsWithRecorder();
    await run(event, deps);
    expect(sent[0]?.Evaluations?.[0]).toMatchObject({ ComplianceResourceId: 'payments-later', ComplianceType: 'COMPLIANT' });
  });

  it('deleted resource: NOT_APPLICABLE without any DynamoDB call', async () => {
    const { deps, sent } = depsWithRecorder();
    await run(sample('config-deleted.json'), deps);
    expect(sent.flatMap((s) => s.Evaluations ?? [])).toEqual([
      {
        ComplianceResourceType: 'AWS::DynamoDB::Table',
        ComplianceResourceId: 'old-orders',
        ComplianceType: 'NOT_APPLICABLE',
        Annotation: 'The table is not evaluated: its configuration item status is ResourceDeleted.',
        OrderingTimestamp: new Date('2026-11-21T10:20:11.004Z'),
      },
    ]);
    expect(proxy.calls).toEqual({ PutEvaluations: 1 });
  });

  it('left scope: NOT_APPLICABLE without any DynamoDB call', async () => {
    const { deps, sent } = depsWithRecorder();
    await run(sample('config-left-scope.json'), deps);
    expect(sent.flatMap((s) => s.Evaluations ?? [])).toEqual([
      expect.objectContaining({ ComplianceResourceId: 'orders', ComplianceType: 'NOT_APPLICABLE', Annotation: 'The resource is no longer in the scope of this rule.' }),
    ]);
    expect(proxy.calls).toEqual({ PutEvaluations: 1 });
  });

  it('oversized item: moto keeps no Config history, so the summary names the table; the real state decides', async () => {
    const { deps, sent } = depsWithRecorder();
    await run(sample('config-oversized.json'), deps);
    expect(proxy.calls.GetResourceConfigHistory).toBe(1);
    expect(proxy.calls.DescribeContinuousBackups).toBe(1);
    expect(sent.flatMap((s) => s.Evaluations ?? [])).toEqual([
      expect.objectContaining({ ComplianceResourceId: 'orders', ComplianceType: 'COMPLIANT', OrderingTimestamp: new Date('2026-11-21T10:15:02.871Z') }),
    ]);
  });

  it('the Lambda handler itself (middleware, deps from the environment) reports through moto', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL: proxy.endpoint, AWS_REGION: REGION, PITR_GUARD_LOG_LEVEL: 'error' });
    try {
      const context = { invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:pitr-guard-dev-configRule`, awsRequestId: 'it-1' } as Context;
      const result = await handler(sample('config-change-noncompliant.json'), context);
      expect(result.evaluations).toEqual([
        {
          ComplianceResourceType: 'AWS::DynamoDB::Table',
          ComplianceResourceId: 'payments',
          ComplianceType: 'NON_COMPLIANT',
          Annotation: 'PITR is disabled.',
          OrderingTimestamp: '2026-11-21T10:15:02.871Z',
        },
      ]);
      expect(proxy.calls.PutEvaluations).toBe(1);
    } finally {
      process.env = saved;
      resetPolicyCache();
    }
  });

  it('changes nothing in DynamoDB: PITR states in moto are as they were', async () => {
    const states = await Promise.all(
      ['orders', 'payments', 'ledger'].map(async (t) => {
        const d = (await ddb().send(new DescribeContinuousBackupsCommand({ TableName: t }))).ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
        return [t, d?.PointInTimeRecoveryStatus, d?.RecoveryPeriodInDays];
      }),
    );
    expect(states).toEqual([
      ['orders', 'ENABLED', 35],
      ['payments', 'DISABLED', undefined],
      ['ledger', 'ENABLED', 7],
    ]);
  });
});

describe('periodic invocation on moto', () => {
  const N = 250;
  const name = (i: number) => `periodic-${String(i).padStart(3, '0')}`;
  /** 0: PITR off, 1: 7-day period, 2: 35 days, 3: off but exempt, 4: 35 days */
  const kind = (i: number) => i % 5;

  beforeAll(async () => {
    await resetMoto(moto.endpoint);
    await mapLimit(Array.from({ length: N }, (_, i) => i), 16, (i) =>
      createTable(name(i), kind(i) === 0 || kind(i) === 3 ? 'off' : kind(i) === 1 ? 7 : 35, kind(i) === 3 ? { tags: { 'pitr-guard:exempt': 'fixture' } } : {}),
    );
    await createTable('elsewhere', 'off', { region: 'eu-west-1' }); // another Region: not this rule's
  });

  it(`evaluates all ${N} tables of the rule's Region in 3 batches (100 + 100 + 50) with one result token`, async () => {
    resetCounts();
    const { deps, sent } = depsWithRecorder();
    const result = await run(sample('config-periodic.json'), deps);

    expect(sent.map((s) => s.Evaluations?.length)).toEqual([100, 100, 50]);
    expect(proxy.calls.PutEvaluations).toBe(3);
    expect(sent.every((s) => s.ResultToken === 'TESTMODE' && s.TestMode === true)).toBe(true);
    const all = sent.flatMap((s) => s.Evaluations ?? []);
    expect(new Set(all.map((e) => e.ComplianceResourceId))).toEqual(new Set(Array.from({ length: N }, (_, i) => name(i))));
    expect(all.map((e) => e.ComplianceResourceId)).not.toContain('elsewhere');
    expect(all.every((e) => e.OrderingTimestamp?.toISOString() === '2026-11-21T11:00:00.512Z')).toBe(true);

    const byId = new Map(all.map((e) => [e.ComplianceResourceId, e.ComplianceType]));
    const expected = { 0: 'NON_COMPLIANT', 1: 'NON_COMPLIANT', 2: 'COMPLIANT', 3: 'NOT_APPLICABLE', 4: 'COMPLIANT' } as const;
    for (let i = 0; i < N; i++) expect([name(i), byId.get(name(i))]).toEqual([name(i), expected[kind(i) as keyof typeof expected]]);
    const counts: Record<string, number> = {};
    for (const e of all) counts[e.ComplianceType as string] = (counts[e.ComplianceType as string] ?? 0) + 1;
    expect(counts).toEqual({ NON_COMPLIANT: 100, COMPLIANT: 100, NOT_APPLICABLE: 50 });
    expect(result).toMatchObject({ outcome: 'reported', batches: 3, testMode: true });
    expect(result.evaluations).toHaveLength(N);
  });
});
