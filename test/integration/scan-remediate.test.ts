/**
 * The scheduled scan with its actions on moto: `remediate` mode fixes every non-compliant table and
 * sends one digest; `alert` mode changes nothing and sends one digest; `report` mode sends nothing.
 * Run through the handler, so the buildDeps wiring (env → notifiers → afterScan) is what is tested.
 */
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { resetWebhookCache } from '../../lib/notify/slack';
import { createTable, pitrOf, putWebhookParameter, setPitr, topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { loadEvent } from '../helpers/builders';
import { captureLogs, lambdaContext } from '../helpers/lambda';
import { startWebhookSink, type WebhookSink } from '../../dev/webhook-sink';

let moto: MotoServer;
let sink: WebhookSink;
let inbox: TopicInbox;
const saved = { ...process.env };

// name → state after seeding
const TABLES: Record<string, 'off' | number | 'never'> = { orders: 'off', payments: 7, carts: 'never', sessions: 35, ledger: 35 };

beforeAll(async () => {
  moto = await startMoto();
  sink = await startWebhookSink();
  inbox = await topicWithInbox(moto.endpoint);
  await putWebhookParameter(moto.endpoint, '/pitr-guard/slack-webhook', sink.url);
  for (const [name, state] of Object.entries(TABLES)) await createTable(moto.endpoint, name, state);
});
afterAll(async () => {
  process.env = saved;
  await sink?.stop();
  await moto?.stop();
});

async function scheduledScan(mode: string) {
  process.env = {
    ...saved,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: 'us-east-1',
    PITR_GUARD_MODE: mode,
    PITR_GUARD_MIN_RECOVERY_DAYS: '30',
    PITR_GUARD_ALERT_TOPIC_ARN: inbox.topicArn,
    PITR_GUARD_SLACK_WEBHOOK_PARAM: '/pitr-guard/slack-webhook',
  };
  resetWebhookCache();
  let handler!: (typeof import('../../functions/scheduled-scan'))['handler'];
  jest.isolateModules(() => {
    handler = (require('../../functions/scheduled-scan') as typeof import('../../functions/scheduled-scan')).handler;
  });
  return captureLogs(() => handler(loadEvent('scheduled.json'), lambdaContext('pitr-guard-dev-scheduledScan')));
}

const nonCompliant = ['carts', 'orders', 'payments'];

describe('scheduled scan actions on moto', () => {
  it('report mode: logs, changes nothing, sends nothing', async () => {
    const slackBefore = sink.requests.length;
    const { result } = await scheduledScan('report');
    expect(result).toMatchObject({ summary: { total: 5, nonCompliant: 3 } });
    expect(sink.requests.length).toBe(slackBefore);
    expect(await inbox.depth()).toBe(0);
    for (const t of nonCompliant) expect((await pitrOf(moto.endpoint, t)).status === 'ENABLED' && (await pitrOf(moto.endpoint, t)).days! >= 30).toBe(false);
  });

  it('alert mode: ONE digest on SNS and Slack listing the three tables; nothing changed', async () => {
    const slackBefore = sink.requests.length;
    const { lines } = await scheduledScan('alert');
    // Decided from the scan's own reads: one line per finding, one summary, no remediation (re-read) lines.
    expect(lines.filter((l) => l.event === 'finding').map((l) => l.tableName)).toEqual(nonCompliant);
    expect(lines.filter((l) => l.event === 'scan-summary')).toHaveLength(1);
    expect(lines.filter((l) => l.event === 'remediation')).toEqual([]);
    expect(lines.find((l) => l.event === 'scan-actions')).toMatchObject({ results: { SKIPPED_MODE: 3 } });
    const messages = await inbox.receive(1);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Subject).toBe('[pitr-guard] Scan 123456789012: 3 tables out of policy (3 not changed)');
    for (const t of nonCompliant) expect(messages[0]?.Message).toContain(`- ${t} (us-east-1): `);
    expect(messages[0]?.Message).toContain('- payments (us-east-1): recovery period 7 days; alert only, not changed');
    expect(sink.requests.length).toBe(slackBefore + 1);
    expect(sink.requests.at(-1)?.json?.text).toContain('3 tables out of policy');
    expect(await pitrOf(moto.endpoint, 'orders')).toMatchObject({ status: 'DISABLED' });
    expect(await pitrOf(moto.endpoint, 'payments')).toEqual({ status: 'ENABLED', days: 7 });
  });

  it('remediate mode: fixes every non-compliant table with the policy period, then one digest with the results', async () => {
    const { result, lines } = await scheduledScan('remediate');
    expect(result).toMatchObject({ summary: { total: 5, nonCompliant: 3 } });
    for (const t of nonCompliant) expect([t, await pitrOf(moto.endpoint, t)]).toEqual([t, { status: 'ENABLED', days: 30 }]);
    for (const t of ['sessions', 'ledger']) expect([t, await pitrOf(moto.endpoint, t)]).toEqual([t, { status: 'ENABLED', days: 35 }]);
    const messages = await inbox.receive(2);
    expect(messages).toHaveLength(2);
    expect(messages[1]?.Subject).toBe('[pitr-guard] Scan 123456789012: 3 tables out of policy (3 re-enabled)');
    expect(messages[1]?.Message).toContain('- orders (us-east-1): PITR not enabled; re-enabled (30 days) and verified');
    expect(lines.find((l) => l.event === 'scan-actions')).toMatchObject({ results: { ENABLED: 3 } });

    // the next scan finds nothing to do and says nothing
    const slackBefore = sink.requests.length;
    const next = await scheduledScan('remediate');
    expect(next.result).toMatchObject({ summary: { nonCompliant: 0 } });
    expect(sink.requests.length).toBe(slackBefore);
    expect(await inbox.depth()).toBe(0);
  });

  it('a failing alert on every channel fails the scheduled invocation (retried, then the on-failure queue)', async () => {
    await setPitr(moto.endpoint, 'orders', 'off');
    sink.script([{ status: 404, body: 'no_service' }]);
    const saveArn = inbox.topicArn;
    inbox.topicArn = 'arn:aws:sns:us-east-1:123456789012:does-not-exist';
    try {
      const { result } = await scheduledScan('alert').catch((e: Error) => ({ result: e }));
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toMatch(/^alert delivery failed on every channel: sns: .*; slack: .*no_service/);
    } finally {
      inbox.topicArn = saveArn;
      await setPitr(moto.endpoint, 'orders', 30);
    }
  });
});
