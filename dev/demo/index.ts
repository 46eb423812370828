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
 *  7. the alert lifecycle (dev/demo/lifecycle.ts): new, nothing, resolved + reminders, loop protection;
 *  8. a deleted table (dev/demo/deleted-table.ts): one alert, never any remediation;
 *  9. the Organization scan (dev/demo/organization.ts): 3 member accounts × 2 Regions on the state
 *     machine, run by the local runner with the real handlers, one member's AssumeRole refused;
 * and stops everything it started, also on failure and on Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
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
import { scan, sortFindings, summarize, type ScanReport } from '../../lib/aws/scan';
import type { Policy } from '../../lib/core/types';
import { startHistoryShim, type HistoryShim } from './history';
import { demoLifecycle, type LifecycleDemoResult } from './lifecycle';
import { demoDeletedTable, type DeletedTableDemoResult } from './deleted-table';
import { demoOrganization, type OrganizationDemoResult } from './organization';
import { DEMO_REGIONS, demoPlan, expectedSummary, seed, type SeedTable } from '../seed';
import { startWebhookSink, type SinkRequest, type WebhookSink } from '../webhook-sink';
import { ACTOR, disableEvent } from './event';
import { compactTable, fold, foldBlock, verdict, type Check } from './text';

export { disableEvent } from './event';

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
  /** The alert's `kind` message attribute (change, digest, escalation). */
  kind?: string;
}

export interface DemoResult {
  ok: boolean;
  problems: string[];
  /** Every check the demo made, in order; `ok` is true only when all CHECKS of them passed. */
  checks: Check[];
  /** The closing line (also the last line of the narrative). */
  verdict: string;
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
  /** The alert-lifecycle step: the scans' digests and the reactor's loop alerts. */
  lifecycle?: LifecycleDemoResult;
  /** The deleted-table step: the reactor's result and its one alert. */
  deletedTable?: DeletedTableDemoResult;
  /** The Organization scan step: its execution, report and digest. */
  organization?: OrganizationDemoResult;
  durationMs: number;
}

