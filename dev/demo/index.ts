/**
 * `npm run demo` / `pitr-guard demo`: the whole of pitr-guard in under a minute, on a laptop,
 * against moto (no AWS account is touched).
 *
 *  1. starts moto (installing it into ./.venv first if needed) behind the history shim;
 *  2. seeds 63 tables in 3 Regions in every state pitr-guard knows;
 *  3. runs the scheduled scan handler's `run` and checks its counts against the seed;
 *  4. disables PITR on one table as another principal, and delivers the matching CloudTrail event
 *     through the reactor handler's `run`: it re-reads the table, re-enables PITR and alerts (SNS →
 *     an SQS subscription in moto; Slack → a local webhook sink, its URL in an SSM SecureString);
 *  5. delivers the same event again: a duplicate, so no second change and no second alert;
 *  6. scans again and writes the HTML report;
 *  7. stops everything it started, also on failure and on Ctrl-C.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DescribeContinuousBackupsCommand, DynamoDBClient, UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { reactorHandler, makeDeps as pitrChangeDeps, type PitrChangeDeps, type PitrChangeResult, type ReactorContext } from '../../lib/jobs/pitr-change';

/** One reactor invocation as Lambda makes it (de-duplication middleware included), with 5 minutes left. */
function pitrChange(event: unknown, deps: PitrChangeDeps): Promise<PitrChangeResult> {
  const deadline = Date.now() + 300_000;
  const context = { functionName: 'pitrChange', awsRequestId: 'demo', getRemainingTimeInMillis: () => deadline - Date.now() } as unknown as ReactorContext;
  return reactorHandler(() => deps)(event, context);
}
import { run as scheduledScan, type ScheduledScanDeps } from '../../lib/jobs/scheduled-scan';
import { Clients } from '../../lib/aws/clients';
import { createLogger, silentLogger } from '../../lib/runtime/logger';
import { projectRoot, startMoto, type MotoServer } from '../local/moto';
import { renderHtml } from '../../lib/report/html';
import { renderTable } from '../../lib/report/table';
import { scan, sortFindings, summarize, type ScanReport } from '../../lib/aws/scan';
import type { Policy } from '../../lib/core/types';
import { startHistoryShim, type HistoryShim } from './history';
import { DEMO_REGIONS, demoPlan, expectedSummary, seed, type SeedTable } from '../seed';
import { startWebhookSink, type SinkRequest, type WebhookSink } from '../webhook-sink';

export interface DemoOptions {
  /** Where the HTML report goes (default demo-report.html in the current folder). */
  reportPath?: string;
  /** The narrative (default stdout). */
  write?: (text: string) => void;
  /** Logs (with verbose) and setup noise (default stderr). */
  errorWrite?: (text: string) => void;
  verbose?: boolean;
  /** Stop everything and exit 130 on Ctrl-C / SIGTERM (the CLI; not in tests). */
  handleSignals?: boolean;
  /** Use this moto server instead of starting one (tests); it is left running. */
  motoEndpoint?: string;
}

export interface SnsAlert {
  subject: string;
  message: string;
}

export interface DemoResult {
  ok: boolean;
  problems: string[];
  reportPath: string;
  accountId: string;
  plan: SeedTable[];
  expected: ReturnType<typeof expectedSummary>;
  scheduled?: ScanReport;
  final?: ScanReport;
  drift: { region: string; tableName: string; actorArn: string };
  reactor?: PitrChangeResult;
  duplicate?: PitrChangeResult;
  sns: SnsAlert[];
  slack: SinkRequest[];
  durationMs: number;
}

