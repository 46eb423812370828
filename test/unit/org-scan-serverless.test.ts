/**
 * scripts/org-scan.js, which serverless.yml asks whether the schedule starts the state machine
 * (param accounts) and what PITR_GUARD_REPORT_BUCKET is: the stack's bucket when deployed, none in
 * `serverless invoke local` unless param reportBucket names one.
 */
type Resolver = (ctx: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<{ enabled: string; reportBucket: unknown }>;
const orgScan = jest.requireActual<Resolver & { isInvokeLocal: (argv: string[]) => boolean }>('../../scripts/org-scan.js');

const params = (accounts: unknown, reportBucket: unknown) => ({
  resolveVariable: async (name: string) => ({ 'param:accounts': accounts, 'param:reportBucket': reportBucket })[name],
});

async function withArgv<T>(argv: string[], fn: () => Promise<T>): Promise<T> {
  const saved = process.argv;
  process.argv = ['node', 'serverless', ...argv];
  try {
    return await fn();
  } finally {
    process.argv = saved;
  }
}

describe('scripts/org-scan.js', () => {
  it('enables the Organization scan schedule for any scope but self', async () => {
    for (const [accounts, enabled] of [['self', 'false'], ['', 'false'], [' SELF ', 'false'], [undefined, 'false'], ['org', 'true'], ['111122223333,444455556666', 'true']] as const) {
      expect([accounts, (await orgScan(params(accounts, { Ref: 'ReportBucket' }))).enabled]).toEqual([accounts, enabled]);
    }
  });

  it('gives the stack’s bucket when packaging or deploying, none in invoke local, and a named bucket everywhere', async () => {
    const ref = { Ref: 'ReportBucket' };
    expect((await withArgv(['package', '--stage', 'ci'], () => orgScan(params('self', ref)))).reportBucket).toEqual(ref);
    expect((await withArgv(['deploy'], () => orgScan(params('org', ref)))).reportBucket).toEqual(ref);
    expect((await withArgv(['invoke', 'local', '-f', 'scheduledScan'], () => orgScan(params('self', ref)))).reportBucket).toBe('');
    expect((await withArgv(['invoke', 'local', '-f', 'scheduledScan'], () => orgScan(params('self', ' my-reports ')))).reportBucket).toBe('my-reports');
    expect((await withArgv(['package'], () => orgScan(params('self', 'my-reports')))).reportBucket).toBe('my-reports');
  });

  it('recognises invoke local only as the command (not as an option value)', () => {
    expect(orgScan.isInvokeLocal(['node', 'sls', 'invoke', 'local', '-f', 'x'])).toBe(true);
    expect(orgScan.isInvokeLocal(['node', 'sls', 'invoke', '-f', 'x'])).toBe(false);
    expect(orgScan.isInvokeLocal(['node', 'sls', 'package', '--stage', 'invoke'])).toBe(false);
  });
});
