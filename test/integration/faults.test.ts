/**
 * The fault suite of the act path: the reactor and the scheduled scan driven through the
 * fault-injecting proxy in front of moto (dev/local/proxy.ts): persistent throttling, HTTP 500,
 * timeouts (a request that is never answered), connection resets, a table deleted between the read
 * and the update, a failed verification read, a killed invocation, an SNS topic that does not exist.
 *
 * The reactor is invoked as Lambda invokes it asynchronously: up to 3 attempts (serverless.yml
 * maximumRetryAttempts: 2), the error of the last one is what the on-failure destination (the
 * failed-events queue, with its alarm) receives. Each case asserts what a user would check: PITR in
 * moto afterwards, the UpdateContinuousBackups calls, the alerts per channel (the SQS queue
 * subscribed to the topic, the local webhook sink), what each attempt returned or threw, what
 * reached the failed-events path.
 *
 * The last test totals the suite's figures and compares them with docs/reliability.md.
 */
import { CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Clients } from '../../lib/aws/clients';
import { PacerPool } from '../../lib/aws/inventory';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../dev/local/proxy';
import { createLogger } from '../../lib/runtime/logger';
import { buildNotifiers } from '../../lib/notify';
import { scanActionsHook } from '../../lib/act/scan-actions';
import { run as scheduledScan, type ScheduledScanResult } from '../../lib/jobs/scheduled-scan';
import { makeDeps, reactorHandler, type PitrChangeDeps, type PitrChangeResult } from '../../lib/jobs/pitr-change';
import { AlertNotDeliveredError, EventInProgressError, RemediationDeferredError, RemediationRetryError } from '../../lib/core/errors';
import type { Policy } from '../../lib/core/types';
import { ACCOUNT, createIdempotencyTable, createTable, ddbClient, pitrOf, topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { eventIdFor, loadEvent } from '../helpers/builders';
import { lambdaContext } from '../helpers/lambda';
import { startWebhookSink, type WebhookSink } from '../../dev/webhook-sink';

let moto: MotoServer;
let proxy: FaultProxy;
let sink: WebhookSink;
let inbox: TopicInbox;
const DEDUP = 'pitr-guard-idempotency';
const SCAN_REGION = 'eu-west-1';
const logLines: Record<string, unknown>[] = [];
const logger = createLogger({ write: (l) => logLines.push(JSON.parse(l) as Record<string, unknown>) });

/** The suite's figures (docs/reliability.md shows them). */
const figures = { cases: 0, wrongActions: 0, crashes: 0, alertsLostWithoutAlarm: 0, unprotectedWithoutRetry: 0 };
const DESIGNED = [RemediationRetryError, RemediationDeferredError, AlertNotDeliveredError, EventInProgressError];

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  sink = await startWebhookSink();
  inbox = await topicWithInbox(moto.endpoint);
  await createIdempotencyTable(moto.endpoint, DEDUP);
});
afterAll(async () => {
  await proxy?.stop();
  await sink?.stop();
  await moto?.stop();
});
beforeEach(() => proxy.setRules([]));

const fast = { maxAttempts: 1, requestTimeoutMs: 400, connectionTimeoutMs: 400 };
const policy = (overrides: Partial<Policy> = {}): Policy => ({
  mode: 'remediate',
  minRecoveryDays: 14,
  exemptTag: 'pitr-guard:exempt',
  regions: ['us-east-1'],
  dryRun: false,
  alertTopicArn: inbox.topicArn,
  ...overrides,
});

function reactorDeps(overrides: Partial<Policy> = {}, endpoint = proxy.endpoint): PitrChangeDeps {
  const d = makeDeps({ policy: policy(overrides), clients: new Clients({ endpoint, ...fast }), logger, homeRegion: 'us-east-1', accountId: ACCOUNT, idempotencyTable: DEDUP, slackWebhookUrl: sink.url });
  d.retry = { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 };
  d.remediate = { waitForActiveMs: 600, pollMs: 50, maxPollMs: 200 };
  return d;
}

type Attempt = { ok: true; result: PitrChangeResult } | { ok: false; error: Error };
interface LambdaRun {
  attempts: Attempt[];
  /** What the on-failure destination received (the last attempt's error), if every attempt failed. */
  failedEvent?: string;
}