const DRIFT = { region: 'eu-west-1', tableName: 'prod-payments' };
const ACTOR = { role: 'DataPlatformAdmin', session: 'jane.doe', ip: '203.0.113.24' };
const DEMO_RATE = 100; // inventory calls/s per Region in the demo (AWS documents 10, which the deployed scan keeps)
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Installs moto into ./.venv (scripts/venv.sh) when it is not there yet. */
async function ensureVenv(root: string, log: (t: string) => void): Promise<void> {
  if (existsSync(path.join(root, '.venv', 'bin', 'moto_server'))) return;
  log('Installing moto into ./.venv (first run only, about a minute)…\n');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [path.join(root, 'scripts', 'venv.sh')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/venv.sh failed with exit code ${code}`))));
  });
}

/** A DynamoDB request ID: 52 characters of A-Z and 0-9. */
function dynamoRequestId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(52), (b) => alphabet[b % alphabet.length]).join('');
}

/** The CloudTrail record of "PITR disabled", as EventBridge delivers it (aws-facts §2.3). */
export function disableEvent(accountId: string, region: string, tableName: string, at: Date): Record<string, unknown> {
  const roleArn = `arn:aws:iam::${accountId}:role/${ACTOR.role}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.dynamodb',
    account: accountId,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: {
        type: 'AssumedRole',
        principalId: `AROA4DEMOEXAMPLE7JDOE:${ACTOR.session}`,
        arn: `arn:aws:sts::${accountId}:assumed-role/${ACTOR.role}/${ACTOR.session}`,
        accountId,
        accessKeyId: 'ASIA4DEMOEXAMPLEJDOE',
        sessionContext: {
          sessionIssuer: { type: 'Role', principalId: 'AROA4DEMOEXAMPLE7JDOE', arn: roleArn, accountId, userName: ACTOR.role },
          attributes: { creationDate: new Date(at.getTime() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), mfaAuthenticated: 'true' },
        },
      },
      eventTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'dynamodb.amazonaws.com',
      eventName: 'UpdateContinuousBackups',
      awsRegion: region,
      sourceIPAddress: ACTOR.ip,
      userAgent: 'aws-cli/2.27.50 md/awscrt#0.26.1 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.13.4 md/pyimpl#CPython cfg/retry-mode#standard md/command#dynamodb.update-continuous-backups',
      requestParameters: { tableName, pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false } },
      responseElements: {
        continuousBackupsDescription: { continuousBackupsStatus: 'ENABLED', pointInTimeRecoveryDescription: { pointInTimeRecoveryStatus: 'DISABLED' } },
      },
      requestID: dynamoRequestId(),
      eventID: randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      apiVersion: '2012-08-10',
      managementEvent: true,
      recipientAccountId: accountId,
      eventCategory: 'Management',
      tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `dynamodb.${region}.amazonaws.com` },
    },
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function counts(s: ScanReport['summary']): string {
  return `${s.total} tables: ${s.nonCompliant} non-compliant, ${s.error} error, ${s.exempt} exempt, ${s.compliant} compliant, ${s.notApplicable} not applicable`;
}

function sameCounts(report: ScanReport, expected: ReturnType<typeof expectedSummary>): boolean {
  const s = report.summary;
  return (
    s.total === expected.total &&
    s.nonCompliant === expected.nonCompliant &&
    s.compliant === expected.compliant &&
    s.exempt === expected.exempt &&
    s.error === expected.error &&
    s.notApplicable === expected.notApplicable
  );
}

async function readSnsAlerts(sqs: SQSClient, queueUrl: string, waitSeconds: number): Promise<SnsAlert[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }));
  const alerts: SnsAlert[] = [];
  for (const m of out.Messages ?? []) {
    const envelope = JSON.parse(m.Body ?? '{}') as { Subject?: string; Message?: string };
    alerts.push({ subject: envelope.Subject ?? '', message: envelope.Message ?? '' });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
  }
  return alerts;
}

