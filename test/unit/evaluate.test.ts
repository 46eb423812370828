import { endOfUtcDay, evaluate } from '../../lib/core/evaluate';
import { REASON_CODES, type FindingStatus, type ReasonCode, type TableFacts } from '../../lib/core/types';
import { DAY, NOW, daysAgo, facts, pitrEnabled } from '../helpers/builders';

const policy = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };

interface Case {
  name: string;
  facts: TableFacts;
  policy?: typeof policy;
  status: FindingStatus;
  reasons: ReasonCode[];
  message: RegExp;
}

const cases: Case[] = [
  { name: 'PITR enabled, 35 days, full window', facts: facts(), status: 'COMPLIANT', reasons: ['PITR_ENABLED'], message: /enabled with a recovery period of 35 days/ },
  { name: 'PITR DISABLED', facts: facts({ pitr: { status: 'DISABLED' } }), status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED'], message: /^PITR is disabled\.$/ },
  { name: 'PITR description missing', facts: facts({ pitr: { status: 'MISSING' } }), status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED'], message: /no point-in-time recovery description/ },
  { name: 'PITR ENABLING (old enum value)', facts: facts({ pitr: { status: 'ENABLING' } }), status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED'], message: /not enabled yet \(status ENABLING\)/ },
  { name: 'PITR unknown future value', facts: facts({ pitr: { status: 'PAUSED' } }), status: 'NON_COMPLIANT', reasons: ['PITR_DISABLED'], message: /status PAUSED/ },
  {
    name: 'restored from a point in time, PITR off',
    facts: facts({ pitr: { status: 'DISABLED' }, restoreSummary: { sourceTableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders', restoreDateTime: new Date('2026-11-30T10:00:00Z'), restoreInProgress: false } }),
    status: 'NON_COMPLIANT',
    reasons: ['PITR_DISABLED', 'RESTORED_WITHOUT_PITR'],
    message: /^PITR is disabled\. The table was restored from table arn:aws:dynamodb:eu-west-1:123456789012:table\/orders at 2026-11-30T10:00:00\.000Z, and a restored table starts with PITR off\. Its source table was not scanned with it \(NOT_SCANNED\)\.$/,
  },
  {
    name: 'period 7 < 35',
    facts: facts({ pitr: pitrEnabled(7) }),
    status: 'NON_COMPLIANT',
    reasons: ['RECOVERY_PERIOD_TOO_SHORT'],
    message: /recovery period is 7 days, shorter than the required 35 days/,
  },
  {
    name: 'period 7 meets a minimum of 7',
    facts: facts({ pitr: pitrEnabled(7) }),
    policy: { ...policy, minRecoveryDays: 7 },
    status: 'COMPLIANT',
    reasons: ['PITR_ENABLED'],
    message: /7 days/,
  },
  {
    name: 'missing period means 35',
    facts: facts({ pitr: { ...pitrEnabled(), recoveryPeriodInDays: undefined } }),
    status: 'COMPLIANT',
    reasons: ['PITR_ENABLED'],
    message: /35 days/,
  },
  {
    name: 're-enabled 3 days ago: window not full',
    facts: facts({ pitr: pitrEnabled(35, 3) }),
    status: 'COMPLIANT',
    reasons: ['PITR_ENABLED', 'RESTORE_WINDOW_NOT_FULL'],
    message: /only 2\.9 days can be restored yet/,
  },
  {
    name: 'exempt with reason, no expiry',
    facts: facts({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'scratch data, rebuilt nightly' } }),
    status: 'EXEMPT',
    reasons: ['EXEMPT'],
    message: /^Exempt from the PITR policy: scratch data, rebuilt nightly\.$/,
  },
  {
    name: 'exempt until a future date',
    facts: facts({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'migration', 'pitr-guard:exempt-until': '2026-12-31' } }),
    status: 'EXEMPT',
    reasons: ['EXEMPT'],
    message: /until 2026-12-31: migration/,
  },
  {
    name: 'exempt until today (inclusive)',
    facts: facts({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'migration', 'pitr-guard:exempt-until': '2026-11-21' } }),
    status: 'EXEMPT',
    reasons: ['EXEMPT'],
    message: /until 2026-11-21/,
  },
  {
    name: 'exemption expired yesterday',
    facts: facts({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'migration', 'pitr-guard:exempt-until': '2026-11-20' } }),
    status: 'NON_COMPLIANT',
    reasons: ['PITR_DISABLED', 'EXEMPTION_EXPIRED'],
    message: /PITR is disabled\. The exemption expired at the end of 2026-11-20\./,
  },
  {
    name: 'expired exemption on a compliant table stays compliant with the warning',
    facts: facts({ tags: { 'pitr-guard:exempt': 'migration', 'pitr-guard:exempt-until': '2025-01-01' } }),
    status: 'COMPLIANT',
    reasons: ['PITR_ENABLED', 'EXEMPTION_EXPIRED'],
    message: /expired/,
  },
  {
    name: 'exempt tag with an empty reason',
    facts: facts({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': '   ' } }),
    status: 'NON_COMPLIANT',
    reasons: ['PITR_DISABLED', 'EXEMPTION_WITHOUT_REASON'],
    message: /gives no reason/,
  },
  {
    name: 'exempt-until that is not a date',
    facts: facts({ pitr: pitrEnabled(7), tags: { 'pitr-guard:exempt': 'legacy', 'pitr-guard:exempt-until': '2026-02-30' } }),
    status: 'NON_COMPLIANT',
    reasons: ['RECOVERY_PERIOD_TOO_SHORT', 'EXEMPTION_INVALID_EXPIRY'],
    message: /not a YYYY-MM-DD date/,
  },
  {
    name: 'a custom exempt tag key',
    facts: facts({ pitr: { status: 'DISABLED' }, tags: { 'backup-policy/exempt': 'cache' } }),
    policy: { ...policy, exemptTag: 'backup-policy/exempt' },
    status: 'EXEMPT',
    reasons: ['EXEMPT'],
    message: /cache/,
  },
  {
    name: 'the default exempt tag does nothing when another key is configured',
    facts: facts({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'cache' } }),
    policy: { ...policy, exemptTag: 'backup-policy/exempt' },
    status: 'NON_COMPLIANT',
    reasons: ['PITR_DISABLED'],
    message: /disabled/,
  },
  { name: 'DELETING', facts: facts({ tableStatus: 'DELETING', pitr: undefined }), status: 'NOT_APPLICABLE', reasons: ['TABLE_DELETING'], message: /DELETING/ },
  { name: 'ARCHIVING', facts: facts({ tableStatus: 'ARCHIVING', pitr: undefined }), status: 'NOT_APPLICABLE', reasons: ['TABLE_ARCHIVING'], message: /ARCHIVING/ },
  { name: 'ARCHIVED', facts: facts({ tableStatus: 'ARCHIVED', pitr: undefined }), status: 'NOT_APPLICABLE', reasons: ['TABLE_ARCHIVED'], message: /ARCHIVED/ },
  {
    name: 'access denied reading PITR',
    facts: facts({ pitr: undefined, error: { operation: 'DescribeContinuousBackups', errorName: 'AccessDeniedException', message: 'not authorized' } }),
    status: 'ERROR',
    reasons: ['READ_FAILED'],
    message: /DescribeContinuousBackups failed with AccessDeniedException \(not authorized\)/,
  },
  {
    name: 'retries exhausted: ERROR even when an exempt tag was read',
    facts: facts({ tags: { 'pitr-guard:exempt': 'x' }, pitr: undefined, error: { operation: 'DescribeContinuousBackups', errorName: 'ThrottlingException', message: 'Rate exceeded' } }),
    status: 'ERROR',
    reasons: ['READ_FAILED'],
    message: /ThrottlingException/,
  },
];

describe('evaluate', () => {
  it.each(cases)('$name → $status', (c) => {
    const finding = evaluate(c.facts, c.policy ?? policy, NOW);
    expect(finding.status).toBe(c.status);
    expect(finding.reasons).toEqual(c.reasons);
    expect(finding.message).toMatch(c.message);
    expect(finding.tableName).toBe(c.facts.tableName);
    expect(finding.region).toBe(c.facts.region);
  });

  it('covers every reason code at least once (REPEATEDLY_DISABLED comes from the ledger, not from evaluate)', () => {
    const seen = new Set(cases.flatMap((c) => c.reasons));
    expect([...seen].sort()).toEqual(REASON_CODES.filter((r) => r !== 'REPEATEDLY_DISABLED').sort());
  });

  it('summarises the PITR window in the finding', () => {
    const f = evaluate(facts({ pitr: pitrEnabled(35, 10) }), policy, NOW);
    expect(f.pitr).toEqual({
      status: 'ENABLED',
      recoveryPeriodInDays: 35,
      earliestRestorableDateTime: daysAgo(10).toISOString(),
      latestRestorableDateTime: new Date(NOW.getTime() - 5 * 60_000).toISOString(),
      restorableDays: 9.9,
    });
    expect(f.exemption).toBeNull();
  });

  it('reports the exemption it honoured or ignored', () => {
    const exempt = evaluate(facts({ tags: { 'pitr-guard:exempt': 'cache', 'pitr-guard:exempt-until': '2027-01-31' } }), policy, NOW);
    expect(exempt.exemption).toEqual({ reason: 'cache', until: '2027-01-31', active: true });
    const expired = evaluate(facts({ tags: { 'pitr-guard:exempt': 'cache', 'pitr-guard:exempt-until': '2026-01-31' } }), policy, NOW);
    expect(expired.exemption).toEqual({ reason: 'cache', until: '2026-01-31', active: false });
  });

  it('carries the raw pitr-guard:mode tag value (null when absent), whatever the status', () => {
    expect(evaluate(facts({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:mode': ' Remediate ' } }), policy, NOW).modeTag).toBe(' Remediate ');
    expect(evaluate(facts({ tags: { 'pitr-guard:mode': 'bogus' } }), policy, NOW)).toMatchObject({ status: 'COMPLIANT', modeTag: 'bogus' });
    expect(evaluate(facts({ pitr: { status: 'DISABLED' } }), policy, NOW).modeTag).toBeNull();
    expect(evaluate(facts({ tags: undefined, error: { operation: 'ListTagsOfResource', errorName: 'AccessDeniedException', message: '' } }), policy, NOW)).toMatchObject({
      status: 'ERROR',
      modeTag: null,
    });
    expect(evaluate(facts({ tableStatus: 'DELETING', tags: { 'pitr-guard:mode': 'alert' } }), policy, NOW)).toMatchObject({ status: 'NOT_APPLICABLE', modeTag: 'alert' });
  });

  it('is pure: the same input gives the same finding and the input is not changed', () => {
    const input = facts({ pitr: pitrEnabled(7) });
    const copy = structuredClone(input);
    expect(evaluate(input, policy, NOW)).toEqual(evaluate(input, policy, NOW));
    expect(input).toEqual(copy);
  });

  it('keeps an exemption valid to the last millisecond of its day, UTC', () => {
    const f = facts({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'x', 'pitr-guard:exempt-until': '2026-11-21' } });
    const lastMs = new Date(Date.UTC(2026, 10, 22) - 1);
    expect(evaluate(f, policy, lastMs).status).toBe('EXEMPT');
    expect(evaluate(f, policy, new Date(lastMs.getTime() + 1)).status).toBe('NON_COMPLIANT');
    expect(endOfUtcDay('2026-11-21')?.getTime()).toBe(Date.UTC(2026, 10, 21) + DAY);
    expect(endOfUtcDay('2026-13-01')).toBeUndefined();
    expect(endOfUtcDay('21/11/2026')).toBeUndefined();
  });
});
