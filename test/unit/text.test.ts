/**
 * One text sanitiser (lib/core/text.ts) for every renderer: a bidi override (U+202E), zero-width
 * characters and control characters in event- or tag-sourced text never reach a person as they are.
 */
import { evaluate } from '../../lib/core/evaluate';
import { days, forLog, oneLine, sanitise, truncate } from '../../lib/core/text';
import { parseCloudTrailEvent } from '../../lib/events/cloudtrail';
import type { RemediationOutcome } from '../../lib/act/remediate';
import { sortFindings, summarize, type ScanReport } from '../../lib/aws/scan';
import { renderChangeAlert, renderDigest } from '../../lib/notify/format';
import { renderCsv } from '../../lib/report/csv';
import { renderHtml } from '../../lib/report/html';
import { renderTable } from '../../lib/report/table';
import type { TableChange } from '../../lib/core/types';
import { NOW, facts, loadEvent } from '../helpers/builders';

const RLO = '\u202e';
const ZWSP = '\u200b';
/** Every character the renderers must not pass on as is. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\p{Cf}]/u; // eslint-disable-line no-control-regex

describe('sanitise', () => {
  it('turns control characters into spaces and shows format characters (category Cf) as [U+XXXX]', () => {
    expect(sanitise(`user/evil${RLO}nimda`)).toBe('user/evil[U+202E]nimda');
    expect(sanitise(`a${ZWSP}b\u2066c\ufeffd\u00ade`)).toBe('a[U+200B]b[U+2066]c[U+FEFF]d[U+00AD]e');
    expect(sanitise('line1\r\nline2\u0007\u001b[31m\u0085x\u2028y')).toBe('line1 line2 [31m x y');
    expect(sanitise('plain ünïcödé ✓ 表')).toBe('plain ünïcödé ✓ 表');
    expect(oneLine('  \n padded \t ')).toBe('padded');
  });

  it('forLog caps a value at 256 characters and notes its length; quotes on request', () => {
    expect(forLog('x'.repeat(200_000))).toBe(`${'x'.repeat(256)}…(200000 chars)`);
    expect(forLog('short')).toBe('short');
    expect(forLog('orders\n', 80, true)).toBe('"orders\\n"');
    expect(forLog({ a: 1 })).toBe('{"a":1}');
    expect(forLog(`a${RLO}b`)).toBe('a[U+202E]b');
  });

  it('days and truncate', () => {
    expect([days(1), days(7)]).toEqual(['1 day', '7 days']);
    expect(truncate('abcdef', 4)).toBe('abc…');
  });
});

describe('every renderer uses it', () => {
  const forged = `arn:aws:iam::123456789012:user/admin${RLO}txt.exe\nForged: line${ZWSP}`;
  const change = (): TableChange => {
    const event = loadEvent<{ detail: { userIdentity: Record<string, unknown>; userAgent?: string } }>('cloudtrail-pitr-disabled.json');
    event.detail.userIdentity.arn = forged;
    event.detail.userAgent = `aws-cli${RLO}`;
    const parsed = parseCloudTrailEvent(event);
    if (parsed.status !== 'ok') throw new Error(parsed.reason);
    return parsed.change;
  };
  const finding = evaluate(facts({ pitr: { status: 'DISABLED' } }), { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, NOW);
  const outcome: RemediationOutcome = {
    accountId: '123456789012',
    region: 'us-east-1',
    tableName: 'orders',
    result: 'FAILED',
    before: finding,
    message: `UpdateContinuousBackups failed: AccessDenied${RLO}\nsecond line`,
    errorName: 'AccessDenied',
    mode: 'remediate',
    recoveryPeriodInDays: 35,
    attempts: 1,
  } as RemediationOutcome;

  it('the change alert: email text, subject and Slack blocks', () => {
    const alert = renderChangeAlert({ change: change(), outcome, minRecoveryDays: 35 });
    expect(alert.text).toContain('user/admin[U+202E]txt.exe Forged: line[U+200B]');
    expect(alert.text).not.toMatch(UNSAFE);
    expect(alert.text.split('\n').some((l) => l.startsWith('Forged'))).toBe(false);
    expect(alert.subject).not.toMatch(UNSAFE);
    const slack = JSON.stringify(alert.slack);
    expect(JSON.parse(slack)).toBeDefined();
    for (const text of [alert.slack.text, ...alert.slack.blocks.flatMap((b) => JSON.stringify(b))]) expect(JSON.parse(JSON.stringify(text))).not.toMatch(UNSAFE);
    expect(alert.slack.text).toContain('[U+202E]');
  });

  const exempt = evaluate(
    facts({ tableName: 'cache', pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': `rebuilt${RLO}nightly\u001b[2J` } }),
    { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' },
    NOW,
  );
  const report: ScanReport = {
    generatedAt: NOW.toISOString(),
    accountId: '123456789012',
    accounts: [{ accountId: '123456789012', status: 'SCANNED' }],
    accountErrors: [],
    regions: ['us-east-1'],
    policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' },
    summary: summarize([exempt, finding]),
    findings: sortFindings([exempt, finding]),
    vanished: [],
    regionErrors: [],
    regionSummaries: [],
    shardErrors: [],
  };

  it('the scan digest', () => {
    const digest = renderDigest({ report, outcomes: [outcome], mode: 'remediate', dryRun: false, includeErrors: true });
    expect(digest.text).not.toMatch(UNSAFE);
    expect(JSON.stringify(digest.slack)).not.toMatch(/\\u202e/i);
  });

  it('table, CSV and HTML reports', () => {
    const table = renderTable(report);
    expect(table).toContain('rebuilt[U+202E]nightly');
    expect(table).not.toMatch(UNSAFE);
    const csv = renderCsv(report);
    expect(csv).toContain('rebuilt[U+202E]nightly');
    expect(csv.replace(/\r\n/g, '\n')).not.toMatch(UNSAFE);
    expect(sanitise('a\r\nb\tc\u0007', { multiline: true })).toBe('a\r\nb\tc ');
    const html = renderHtml(report);
    expect(html).toContain('rebuilt[U+202E]nightly');
    expect(html).not.toMatch(UNSAFE);
  });
});
