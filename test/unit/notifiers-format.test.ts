import { evaluate } from '../../lib/core/evaluate';
import { consoleUrl, renderChangeAlert, renderDigest, slackEscape, snsSubject } from '../../lib/notify/format';
import type { RemediationOutcome } from '../../lib/act/remediate';
import type { ScanReport } from '../../lib/aws/scan';
import { parseCloudTrailEvent, type TableChange } from '../../lib/events/cloudtrail';
import type { Finding, TableFacts } from '../../lib/core/types';
import { loadEvent } from '../helpers/builders';

const NOW = new Date('2026-11-20T10:15:33Z');
const policy = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
const base: TableFacts = {
  accountId: '123456789012',
  region: 'us-east-1',
  tableName: 'orders',
  tableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders',
  tableStatus: 'ACTIVE',
  tags: {},
};
const before = evaluate({ ...base, pitr: { status: 'DISABLED' } }, policy, NOW);
const after = evaluate({ ...base, pitr: { status: 'ENABLED', recoveryPeriodInDays: 35, earliestRestorableDateTime: NOW, latestRestorableDateTime: NOW } }, policy, NOW);

function change(name = 'cloudtrail-pitr-disabled.json', edit?: (e: { detail: Record<string, unknown> }) => void): TableChange {
  const event = loadEvent<{ detail: Record<string, unknown> }>(name);
  edit?.(event);
  const parsed = parseCloudTrailEvent(event);
  if (parsed.status !== 'ok') throw new Error(parsed.reason);
  return parsed.change;
}

const enabledOutcome: RemediationOutcome = {
  accountId: '123456789012',
  region: 'us-east-1',
  tableName: 'orders',
  result: 'ENABLED',
  before,
  after,
  message: 'Enabled PITR with a 35-day recovery period and verified it (DescribeContinuousBackups: ENABLED, 35 days).',
  mode: 'remediate',
  recoveryPeriodInDays: 35,
  attempts: 1,
  waitedMs: 0,
};

const UA =
  'aws-cli/2.22.35 md/awscrt#0.23.8 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#dynamodb.update-continuous-backups';
const URL_ORDERS = 'https://us-east-1.console.aws.amazon.com/dynamodbv2/home?region=us-east-1#table?name=orders';

describe('renderChangeAlert: PITR disabled by an assumed role, re-enabled', () => {
  const alert = renderChangeAlert({ change: change(), outcome: enabledOutcome, minRecoveryDays: 35 });

  it('SNS subject', () => {
    expect(alert.subject).toBe('[pitr-guard] PITR disabled on orders (123456789012 us-east-1): re-enabled');
  });

  it('SNS message / email body: account, region, table, what, who, what pitr-guard did, console link first', () => {
    expect(alert.text).toBe(
      [
        'PITR disabled on orders',
        '',
        'Account:        123456789012',
        'Region:         us-east-1',
        'Table:          orders',
        'What happened:  UpdateContinuousBackups switched point-in-time recovery off. The restore history is lost: once PITR is back on, restores reach back only to that moment.',
        'Who:            arn:aws:sts::123456789012:assumed-role/Admin/alice',
        'Role:           arn:aws:iam::123456789012:role/Admin',
        'Source IP:      203.0.113.10',
        `User agent:     ${UA}`,
        'Event time:     2026-11-20T10:15:30Z',
        'pitr-guard did: Re-enabled PITR with a 35-day recovery period and verified it (DescribeContinuousBackups: ENABLED, 35 days).',
        'State now:      PITR is enabled (35 days), but only 0 days can be restored yet: it was enabled on 2026-11-20T10:15:33.000Z.',
        `Console:        ${URL_ORDERS}`,
        '',
        'Event: UpdateContinuousBackups 0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f · mode remediate',
        '',
      ].join('\n'),
    );
    expect(alert.attributes).toEqual({
      kind: 'change',
      accountId: '123456789012',
      region: 'us-east-1',
      tableName: 'orders',
      result: 'ENABLED',
      eventName: 'UpdateContinuousBackups',
    });
  });

  it('Slack: Block Kit with a text fallback', () => {
    expect(alert.slack).toEqual({
      text: 'PITR disabled on orders (123456789012, us-east-1) by `arn:aws:sts::123456789012:assumed-role/Admin/alice`: re-enabled.',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'PITR disabled on orders', emoji: false } },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*pitr-guard:* Re-enabled PITR with a 35-day recovery period and verified it (DescribeContinuousBackups: ENABLED, 35 days).' },
        },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Account*\n`123456789012`' },
            { type: 'mrkdwn', text: '*Region*\n`us-east-1`' },
            { type: 'mrkdwn', text: `*Table*\n<${URL_ORDERS}|orders>` },
            { type: 'mrkdwn', text: '*Event time*\n`2026-11-20T10:15:30Z`' },
            { type: 'mrkdwn', text: '*Who*\n`arn:aws:sts::123456789012:assumed-role/Admin/alice`' },
            { type: 'mrkdwn', text: '*Source IP*\n`203.0.113.10`' },
            { type: 'mrkdwn', text: `*User agent*\n\`${UA}\`` },
            { type: 'mrkdwn', text: '*Role*\n`arn:aws:iam::123456789012:role/Admin`' },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text:
              '*What happened:* UpdateContinuousBackups switched point-in-time recovery off. The restore history is lost: once PITR is back on, restores reach back only to that moment.\n' +
              '*State now:* PITR is enabled (35 days), but only 0 days can be restored yet: it was enabled on 2026-11-20T10:15:33.000Z.',
          },
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: `UpdateContinuousBackups \`0b7e6c5d-4a3b-4c2d-9e1f-8a7b6c5d4e3f\` · mode remediate · <${URL_ORDERS}|Open in the AWS console>` }],
        },
      ],
    });
  });
});