function indent(text: string, prefix = '    '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : prefix + l))
    .join('\n');
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now();
  const say = options.write ?? ((t: string) => void process.stdout.write(t));
  const err = options.errorWrite ?? ((t: string) => void process.stderr.write(t));
  const reportPath = path.resolve(options.reportPath ?? 'demo-report.html');
  const logger = options.verbose ? createLogger({ level: 'info', write: (line) => err(line + '\n') }) : silentLogger;
  const plan = demoPlan(new Date());
  const expected = expectedSummary(plan);
  const result: DemoResult = {
    ok: false,
    problems: [],
    reportPath,
    accountId: '',
    plan,
    expected,
    drift: { ...DRIFT, actorArn: '' },
    sns: [],
    slack: [],
    durationMs: 0,
  };
  const check = (ok: boolean, problem: string) => {
    if (!ok) {
      result.problems.push(problem);
      say(`  !! ${problem}\n`);
    }
  };
  const step = (n: number, title: string) => say(`\n[${n}/6] ${title}  (+${seconds(Date.now() - started)})\n`);

  let moto: MotoServer | undefined;
  let shim: HistoryShim | undefined;
  let sink: WebhookSink | undefined;
  const cleanup = async () => {
    await Promise.allSettled([shim?.stop(), sink?.stop(), options.motoEndpoint ? undefined : moto?.stop()]);
    shim = sink = moto = undefined;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    err(`\npitr-guard demo: ${signal}: stopping moto and the local servers…\n`);
    void cleanup().finally(() => process.exit(130));
  };
  if (options.handleSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  try {
    say('pitr-guard demo: a realistic account in a local AWS emulator (moto). No real AWS account is touched.\n');
    step(1, 'Starting moto');
    const root = projectRoot();
    let endpoint = options.motoEndpoint;
    if (!endpoint) {
      await ensureVenv(root, err);
      moto = await startMoto();
      endpoint = moto.endpoint;
    }
    shim = await startHistoryShim(endpoint);
    sink = await startWebhookSink('/services/T0DEMO000/B0DEMO000/pitrguarddemowebhook');
    say(`  moto on ${endpoint}; every SDK call goes through a local "history" shim on ${shim.endpoint}.\n`);
    say('  (moto starts a PITR window the moment PITR is enabled; the shim reports the windows of tables\n   that have had PITR for months the way DynamoDB would: earliest restorable = now - period.)\n');
    const clients = new Clients({ endpoint: shim.endpoint, credentials: CREDENTIALS });

    step(2, `Seeding ${plan.length} tables in ${DEMO_REGIONS.length} Regions (${DEMO_REGIONS.join(', ')})`);
    const seedStarted = Date.now();
    const exemptTag = 'pitr-guard:exempt';
    await seed(clients, plan, { exemptTag });
    for (const t of plan) if (t.enabledDaysAgo !== undefined) shim.setEnabledDaysAgo(t.region, t.tableName, t.enabledDaysAgo);
    const by = (state: SeedTable['state']) => plan.filter((t) => t.state === state).length;
    say(
      `  created in ${seconds(Date.now() - seedStarted)}: ${by('on')} with PITR on for months, ${by('reenabled')} re-enabled in the last days, ` +
        `${by('short')} with a short recovery period,\n  ${by('off')} without PITR, ${by('exempt')} exempt by tag, ${by('exempt-expired')} whose exemption expired, ` +
        `${by('restored')} restored with RestoreTableToPointInTime (comes back without PITR).\n`,
    );

    // Alert channels: SNS topic with an SQS subscription; Slack webhook URL in an SSM SecureString.
    const home = DRIFT.region;
    const sns = clients.get(SNSClient, home);
    const sqs = clients.get(SQSClient, home);
    const topic = await sns.send(new CreateTopicCommand({ Name: 'pitr-guard-alerts' }));
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'pitr-guard-alerts-inbox' }));
    const queueUrl = queue.QueueUrl as string;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    await sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: queueArn }));
    // One parameter per run: each demo is a fresh deployment (the Slack notifier caches the URL per process).
    const webhookParam = `/pitr-guard/demo-${randomUUID().slice(0, 8)}/slack-webhook`;
    await clients.get(SSMClient, home).send(new PutParameterCommand({ Name: webhookParam, Type: 'SecureString', Value: sink.url, Overwrite: true }));
    say(`  alerts: SNS topic ${topic.TopicArn} → SQS queue pitr-guard-alerts-inbox; Slack → local webhook sink (URL in SSM SecureString ${webhookParam}).\n`);

    const policy: Policy = {
      mode: 'remediate',
      minRecoveryDays: 35,
      exemptTag,
      regions: [...DEMO_REGIONS],
      dryRun: false,
      alertTopicArn: topic.TopicArn,
      slackWebhookParam: webhookParam,
    };

    step(3, 'Scheduled scan (functions/scheduled-scan run, mode report)');
    say(`  (the demo raises the inventory pace to ${DEMO_RATE} calls/s per Region; the deployed scan keeps AWS's documented 10/s)\n`);
    const inventory = { ratePerSecond: DEMO_RATE, concurrency: 16 };
    let scheduled: ScanReport | undefined;
    const scanStarted = Date.now();
    const scheduledDeps: ScheduledScanDeps = {
      policy: { ...policy, mode: 'report' },
      clients,
      logger,
      homeRegion: 'us-east-1',
      inventory,
      afterScan: [
        async (report) => {
          scheduled = report;
        },
      ],
    };
    await scheduledScan({ version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), detail: {} }, scheduledDeps);
    if (!scheduled) throw new Error('the scheduled scan produced no report');
    result.scheduled = scheduled;
    result.accountId = scheduled.accountId;
    say(`  ${counts(scheduled.summary)} (${seconds(Date.now() - scanStarted)})\n`);
    check(sameCounts(scheduled, expected), `scheduled scan counts differ from the seed: expected ${JSON.stringify(expected)}`);
    const attention = scheduled.findings.filter((f) => f.status !== 'COMPLIANT' || f.reasons.includes('RESTORE_WINDOW_NOT_FULL'));
    say(`\n  Tables that need a look (${attention.length}; the ${scheduled.findings.length - attention.length} fully compliant ones are in the HTML report):\n`);
    const excerpt = { ...scheduled, findings: sortFindings([...attention]), summary: scheduled.summary };
    say(indent(renderTable(excerpt), '  ') + '\n');

    step(4, `Drift: ${ACTOR.session} (assumed role ${ACTOR.role}) disables PITR on ${DRIFT.region}/${DRIFT.tableName}`);
    const intruder = new Clients({ endpoint: shim.endpoint, credentials: { accessKeyId: 'ASIA4DEMOEXAMPLEJDOE', secretAccessKey: 'demo' } });
    await intruder.get(DynamoDBClient, DRIFT.region).send(
      new UpdateContinuousBackupsCommand({ TableName: DRIFT.tableName, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false } }),
    );
    const ddb = clients.get(DynamoDBClient, DRIFT.region);
    const pitrNow = async () =>
      (await ddb.send(new DescribeContinuousBackupsCommand({ TableName: DRIFT.tableName }))).ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
    say(`  moto now reports PITR ${(await pitrNow())?.PointInTimeRecoveryStatus} for ${DRIFT.tableName}.\n`);
    const event = disableEvent(result.accountId, DRIFT.region, DRIFT.tableName, new Date());
    result.drift.actorArn = `arn:aws:sts::${result.accountId}:assumed-role/${ACTOR.role}/${ACTOR.session}`;
    say(`  CloudTrail → EventBridge delivers UpdateContinuousBackups (pointInTimeRecoveryEnabled=false) by ${result.drift.actorArn}\n`);
    say('  to the reactor (functions/pitr-change run, mode remediate), which re-reads the table instead of trusting the event…\n');
    const reactorDeps = pitrChangeDeps({ policy, clients, logger, homeRegion: home, idempotencyTable: 'pitr-guard-idempotency' });
    const reactStarted = Date.now();
    const reaction = await pitrChange(event, reactorDeps);
    result.reactor = reaction;
    say(`  reactor: ${reaction.status}, ${reaction.result ?? '-'}: ${reaction.message ?? reaction.reason ?? ''} (${seconds(Date.now() - reactStarted)})\n`);
    const after = await pitrNow();
    say(`  moto now reports PITR ${after?.PointInTimeRecoveryStatus}, recovery period ${after?.RecoveryPeriodInDays ?? '-'} days.\n`);
    check(reaction.result === 'ENABLED', `the reactor did not re-enable PITR (result ${reaction.result ?? reaction.status})`);
    check(after?.PointInTimeRecoveryStatus === 'ENABLED', 'PITR is not enabled on the drifted table after the reactor ran');

    step(5, 'Alerts');
    const snsAlerts = await readSnsAlerts(sqs, queueUrl, 2);
    result.sns.push(...snsAlerts);
    for (const a of snsAlerts) say(`  SNS (via the SQS subscription): "${a.subject}"\n${indent(a.message, '    | ')}\n`);
    check(snsAlerts.length === 1, `expected 1 SNS alert, got ${snsAlerts.length}`);
    await sink.waitFor(1, 5000);
    result.slack.push(...sink.requests);
    for (const m of sink.requests) {
      const body = m.json ?? {};
      say(`  Slack (local webhook sink, ${m.path.replace(/\/[^/]+$/, '/…')}): ${body.blocks?.length ?? 0} blocks; text: ${body.text ?? ''}\n`);
    }
    check(sink.requests.length === 1, `expected 1 Slack message, got ${sink.requests.length}`);

    say('  EventBridge may deliver an event twice: delivering the same event again…\n');
    const again = await pitrChange(event, reactorDeps);
    result.duplicate = again;
    const extraSns = await readSnsAlerts(sqs, queueUrl, 1);
    say(`  reactor: ${again.status}${again.result ? ` (first run's result ${again.result})` : ''}; new SNS alerts: ${extraSns.length}, new Slack messages: ${sink.requests.length - result.slack.length}.\n`);
    check(again.status === 'duplicate', `the second delivery was not recognised as a duplicate (${again.status})`);
    check(extraSns.length === 0 && sink.requests.length === result.slack.length, 'the duplicate delivery alerted again');

    step(6, 'Final scan and HTML report');
    const final = await scan({ policy, homeRegion: 'us-east-1' }, { clients, logger, inventory });
    result.final = final;
    const repaired = final.findings.find((f) => f.region === DRIFT.region && f.tableName === DRIFT.tableName);
    say(`  ${counts(final.summary)}\n`);
    say(`  ${DRIFT.tableName}: ${repaired?.status} (${repaired?.reasons.join(', ')}): ${repaired?.message}\n`);
    check(sameCounts(final, expected), 'final scan counts differ from the seed');
    check(repaired?.status === 'COMPLIANT', `${DRIFT.tableName} is not COMPLIANT after the repair`);
    await writeFile(reportPath, renderHtml(final), 'utf8');
    say(`  HTML report: ${reportPath}\n`);
    const recount = summarize(final.findings);
    check(recount.total === final.summary.total, 'report summary does not match its findings');
  } catch (error) {
    result.problems.push(`demo failed: ${(error as Error).message}`);
    err(`pitr-guard demo failed: ${(error as Error).message}\n`);
  } finally {
    await cleanup();
    if (options.handleSignals) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  }
  result.durationMs = Date.now() - started;
  result.ok = result.problems.length === 0;
  say(
    result.ok
      ? `\nDone in ${seconds(result.durationMs)}: moto stopped. Open ${path.relative(process.cwd(), reportPath) || reportPath} in a browser.\n`
      : `\nDemo finished with ${result.problems.length} problem(s) in ${seconds(result.durationMs)}; moto stopped.\n`,
  );
  return result;
}
