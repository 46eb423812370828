import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTagsOfResourceCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { act, actOnFindings, enableRequest, type ActDeps } from '../../lib/act/remediate';
import { evaluate } from '../../lib/core/evaluate';
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

function deps(p: Policy, c = clock()): ActDeps {
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

describe('act (the one remediation path)', () => {
  it('changes a member account’s table through that account’s credentials, never the central account’s', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const clients = new Clients({ credentials: { accessKeyId: 'central', secretAccessKey: 's' } });
    clients.setAccountCredentials('210987654321', async () => ({ accessKeyId: 'member', secretAccessKey: 's' }));
    const out = await act({ ...ref, accountId: '210987654321' }, { ...deps(policy()), clients });
    expect(out).toMatchObject({ accountId: '210987654321', result: 'ENABLED' });
    const update = ddb.commandCalls(UpdateContinuousBackupsCommand)[0];
    const used = (update?.thisValue as DynamoDBClient).config.credentials;
    expect((await used()).accessKeyId).toBe('member');
  });

  it('ENABLED: enables PITR with the policy minimum and verifies it with DescribeContinuousBackups', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const out = await act(ref, deps(policy()));
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
    const out = await act(ref, deps(policy()));
    expect(out.result).toBe('ENABLED');
    expect(out.before.reasons[0]).toBe('RECOVERY_PERIOD_TOO_SHORT');
  });

  it('ALREADY_COMPLIANT: reads, finds the table compliant, changes nothing', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(enabled(35));
    const out = await act(ref, deps(policy()));
    expect(out.result).toBe('ALREADY_COMPLIANT');
    expect(out.message).toMatch(/^Already compliant: PITR is enabled/);
    expect(updateCalls()).toEqual([]);
  });

  it('ALREADY_COMPLIANT for an exempt table (before.status says EXEMPT)', async () => {
    table('ACTIVE', { 'pitr-guard:exempt': 'scratch data, rebuilt nightly' });
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const out = await act(ref, deps(policy()));
    expect(out.result).toBe('ALREADY_COMPLIANT');
    expect(out.before.status).toBe('EXEMPT');
    expect(updateCalls()).toEqual([]);
  });

  it('SKIPPED_MODE in alert and report mode', async () => {
    for (const mode of ['alert', 'report'] as const) {
      ddb.reset();
      table();
      ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
      const out = await act(ref, deps(policy({ mode })));
      expect(out).toMatchObject({ result: 'SKIPPED_MODE', mode, message: `Mode is ${mode}: PITR was left as it is.` });
      expect(updateCalls()).toEqual([]);
    }
  });

  it('SKIPPED_DRY_RUN: remediate mode, dry run: nothing is sent', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const out = await act(ref, deps(policy({ dryRun: true })));
    expect(out).toMatchObject({ result: 'SKIPPED_DRY_RUN', recoveryPeriodInDays: 14 });
    expect(out.message).toBe('Dry run: would have enabled PITR with a 14-day recovery period; nothing was changed.');
    expect(updateCalls()).toEqual([]);
  });

  it('on a read-only stack, a remediate tag is alerted on: no UpdateContinuousBackups is sent', async () => {
    table('ACTIVE', { 'pitr-guard:mode': 'remediate' });
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const out = await act(ref, deps(policy({ mode: 'report', readOnly: true })));
    expect(out).toMatchObject({ result: 'SKIPPED_MODE', mode: 'alert', ignoredModeTag: 'remediate' });
    expect(updateCalls()).toEqual([]);
  });

  it('a pitr-guard:mode tag makes the mode stricter, never weaker', async () => {
    table('ACTIVE', { 'pitr-guard:mode': 'remediate' });
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const stricter = await act(ref, deps(policy({ mode: 'report' })));
    expect(stricter).toMatchObject({ result: 'ENABLED', mode: 'remediate' });

    ddb.reset();
    table('ACTIVE', { 'pitr-guard:mode': 'report' });
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const weaker = await act(ref, deps(policy({ mode: 'remediate' })));
    expect(weaker).toMatchObject({ result: 'ENABLED', mode: 'remediate' });
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
    const out = await act(ref, deps(policy(), c), { waitForActiveMs: 60_000, pollMs: 1000 });
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
    const out = await act(ref, deps(policy()), { waitForActiveMs: 60_000 });
    expect(out).toMatchObject({ result: 'ENABLED', attempts: 3 });
  });

  it('re-reads a CREATING table whose PITR state cannot be read yet, then ENABLED', async () => {
    ddb.on(DescribeTableCommand)
      .resolvesOnce({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'CREATING' } })
      .resolves({ Table: { TableName: 'orders', TableArn: ARN, TableStatus: 'ACTIVE' } });
    ddb.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
    ddb.on(DescribeContinuousBackupsCommand).rejectsOnce(awsError('ResourceInUseException')).resolvesOnce(disabled).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const out = await act(ref, deps(policy()), { waitForActiveMs: 60_000 });
    expect(out).toMatchObject({ result: 'ENABLED' });
    expect(out.before.status).toBe('NON_COMPLIANT');
  });

  it('DEFERRED when the table stays CREATING past the window', async () => {
    table('CREATING');
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const c = clock();
    const out = await act(ref, deps(policy(), c), { waitForActiveMs: 10_000, pollMs: 1000, maxPollMs: 4000 });
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
    const out = await act(ref, deps(policy()), { waitForActiveMs: 5_000 });
    expect(out).toMatchObject({ result: 'DEFERRED', errorName: 'ContinuousBackupsUnavailableException' });
    expect(out.attempts).toBeGreaterThan(1);
  });

  it('FAILED with the AWS error name when the update is refused', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    ddb.on(UpdateContinuousBackupsCommand).rejects(awsError('AccessDeniedException', 400, 'not authorized to perform dynamodb:UpdateContinuousBackups'));
    const out = await act(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'AccessDeniedException', attempts: 1 });
    expect(out.message).toBe('UpdateContinuousBackups failed with AccessDeniedException: not authorized to perform dynamodb:UpdateContinuousBackups');
  });

  it('FAILED when the table cannot be read (before is an ERROR finding)', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).rejects(awsError('AccessDeniedException'));
    const out = await act(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'AccessDeniedException' });
    expect(out.before.status).toBe('ERROR');
    expect(updateCalls()).toEqual([]);
  });

  it('GONE (a result of its own, not a FAILED with an error name) when the table no longer exists', async () => {
    ddb.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException'));
    const out = await act(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'GONE', message: 'Table orders does not exist (deleted); nothing to remediate.' });
    expect(out.errorName).toBeUndefined();
    expect(updateCalls()).toEqual([]);
  });

  it('GONE when the table vanishes between the read and the update (TableNotFoundException)', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    ddb.on(UpdateContinuousBackupsCommand).rejects(awsError('TableNotFoundException'));
    const out = await act(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'GONE', attempts: 1 });
  });

  it.each([
    ['ThrottlingException', 400, true],
    ['InternalServerError', 500, true],
    ['ECONNRESET', 0, true],
    ['AccessDeniedException', 400, false],
    ['ValidationException', 400, false],
  ])('FAILED from UpdateContinuousBackups %s (HTTP %s): transient %s', async (name, status, transient) => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    ddb.on(UpdateContinuousBackupsCommand).rejects(awsError(name, status || 400));
    const out = await act(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'FAILED', errorName: name, transient });
  });

  it('FAILED, transient, for a network error the SDK could only wrap ("AWS SDK error wrapper for TimeoutError: socket hang up")', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    ddb.on(UpdateContinuousBackupsCommand).rejects(new Error('AWS SDK error wrapper for TimeoutError: socket hang up'));
    const out = await act(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'TimeoutError', transient: true });
  });

  it('FAILED, transient, when every read of the table is throttled or answered 500', async () => {
    for (const [name, status] of [['ThrottlingException', 400], ['InternalServerError', 500]] as const) {
      ddb.reset();
      table();
      ddb.on(DescribeContinuousBackupsCommand).rejects(awsError(name, status));
      const out = await act(ref, deps(policy()));
      expect(out).toMatchObject({ result: 'FAILED', errorName: name, transient: true });
      expect(updateCalls()).toEqual([]);
    }
  });

  it('UNVERIFIED (never a claim about an unread state) when the verifying read fails even when retried', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).rejects(awsError('InternalServerError', 500));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const out = await act(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'UNVERIFIED', errorName: 'InternalServerError', attempts: 1, recoveryPeriodInDays: 14 });
    expect(out.after).toBeUndefined();
    expect(out.message).toBe(
      'UpdateContinuousBackups succeeded (PITR requested with a 14-day recovery period), but the state could not be verified: DescribeContinuousBackups failed with InternalServerError, also when retried. The state was not read.',
    );
    // the verification was retried: 1 read before, then at least 3 verifying reads
    expect(ddb.commandCalls(DescribeContinuousBackupsCommand).length).toBeGreaterThanOrEqual(4);
  });

  it('a verifying read that fails once and then succeeds ends ENABLED', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolvesOnce(disabled).rejectsOnce(awsError('InternalServerError', 500)).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    expect(await act(ref, deps(policy()))).toMatchObject({ result: 'ENABLED' });
  });

  it('with the finding a scan just read: no DescribeTable, no tags, no re-read: the update, then one verifying read', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const finding = evaluate({ ...ref, tableArn: ARN, tableStatus: 'ACTIVE', pitr: { status: 'DISABLED' }, tags: {} }, policy(), new Date(T0));
    const [out] = await actOnFindings([finding], deps(policy()));
    expect(out).toMatchObject({ result: 'ENABLED', after: { status: 'COMPLIANT' } });
    expect(ddb.commandCalls(DescribeTableCommand)).toHaveLength(0);
    expect(ddb.commandCalls(ListTagsOfResourceCommand)).toHaveLength(0);
    // the order: UpdateContinuousBackups first, then the one DescribeContinuousBackups that verifies it
    expect(ddb.calls().map((c) => c.args[0].constructor.name)).toEqual(['UpdateContinuousBackupsCommand', 'DescribeContinuousBackupsCommand']);
    expect(updateCalls()).toEqual([{ TableName: 'orders', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 14 } }]);
  });

  it('with a finding whose period was too short: enabled with the policy period (never shorter than what the scan read), verified once', async () => {
    ddb.on(DescribeContinuousBackupsCommand).resolves(enabled(14));
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const finding = evaluate({ ...ref, tableArn: ARN, tableStatus: 'ACTIVE', pitr: { status: 'ENABLED', recoveryPeriodInDays: 7 }, tags: {} }, policy(), new Date(T0));
    expect(finding.status).toBe('NON_COMPLIANT');
    const [out] = await actOnFindings([finding], deps(policy()));
    expect(out).toMatchObject({ result: 'ENABLED', recoveryPeriodInDays: 14 });
    expect(ddb.commandCalls(DescribeContinuousBackupsCommand)).toHaveLength(1);
  });

  it('with a finding in alert mode: decided without any AWS call', async () => {
    const finding = evaluate({ ...ref, tableArn: ARN, tableStatus: 'ACTIVE', pitr: { status: 'DISABLED' }, tags: {} }, policy(), new Date(T0));
    const [out] = await actOnFindings([finding], deps(policy({ mode: 'alert' })));
    expect(out).toMatchObject({ result: 'SKIPPED_MODE', mode: 'alert', attempts: 0 });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('FAILED without trying on a table whose KMS key is inaccessible (no remediation loop)', async () => {
    table('INACCESSIBLE_ENCRYPTION_CREDENTIALS');
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    const out = await act(ref, deps(policy()));
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'TableNotActive', attempts: 0 });
  });

  it('FAILED (VerificationFailed) when DescribeContinuousBackups never confirms', async () => {
    table();
    ddb.on(DescribeContinuousBackupsCommand).resolves(disabled);
    ddb.on(UpdateContinuousBackupsCommand).resolves(enabled(14));
    const out = await act(ref, deps(policy()), { waitForActiveMs: 3_000 });
    expect(out).toMatchObject({ result: 'FAILED', errorName: 'VerificationFailed' });
    expect(out.after?.status).toBe('NON_COMPLIANT');
  });

  it('never sends PointInTimeRecoveryEnabled: false', () => {
    for (const days of [1, 14, 35]) expect(enableRequest('t', days).PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled).toBe(true);
  });
});