const DRIFT = { region: 'eu-west-1', tableName: 'prod-payments' };
const DEMO_RATE = 100; // inventory calls/s per Region in the demo (AWS documents 10, which the deployed scan keeps)
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
/** How many checks a complete run makes (the verdict counts the ones a failed run never reached). */
export const CHECKS = 20;
/** Steps of the narrative. */
const STEPS = 9;

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
    const envelope = JSON.parse(m.Body ?? '{}') as { Subject?: string; Message?: string; MessageAttributes?: Record<string, { Value?: string }> };
    const kind = envelope.MessageAttributes?.kind?.Value;
    alerts.push({ subject: envelope.Subject ?? '', message: envelope.Message ?? '', ...(kind ? { kind } : {}) });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
  }
  return alerts;
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
    checks: [],
    verdict: '',
    reportPath,
    accountId: '',
    plan,
    expected,
    drift: { ...DRIFT, actorArn: '' },
    sns: [],
    slack: [],
    durationMs: 0,
  };
  /** Writes `text` folded to the terminal width, each line indented by two spaces. */
  const line = (text: string, indent = '  ', rest = indent) => say(fold(text, indent, rest) + '\n');
  const check = (ok: boolean, name: string, problem: string) => {
    result.checks.push({ name, ok, ...(ok ? {} : { detail: problem }) });
    if (ok) line(name, '  ✓ ', '    ');
    else {
      result.problems.push(problem);
      line(problem, '  ✗ ', '    ');
    }
  };
  const step = (n: number, title: string) => say('\n' + fold(`[${n}/${STEPS}] ${title} (+${seconds(Date.now() - started)})`, '', '      ') + '\n');

  let moto: MotoServer | undefined;
  let shim: HistoryShim | undefined;
  let sink: WebhookSink | undefined;
  let stoppedBy: string | undefined;
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
    line(`moto on ${endpoint}; every SDK call goes through a local "history" shim on ${shim.endpoint}.`);
    line(
      '(moto starts a PITR window the moment PITR is enabled; the shim reports the windows of tables that have had PITR ' +
        'for months the way DynamoDB would: earliest restorable = now - period.)',
    );
    const clients = new Clients({ endpoint: shim.endpoint, credentials: CREDENTIALS });

    step(2, `Seeding ${plan.length} tables in ${DEMO_REGIONS.length} Regions (${DEMO_REGIONS.join(', ')})`);
    const seedStarted = Date.now();
    const exemptTag = 'pitr-guard:exempt';
    await seed(clients, plan, { exemptTag });
    for (const t of plan) if (t.enabledDaysAgo !== undefined) shim.setEnabledDaysAgo(t.region, t.tableName, t.enabledDaysAgo);
    const by = (state: SeedTable['state']) => plan.filter((t) => t.state === state).length;
    line(
      `created in ${seconds(Date.now() - seedStarted)}: ${by('on')} with PITR on for months, ${by('reenabled')} re-enabled in the last days, ` +
        `${by('short')} with a short recovery period, ${by('off')} without PITR, ${by('exempt')} exempt by tag, ${by('exempt-expired')} whose exemption expired, ` +
        `${by('restored')} restored with RestoreTableToPointInTime (comes back without PITR).`,
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
    line(
      `alerts: SNS topic ${topic.TopicArn} → SQS queue pitr-guard-alerts-inbox; ` +
        `Slack → a local webhook sink, its URL in the SSM SecureString ${webhookParam}.`,
    );

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
    line(`(the demo raises the inventory pace to ${DEMO_RATE} calls/s per Region; the deployed scan keeps AWS's documented 10/s)`);
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
    line(`${counts(scheduled.summary)} (${seconds(Date.now() - scanStarted)})`);
    check(sameCounts(scheduled, expected), 'scan counts match the seed', `scheduled scan counts differ from the seed: expected ${JSON.stringify(expected)}`);
    const attention = scheduled.findings.filter((f) => f.status !== 'COMPLIANT' || f.reasons.includes('RESTORE_WINDOW_NOT_FULL'));
    say(`\n`);
    line(`Tables that need a look (${attention.length}; the ${scheduled.findings.length - attention.length} fully compliant ones are in the HTML report):`);
    say(compactTable(sortFindings([...attention]), '  ') + '\n');

    step(4, `Drift: ${ACTOR.session} (assumed role ${ACTOR.role}) disables PITR on ${DRIFT.region}/${DRIFT.tableName}`);
    const intruder = new Clients({ endpoint: shim.endpoint, credentials: { accessKeyId: 'ASIA4DEMOEXAMPLEJDOE', secretAccessKey: 'demo' } });
    await intruder.get(DynamoDBClient, DRIFT.region).send(
      new UpdateContinuousBackupsCommand({ TableName: DRIFT.tableName, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false } }),
    );
    const ddb = clients.get(DynamoDBClient, DRIFT.region);
    const pitrNow = async () =>
      (await ddb.send(new DescribeContinuousBackupsCommand({ TableName: DRIFT.tableName }))).ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
    line(`moto now reports PITR ${(await pitrNow())?.PointInTimeRecoveryStatus} for ${DRIFT.tableName}.`);
    const event = disableEvent(result.accountId, DRIFT.region, DRIFT.tableName, new Date());
    result.drift.actorArn = `arn:aws:sts::${result.accountId}:assumed-role/${ACTOR.role}/${ACTOR.session}`;
    line(`CloudTrail → EventBridge delivers UpdateContinuousBackups (pointInTimeRecoveryEnabled=false) by ${result.drift.actorArn}`);
    line('to the reactor (functions/pitr-change run, mode remediate), which re-reads the table instead of trusting the event…');
    const reactorDeps = pitrChangeDeps({ policy, clients, logger, homeRegion: home, idempotencyTable: 'pitr-guard-idempotency' });
    const reactStarted = Date.now();
    const reaction = await pitrChange(event, reactorDeps);
    result.reactor = reaction;
    line(`reactor: ${reaction.status}, ${reaction.result ?? '-'}: ${reaction.message ?? reaction.reason ?? ''} (${seconds(Date.now() - reactStarted)})`);
    const after = await pitrNow();
    line(`moto now reports PITR ${after?.PointInTimeRecoveryStatus}, recovery period ${after?.RecoveryPeriodInDays ?? '-'} days.`);
    check(reaction.result === 'ENABLED', 'the reactor re-enabled PITR', `the reactor did not re-enable PITR (result ${reaction.result ?? reaction.status})`);
    check(after?.PointInTimeRecoveryStatus === 'ENABLED', 'moto reports PITR on again', 'PITR is not enabled on the drifted table after the reactor ran');

    step(5, 'Alerts');
    const snsAlerts = await readSnsAlerts(sqs, queueUrl, 2);
    result.sns.push(...snsAlerts);
    for (const a of snsAlerts) {
      line(`SNS (via the SQS subscription): "${a.subject}"`);
      say(foldBlock(a.message, '    | ') + '\n');
    }
    check(snsAlerts.length === 1, 'one SNS alert', `expected 1 SNS alert, got ${snsAlerts.length}`);
    await sink.waitFor(1, 5000);
    result.slack.push(...sink.requests);
    for (const m of sink.requests) {
      const body = m.json ?? {};
      line(`Slack (local webhook sink, ${m.path.replace(/\/[^/]+$/, '/…')}): ${body.blocks?.length ?? 0} blocks; text: ${body.text ?? ''}`);
    }
    check(sink.requests.length === 1, 'one Slack message', `expected 1 Slack message, got ${sink.requests.length}`);

    line('EventBridge may deliver an event twice: delivering the same event again…');
    const again = await pitrChange(event, reactorDeps);
    result.duplicate = again;
    const extraSns = await readSnsAlerts(sqs, queueUrl, 1);
    line(
      `reactor: ${again.status}${again.result ? ` (first run's result ${again.result})` : ''}; ` +
        `new SNS alerts: ${extraSns.length}, new Slack messages: ${sink.requests.length - result.slack.length}.`,
    );
    check(again.status === 'duplicate', 'the second delivery is a duplicate', `the second delivery was not recognised as a duplicate (${again.status})`);
    check(extraSns.length === 0 && sink.requests.length === result.slack.length, 'the duplicate alerted nobody', 'the duplicate delivery alerted again');

    step(6, 'Final scan and HTML report');
    const final = await scan({ policy, homeRegion: 'us-east-1' }, { clients, logger, inventory });
    result.final = final;
    const repaired = final.findings.find((f) => f.region === DRIFT.region && f.tableName === DRIFT.tableName);
    line(counts(final.summary));
    line(`${DRIFT.tableName}: ${repaired?.status} (${repaired?.reasons.join(', ')}): ${repaired?.message}`);
    check(sameCounts(final, expected), 'final scan counts match the seed', 'final scan counts differ from the seed');
    check(repaired?.status === 'COMPLIANT', `${DRIFT.tableName} is COMPLIANT again`, `${DRIFT.tableName} is not COMPLIANT after the repair`);
    await writeFile(reportPath, renderHtml(final, { source: `a local emulator (moto, ${endpoint})` }), 'utf8');
    line(`HTML report: ${reportPath}`);
    const recount = summarize(final.findings);
    check(recount.total === final.summary.total, 'the report summary matches its findings', 'report summary does not match its findings');

    /** Every SNS alert that arrived (waits up to `waitSeconds` for the first). */
    const readAlerts = async (waitSeconds: number): Promise<SnsAlert[]> => {
      const got: SnsAlert[] = [];
      for (let batch = await readSnsAlerts(sqs, queueUrl, waitSeconds); batch.length > 0; batch = await readSnsAlerts(sqs, queueUrl, 0)) got.push(...batch);
      return got;
    };

    step(7, 'Alert lifecycle: new, nothing, resolved + reminders, loop protection');
    result.lifecycle = await demoLifecycle({
      clients,
      person: intruder,
      logger,
      policy,
      home,
      accountId: result.accountId,
      inventory,
      webhookUrl: sink.url,
      drift: DRIFT,
      readAlerts,
      reactor: pitrChange,
      line: (text) => line(text),
      block: (text) => say(foldBlock(text, '    | ') + '\n'),
      check,
    });

    step(8, 'A deleted table: one alert (backup or data gone, who deleted it), never any remediation');
    result.deletedTable = await demoDeletedTable({
      endpoint: shim.endpoint,
      clients,
      person: intruder,
      logger,
      policy,
      home,
      accountId: result.accountId,
      idempotencyTable: 'pitr-guard-idempotency',
      readAlerts,
      reactor: pitrChange,
      line: (text) => line(text),
      block: (text) => say(foldBlock(text, '    | ') + '\n'),
      check,
    });

    step(9, 'Organization scan: 3 member accounts × 2 Regions on the state machine (local runner, real handlers)');
    result.organization = await demoOrganization({
      endpoint: shim.endpoint,
      accountId: result.accountId,
      topicArn: topic.TopicArn as string,
      readAlerts,
      line: (text) => line(text),
      check,
      ...(options.verbose ? { log: (l: string) => err(l + '\n') } : {}),
    });
  } catch (error) {
    stoppedBy = (error as Error).message;
    result.problems.push(`demo failed: ${stoppedBy}`);
    err(`pitr-guard demo failed: ${stoppedBy}\n`);
  } finally {
    await cleanup();
    if (options.handleSignals) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  }
  result.durationMs = Date.now() - started;
  result.ok = result.problems.length === 0 && result.checks.length === CHECKS;
  const shown = path.relative(process.cwd(), reportPath);
  say(
    '\n' +
      fold(
        result.ok
          ? `Done in ${seconds(result.durationMs)}: moto stopped. Open ${shown.startsWith('..') ? reportPath : shown} in a browser.`
          : `Demo finished with ${result.problems.length} problem(s) in ${seconds(result.durationMs)}; moto stopped.`,
        '',
      ) +
      '\n',
  );
  result.verdict = verdict(result.checks, CHECKS, stoppedBy);
  say(fold(result.verdict, '') + '\n');
  return result;
}