describe('renderChangeAlert: other outcomes and events', () => {
  it('alert mode: says nothing was changed and gives the command to fix it by hand', () => {
    const alert = renderChangeAlert({
      change: change(),
      outcome: { ...enabledOutcome, result: 'SKIPPED_MODE', after: undefined, mode: 'alert', message: 'Mode is alert: PITR was left as it is.', recoveryPeriodInDays: undefined },
      minRecoveryDays: 35,
    });
    expect(alert.subject).toBe('[pitr-guard] PITR disabled on orders (123456789012 us-east-1): alert only');
    expect(alert.text).toContain('pitr-guard did: Alert only (mode alert): PITR was not changed.\nState now:      PITR is disabled.\n');
    expect(alert.text).toContain(
      'To enable PITR by hand: aws dynamodb update-continuous-backups --region us-east-1 --table-name orders --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=35',
    );
  });

  it('dry run, deferred and failed say so in the subject and the body', () => {
    const dry = renderChangeAlert({ change: change(), outcome: { ...enabledOutcome, result: 'SKIPPED_DRY_RUN', after: undefined }, minRecoveryDays: 35 });
    expect(dry.subject).toBe('[pitr-guard] PITR disabled on orders (123456789012 us-east-1): dry run');
    expect(dry.text).toContain('pitr-guard did: Dry run: PITR would have been enabled with a 35-day recovery period; nothing was changed.');
    const failed = renderChangeAlert({
      change: change(),
      outcome: { ...enabledOutcome, result: 'FAILED', after: undefined, errorName: 'AccessDeniedException', message: 'UpdateContinuousBackups failed with AccessDeniedException: no.' },
      minRecoveryDays: 35,
    });
    expect(failed.subject).toMatch(/: REMEDIATION FAILED$/);
    expect(failed.text).toContain('pitr-guard did: Remediation FAILED: UpdateContinuousBackups failed with AccessDeniedException: no.');
    const deferred = renderChangeAlert({
      change: change('cloudtrail-create-table.json'),
      outcome: { ...enabledOutcome, tableName: 'invoices', result: 'DEFERRED', after: undefined, message: 'PITR could not be enabled yet: the table is still CREATING after 120 s.' },
      minRecoveryDays: 35,
    });
    expect(deferred.subject).toBe('[pitr-guard] Table invoices created without PITR (123456789012 us-east-1): deferred');
    expect(deferred.text).toContain('Via:            cloudformation.amazonaws.com');
  });

  it('a created table that was fixed says "enabled"; a shortened period says "set back"', () => {
    const created = renderChangeAlert({ change: change('cloudtrail-create-table.json'), outcome: { ...enabledOutcome, tableName: 'invoices' }, minRecoveryDays: 35 });
    expect(created.subject).toBe('[pitr-guard] Table invoices created without PITR (123456789012 us-east-1): enabled');
    expect(created.text).toContain('What happened:  CreateTable created the table; new tables start without PITR.');
    const shortened = renderChangeAlert({ change: change('cloudtrail-period-shortened.json'), outcome: enabledOutcome, minRecoveryDays: 35 });
    expect(shortened.subject).toBe('[pitr-guard] PITR period set to 7 days on orders (123456789012 us-east-1): re-enabled');
    expect(shortened.text).toContain('pitr-guard did: Set the recovery period back to 35 days and verified it');
  });

  it('keeps the SNS subject under 100 printable ASCII characters, shortening the table name, never the outcome', () => {
    const long = 'a'.repeat(255);
    const c = change('cloudtrail-pitr-disabled.json', (e) => ((e.detail.requestParameters as Record<string, unknown>).tableName = long));
    const alert = renderChangeAlert({ change: c, outcome: { ...enabledOutcome, tableName: long }, minRecoveryDays: 35 });
    expect(alert.subject.length).toBeLessThan(100);
    expect(alert.subject).toMatch(/^\[pitr-guard\] PITR disabled on a+\.\.\. \(123456789012 us-east-1\): re-enabled$/);
    expect(alert.subject).toMatch(/^[\x20-\x7e]+$/);
  });

  it('escapes event text in Slack so it cannot ping a channel or break the formatting, and keeps plain text on one line', () => {
    const c = change('cloudtrail-pitr-disabled.json', (e) => {
      e.detail.userAgent = 'evil <!channel> @here `code` *bold* & <https://x.example|click>\nSubject: forged';
      (e.detail.userIdentity as Record<string, unknown>).arn = 'arn:aws:sts::123456789012:assumed-role/Admin/<@U123>';
    });
    const alert = renderChangeAlert({ change: c, outcome: enabledOutcome, minRecoveryDays: 35 });
    const slack = JSON.stringify(alert.slack);
    expect(slack).not.toContain('<!channel>');
    expect(slack).not.toContain('<@U123>');
    expect(slack).not.toMatch(/@here/);
    expect(slack).not.toContain('<https://x.example');
    const ua = alert.slack.blocks.flatMap((b) => ('fields' in b ? (b.fields ?? []) : [])).find((f) => f.text.startsWith('*User agent*'));
    expect(ua?.text).toBe("*User agent*\n`evil &lt;!channel&gt; @\u200bhere 'code' *bold* &amp; &lt;https://x.example|click&gt; Subject: forged`");
    expect(alert.slack.text).toContain('`arn:aws:sts::123456789012:assumed-role/Admin/&lt;@U123&gt;`');
    // plain text: the newline is gone, so no forged line
    expect(alert.text.split('\n').some((l) => l.startsWith('Subject:'))).toBe(false);
  });
});

