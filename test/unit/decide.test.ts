/** decide: (finding, policy, mode tag, dry run) → planned action and why; pure, table-driven. */
import { decide, effectiveMode, isTransientError, type DecidedAction } from '../../lib/core/decide';
import { evaluate } from '../../lib/core/evaluate';
import type { Finding, Mode, Policy, TableFacts } from '../../lib/core/types';
import { NOW, facts, pitrEnabled } from '../helpers/builders';

const policy = (mode: Mode): Pick<Policy, 'mode' | 'minRecoveryDays' | 'exemptTag'> => ({ mode, minRecoveryDays: 14, exemptTag: 'pitr-guard:exempt' });
const finding = (overrides: Partial<TableFacts>): Finding => evaluate(facts(overrides), policy('report'), NOW);

const off = finding({ pitr: { status: 'DISABLED' } });
const short = finding({ pitr: pitrEnabled(7) });
const ok = finding({ pitr: pitrEnabled(35) });
const exempt = finding({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'scratch' } });
const deleting = finding({ tableStatus: 'DELETING' });
const throttled = finding({ error: { operation: 'DescribeContinuousBackups', errorName: 'ThrottlingException', message: 'slow down' } });
const denied = finding({ error: { operation: 'DescribeContinuousBackups', errorName: 'AccessDeniedException', message: 'no' } });

describe('decide', () => {
  it.each<[string, Finding, Mode, string | null, boolean, DecidedAction, Mode, Partial<ReturnType<typeof decide>>]>([
    ['off, remediate', off, 'remediate', null, false, 'ENABLE', 'remediate', { recoveryPeriodInDays: 14 }],
    ['period too short, remediate', short, 'remediate', null, false, 'ENABLE', 'remediate', { recoveryPeriodInDays: 14 }],
    ['off, remediate, dry run', off, 'remediate', null, true, 'LEAVE_DRY_RUN', 'remediate', { recoveryPeriodInDays: 14 }],
    ['off, alert', off, 'alert', null, false, 'LEAVE_MODE', 'alert', {}],
    ['off, report', off, 'report', null, false, 'LEAVE_MODE', 'report', {}],
    ['off, report, tag remediate (stricter)', off, 'report', 'remediate', false, 'ENABLE', 'remediate', {}],
    ['off, alert, tag " Remediate " (case, spaces)', off, 'alert', ' Remediate ', false, 'ENABLE', 'remediate', {}],
    ['off, report, tag alert', off, 'report', 'alert', false, 'LEAVE_MODE', 'alert', {}],
    ['off, remediate, tag report (weaker: ignored)', off, 'remediate', 'report', false, 'ENABLE', 'remediate', { ignoredTag: 'report' }],
    ['off, alert, tag "off" (not a mode: ignored)', off, 'alert', 'off', false, 'LEAVE_MODE', 'alert', { ignoredTag: 'off' }],
    ['compliant, remediate', ok, 'remediate', null, false, 'NONE', 'remediate', {}],
    ['exempt, remediate', exempt, 'remediate', 'remediate', false, 'NONE', 'remediate', {}],
    ['deleting (not applicable), remediate', deleting, 'remediate', null, false, 'NONE', 'remediate', {}],
    ['unreadable (throttled): transient', throttled, 'remediate', null, false, 'UNREADABLE', 'remediate', { transient: true }],
    ['unreadable (access denied): permanent', denied, 'remediate', null, false, 'UNREADABLE', 'remediate', { transient: false }],
  ])('%s', (_name, f, mode, tag, dryRun, action, effective, extra) => {
    const d = decide(f, policy(mode), tag, dryRun);
    expect(d).toMatchObject({ action, mode: effective, ...extra });
    expect(d.why.length).toBeGreaterThan(10);
    if (action !== 'ENABLE' && action !== 'LEAVE_DRY_RUN') expect(d.recoveryPeriodInDays).toBeUndefined();
  });

  it('says why in one sentence', () => {
    expect(decide(off, policy('alert'), null, false).why).toBe('Mode is alert: PITR was left as it is.');
    expect(decide(off, policy('remediate'), null, true).why).toBe('Dry run: would have enabled PITR with a 14-day recovery period; nothing was changed.');
    expect(decide(throttled, policy('remediate'), null, false).why).toBe('Could not read the table: DescribeContinuousBackups failed with ThrottlingException.');
  });

  it('effectiveMode: stricter tags win, weaker and unknown ones are ignored and reported', () => {
    expect(effectiveMode('report', 'alert')).toEqual({ mode: 'alert' });
    expect(effectiveMode('remediate', 'report')).toEqual({ mode: 'remediate', ignoredTag: 'report' });
    expect(effectiveMode('alert', 'alert')).toEqual({ mode: 'alert' });
    expect(effectiveMode('alert', null)).toEqual({ mode: 'alert' });
    expect(effectiveMode('alert', undefined)).toEqual({ mode: 'alert' });
  });

  it.each([
    ['ThrottlingException', undefined, true],
    ['InternalServerError', 500, true],
    ['SomethingNew', 503, true],
    ['TimeoutError', undefined, true],
    ['ECONNRESET', undefined, true],
    ['AccessDeniedException', 400, false],
    ['ValidationException', 400, false],
    ['UnknownError', undefined, false],
  ])('isTransientError(%s, %s) = %s', (name, status, expected) => {
    expect(isTransientError(name, status)).toBe(expected);
  });
});
