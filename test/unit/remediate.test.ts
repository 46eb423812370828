import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTagsOfResourceCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { effectiveMode, enableRequest, remediateTable, type RemediateDeps } from '../../lib/act/remediate';
import type { Policy } from '../../lib/core/types';
import { awsError } from '../helpers/aws-errors';

const ddb = mockClient(DynamoDBClient);
const ref = { accountId: '123456789012', region: 'eu-west-1', tableName: 'orders' };
const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders';
const T0 = Date.parse('2026-11-21T12:00:00Z');

const policy = (overrides: Partial<Policy> = {}): Policy => ({
  mode: 'remediate',
  minRecoveryDays: 14,
  exemptTag: 'pitr-guard:exempt',
  regions: ['eu-west-1'],
  dryRun: false,
  ...overrides,
});

/** A virtual clock: sleeping advances it, so windows and backoff take no real time. */
function clock() {
  let t = T0;
  const slept: number[] = [];
  return {
    now: () => new Date(t),
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
    slept,
  };
}

function deps(p: Policy, c = clock()): RemediateDeps {
  return { clients: new Clients(), policy: p, now: c.now, sleep: c.sleep, inventory: { retry: { attempts: 2, baseDelayMs: 1 } } };
}

const disabled = { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED' as const, PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' as const } } };
const enabled = (days: number) => ({
  ContinuousBackupsDescription: {
    ContinuousBackupsStatus: 'ENABLED' as const,
    PointInTimeRecoveryDescription: {
      PointInTimeRecoveryStatus: 'ENABLED' as const,
      RecoveryPeriodInDays: days,
      EarliestRestorableDateTime: new Date(T0),
      LatestRestorableDateTime: new Date(T0),
    },
  },
});