describe('helpers', () => {
  it('slackEscape', () => {
    expect(slackEscape('a & b < c > d @channel @everyone @HERE')).toBe('a &amp; b &lt; c &gt; d @\u200bchannel @\u200beveryone @\u200bHERE');
  });
  it('snsSubject: printable ASCII, one line, under 100', () => {
    expect(snsSubject('a\nb\tc – d…')).toBe('a b c - d...');
    expect(snsSubject('x'.repeat(300))).toHaveLength(99);
    expect(snsSubject('')).toBe('pitr-guard alert');
  });
  it('consoleUrl', () => {
    expect(consoleUrl('eu-west-1', 'my.table')).toBe('https://eu-west-1.console.aws.amazon.com/dynamodbv2/home?region=eu-west-1#table?name=my.table');
  });
});

describe('renderDigest', () => {
  const finding = (tableName: string, region: string, status: Finding['status'] = 'NON_COMPLIANT'): Finding =>
    status === 'ERROR'
      ? evaluate({ ...base, tableName, region, error: { operation: 'DescribeContinuousBackups', errorName: 'AccessDeniedException', message: 'no' } }, policy, NOW)
      : evaluate({ ...base, tableName, region, pitr: { status: 'DISABLED' } }, policy, NOW);
  const outcome = (tableName: string, region: string, result: RemediationOutcome['result'], extra: Partial<RemediationOutcome> = {}): RemediationOutcome => ({
    ...enabledOutcome,
    tableName,
    region,
    before: finding(tableName, region),
    result,
    ...extra,
  });
  const report = (findings: Finding[]): ScanReport => ({
    generatedAt: '2026-11-21T10:00:03.120Z',
    accountId: '123456789012',
    accounts: [{ accountId: '123456789012', status: 'SCANNED' }],
    accountErrors: [],
    regions: ['eu-west-1', 'us-east-1'],
    policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' },
    summary: { total: 40, compliant: 35, nonCompliant: 3, exempt: 1, notApplicable: 0, error: findings.filter((f) => f.status === 'ERROR').length },
    findings,
    vanished: [],
    regionErrors: [{ region: 'ap-east-1', operation: 'ListTables', errorName: 'UnrecognizedClientException', message: 'x' }],
    regionSummaries: [],
    shardErrors: [],
  });

  it('one message for the whole scan, worst first, with the rest counted', () => {
    const outcomes = [
      outcome('orders', 'us-east-1', 'ENABLED'),
      outcome('payments', 'eu-west-1', 'FAILED', { errorName: 'AccessDeniedException' }),
      outcome('carts', 'eu-west-1', 'ENABLED'),
    ];
    const digest = renderDigest({ report: report([finding('ledger', 'eu-west-1', 'ERROR')]), outcomes, mode: 'remediate', dryRun: false, includeErrors: true, maxListed: 3 });
    expect(digest.subject).toBe('[pitr-guard] Scan 123456789012: 3 tables out of policy (2 re-enabled, 1 failed, 2 unreadable)');
    expect(digest.text).toBe(
      [
        'pitr-guard scan of account 123456789012 (eu-west-1, us-east-1) at 2026-11-21T10:00:03.120Z',
        'Mode remediate. 40 tables scanned, 3 without the required PITR.',
        'Re-enabled: 2 · Failed or deferred: 1 · Not changed: 0 · Unreadable: 2',
        '',
        'Worst first:',
        '- payments (eu-west-1): PITR not enabled; remediation FAILED: AccessDeniedException',
        '- Region ap-east-1 could not be scanned: ListTables failed with UnrecognizedClientException',
        '- ledger (eu-west-1): could not be read: DescribeContinuousBackups failed with AccessDeniedException',
        '…and 2 more.',
        '',
      ].join('\n'),
    );
    const slack = JSON.stringify(digest.slack.blocks);
    expect(digest.slack.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'PITR scan: 3 tables out of policy', emoji: false } });
    expect(slack).toContain('• `payments` (eu-west-1): PITR not enabled; *remediation FAILED: AccessDeniedException*');
    expect(slack).toContain('• `orders` (us-east-1): PITR not enabled; re-enabled (35 days) and verified');
  });

  it('limits the Slack list and keeps every section under 3,000 characters', () => {
    const many = Array.from({ length: 120 }, (_, i) => outcome(`table-${String(i).padStart(3, '0')}-${'x'.repeat(150)}`, 'us-east-1', 'SKIPPED_MODE', { mode: 'alert' }));
    const digest = renderDigest({ report: report([]), outcomes: many, mode: 'alert', dryRun: false, includeErrors: false, maxListedSlack: 30 });
    const sections = digest.slack.blocks.filter((b) => b.type === 'section');
    for (const s of sections) if ('text' in s && s.text) expect(s.text.text.length).toBeLessThanOrEqual(3000);
    expect(JSON.stringify(digest.slack.blocks)).toContain('…and 90 more');
    expect(digest.text).toContain('…and 70 more.');
    expect(digest.subject).toBe('[pitr-guard] Scan 123456789012: 120 tables out of policy (120 not changed)');
  });
});
