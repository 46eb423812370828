/**
 * The lifecycle's renderings, exact text: the change digest (new, resolved with who fixed it,
 * reminders, loop protection, still open) from the lifecycle-to-digest mapping, and loop
 * protection's escalation; SNS subject + plain text and Slack blocks; untrusted text neutralised.
 */
import { changeDigestHasNews, renderChangeDigest, renderEscalation } from '../../lib/notify/format';
import { fixedByText, lifecycleDigestInput } from '../../lib/notify/lifecycle-digest';
import type { Transition } from '../../lib/core/lifecycle';
import type { RemediationOutcome } from '../../lib/act/outcome';
import type { TableChange } from '../../lib/core/types';
import { evaluate } from '../../lib/core/evaluate';
import { linkFindings } from '../../lib/core/links';

const AT = '2026-11-21T12:00:00.000Z';
const arn = (t: string) => `arn:aws:dynamodb:us-east-1:123456789012:table/${t}`;
const t = (kind: Transition['kind'], tableName: string, extra: Partial<Transition> = {}): Transition => ({
  kind,
  tableArn: arn(tableName),
  accountId: '123456789012',
  region: 'us-east-1',
  tableName,
  status: 'NON_COMPLIANT',
  reasons: ['PITR_DISABLED'],
  incidentId: `${arn(tableName)}#${AT}`,
  openedAt: AT,
  at: AT,
  ...extra,
});
const report = { accountId: '123456789012', regions: ['us-east-1'], generatedAt: AT, findings: [], regionErrors: [] };
const enabled = (tableName: string) => ({ accountId: '123456789012', region: 'us-east-1', tableName, result: 'ENABLED', mode: 'remediate', recoveryPeriodInDays: 35 }) as unknown as RemediationOutcome;