function table(status = 'ACTIVE', tags: Record<string, string> = {}) {
  ddb.on(DescribeTableCommand).resolves({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: status as 'ACTIVE' } });
  ddb.on(ListTagsOfResourceCommand).resolves({ Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
}

const updateCalls = () => ddb.commandCalls(UpdateContinuousBackupsCommand).map((c) => c.args[0].input);

beforeEach(() => ddb.reset());

describe('remediateTable', () => {
  it('ENABLED: enables PITR with the policy minimum and verifies it with DescribeContinuousBackups', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const out = await remediateTable(ref, deps(policy()));
    expect(out).toMatchObject({ ...ref, result: 'ENABLED', mode: 'remediate', recoveryPeriodInDays: 14, attempts: 1 });
    expect(out.before.status).toBe('NON_COMPLIANT');
    expect(out.after?.status).toBe('COMPLIANT');
    expect(out.after?.pitr.recoveryPeriodInDays).toBe(14);
    expect(out.message).toBe('Enabled PITR with a 14-day recovery period and verified it (DescribeContinuousBackups: ENABLED, 14 days).');
    expect(updateCalls()).toEqual([{ TableName: 'orders', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 14 } }]);
    expect(ddb.commandCalls(DescribeContinuousBackupsCommand)).toHaveLength(2);
  });

  it('ENABLED also for a period shorter than the policy minimum', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(enabled(7)).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const out = await remediateTable(ref, deps(policy()));
    expect(out.result).toBe('ENABLED');
    expect(out.before.reasons[0]).toBe('RECOVERY_PERIOD_TOO_SHORT');
  });

  it('ALREADY_COMPLIANT: reads, finds the table compliant, changes nothing', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(enabled(35));
    const out = await remediateTable(ref, deps(policy()));
    expect(out.result).toBe('ALREADY_COMPLIANT');
    expect(out.message).toMatch(/^Already compliant: PITR is enabled/);
    expect(updateCalls()).toEqual([]);
  });

  it('ALREADY_COMPLIANT for an exempt table (before.status says EXEMPT)', async () => {
    table('ACTIVE', { 'pitr-guard:exempt': 'scratch data, rebuilt nightly' });
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const out = await remediateTable(ref, deps(policy()));
    expect(out.result).toBe('ALREADY_COMPLIANT');
    expect(out.before.status).toBe('EXEMPT');
    expect(updateCalls()).toEqual([]);
  });

  it('SKIPPED_MODE in alert and report mode', async () => {
    for (const mode of ['alert', 'report'] as const) {
      ddb.reset();
      table();
      ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
      const out = await remediateTable(ref, deps(policy({ mode })));
      expect(out).toMatchObject({ result: 'SKIPPED_MODE', mode, message: `Mode is ${mode}: PITR was left as it is.` });
      expect(updateCalls()).toEqual([]);
    }
  });

  it('SKIPPED_DRY_RUN: remediate mode, dry run: nothing is sent', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const out = await remediateTable(ref, deps(policy({ dryRun: true })));
    expect(out).toMatchObject({ result: 'SKIPPED_DRY_RUN', recoveryPeriodInDays: 14 });
    expect(out.message).toBe('Dry run: would have enabled PITR with a 14-day recovery period; nothing was changed.');
    expect(updateCalls()).toEqual([]);
  });

  it('on a read-only stack, a remediate tag is alerted on: no UpdateContinuousBackups is sent', async () => {
    table('ACTIVE', { 'pitr-guard:mode': 'remediate' });
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const out = await remediateTable(ref, deps(policy({ mode: 'report', readOnly: true })));
    expect(out).toMatchObject({ mode: 'alert' });
    expect(updateCalls()).toEqual([]);
  });

  it('a pitr-guard:mode tag makes the mode stricter, never weaker', async () => {
    table('ACTIVE', { 'pitr-guard:mode': 'remediate' });
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const stricter = await remediateTable(ref, deps(policy({ mode: 'report' })));
    expect(stricter).toMatchObject({ result: 'ENABLED', mode: 'remediate' });

    ddb.reset();
    table('ACTIVE', { 'pitr-guard:mode': 'report' });
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const weaker = await remediateTable(ref, deps(policy({ mode: 'remediate' })));
    expect(weaker).toMatchObject({ result: 'ENABLED', mode: 'remediate' });
  });

  it('effectiveMode: stricter tags win, weaker and unknown ones are ignored and reported', () => {
    expect(effectiveMode('report', { 'pitr-guard:mode': 'alert' })).toEqual({ mode: 'alert' });
    expect(effectiveMode('alert', { 'pitr-guard:mode': ' Remediate ' })).toEqual({ mode: 'remediate' });
    expect(effectiveMode('remediate', { 'pitr-guard:mode': 'report' })).toEqual({ mode: 'remediate', ignoredTag: 'report' });
    expect(effectiveMode('alert', { 'pitr-guard:mode': 'off' })).toEqual({ mode: 'alert', ignoredTag: 'off' });
    expect(effectiveMode('alert', { 'pitr-guard:mode': 'alert' })).toEqual({ mode: 'alert' });
    expect(effectiveMode('alert', {})).toEqual({ mode: 'alert' });
  });

  it('waits for a CREATING table to become ACTIVE, then ENABLED', async () => {
    ddb.on(DescribeTableCommand)
      .resolvesOnce({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'CREATING' } })
      .resolvesOnce({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'CREATING' } })
      .resolves({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
    ddb.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const c = clock();
    const out = await remediateTable(ref, deps(policy(), c), { waitForActiveMs: 60_000, pollMs: 1000 });
    expect(out.result).toBe('ENABLED');
    expect(c.slept).toEqual([1000, 2000]); // exponential backoff
    expect(out.waitedMs).toBe(3000);
  });

  it('retries ContinuousBackupsUnavailableException with backoff, then ENABLED', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand)
      .rejectsOnce(awsError('ContinuousBackupsUnavailableException'))
      .rejectsOnce(awsError('ContinuousBackupsUnavailableException'))
      .resolves(enabled(14));
    const out = await remediateTable(ref, deps(policy()), { waitForActiveMs: 60_000 });
    expect(out).toMatchObject({ result: 'ENABLED', attempts: 3 });
  });

  it('re-reads a CREATING table whose PITR state cannot be read yet, then ENABLED', async () => {
    ddb.on(DescribeTableCommand)
      .resolvesOnce({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'CREATING' } })
      .resolves({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
    ddb.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
    ddb.on(DescribeContinuousBackupsCommand).rejectsOnce(awsError('ResourceInUseException')).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const out = await remediateTable(ref, deps(policy()), { waitForActiveMs: 60_000 });
    expect(out).toMatchObject({ result: 'ENABLED' });
    expect(out.before.status).toBe('NON_COMPLIANT');
  });

  it('DEFERRED when the table stays CREATING past the window', async () => {
    table('CREATING');
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const c = clock();
    const out = await remediateTable(ref, deps(policy(), c), { waitForActiveMs: 10_000, pollMs: 1000, maxPollMs: 4000 });
    expect(out.result).toBe('DEFERRED');
    expect(out.errorName).toBeUndefined();
    expect(out.message).toBe('PITR could not be enabled yet: the table is still CREATING after 10 s.');
    expect(c.slept.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(updateCalls()).toEqual([]);
  });

  it('DEFERRED with the error name when backups stay unavailable', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    ddb.on(UpdateContinuousBackupsCommand).rejects(awsError('ContinuousBackupsUnavailableException'));
    const out = await remediateTable(ref, deps(policy()), { waitForActiveMs: 5_000 });
    expect(out).toMatchObject({ result: 'DEFERRED', errorName: 'ContinuousBackupsUnavailableException' });
    expect(out.attempts).toBeGreaterThan(1);
  });

  it('FAILED with the AWS error name when the update is refused', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    ddb.on(UpdateContinuousBackupsCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform dynamodb:UpdateContinuousBackups'));
    const out = await remediateTable(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'AccessDeniedException', attempts: 1 });
    expect(out.message).toBe('UpdateContinuousBackups failed with AccessDeniedException: not authorized to perform dynamodb:UpdateContinuousBackups');
  });

  it('FAILED when the table cannot be read (before is an ERROR finding)', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).rejects(awsError('AccessDeniedException'));
    const out = await remediateTable(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'AccessDeniedException' });
    expect(out.before.status).toBe('ERROR');
    expect(updateCalls()).toEqual([]);
  });

  it('FAILED (ResourceNotFoundException) when the table no longer exists', async () => {
    ddb.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException'));
    const out = await remediateTable(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'ResourceNotFoundException' });
  });

  it('FAILED without trying on a table whose KMS key is inaccessible (no remediation loop)', async () => {
    table('INACCESSIBLE_ENCRYPTION_CREDENTIALS');
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const out = await remediateTable(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'TableNotActive', attempts: 0 });
  });

  it('FAILED (VerificationFailed) when DescribeContinuousBackups never confirms', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const out = await remediateTable(ref, deps(policy()), { waitForActiveMs: 3_000 });
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'VerificationFailed' });
    expect(out.after?.status).toBe('NON_COMPLIANT');
  });

  it('never sends PointInTimeRecoveryEnabled: false', () => {
    for (const days of [1, 14, 35]) expect(enableRequest('t', days).PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled).toBe(true);
  });
});
