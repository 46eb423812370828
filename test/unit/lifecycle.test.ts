/**
 * The alert lifecycle's pure decisions (lib/core/lifecycle.ts), table-driven: open, remind (clock
 * edges, remindHours = 0), resolve, nothing; loop protection's count, window and alert per disable;
 * the likely cause; and the settings' validation (ConfigError naming the variable).
 */
import { decideIncident, disablesInWindow, likelyCause, loopAlert, recordDisable, type DisableRecord, type IncidentFacts } from '../../lib/core/lifecycle';
import { parseLifecycle, validateEnvironment } from '../../lib/core/config';
import { ConfigError } from '../../lib/core/errors';
import type { FindingStatus } from '../../lib/core/types';

const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';
const NOW = new Date('2026-11-21T12:00:00.000Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const open = (extra: IncidentFacts = {}): IncidentFacts => ({ incidentId: `${ARN}#2026-11-20T12:00:00.000Z`, incidentState: 'OPEN', openedAt: '2026-11-20T12:00:00.000Z', lastAlertedAt: '2026-11-20T12:00:00.000Z', reminderDueAt: iso(0), ...extra });

describe('decideIncident', () => {
  const cases: { name: string; facts: IncidentFacts; status: FindingStatus; remindHours?: number; expected: ReturnType<typeof decideIncident> }[] = [
    { name: 'no incident, NON_COMPLIANT → OPEN, reminder due in 24 h', facts: {}, status: 'NON_COMPLIANT', expected: { kind: 'OPEN', incidentId: `${ARN}#${NOW.toISOString()}`, reminderDueAt: iso(24 * H) } },
    { name: 'no incident, ERROR → OPEN', facts: {}, status: 'ERROR', expected: { kind: 'OPEN', incidentId: `${ARN}#${NOW.toISOString()}`, reminderDueAt: iso(24 * H) } },
    { name: 'no incident, NON_COMPLIANT, remindHours 0 → OPEN without a due time', facts: {}, status: 'NON_COMPLIANT', remindHours: 0, expected: { kind: 'OPEN', incidentId: `${ARN}#${NOW.toISOString()}` } },
    { name: 'closed incident, NON_COMPLIANT again → a new incident', facts: { ...open(), incidentState: 'CLOSED' }, status: 'NON_COMPLIANT', expected: { kind: 'OPEN', incidentId: `${ARN}#${NOW.toISOString()}`, reminderDueAt: iso(24 * H) } },
    { name: 'no incident, COMPLIANT → NONE', facts: {}, status: 'COMPLIANT', expected: { kind: 'NONE' } },
    { name: 'no incident, EXEMPT → NONE', facts: {}, status: 'EXEMPT', expected: { kind: 'NONE' } },
    { name: 'open, reminder due exactly now → REMIND', facts: open({ reminderDueAt: iso(0) }), status: 'NON_COMPLIANT', expected: { kind: 'REMIND', incidentId: `${ARN}#2026-11-20T12:00:00.000Z`, reminder: 1, reminderDueAt: iso(24 * H) } },
    { name: 'open, reminder due 1 ms from now → NONE', facts: open({ reminderDueAt: iso(1) }), status: 'NON_COMPLIANT', expected: { kind: 'NONE' } },
    { name: 'open, reminder overdue, second reminder → REMIND 2', facts: open({ reminderDueAt: iso(-5 * H), reminders: 1 }), status: 'ERROR', expected: { kind: 'REMIND', incidentId: `${ARN}#2026-11-20T12:00:00.000Z`, reminder: 2, reminderDueAt: iso(24 * H) } },
    { name: 'open, reminder due, remindHours 0 → NONE (never remind)', facts: open(), status: 'NON_COMPLIANT', remindHours: 0, expected: { kind: 'NONE' } },
    { name: 'open without due time (reminders were off), last alert 24 h ago → REMIND', facts: open({ reminderDueAt: undefined, lastAlertedAt: iso(-24 * H) }), status: 'NON_COMPLIANT', expected: { kind: 'REMIND', incidentId: `${ARN}#2026-11-20T12:00:00.000Z`, reminder: 1, reminderDueAt: iso(24 * H) } },
    { name: 'open without due time, last alert 23 h ago → NONE', facts: open({ reminderDueAt: undefined, lastAlertedAt: iso(-23 * H) }), status: 'NON_COMPLIANT', expected: { kind: 'NONE' } },
    { name: 'open, unparsable due time → NONE, never a crash', facts: open({ reminderDueAt: 'soon' }), status: 'NON_COMPLIANT', expected: { kind: 'NONE' } },
    { name: 'open, COMPLIANT → RESOLVE, fixed by unknown', facts: open(), status: 'COMPLIANT', expected: { kind: 'RESOLVE', incidentId: `${ARN}#2026-11-20T12:00:00.000Z`, fixedBy: 'unknown' } },
    { name: 'open, EXEMPT → RESOLVE', facts: open(), status: 'EXEMPT', expected: { kind: 'RESOLVE', incidentId: `${ARN}#2026-11-20T12:00:00.000Z`, fixedBy: 'unknown' } },
    { name: 'open, NOT_APPLICABLE (deleting) → RESOLVE', facts: open(), status: 'NOT_APPLICABLE', expected: { kind: 'RESOLVE', incidentId: `${ARN}#2026-11-20T12:00:00.000Z`, fixedBy: 'unknown' } },
    { name: 'state OPEN without an incident ID → treated as none', facts: { incidentState: 'OPEN' }, status: 'COMPLIANT', expected: { kind: 'NONE' } },
  ];
  it.each(cases)('$name', (c) => {
    expect(decideIncident(ARN, c.facts, c.status, NOW, { remindHours: c.remindHours ?? 24 })).toEqual(c.expected);
  });
  it('RESOLVE names who fixed it when the caller knows', () => {
    expect(decideIncident(ARN, open(), 'COMPLIANT', NOW, { remindHours: 24 }, 'pitr-guard')).toMatchObject({ kind: 'RESOLVE', fixedBy: 'pitr-guard' });
  });
});

describe('loop protection', () => {
  const settings = { loopLimit: 3, loopWindowMinutes: 60 };
  const d = (n: number, minutesAgo: number, ua = 'Terraform/1.9.5'): DisableRecord => ({ eventId: `e${n}`, at: iso(-minutesAgo * 60_000), principal: `arn:aws:iam::123456789012:user/u${n}`, userAgent: ua });

  it('limit 3: #1 and #2 alert as usual, #3 escalates, #4 and #5 are silent', () => {
    let list: DisableRecord[] = [];
    const alerts: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const out = recordDisable(list, d(i, 10 - 2 * i), NOW, settings);
      alerts.push(out.alert);
      expect(out.count).toBe(i);
      list = out.disables;
    }
    expect(alerts).toEqual(['ORDINARY', 'ORDINARY', 'ESCALATION', 'SILENT', 'SILENT']);
    expect(list.map((x) => x.eventId)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
  });

  it('a retried event is not counted twice and keeps its alert', () => {
    const first = recordDisable([], d(1, 5), NOW, settings);
    const second = recordDisable(first.disables, d(2, 4), NOW, settings);
    const retry = recordDisable(second.disables, d(2, 4), NOW, settings);
    expect(retry).toEqual({ disables: second.disables, count: 2, alert: 'ORDINARY', duplicate: true });
  });

  it('disables older than the window fall out (exactly 60 minutes old is out, 59 is in)', () => {
    const out = recordDisable([d(1, 60), d(2, 59)], d(3, 0), NOW, settings);
    expect(out.disables.map((x) => x.eventId)).toEqual(['e2', 'e3']);
    expect(out.alert).toBe('ORDINARY');
  });

  it('an event time outside the window (late delivery, skewed clock) counts now', () => {
    const out = recordDisable([], d(1, 600), NOW, settings);
    expect(out.disables).toEqual([{ ...d(1, 600), at: NOW.toISOString() }]);
  });

  it('limit 0 switches loop protection off; limit 1 escalates the first', () => {
    expect([1, 2, 10].map((n) => loopAlert(n, { loopLimit: 0 }))).toEqual(['ORDINARY', 'ORDINARY', 'ORDINARY']);
    expect([1, 2].map((n) => loopAlert(n, { loopLimit: 1 }))).toEqual(['ESCALATION', 'SILENT']);
  });

  it('keeps at most 50 disables', () => {
    const many = Array.from({ length: 60 }, (_, i) => d(i, 59 - i / 2));
    expect(recordDisable(many, d(99, 0), NOW, { loopLimit: 3, loopWindowMinutes: 60 }).disables).toHaveLength(50);
  });

  it('disablesInWindow ignores malformed times', () => {
    expect(disablesInWindow([d(1, 5), { ...d(2, 5), at: 'yesterday' }], NOW, settings).map((x) => x.eventId)).toEqual(['e1']);
  });

  it.each([
    [['Terraform/1.9.5 terraform-provider-aws/5.70.0'], /^infrastructure as code \(Terraform\) reverting the change/],
    [['aws-sdk-go-v2/1.30 os/linux exec-env/AWS_ECS_FARGATE cloudformation.amazonaws.com'], /^infrastructure as code \(CloudFormation\)/],
    [['pulumi/3.130 aws-sdk-go-v2/1.30'], /^infrastructure as code \(Pulumi\)/],
    [['aws-cdk/2.160.0'], /^infrastructure as code \(AWS CDK\)/],
    [['Boto3/1.35.0 md/Botocore#1.35.0 Python/3.12'], /^a script or job \(boto3\)/],
    [['console.amazonaws.com'], /^a principal switching PITR off again/],
  ])('likely cause of %j', (agents, cause) => {
    expect(likelyCause(agents.map((ua, i) => d(i, 1, ua)).map((x) => ({ ...x, principal: 'arn:aws:iam::123456789012:user/same' })))).toMatch(cause);
  });
});

describe('lifecycle settings', () => {
  it('defaults: remind 24 h, loop limit 3 in 60 minutes', () => {
    expect(parseLifecycle({})).toEqual({ remindHours: 24, loopLimit: 3, loopWindowMinutes: 60 });
    expect(parseLifecycle({ PITR_GUARD_REMIND_HOURS: '0', PITR_GUARD_LOOP_LIMIT: '0', PITR_GUARD_LOOP_WINDOW_MINUTES: '10080' })).toEqual({ remindHours: 0, loopLimit: 0, loopWindowMinutes: 10080 });
    expect(parseLifecycle({ PITR_GUARD_REMIND_HOURS: ' ' })).toMatchObject({ remindHours: 24 });
  });
  it.each([
    ['PITR_GUARD_REMIND_HOURS', '-1'],
    ['PITR_GUARD_REMIND_HOURS', '1.5'],
    ['PITR_GUARD_REMIND_HOURS', '8761'],
    ['PITR_GUARD_LOOP_LIMIT', 'three'],
    ['PITR_GUARD_LOOP_LIMIT', '101'],
    ['PITR_GUARD_LOOP_WINDOW_MINUTES', '0'],
    ['PITR_GUARD_LOOP_WINDOW_MINUTES', '10081'],
  ])('%s=%s is a ConfigError naming the variable', (name, value) => {
    const attempt = () => parseLifecycle({ [name]: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(new RegExp(`^Invalid ${name}=`));
    expect(() => validateEnvironment({ [name]: value })).toThrow(new RegExp(name));
  });
});
