/**
 * The CloudTrail reactor end to end on moto: someone disables PITR, the matching event reaches the
 * handler, PITR is back on in moto with the policy's period, the SNS alert arrives in an SQS queue
 * subscribed to the topic and names the caller, and the Slack message reaches a local webhook
 * server. Duplicates are dropped by the de-duplication table (and without a usable one the event is
 * still handled); dry run and alert mode leave moto's state unchanged; an exempt table is left off
 * with one informational alert; the handler as Lambda runs it (middleware, env, SSM) does the same.
 */
import { TagResourceCommand } from '@aws-sdk/client-dynamodb';
import { Clients } from '../../lib/aws/clients';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { createLogger } from '../../lib/runtime/logger';
import { resetWebhookCache } from '../../lib/notify/slack';
import type { Policy } from '../../lib/core/types';
import { makeDeps, reactorHandler, type PitrChangeDeps, type PitrChangeResult } from '../../functions/pitr-change';
import { ACCOUNT, createIdempotencyTable, createTable, ddbClient, pitrOf, putWebhookParameter, setPitr, topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { eventIdFor, loadEvent } from '../helpers/builders';
import { captureLogs, lambdaContext } from '../helpers/lambda';
import { startWebhookSink, type WebhookSink } from '../../dev/webhook-sink';

let moto: MotoServer;
let sink: WebhookSink;
let inbox: TopicInbox;
const WEBHOOK_PARAM = '/pitr-guard/slack-webhook';
const DEDUP = 'pitr-guard-idempotency';
const logLines: string[] = [];

beforeAll(async () => {
  moto = await startMoto();
  sink = await startWebhookSink();
  inbox = await topicWithInbox(moto.endpoint);
  await putWebhookParameter(moto.endpoint, WEBHOOK_PARAM, sink.url);
  await createIdempotencyTable(moto.endpoint, DEDUP);
});

afterAll(async () => {
  await sink?.stop();
  await moto?.stop();
});

function deps(policy: Partial<Policy> = {}, idempotencyTable = DEDUP): PitrChangeDeps {
  resetWebhookCache();
  return makeDeps({
    policy: {
      mode: 'remediate',
      minRecoveryDays: 14,
      exemptTag: 'pitr-guard:exempt',
      regions: ['us-east-1'],
      dryRun: false,
      alertTopicArn: inbox.topicArn,
      slackWebhookParam: WEBHOOK_PARAM,
      ...policy,
    },
    clients: new Clients({ endpoint: moto.endpoint }),
    logger: createLogger({ write: (l) => logLines.push(l) }),
    homeRegion: 'us-east-1',
    idempotencyTable,
  });
}

/** One invocation as Lambda makes it: de-duplication middleware around the reactor's run. */
const run = (event: unknown, d: PitrChangeDeps): Promise<PitrChangeResult> => reactorHandler(() => d)(event, lambdaContext('pitr-guard-dev-pitrChange'));

/** The sample event, for `table`, with its own eventID (a UUID, as CloudTrail's are, derived from `label`). */
function event(name: string, table: string, label: string) {
  const e = loadEvent<{ detail: Record<string, unknown> }>(name);
  e.detail.eventID = eventIdFor(label);
  const req = e.detail.requestParameters as Record<string, unknown>;
  if ('tableName' in req) req.tableName = table;
  return e;
}

describe('pitrChange on moto', () => {
  it('re-enables PITR with the policy period and alerts SNS (→ SQS) and Slack, naming the caller', async () => {
    await createTable(moto.endpoint, 'orders', 'off');
    expect(await pitrOf(moto.endpoint, 'orders')).toEqual({ status: 'DISABLED', days: undefined });
    const slackBefore = sink.requests.length;

    const out = await run(event('cloudtrail-pitr-disabled.json', 'orders', 'evt-disable-1'), deps());

    expect(out).toMatchObject({ status: 'handled', result: 'ENABLED', alert: { delivered: ['sns', 'slack'], failed: [] } });
    // moto's state: on again, with the policy's period (botocore must be new enough to carry it)
    expect(await pitrOf(moto.endpoint, 'orders')).toEqual({ status: 'ENABLED', days: 14 });

    const [sns] = await inbox.receive(1);
    expect(sns?.Subject).toBe('[pitr-guard] PITR disabled on orders (123456789012 us-east-1): re-enabled');
    expect(sns?.Message).toContain('Who:            arn:aws:sts::123456789012:assumed-role/Admin/alice\n');
    expect(sns?.Message).toContain('Source IP:      203.0.113.10\n');
    expect(sns?.Message).toContain('pitr-guard did: Re-enabled PITR with a 14-day recovery period and verified it (DescribeContinuousBackups: ENABLED, 14 days).');
    expect(sns?.Message).toContain('Console:        https://us-east-1.console.aws.amazon.com/dynamodbv2/home?region=us-east-1#table?name=orders');
    expect(sns?.MessageAttributes?.result).toEqual({ Type: 'String', Value: 'ENABLED' });

    expect(sink.requests.length).toBe(slackBefore + 1);
    const slack = sink.requests.at(-1)!;
    expect(slack.json?.text).toBe('PITR disabled on orders (123456789012, us-east-1) by `arn:aws:sts::123456789012:assumed-role/Admin/alice`: re-enabled.');
    expect(JSON.stringify(slack.json?.blocks)).toContain('*Who*\\n`arn:aws:sts::123456789012:assumed-role/Admin/alice`');
    // the webhook URL (a secret) is never logged
    expect(logLines.join('\n')).not.toContain(new URL(sink.url).pathname);
  });

  it('drops a duplicate delivery of the same event: no second alert', async () => {
    const before = sink.requests.length;
    await setPitr(moto.endpoint, 'orders', 'off'); // even if the table drifted again meanwhile
    const out = await run(event('cloudtrail-pitr-disabled.json', 'orders', 'evt-disable-1'), deps());
    expect(out).toMatchObject({ status: 'duplicate', result: 'ENABLED' });
    expect(sink.requests.length).toBe(before);
    expect(await inbox.depth()).toBe(0);
    await setPitr(moto.endpoint, 'orders', 14);
  });

  it('its own re-enable event (period 14 < 35, so the rule does deliver it) finds the table compliant and does nothing', async () => {
    const before = sink.requests.length;
    const own = event('cloudtrail-pitr-enabled.json', 'orders', 'evt-own-enable');
    // What pitr-guard sent above: PointInTimeRecoveryEnabled true, RecoveryPeriodInDays = minRecoveryDays (14).
    ((own.detail.requestParameters as Record<string, unknown>).pointInTimeRecoverySpecification as Record<string, unknown>).recoveryPeriodInDays = 14;
    const out = await run(own, deps());
    expect(out).toMatchObject({ status: 'handled', result: 'ALREADY_COMPLIANT' });
    expect(out.alert).toBeUndefined();
    expect(sink.requests.length).toBe(before);
    expect(await inbox.depth()).toBe(0);
  });

  it('dry run and alert mode alert but leave moto unchanged', async () => {
    await createTable(moto.endpoint, 'payments', 'off');
    const dry = await run(event('cloudtrail-pitr-disabled.json', 'payments', 'evt-dry'), deps({ dryRun: true }));
    expect(dry).toMatchObject({ result: 'SKIPPED_DRY_RUN' });
    expect(await pitrOf(moto.endpoint, 'payments')).toEqual({ status: 'DISABLED', days: undefined });
    const alert = await run(event('cloudtrail-pitr-disabled.json', 'payments', 'evt-alert'), deps({ mode: 'alert' }));
    expect(alert).toMatchObject({ result: 'SKIPPED_MODE' });
    expect(await pitrOf(moto.endpoint, 'payments')).toEqual({ status: 'DISABLED', days: undefined });
    const subjects = (await inbox.receive(3)).slice(-2).map((m) => m.Subject);
    expect(subjects).toEqual([
      '[pitr-guard] PITR disabled on payments (123456789012 us-east-1): dry run',
      '[pitr-guard] PITR disabled on payments (123456789012 us-east-1): alert only',
    ]);
  });

  it('PITR disabled on an EXEMPT table: one informational alert, PITR left off, a copy of the event is silent', async () => {
    await createTable(moto.endpoint, 'scratch', 'off');
    await ddbClient(moto.endpoint).send(
      new TagResourceCommand({
        ResourceArn: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/scratch`,
        Tags: [
          { Key: 'pitr-guard:exempt', Value: 'rebuilt nightly from S3' },
          { Key: 'pitr-guard:exempt-until', Value: '2099-12-31' },
        ],
      }),
    );
    const slackBefore = sink.requests.length;
    const out = await run(event('cloudtrail-pitr-disabled.json', 'scratch', 'evt-exempt'), deps());
    expect(out).toMatchObject({ status: 'handled', result: 'ALREADY_COMPLIANT', alert: { delivered: ['sns', 'slack'] } });
    expect(await pitrOf(moto.endpoint, 'scratch')).toEqual({ status: 'DISABLED', days: undefined });
    const sns = (await inbox.receive(4)).at(-1); // the 4th alert of this file
    expect(sns?.Subject).toBe('[pitr-guard] PITR disabled on scratch (123456789012 us-east-1): exempt, not changed');
    expect(sns?.Message).toContain('Who:            arn:aws:sts::123456789012:assumed-role/Admin/alice\n');
    expect(sns?.Message).toContain('pitr-guard did: Not re-enabled: the table is exempt: rebuilt nightly from S3, until 2099-12-31.\n');
    expect(sink.requests.length).toBe(slackBefore + 1);

    expect(await run(event('cloudtrail-pitr-disabled.json', 'scratch', 'evt-exempt'), deps())).toMatchObject({ status: 'duplicate' });
    expect(await inbox.depth()).toBe(0);
    expect(sink.requests.length).toBe(slackBefore + 1);
  });

  it('without a usable de-duplication table (it does not exist) the event is still remediated and alerted, with a warning', async () => {
    await createTable(moto.endpoint, 'carts', 'off');
    const mark = logLines.length;
    const out = await run(event('cloudtrail-pitr-disabled.json', 'carts', 'evt-no-dedup'), deps({}, 'pitr-guard-idempotency-missing'));
    expect(out).toMatchObject({ status: 'handled', result: 'ENABLED', alert: { delivered: ['sns', 'slack'] } });
    expect(await pitrOf(moto.endpoint, 'carts')).toEqual({ status: 'ENABLED', days: 14 });
    expect((await inbox.receive(5)).at(-1)?.Subject).toBe('[pitr-guard] PITR disabled on carts (123456789012 us-east-1): re-enabled');
    const warned = logLines.slice(mark).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'idempotency-unavailable');
    expect(warned).toEqual([expect.objectContaining({ level: 'warn', operation: 'PutItem', errorName: 'ResourceNotFoundException' })]);
  });

  it('a period shortened below the policy (table named by ARN) is set back', async () => {
    await createTable(moto.endpoint, 'ledger', 7);
    const e = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-period-shortened.json');
    (e.detail.requestParameters as Record<string, unknown>).tableName = 'arn:aws:dynamodb:us-east-1:123456789012:table/ledger';
    const out = await run(e, deps());
    expect(out).toMatchObject({ result: 'ENABLED', table: { tableName: 'ledger' } });
    expect(await pitrOf(moto.endpoint, 'ledger')).toEqual({ status: 'ENABLED', days: 14 });
  });

  it('a restore acts on the TARGET table', async () => {
    await createTable(moto.endpoint, 'orders-restored');
    const out = await run(loadEvent('cloudtrail-restore-point-in-time.json'), deps());
    expect(out).toMatchObject({ result: 'ENABLED', table: { tableName: 'orders-restored' } });
    expect(await pitrOf(moto.endpoint, 'orders-restored')).toMatchObject({ status: 'ENABLED' });
  });

  it('the Lambda handler (middleware, env, SSM read once) does the same', async () => {
    await createTable(moto.endpoint, 'invoices');
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
      PITR_GUARD_MODE: 'remediate',
      PITR_GUARD_MIN_RECOVERY_DAYS: '21',
      PITR_GUARD_ALERT_TOPIC_ARN: inbox.topicArn,
      PITR_GUARD_SLACK_WEBHOOK_PARAM: WEBHOOK_PARAM,
      PITR_GUARD_IDEMPOTENCY_TABLE: DEDUP,
    });
    try {
      let handler!: (typeof import('../../functions/pitr-change'))['handler'];
      jest.isolateModules(() => {
        handler = (require('../../functions/pitr-change') as typeof import('../../functions/pitr-change')).handler;
      });
      const before = sink.requests.length;
      const { result, lines } = await captureLogs(() => handler(loadEvent('cloudtrail-create-table.json'), lambdaContext('pitr-guard-dev-pitrChange')));
      expect(result).toMatchObject({ status: 'handled', result: 'ENABLED', table: { tableName: 'invoices' } });
      expect(await pitrOf(moto.endpoint, 'invoices')).toEqual({ status: 'ENABLED', days: 21 });
      expect(sink.requests.length).toBe(before + 1);
      expect((await inbox.receive(8)).at(-1)?.Subject).toBe('[pitr-guard] Table invoices created without PITR (123456789012 us-east-1): enabled');
      expect(lines.find((l) => l.event === 'alert-sent')).toMatchObject({ function: 'pitrChange', delivered: ['sns', 'slack'] });
      expect(JSON.stringify(lines)).not.toContain(new URL(sink.url).pathname);
      // a second delivery of the same CloudTrail event: de-duplicated by the table
      const again = await captureLogs(() => handler(loadEvent('cloudtrail-create-table.json'), lambdaContext('pitr-guard-dev-pitrChange')));
      expect(again.result).toMatchObject({ status: 'duplicate' });
    } finally {
      process.env = saved;
    }
  });
});
