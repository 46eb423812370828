/**
 * The reactor with the findings ledger (lib/jobs/pitr-change.ts record + loop protection): the
 * disable is recorded and the incident opened and closed by pitr-guard in one write; at the loop
 * limit the alert is the escalation (REPEATEDLY_DISABLED), past it nothing is sent; a ledger that
 * cannot be written never costs the alert.
 */
import { DescribeContinuousBackupsCommand, DescribeTableCommand, DynamoDBClient, GetItemCommand, ListTagsOfResourceCommand, UpdateContinuousBackupsCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { reactorHandler, type PitrChangeDeps, type PitrChangeResult } from '../../functions/pitr-change';
import { Clients } from '../../lib/aws/clients';
import { IncidentLedger } from '../../lib/state/incidents';
import { createLogger } from '../../lib/runtime/logger';
import type { Notifier } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';
import { awsError } from '../helpers/aws-errors';
import { eventIdFor, loadEvent } from '../helpers/builders';
import { lambdaContext } from '../helpers/lambda';

const ddb = mockClient(DynamoDBClient);
const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';
const disabled = { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED' as const, PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' as const } } };
const enabled = { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED' as const, PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED' as const, RecoveryPeriodInDays: 35 } } };
const NOW = Date.parse('2026-11-20T10:15:33Z');

let sent: RenderedAlert[];
let lines: Record<string, unknown>[];
const channel: Notifier = { channel: 'sns', send: async (a: RenderedAlert) => void sent.push(a) } as Notifier;

function deps(): PitrChangeDeps {
  return {
    now: () => new Date(NOW),
    policy: { mode: 'remediate', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false },
    clients: new Clients(),
    logger: createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
    homeRegion: 'us-east-1',
    accountId: '123456789012',
    notifiers: [channel],
    ledger: new IncidentLedger(new DynamoDBClient({}), 'pitr-guard-findings', { sleep: async () => undefined, attempts: 2 }),
    lifecycle: { remindHours: 24, loopLimit: 3, loopWindowMinutes: 60 },
    sleep: async () => undefined,
  };
}

const run = (event: unknown, d: PitrChangeDeps): Promise<PitrChangeResult> => reactorHandler(() => d)(event, { ...lambdaContext('pitr-guard-dev-pitrChange'), getRemainingTimeInMillis: () => 290_000 });

function event(label: string) {
  const e = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-pitr-disabled.json');
  e.detail.eventID = eventIdFor(label);
  return e;
}

/** The ledger item already holds `n` disables of this window. */
function priorDisables(n: number): Record<string, AttributeValue> {
  return {
    disables: { L: Array.from({ length: n }, (_, i) => ({ M: { eventId: { S: `old-${i}` }, at: { S: new Date(NOW - (10 - i) * 60_000).toISOString() }, principal: { S: 'arn:aws:sts::123456789012:assumed-role/Deploy/ci' }, userAgent: { S: 'Terraform/1.9.5' } } })) },
    lifecycleVersion: { N: String(n) },
  };
}

beforeEach(() => {
  ddb.reset();
  sent = [];
  lines = [];
  ddb.on(DescribeTableCommand).resolves({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
  ddb.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
  ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled);
  ddb.on(UpdateContinuousBackupsCommand).resolves(enabled);
  ddb.on(UpdateItemCommand).resolves({});
});

describe('pitrChange with the findings ledger', () => {
  it('first disable: the ordinary alert; the incident opened and closed by pitr-guard', async () => {
    ddb.on(GetItemCommand).resolves({});
    const out = await run(event('first'), deps());
    expect(out).toMatchObject({ status: 'handled', result: 'ENABLED' });
    expect(sent.map((a) => a.kind)).toEqual(['change']);
    expect(sent[0]?.text).not.toContain('Again:');
    expect(lines.find((l) => l.event === 'incident')).toMatchObject({ incident: 'opened-and-resolved', disablesInWindow: 1, loopAlert: 'ORDINARY' });
    const write = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(write?.UpdateExpression).toContain('fixedBy = :by');
    expect(write?.ExpressionAttributeValues?.[':by']).toEqual({ S: 'pitr-guard' });
    // One read of the item (in the first round trip, with the claim and the table's reads), one write.
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });

  it('the second disable: the ordinary alert, saying it is a repeat and when the escalation comes', async () => {
    ddb.on(GetItemCommand).resolves({ Item: priorDisables(1) });
    await run(event('second'), deps());
    expect(sent.map((a) => a.kind)).toEqual(['change']);
    expect(sent[0]?.text).toContain(
      'Again:          switched off 2 times within 60 minutes; at 3 pitr-guard sends one escalation and then stops alerting this table for the window (it keeps re-enabling).',
    );
    expect(JSON.stringify(sent[0]?.slack.blocks)).toContain('*Again:* switched off 2 times within 60 minutes');
  });

  it('the disable that reaches the limit: one escalation instead, REPEATEDLY_DISABLED; PITR re-enabled', async () => {
    ddb.on(GetItemCommand).resolves({ Item: priorDisables(2) });
    const out = await run(event('third'), deps());
    expect(out).toMatchObject({ result: 'ENABLED' });
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(1);
    expect(sent.map((a) => [a.kind, a.subject])).toEqual([['escalation', '[pitr-guard] LOOP: PITR switched off 3 times on orders (123456789012 us-east-1)']]);
    expect(sent[0]?.text).toContain('reason REPEATEDLY_DISABLED');
  });

  it('past the limit: re-enabled, nothing sent, a loop-silenced line', async () => {
    ddb.on(GetItemCommand).resolves({ Item: priorDisables(3) });
    const out = await run(event('fourth'), deps());
    expect(out).toMatchObject({ result: 'ENABLED' });
    expect(out.alert).toBeUndefined();
    expect(ddb.commandCalls(UpdateContinuousBackupsCommand)).toHaveLength(1);
    expect(sent).toEqual([]);
    expect(lines.find((l) => l.event === 'loop-silenced')).toMatchObject({ level: 'warn', disablesInWindow: 4, reasons: ['PITR_DISABLED', 'REPEATEDLY_DISABLED'] });
  });

  it('the ledger cannot be read (AccessDenied): logged, and the ordinary alert still goes out', async () => {
    ddb.on(GetItemCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform dynamodb:GetItem'));
    const out = await run(event('denied'), deps());
    expect(out).toMatchObject({ result: 'ENABLED' });
    expect(sent.map((a) => a.kind)).toEqual(['change']);
    expect(lines.find((l) => l.event === 'ledger-failed')).toMatchObject({ level: 'error' });
  });

  it('its own re-enable event (minRecoveryDays 7, which the rule matches) reads no ledger item and writes none', async () => {
    const own = loadEvent<{ detail: { eventID: string; requestParameters: { pointInTimeRecoverySpecification: Record<string, unknown> } } }>('cloudtrail-pitr-enabled.json');
    own.detail.requestParameters.pointInTimeRecoverySpecification.recoveryPeriodInDays = 7;
    ddb.on(DescribeContinuousBackupsCommand).resolves({ ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: 7 } } });
    const d = deps();
    d.policy = { ...d.policy, minRecoveryDays: 7 };
    const out = await run(own, d);
    expect(out).toMatchObject({ result: 'ALREADY_COMPLIANT' });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
    expect(sent).toEqual([]);
  });
});