/** Lambda's asynchronous invocation: up to 3 attempts; `between` runs after a failed attempt. */
async function invokeAsync(event: unknown, d: PitrChangeDeps, between?: (attempt: number) => Promise<void> | void): Promise<LambdaRun> {
  const attempts: Attempt[] = [];
  for (let n = 1; n <= 3; n++) {
    try {
      attempts.push({ ok: true, result: await reactorHandler(() => d)(event, lambdaContext('pitr-guard-dev-pitrChange')) });
      return { attempts };
    } catch (error) {
      attempts.push({ ok: false, error: error as Error });
      if (!DESIGNED.some((E) => error instanceof E)) figures.crashes++;
      await between?.(n);
    }
  }
  const last = attempts.at(-1) as { error: Error };
  return { attempts, failedEvent: `${last.error.name}: ${last.error.message}` };
}

/** The sample disable event for `table`, with its own eventID (a UUID derived from `label`). */
function disableEvent(table: string, label: string) {
  const e = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-pitr-disabled.json');
  e.detail.eventID = eventIdFor(label);
  (e.detail.requestParameters as Record<string, unknown>).tableName = table;
  return e;
}

const updatesOf = (table: string) => proxy.seen.filter((c) => c.operation === 'UpdateContinuousBackups' && c.body.TableName === table);
const snsFor = async (table: string) => (await inbox.receive(0, 500)).filter((m) => m.MessageAttributes?.tableName?.Value === table);
const slackFor = (table: string) => sink.requests.filter((r) => JSON.stringify(r.json ?? {}).includes(`|${table}>`) || (r.json?.text ?? '').includes(` ${table} `));
const on = (operation: string, table: string, rule: Omit<FaultRule, 'operation' | 'match'>): FaultRule => ({ operation, match: (b) => b.TableName === table, ...rule });
const throttle = { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
const serverError = { status: 500, type: 'InternalServerError', message: 'Internal server error' };

/** Books one case: wrong actions (any update that is not "enable with 14 days"), lost alerts, unprotected tables. */
async function book(table: string, run: LambdaRun | { returned: true }, expect_: { protectedAtEnd: boolean; alerted: boolean; gone?: boolean }, region = 'us-east-1') {
  figures.cases++;
  for (const u of updatesOf(table)) {
    const spec = u.body.PointInTimeRecoverySpecification as Record<string, unknown> | undefined;
    if (spec?.PointInTimeRecoveryEnabled !== true || spec.RecoveryPeriodInDays !== 14) figures.wrongActions++;
  }
  const retried = 'failedEvent' in run && run.failedEvent !== undefined;
  if (!expect_.gone) {
    const pitr = await pitrOf(moto.endpoint, table, region);
    if (pitr.status !== 'ENABLED' && !retried && !expect_.alerted) figures.unprotectedWithoutRetry++;
    expect(pitr.status === 'ENABLED').toBe(expect_.protectedAtEnd);
  }
  if (region === 'us-east-1' && expect_.alerted) {
    const channels = [(await snsFor(table)).length > 0, slackFor(table).length > 0];
    if (channels.includes(false) && !retried) figures.alertsLostWithoutAlarm++;
  }
}

describe('the reactor through the fault proxy', () => {
  it.each([
    ['DescribeContinuousBackups throttled on every call', 'f-dcb-throttled', 'DescribeContinuousBackups', { fail: throttle }, 'ThrottlingException'],
    ['UpdateContinuousBackups throttled on every call', 'f-update-throttled', 'UpdateContinuousBackups', { fail: throttle }, 'ThrottlingException'],
    ['DescribeTable answering HTTP 500', 'f-describe-500', 'DescribeTable', { fail: serverError }, 'InternalServerError'],
    ['DescribeContinuousBackups answering HTTP 500', 'f-dcb-500', 'DescribeContinuousBackups', { fail: serverError }, 'InternalServerError'],
    ['UpdateContinuousBackups never answered (timeouts)', 'f-update-hangs', 'UpdateContinuousBackups', { hang: true }, 'TimeoutError'],
    // the SDK names a reset connection TimeoutError (code ECONNRESET, "socket hang up")
    ['UpdateContinuousBackups connection reset', 'f-update-reset', 'UpdateContinuousBackups', { reset: true }, 'TimeoutError'],
  ] as const)('%s: every attempt fails, one FAILED alert per channel saying "will be retried", the event ends in the failed-events queue', async (_what, table, operation, fault, errorName) => {
    await createTable(moto.endpoint, table, 'off');
    proxy.setRules([on(operation, table, fault)]);
    const run = await invokeAsync(disableEvent(table, `evt-${table}`), reactorDeps());

    expect(run.attempts.map((a) => (a.ok ? 'ok' : a.error.name))).toEqual(['RemediationRetryError', 'RemediationRetryError', 'RemediationRetryError']);
    expect(run.failedEvent).toMatch(new RegExp(`^RemediationRetryError: ${table}: .*${errorName}.* pitr-guard gave up: event in the failed-events queue \\(attempt 3 of 3\\)`));
    expect(await pitrOf(moto.endpoint, table)).toMatchObject({ status: 'DISABLED' });
    for (const u of updatesOf(table)) expect(u.body.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 14 });
    if (operation !== 'UpdateContinuousBackups') expect(updatesOf(table)).toHaveLength(0);
    const sns = await snsFor(table);
    expect(sns.map((m) => m.Subject)).toEqual([`[pitr-guard] PITR disabled on ${table} (123456789012 us-east-1): REMEDIATION FAILED`]);
    expect(sns[0]?.Message).toContain('pitr-guard will be retried (attempt 1 of 3; Lambda retries after 1 and 2 minutes).');
    expect(slackFor(table)).toHaveLength(1);
    await book(table, run, { protectedAtEnd: false, alerted: true });
  });

  it('HTTP 500 on the first attempt only: the retry re-enables PITR, alerts the result, and completes', async () => {
    const table = 'fault-500-then-ok';
    await createTable(moto.endpoint, table, 'off');
    proxy.setRules([on('DescribeContinuousBackups', table, { fail: serverError, times: 2 })]);
    const run = await invokeAsync(disableEvent(table, `evt-${table}`), reactorDeps());
    expect(run.attempts.map((a) => (a.ok ? a.result.result : a.error.name))).toEqual(['RemediationRetryError', 'ENABLED']);
    expect(run.failedEvent).toBeUndefined();
    expect(await pitrOf(moto.endpoint, table)).toEqual({ status: 'ENABLED', days: 14 });
    expect(updatesOf(table)).toHaveLength(1);
    expect((await snsFor(table)).map((m) => m.Subject?.split(': ').pop())).toEqual(['REMEDIATION FAILED', 're-enabled']);
    expect(slackFor(table)).toHaveLength(2);
    await book(table, run, { protectedAtEnd: true, alerted: true });
  });

  it("connection resets on the first attempt only: Lambda's retry enables PITR", async () => {
    const table = 'fault-reset-once';
    await createTable(moto.endpoint, table, 'off');
    proxy.setRules([on('UpdateContinuousBackups', table, { reset: true, times: 2 })]);
    const run = await invokeAsync(disableEvent(table, `evt-${table}`), reactorDeps());
    expect(run.attempts.map((a) => (a.ok ? a.result.result : a.error.name))).toEqual(['RemediationRetryError', 'ENABLED']);
    expect(await pitrOf(moto.endpoint, table)).toEqual({ status: 'ENABLED', days: 14 });
    await book(table, run, { protectedAtEnd: true, alerted: true });
  });

  it('a table deleted between the read and the update is GONE: handled, no alert, no retry, completed', async () => {
    const table = 'fault-vanishing';
    await createTable(moto.endpoint, table, 'off');
    proxy.setRules([on('UpdateContinuousBackups', table, { before: async () => void (await ddbClient(moto.endpoint).send(new DeleteTableCommand({ TableName: table }))) })]);
    const run = await invokeAsync(disableEvent(table, `evt-${table}`), reactorDeps());
    expect(run.attempts).toEqual([{ ok: true, result: expect.objectContaining({ status: 'handled', result: 'GONE' }) }]);
    expect(await snsFor(table)).toEqual([]);
    expect(slackFor(table)).toEqual([]);
    expect(logLines.filter((l) => l.event === 'remediation' && l.tableName === table)).toEqual([expect.objectContaining({ level: 'info', result: 'GONE' })]);
    // a copy of the event is a duplicate
    expect((await invokeAsync(disableEvent(table, `evt-${table}`), reactorDeps())).attempts).toEqual([{ ok: true, result: expect.objectContaining({ status: 'duplicate', result: 'GONE' }) }]);
    await book(table, run, { protectedAtEnd: false, alerted: false, gone: true });
  });

  it('a CreateTable event for a table already deleted: GONE on the first delivery, nothing for the failed-events queue', async () => {
    const e = loadEvent<{ detail: Record<string, unknown> }>('cloudtrail-create-table.json');
    (e.detail.requestParameters as Record<string, unknown>).tableName = 'fault-short-lived';
    e.detail.eventID = eventIdFor('evt-short-lived');
    e.detail.eventTime = new Date().toISOString();
    const run = await invokeAsync(e, reactorDeps());
    expect(run.attempts).toEqual([{ ok: true, result: expect.objectContaining({ status: 'handled', result: 'GONE' }) }]);
    expect(run.failedEvent).toBeUndefined();
    await book('fault-short-lived', run, { protectedAtEnd: false, alerted: false, gone: true });
  });

  it('the verifying read fails after a successful update: UNVERIFIED, worded as such; PITR is in fact on', async () => {
    const table = 'fault-unverified';
    await createTable(moto.endpoint, table, 'off');
    // the first DescribeContinuousBackups is the read; every later one (the verification and its retries) fails
    let reads = 0;
    proxy.setRules([
      { operation: 'DescribeContinuousBackups', match: (b) => b.TableName === table && ++reads > 1, fail: serverError },
    ]);
    const run = await invokeAsync(disableEvent(table, `evt-${table}`), reactorDeps());
    expect(run.attempts).toEqual([{ ok: true, result: expect.objectContaining({ result: 'UNVERIFIED' }) }]);
    expect(reads).toBeGreaterThanOrEqual(3); // the verification was retried
    const [sns] = await snsFor(table);
    expect(sns?.Subject).toBe(`[pitr-guard] PITR disabled on ${table} (123456789012 us-east-1): enabled, NOT VERIFIED`);
    expect(sns?.Message).toContain('State now:      Unknown: not read after the update (the verifying DescribeContinuousBackups failed).');
    expect(sns?.Message).not.toMatch(/PITR is disabled|REMEDIATION FAILED/);
    expect(await pitrOf(moto.endpoint, table)).toEqual({ status: 'ENABLED', days: 14 });
    await book(table, run, { protectedAtEnd: true, alerted: true });
  });

  it("a killed invocation: its claim ends with its remaining time, so Lambda's retry takes the event over", async () => {
    const table = 'fault-killed';
    await createTable(moto.endpoint, table, 'off');
    const event = disableEvent(table, `evt-${table}`);
    // The doomed invocation talks through its own proxy, which dies with it: nothing it does later reaches moto.
    const doomedProxy = await startFaultProxy(moto.endpoint, [{ operation: 'UpdateContinuousBackups', hang: true }]);
    const doomed = reactorDeps({}, doomedProxy.endpoint);
    const context = { ...lambdaContext('pitr-guard-dev-pitrChange'), getRemainingTimeInMillis: () => 1_500 };
    const killed = reactorHandler(() => doomed)(event, context).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    // a copy delivered while it still runs is refused (the invocation fails and is retried)
    const copy = await reactorHandler(() => reactorDeps())(event, lambdaContext('pitr-guard-dev-pitrChange')).catch((e: Error) => e);
    expect(copy).toBeInstanceOf(EventInProgressError);
    await doomedProxy.stop(); // killed: no answer, no release
    await new Promise((r) => setTimeout(r, 1_500)); // Lambda retries 1 minute after; the lease is 1.5 s here
    const retry = await invokeAsync(event, reactorDeps());
    expect(retry.attempts).toEqual([{ ok: true, result: expect.objectContaining({ status: 'handled', result: 'ENABLED' }) }]);
    expect(await pitrOf(moto.endpoint, table)).toEqual({ status: 'ENABLED', days: 14 });
    await killed;
    await book(table, retry, { protectedAtEnd: true, alerted: true });
  });

  it('the SNS topic does not exist: Slack gets the alert once; every retry re-sends to SNS only; the failed-events record names sns', async () => {
    const table = 'fault-no-topic';
    await createTable(moto.endpoint, table, 'off');
    const d = reactorDeps({ alertTopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:pitr-guard-missing` });
    const run = await invokeAsync(disableEvent(table, `evt-${table}`), d);
    expect(run.attempts.map((a) => (a.ok ? 'ok' : a.error.name))).toEqual(['AlertNotDeliveredError', 'AlertNotDeliveredError', 'AlertNotDeliveredError']);
    expect(run.failedEvent).toMatch(/^AlertNotDeliveredError: alert not delivered on sns: sns: NotFound/);
    expect(await pitrOf(moto.endpoint, table)).toEqual({ status: 'ENABLED', days: 14 });
    expect(updatesOf(table)).toHaveLength(1); // remediated once, not per retry
    expect(slackFor(table)).toHaveLength(1); // not re-sent where it was delivered
    expect(proxy.seen.filter((c) => c.operation === 'Publish' && String(c.body.TopicArn).endsWith(':pitr-guard-missing'))).toHaveLength(3);
    await book(table, run, { protectedAtEnd: true, alerted: true });
  });

  it('the SNS topic is created before the retry: the retry delivers to SNS only and completes', async () => {
    const table = 'fault-late-topic';
    await createTable(moto.endpoint, table, 'off');
    const d = reactorDeps({ alertTopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:pitr-guard-late` });
    let late: TopicInbox | undefined;
    const run = await invokeAsync(disableEvent(table, `evt-${table}`), d, async () => {
      late ??= await topicWithInbox(moto.endpoint, 'pitr-guard-late');
    });
    expect(run.attempts.map((a) => (a.ok ? a.result.message : a.error.name))).toEqual(['AlertNotDeliveredError', 'delivered the alert of an earlier attempt']);
    expect((await late!.receive(1)).map((m) => m.Subject)).toEqual([`[pitr-guard] PITR disabled on ${table} (123456789012 us-east-1): re-enabled`]);
    expect(slackFor(table)).toHaveLength(1);
    expect(updatesOf(table)).toHaveLength(1);
    figures.cases++; // alert delivered on both channels, PITR on, nothing lost
    expect(await pitrOf(moto.endpoint, table)).toEqual({ status: 'ENABLED', days: 14 });
  });

  it('a permanent failure (AccessDenied on the update): one FAILED alert saying it is not retried, completed', async () => {
    const table = 'fault-denied';
    await createTable(moto.endpoint, table, 'off');
    proxy.setRules([on('UpdateContinuousBackups', table, { fail: { status: 400, type: 'AccessDeniedException', message: 'not authorized to perform: dynamodb:UpdateContinuousBackups' } })]);
    const run = await invokeAsync(disableEvent(table, `evt-${table}`), reactorDeps());
    expect(run.attempts).toEqual([{ ok: true, result: expect.objectContaining({ result: 'FAILED' }) }]);
    const [sns] = await snsFor(table);
    expect(sns?.Message).toContain('Not retried: this needs a person (the command below enables PITR by hand).');
    expect(sns?.Message).toContain(`To enable PITR by hand: aws dynamodb update-continuous-backups --region us-east-1 --table-name ${table} `);
    await book(table, run, { protectedAtEnd: false, alerted: true });
  });
});

