/** The demo's narrative helpers: folding to 100 columns and the closing verdict. */
import { compactTable, fold, foldBlock, verdict } from '../../dev/demo/text';
import type { Finding } from '../../lib/core/types';

const finding = (overrides: Partial<Finding>): Finding => ({
  accountId: '123456789012',
  region: 'eu-west-1',
  tableName: 'prod-search-cache',
  tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/prod-search-cache',
  tableStatus: 'ACTIVE',
  status: 'COMPLIANT',
  reasons: ['PITR_ENABLED'],
  message: '',
  pitr: { status: 'DISABLED', recoveryPeriodInDays: null, earliestRestorableDateTime: null, latestRestorableDateTime: null, restorableDays: null },
  exemption: null,
  modeTag: null,
  ...overrides,
});

describe('fold', () => {
  it('folds words to the width, continuation lines indented', () => {
    const out = fold('alpha beta gamma delta epsilon', '  - ', '    ', 16);
    expect(out.split('\n')).toEqual(['  - alpha beta', '    gamma delta', '    epsilon']);
  });

  it('cuts a word longer than a line (an ARN) where the line ends', () => {
    const out = fold(`by ${'x'.repeat(30)}`, '', '  ', 12);
    expect(out.split('\n').every((l) => l.length <= 12)).toBe(true);
    expect(out.replace(/\s+/g, '')).toBe(`by${'x'.repeat(30)}`);
  });

  it("keeps an alert's label column aligned", () => {
    const out = foldBlock('Who:      arn:aws:sts::123456789012:assumed-role/Admin/jane\nSource IP:203.0.113.24', '| ', 30);
    expect(out.split('\n')).toEqual(['| Who:      arn:aws:sts::12345', '|           6789012:assumed-ro', '|           le/Admin/jane', '| Source IP:203.0.113.24']);
  });
});

describe('verdict', () => {
  const ok = (name: string) => ({ name, ok: true });
  it('names the count when every planned check passed', () => {
    expect(verdict([ok('a'), ok('b')], 2)).toBe('All 2 checks passed.');
  });
  it('names the failed checks, those never run and what stopped the demo', () => {
    expect(verdict([ok('a'), { name: 'one SNS alert', ok: false }], 4, 'moto did not start')).toBe(
      'FAILED: 1 of 4 checks failed, 2 not run (one SNS alert); stopped by: moto did not start.',
    );
  });
});

describe('compactTable', () => {
  it('one line per finding within the width, long reasons cut with …', () => {
    const f = finding({ status: 'EXEMPT', reasons: ['EXEMPT'], exemption: { reason: 'r'.repeat(200), active: true } });
    const out = compactTable([f], '  ', 100).split('\n');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^ {2}STATUS\s+TABLE\s+WHY$/);
    expect([...out[1]!].length).toBe(100);
    expect(out[1]!.endsWith('…')).toBe(true);
  });
});