describe('the change digest', () => {
  const transitions = [
    t('NEW', 'carts'),
    t('NEW', 'orders'),
    t('RESOLVED', 'orders', { fixedBy: 'pitr-guard', status: 'COMPLIANT', at: '2026-11-21T12:00:04.000Z' }),
    t('RESOLVED', 'payments', { status: 'COMPLIANT', fixedBy: 'unknown', openedAt: '2026-11-20T08:15:00.000Z', incidentId: 'p#1' }),
    t('REMINDER', 'sessions', { openedAt: '2026-11-19T12:00:00.000Z', reminder: 2, incidentId: 's#1' }),
    t('LOOP', 'ledger', { status: 'COMPLIANT', silencedDisables: 2, disables: [1, 2, 3, 4, 5].map((i) => ({ eventId: `e${i}`, at: AT, principal: 'p' })) }),
  ];
  const input = lifecycleDigestInput({ report, transitions, outcomes: [enabled('orders')], stillOpen: 2, mode: 'remediate', dryRun: false });

  it('plain text: one section per change, a table fixed by this scan listed once (new, fixed by pitr-guard)', () => {
    const alert = renderChangeDigest(input);
    expect(alert.subject).toBe('[pitr-guard] 123456789012: 2 new, 1 resolved, 1 reminder, 1 looping; 2 still open');
    expect(alert.text).toBe(
      [
        `pitr-guard: what changed in account 123456789012 (us-east-1) since the last scan, at ${AT}`,
        'Mode remediate. 2 new, 1 resolved, 1 reminder, 1 looping; 2 still open.',
        '',
        'New (2):',
        '- carts (us-east-1, 123456789012): PITR not enabled',
        '- orders (us-east-1, 123456789012): PITR not enabled; re-enabled (35 days) and verified: fixed by pitr-guard',
        '',
        'Resolved (1):',
        '- payments (us-east-1, 123456789012): compliant again; fixed outside pitr-guard (by whom is not known) (open since 2026-11-20 08:15 UTC)',
        '',
        'Reminders (1):',
        '- sessions (us-east-1, 123456789012): PITR not enabled, open since 2026-11-19 12:00 UTC (reminder 2)',
        '',
        'Loop protection (1):',
        '- ledger (us-east-1, 123456789012): switched off 5 times within the loop window; 2 disables not alerted (loop protection); pitr-guard re-enabled it each time',
        '',
        'Still open: 2 incidents (each is alerted once, then reminded when due).',
        '',
      ].join('\n'),
    );
    expect(alert.attributes).toEqual({ kind: 'digest', accountId: '123456789012', new: '2', resolved: '1', reminders: '1', stillOpen: '2' });
  });

  it('Slack: header, account line, one section per change, still-open context', () => {
    const { slack } = renderChangeDigest(input);
    expect(slack.text).toBe('[pitr-guard] 123456789012: 2 new, 1 resolved, 1 reminder, 1 looping; 2 still open');
    expect(slack.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'PITR changes: 2 new, 1 resolved, 1 reminder, 1 looping; 2 still open', emoji: false } },
      { type: 'section', text: { type: 'mrkdwn', text: 'Account `123456789012` · `us-east-1` · mode remediate' } },
      { type: 'section', text: { type: 'mrkdwn', text: '*New (2)*\n• `carts` (us-east-1): PITR not enabled\n• `orders` (us-east-1): PITR not enabled; re-enabled (35 days) and verified: fixed by pitr-guard' } },
      { type: 'section', text: { type: 'mrkdwn', text: '*Resolved (1)*\n• `payments` (us-east-1): compliant again; fixed outside pitr-guard (by whom is not known) (open since 2026-11-20 08:15 UTC)' } },
      { type: 'section', text: { type: 'mrkdwn', text: '*Reminders (1)*\n• `sessions` (us-east-1): PITR not enabled, open since 2026-11-19 12:00 UTC (reminder 2)' } },
      { type: 'section', text: { type: 'mrkdwn', text: '*Loop protection (1)*\n• `ledger` (us-east-1): switched off 5 times within the loop window; 2 disables not alerted (loop protection); pitr-guard re-enabled it each time' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Still open: 2 incidents (each is alerted once, then reminded when due). Scan at ${AT}` }] },
    ]);
  });

  it('nothing changed: no news, so no digest', () => {
    const quiet = lifecycleDigestInput({ report, transitions: [], outcomes: [], stillOpen: 7, mode: 'alert', dryRun: false });
    expect(changeDigestHasNews(quiet)).toBe(false);
  });

  it('a Region that cannot be listed is news in every digest', () => {
    const input2 = lifecycleDigestInput({ report: { ...report, regionErrors: [{ region: 'ap-east-1', operation: 'ListTables', errorName: 'UnrecognizedClientException', message: 'x' }] }, transitions: [], outcomes: [], stillOpen: 0, mode: 'alert', dryRun: false });
    expect(changeDigestHasNews(input2)).toBe(true);
    expect(renderChangeDigest(input2).text).toContain('Not scanned (1):\n- Region ap-east-1 could not be scanned: ListTables failed with UnrecognizedClientException');
  });

  it('long lists are cut and counted; the subject stays under 100 printable characters', () => {
    const many = Array.from({ length: 60 }, (_, i) => t('NEW', `table-${String(i).padStart(2, '0')}`));
    const alert = renderChangeDigest(lifecycleDigestInput({ report, transitions: many, outcomes: [], stillOpen: 60, mode: 'alert', dryRun: false, maxListed: 50, maxListedSlack: 20 }));
    expect(alert.text).toContain('- …and 10 more.');
    expect(alert.slack.blocks[2]).toMatchObject({ text: { text: expect.stringContaining('…and 40 more (the email lists up to 50).') } });
    expect(alert.subject.length).toBeLessThan(100);
  });

  it('who fixed it: pitr-guard, a principal, or not known', () => {
    expect([fixedByText('pitr-guard'), fixedByText('arn:aws:iam::123456789012:user/alice'), fixedByText('unknown'), fixedByText(undefined)]).toEqual([
      'fixed by pitr-guard',
      'fixed by arn:aws:iam::123456789012:user/alice',
      'fixed outside pitr-guard (by whom is not known)',
      'fixed outside pitr-guard (by whom is not known)',
    ]);
  });
});

describe('the escalation (loop protection)', () => {
  const change: TableChange = {
    eventId: '0a1b2c3d-0000-4000-8000-000000000003',
    eventName: 'UpdateContinuousBackups',
    kind: 'PITR_DISABLED',
    accountId: '123456789012',
    region: 'us-east-1',
    tableName: 'orders',
    requested: { enabled: false },
    actor: { arn: 'arn:aws:sts::123456789012:assumed-role/Deploy/ci', userAgent: 'Terraform/1.9.5' },
  };
  const outcome = {
    accountId: '123456789012',
    region: 'us-east-1',
    tableName: 'orders',
    result: 'ENABLED',
    mode: 'remediate',
    recoveryPeriodInDays: 35,
    message: 'ok',
    before: { status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED', 'REPEATEDLY_DISABLED'], message: 'PITR is disabled.' },
    after: { status: 'COMPLIANT', message: 'PITR is enabled (35 days).', pitr: { status: 'ENABLED', recoveryPeriodInDays: 35 } },
  } as unknown as RemediationOutcome;
  const disables = [
    { eventId: 'e1', at: '2026-11-21T11:50:00Z', principal: 'arn:aws:sts::123456789012:assumed-role/Deploy/ci', userAgent: 'Terraform/1.9.5 terraform-provider-aws/5.70.0' },
    { eventId: 'e2', at: '2026-11-21T11:55:00Z', principal: 'arn:aws:iam::123456789012:user/bob', userAgent: 'aws-cli/2.22.35' },
    { eventId: 'e3', at: '2026-11-21T12:00:00Z', principal: 'arn:aws:sts::123456789012:assumed-role/Deploy/ci', userAgent: 'Terraform/1.9.5' },
  ];

  it('SNS: names every principal and user agent and the likely cause', () => {
    const alert = renderEscalation({ change, outcome, disables, settings: { loopLimit: 3, loopWindowMinutes: 60 } });
    expect(alert.subject).toBe('[pitr-guard] LOOP: PITR switched off 3 times on orders (123456789012 us-east-1)');
    expect(alert.text).toBe(
      [
        'PITR on orders switched off 3 times within 1 hour: something keeps reverting it',
        '',
        'Account:        123456789012',
        'Region:         us-east-1',
        'Table:          orders',
        'Disables:       3 within 1 hour (loop limit 3)',
        'Likely cause:   infrastructure as code (Terraform) reverting the change: its template or state says PITR off. Set point_in_time_recovery / PointInTimeRecoverySpecification to enabled there.',
        'Principals:     arn:aws:sts::123456789012:assumed-role/Deploy/ci, arn:aws:iam::123456789012:user/bob',
        'User agents:    Terraform/1.9.5 terraform-provider-aws/5.70.0 | aws-cli/2.22.35 | Terraform/1.9.5',
        'pitr-guard did: Re-enabled PITR with a 35-day recovery period and verified it (DescribeContinuousBackups: ENABLED, 35 days). As after every disable before.',
        "Next:           pitr-guard keeps re-enabling it; further disables within 1 hour send no alert and are counted in the next scan's digest.",
        'Console:        https://us-east-1.console.aws.amazon.com/dynamodbv2/home?region=us-east-1#table?name=orders',
        '',
        'Every disable:',
        '- 2026-11-21T11:50:00Z  arn:aws:sts::123456789012:assumed-role/Deploy/ci  (Terraform/1.9.5 terraform-provider-aws/5.70.0)',
        '- 2026-11-21T11:55:00Z  arn:aws:iam::123456789012:user/bob  (aws-cli/2.22.35)',
        '- 2026-11-21T12:00:00Z  arn:aws:sts::123456789012:assumed-role/Deploy/ci  (Terraform/1.9.5)',
        '',
        'Event: UpdateContinuousBackups 0a1b2c3d-0000-4000-8000-000000000003 · mode remediate · reason REPEATEDLY_DISABLED',
        '',
      ].join('\n'),
    );
    expect(alert.attributes).toEqual({ kind: 'escalation', accountId: '123456789012', region: 'us-east-1', tableName: 'orders', result: 'ENABLED', eventName: 'UpdateContinuousBackups', disables: '3' });
  });

  it('Slack: cause first, then the fields, who switched it off, what pitr-guard did', () => {
    const { slack } = renderEscalation({ change, outcome, disables, settings: { loopLimit: 3, loopWindowMinutes: 45 } });
    expect(slack.text).toBe('Loop: PITR on orders switched off 3 times in 45 minutes (123456789012, us-east-1).');
    expect(slack.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'section', 'section', 'context']);
    expect(slack.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Loop: PITR on orders switched off 3 times in 45 minutes', emoji: false } });
    expect(slack.blocks[1]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: expect.stringMatching(/^\*Likely cause:\* infrastructure as code \(Terraform\)/) } });
    expect(slack.blocks[3]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text:
          '*Who switched it off:*\n• `2026-11-21T11:50:00Z` `arn:aws:sts::123456789012:assumed-role/Deploy/ci` · `Terraform/1.9.5 terraform-provider-aws/5.70.0`\n• `2026-11-21T11:55:00Z` `arn:aws:iam::123456789012:user/bob` · `aws-cli/2.22.35`\n• `2026-11-21T12:00:00Z` `arn:aws:sts::123456789012:assumed-role/Deploy/ci` · `Terraform/1.9.5`',
      },
    });
  });

  it('untrusted principals and user agents cannot forge lines or mention everyone', () => {
    const forged = [{ eventId: 'e1', at: AT, principal: 'arn:aws:iam::1:user/x\nState now: fine <!channel> @here', userAgent: 'evil\u202Eagent' }, ...disables.slice(1)];
    const alert = renderEscalation({ change, outcome, disables: forged, settings: { loopLimit: 3, loopWindowMinutes: 60 } });
    expect(alert.text.split('\n').some((l) => l.startsWith('State now'))).toBe(false);
    expect(alert.text).toContain('[U+202E]');
    const slackText = JSON.stringify(alert.slack);
    expect(slackText).not.toContain('<!channel>');
    expect(slackText).not.toMatch(/[^\u200b]@here/);
  });
});

describe('the change digest line of a global-table replica', () => {
  it('names its replica set and the other replicas', () => {
    const replicas = [{ regionName: 'us-east-1' }, { regionName: 'eu-west-1' }];
    const policy = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
    const finding = linkFindings([
      evaluate({ accountId: '123456789012', region: 'us-east-1', tableName: 'orders', tableArn: arn('orders'), tableStatus: 'ACTIVE', tags: {}, pitr: { status: 'DISABLED' }, replicas }, policy, new Date(AT)),
    ])[0]!;
    const input = lifecycleDigestInput({ report: { ...report, findings: [finding] }, transitions: [t('NEW', 'orders')], outcomes: [], stillOpen: 1, mode: 'alert', dryRun: false });
    expect(renderChangeDigest(input).text).toContain('- orders (us-east-1, 123456789012): PITR not enabled; replica of global table 123456789012:orders@eu-west-1+us-east-1 (other replicas: eu-west-1 not scanned)');
  });
});