describe('the scheduled scan through the fault proxy', () => {
  const scanPolicy = () => policy({ regions: [SCAN_REGION] });
  async function runScan(): Promise<ScheduledScanResult> {
    const p = scanPolicy();
    const clients = new Clients({ endpoint: proxy.endpoint, ...fast });
    const notifiers = buildNotifiers({ policy: p, clients, logger, homeRegion: 'us-east-1', slackWebhookUrl: sink.url });
    const out = await scheduledScan(
      {},
      {
        policy: p,
        clients,
        logger,
        homeRegion: 'us-east-1',
        accountId: ACCOUNT,
        pacers: new PacerPool(),
        inventory: { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 }, vanishRecheckMs: 10 },
        afterScan: [scanActionsHook({ notifiers, remediate: { waitForActiveMs: 400, pollMs: 50, maxPollMs: 100 } })],
      },
    );
    return out as ScheduledScanResult;
  }
  const digests = async () => (await inbox.receive(0, 500)).filter((m) => m.MessageAttributes?.kind?.Value === 'digest');

  async function table(name: string) {
    const ddb = ddbClient(moto.endpoint, SCAN_REGION);
    await ddb.send(new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }));
    await waitUntilTableExists({ client: ddb, maxWaitTime: 30 }, { TableName: name });
  }

  it('throttling, 500, resets, timeouts and a vanishing table on some tables: the others are fixed, the rest named in the digest, the next scan fixes them', async () => {
    const cases = {
      'scan-throttled-update': on('UpdateContinuousBackups', 'scan-throttled-update', { fail: throttle }),
      'scan-describe-500': on('DescribeTable', 'scan-describe-500', { fail: serverError }),
      'scan-reset-dcb': on('DescribeContinuousBackups', 'scan-reset-dcb', { reset: true }),
      'scan-hanging-update': on('UpdateContinuousBackups', 'scan-hanging-update', { hang: true }),
      'scan-vanishing': on('UpdateContinuousBackups', 'scan-vanishing', {
        before: async () => void (await ddbClient(moto.endpoint, SCAN_REGION).send(new DeleteTableCommand({ TableName: 'scan-vanishing' }))),
      }),
    };
    for (const name of [...Object.keys(cases), 'scan-healthy']) await table(name);
    proxy.setRules(Object.values(cases));
    const before = await digests();

    const first = await runScan();
    expect(first).toMatchObject({ problems: true, summary: { error: 2 } });
    expect(await pitrOf(moto.endpoint, 'scan-healthy', SCAN_REGION)).toEqual({ status: 'ENABLED', days: 14 });
    for (const name of ['scan-throttled-update', 'scan-describe-500', 'scan-reset-dcb', 'scan-hanging-update']) {
      expect([name, (await pitrOf(moto.endpoint, name, SCAN_REGION)).status]).toEqual([name, 'DISABLED']);
    }
    const digest = (await digests()).slice(before.length);
    expect(digest).toHaveLength(1);
    const text = digest[0]?.Message ?? '';
    expect(text).toContain('- scan-throttled-update (eu-west-1): PITR not enabled; remediation FAILED: ThrottlingException');
    expect(text).toContain('- scan-hanging-update (eu-west-1): PITR not enabled; remediation FAILED: TimeoutError');
    expect(text).toContain('- scan-describe-500 (eu-west-1): could not be read: DescribeTable failed with InternalServerError');
    expect(text).toContain('- scan-reset-dcb (eu-west-1): could not be read: DescribeContinuousBackups failed with TimeoutError');
    expect(text).not.toContain('scan-vanishing');
    for (const u of proxy.seen.filter((c) => c.operation === 'UpdateContinuousBackups')) {
      expect(u.body.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 14 });
    }

    // The retry of a scan is the next scan (hourly by default): with the faults gone it fixes every table.
    proxy.setRules([]);
    const next = await runScan();
    expect(next).toMatchObject({ summary: { nonCompliant: 4, error: 0 } }); // read by this scan, then fixed
    for (const name of Object.keys(cases).filter((n) => n !== 'scan-vanishing')) {
      expect([name, await pitrOf(moto.endpoint, name, SCAN_REGION)]).toEqual([name, { status: 'ENABLED', days: 14 }]);
      figures.cases++; // named in the digest (SNS and Slack), retried by the next scan
    }
    expect(await runScan()).toMatchObject({ problems: false, summary: { nonCompliant: 0, error: 0 } });
    figures.cases++; // scan-vanishing: gone, no crash, not reported as a failure
    figures.cases++; // scan-healthy: fixed on the first scan despite the faults next to it
  });
});

describe('figures', () => {
  it('no wrong action, no crash, no alert lost without an alarm, no table left unprotected without a retry; docs/reliability.md says so', () => {
    expect(figures).toEqual({ cases: figures.cases, wrongActions: 0, crashes: 0, alertsLostWithoutAlarm: 0, unprotectedWithoutRetry: 0 });
    const doc = readFileSync(path.join(__dirname, '../../docs/reliability.md'), 'utf8');
    const row = (label: string) => new RegExp(`\\| ${label} \\| (\\d+) \\|`).exec(doc)?.[1];
    expect({
      cases: Number(row('fault cases tried \\(reactor and scheduled scan\\)')),
      wrongActions: Number(row('wrong actions')),
      crashes: Number(row('crashes')),
      alertsLostWithoutAlarm: Number(row('alerts lost without an alarm')),
      unprotectedWithoutRetry: Number(row('tables left unprotected without a retry')),
    }).toEqual(figures);
  });
});
