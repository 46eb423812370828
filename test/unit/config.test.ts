import { parsePolicy, parseRegions, policyFromEnv, resetPolicyCache } from '../../lib/core/config';
import { ConfigError } from '../../lib/core/errors';

const base = { AWS_REGION: 'eu-west-1' };

describe('parsePolicy', () => {
  it('has sensible defaults: report mode, 35 days, pitr-guard:exempt, own Region, no dry run', () => {
    expect(parsePolicy(base)).toEqual({ mode: 'report', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['eu-west-1'], dryRun: false });
  });

  it('reads every variable', () => {
    expect(
      parsePolicy({
        ...base,
        PITR_GUARD_MODE: 'remediate',
        PITR_GUARD_MIN_RECOVERY_DAYS: '7',
        PITR_GUARD_EXEMPT_TAG: 'backup/exempt',
        PITR_GUARD_REGIONS: 'us-east-1, EU-WEST-1,us-east-1',
        PITR_GUARD_DRY_RUN: 'TRUE',
      }),
    ).toEqual({ mode: 'remediate', minRecoveryDays: 7, exemptTag: 'backup/exempt', regions: ['us-east-1', 'eu-west-1'], dryRun: true });
  });

  it('treats empty values as unset (a blank serverless param gives the default)', () => {
    expect(parsePolicy({ ...base, PITR_GUARD_MODE: '', PITR_GUARD_REGIONS: '  ', PITR_GUARD_DRY_RUN: '' })).toMatchObject({
      mode: 'report',
      regions: ['eu-west-1'],
      dryRun: false,
    });
  });

  it('accepts all', () => {
    expect(parsePolicy({ ...base, PITR_GUARD_REGIONS: 'all' }).regions).toBe('all');
  });

  const invalid: [string, Record<string, string>, string][] = [
    ['mode fix', { PITR_GUARD_MODE: 'fix' }, 'Invalid PITR_GUARD_MODE="fix": must be one of report, alert, remediate.'],
    ['0 days', { PITR_GUARD_MIN_RECOVERY_DAYS: '0' }, 'Invalid PITR_GUARD_MIN_RECOVERY_DAYS="0": must be a whole number of days from 1 to 35.'],
    ['36 days', { PITR_GUARD_MIN_RECOVERY_DAYS: '36' }, 'Invalid PITR_GUARD_MIN_RECOVERY_DAYS="36": must be a whole number of days from 1 to 35.'],
    ['7.5 days', { PITR_GUARD_MIN_RECOVERY_DAYS: '7.5' }, 'Invalid PITR_GUARD_MIN_RECOVERY_DAYS="7.5": must be a whole number of days from 1 to 35.'],
    ['seven days', { PITR_GUARD_MIN_RECOVERY_DAYS: 'seven' }, 'Invalid PITR_GUARD_MIN_RECOVERY_DAYS="seven": must be a whole number of days from 1 to 35.'],
    ['unknown region', { PITR_GUARD_REGIONS: 'us-east-1,eu-wset-1' }, 'Invalid PITR_GUARD_REGIONS="us-east-1,eu-wset-1": "eu-wset-1" is not a known AWS Region code (e.g. us-east-1, eu-west-1), or use all.'],
    ['empty item', { PITR_GUARD_REGIONS: 'us-east-1,,eu-west-1' }, 'Invalid PITR_GUARD_REGIONS="us-east-1,,eu-west-1": must be a comma-separated list of Region codes (no empty items), or all.'],
    ['all mixed', { PITR_GUARD_REGIONS: 'all,us-east-1' }, 'Invalid PITR_GUARD_REGIONS="all,us-east-1": all cannot be combined with Region codes.'],
    ['dry run yes', { PITR_GUARD_DRY_RUN: 'yes' }, 'Invalid PITR_GUARD_DRY_RUN="yes": must be true or false.'],
    ['aws: tag', { PITR_GUARD_EXEMPT_TAG: 'aws:exempt' }, 'Invalid PITR_GUARD_EXEMPT_TAG="aws:exempt": must be a tag key of 1-128 letters, digits, spaces or _ . : / = + - @, not starting with aws:.'],
    ['tag with a bad character', { PITR_GUARD_EXEMPT_TAG: 'exempt!' }, 'Invalid PITR_GUARD_EXEMPT_TAG="exempt!": must be a tag key of 1-128 letters, digits, spaces or _ . : / = + - @, not starting with aws:.'],
  ];

  it.each(invalid)('rejects %s with one line naming the variable, value and what is allowed', (_name, env, message) => {
    let error: unknown;
    try {
      parsePolicy({ ...base, ...env });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(message);
    expect((error as ConfigError).message).not.toContain('\n');
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
  });

  it('needs a Region from somewhere', () => {
    expect(() => parsePolicy({})).toThrow('Invalid PITR_GUARD_REGIONS="": no Region given and AWS_REGION is not set');
  });

  it('rejects an unknown AWS_REGION used as the default', () => {
    expect(() => parseRegions(undefined, 'moon-base-1')).toThrow('Invalid AWS_REGION="moon-base-1"');
  });
});

describe('policyFromEnv', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    resetPolicyCache();
  });

  it('parses process.env once per process (cold start)', () => {
    process.env.AWS_REGION = 'us-west-2';
    process.env.PITR_GUARD_MODE = 'alert';
    const first = policyFromEnv();
    process.env.PITR_GUARD_MODE = 'remediate';
    expect(policyFromEnv()).toBe(first);
    expect(first.mode).toBe('alert');
    resetPolicyCache();
    expect(policyFromEnv().mode).toBe('remediate');
  });
});
