/**
 * The guardrail SCP (`pitr-guard guardrail scp`): its JSON shape, its exemptions (pitr-guard's
 * remediating roles as scripts/iam derives them, the member role, the --allow-role ARNs), the
 * validation of every value, the 5,120-character limit, and its grammar checked by parliament
 * (duo-labs, pinned in requirements-dev.txt, run from ./.venv).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../lib/cli/main';
import type { CliIo } from '../../lib/cli/io';
import { guardrailScp, parseRoleArn, REMEDIATING_ROLE_LOGICAL_IDS, SCP_MAX_CHARS } from '../../lib/core/guardrail';
import { deriveFunction, roleName } from '../../scripts/iam/derive';
import { functionsOf } from '../../scripts/iam/docs';

const root = path.join(__dirname, '../..');
const PARLIAMENT = path.join(root, '.venv/bin/parliament');

async function cli(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env };
  const code = await main(['node', 'pitr-guard', ...args], io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** parliament's findings for a policy (JSON lines; none = valid). */
function parliament(policy: string): { status: number | null; issues: { issue: string; detail: string }[] } {
  expect(existsSync(PARLIAMENT)).toBe(true); // run bash scripts/venv.sh to install it
  const r = spawnSync(PARLIAMENT, ['--json', '--string', policy], { encoding: 'utf8', timeout: 60_000 });
  const issues = r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { issue: string; detail: string });
  return { status: r.status, issues };
}

describe('pitr-guard guardrail scp', () => {
  it('prints valid policy JSON denying UpdateContinuousBackups except for the allowed roles (done-when)', async () => {
    const r = await cli(['guardrail', 'scp', '--allow-role', 'arn:aws:iam::123456789012:role/break-glass']);
    expect(r.code).toBe(0);
    const policy = JSON.parse(r.stdout);
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PitrGuardDenyPitrChanges',
          Effect: 'Deny',
          Action: 'dynamodb:UpdateContinuousBackups',
          Resource: '*',
          Condition: {
            ArnNotLike: {
              'aws:PrincipalArn': [
                'arn:*:iam::*:role/pitr-guard-dev-ScheduledScanRole-*',
                'arn:*:iam::*:role/pitr-guard-dev-OrgShardRole-*',
                'arn:*:iam::*:role/pitr-guard-dev-PitrChangeRole-*',
                'arn:*:iam::*:role/pitr-guard-member',
                'arn:aws:iam::123456789012:role/break-glass',
              ],
            },
          },
        },
      ],
    });
    // An SCP has no Principal/NotPrincipal and stays under the size limit.
    expect(r.stdout).not.toMatch(/"(Not)?Principal"/);
    expect(r.stdout.trim().length).toBeLessThanOrEqual(SCP_MAX_CHARS);
    expect(r.stderr).toMatch(/^pitr-guard: note: no IAM condition key tells enabling PITR from disabling it/);
    expect(parliament(r.stdout)).toEqual({ status: 0, issues: [] });
  });

  it('parliament does catch a broken policy (the check has teeth)', () => {
    const { text } = guardrailScp({ stage: 'prod', memberRole: 'pitr-guard-member', allowRoles: [] });
    const broken = parliament(text.replace('dynamodb:UpdateContinuousBackups', 'dynamodb:UpdateContinuousBackup'));
    expect(broken.status).not.toBe(0);
    expect(broken.issues.map((i) => i.issue)).toContain('UNKNOWN_ACTION');
    const badKey = parliament(text.replace('aws:PrincipalArn', 'aws:PrincipalArnX'));
    expect(badKey.issues.map((i) => i.issue)).toContain('UNKNOWN_CONDITION_FOR_ACTION');
  });

  it('exempts exactly the central roles that are granted UpdateContinuousBackups (derived from the code)', () => {
    const remediating = functionsOf(root)
      .map((fn) => deriveFunction(root, fn, false, false))
      .filter((d) => d.statements.some((s) => s.actions.includes('dynamodb:UpdateContinuousBackups')))
      .map((d) => d.roleName)
      .sort();
    expect([...REMEDIATING_ROLE_LOGICAL_IDS].sort()).toEqual(remediating);
    expect(roleName('pitrChange')).toBe('PitrChangeRole');
  }, 120_000);

  it('uses --stage, --member-role (else PITR_GUARD_MEMBER_ROLE) and --central-account', async () => {
    const r = await cli(['guardrail', 'scp', '--stage', 'prod', '--central-account', '111122223333'], { PITR_GUARD_MEMBER_ROLE: 'audit-member' });
    expect(r.code).toBe(0);
    const arns = JSON.parse(r.stdout).Statement[0].Condition.ArnNotLike['aws:PrincipalArn'];
    expect(arns).toEqual([
      'arn:*:iam::111122223333:role/pitr-guard-prod-ScheduledScanRole-*',
      'arn:*:iam::111122223333:role/pitr-guard-prod-OrgShardRole-*',
      'arn:*:iam::111122223333:role/pitr-guard-prod-PitrChangeRole-*',
      'arn:*:iam::*:role/audit-member',
    ]);
    const flag = await cli(['guardrail', 'scp', '--member-role', 'other'], { PITR_GUARD_MEMBER_ROLE: 'audit-member' });
    expect(JSON.parse(flag.stdout).Statement[0].Condition.ArnNotLike['aws:PrincipalArn']).toContain('arn:*:iam::*:role/other');
  });

  it('accepts several --allow-role values, paths and wildcards, once each', async () => {
    const r = await cli([
      'guardrail', 'scp',
      '--allow-role', 'arn:aws:iam::123456789012:role/ops/break-glass',
      '--allow-role', 'arn:aws:iam::*:role/cdk-hnb659fds-cfn-exec-role-*',
      '--allow-role', 'arn:aws:iam::123456789012:role/ops/break-glass',
    ]);
    expect(r.code).toBe(0);
    const arns: string[] = JSON.parse(r.stdout).Statement[0].Condition.ArnNotLike['aws:PrincipalArn'];
    expect(arns.slice(4)).toEqual(['arn:aws:iam::123456789012:role/ops/break-glass', 'arn:aws:iam::*:role/cdk-hnb659fds-cfn-exec-role-*']);
    expect(parliament(r.stdout).issues).toEqual([]);
  });

  it.each([
    ['not an ARN', 'break-glass', /^pitr-guard: Invalid --allow-role="break-glass": must be an IAM role ARN/],
    ['a user ARN', 'arn:aws:iam::123456789012:user/alice', /must be an IAM role ARN/],
    ['a short account', 'arn:aws:iam::12345:role/x', /must be an IAM role ARN/],
    ['an assumed-role session', 'arn:aws:sts::123456789012:assumed-role/break-glass/alice', /an assumed-role session ARN; give the role's own ARN/],
  ])('rejects --allow-role that is %s with one line and exit 2', async (_what, value, message) => {
    const r = await cli(['guardrail', 'scp', '--allow-role', value]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: expect.stringMatching(message) });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [['--stage', 'prod stage'], /Invalid --stage="prod stage"/],
    [['--stage', 'a-long-stage-name-for-staging-1'], /too long to predict the generated role name/],
    [['--central-account', '12'], /Invalid --central-account="12": must be a 12-digit account ID/],
    [['--member-role', 'bad role'], /Invalid --member-role="bad role"/],
  ])('rejects %j with one line and exit 2', async (args, message) => {
    const r = await cli(['guardrail', 'scp', ...args]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: expect.stringMatching(message) });
  });

  it('refuses a policy over the 5,120-character SCP limit, saying how to shorten it', async () => {
    const many = Array.from({ length: 80 }, (_, i) => ['--allow-role', `arn:aws:iam::123456789012:role/break-glass-role-number-${i}`]).flat();
    const r = await cli(['guardrail', 'scp', ...many]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^pitr-guard: the policy is \d+ characters, over the SCP limit of 5120: allow fewer roles \(a wildcard/);
  });

  it('the commands README.md and docs/guardrail.md show print the policy they describe', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Preventing the disable'), readme.indexOf('## Architecture'));
    const command = /`pitr-guard (guardrail scp [^`>]+?)\s*> scp\.json`/.exec(section)?.[1];
    expect(command).toBe('guardrail scp --stage prod --allow-role arn:aws:iam::123456789012:role/break-glass');
    const r = await cli(command!.split(' '));
    expect(r.code).toBe(0);
    const doc = readFileSync(path.join(root, 'docs/guardrail.md'), 'utf8');
    const shown = /```json\n([\s\S]+?)```/.exec(doc)?.[1];
    expect(JSON.parse(shown!)).toEqual(JSON.parse(r.stdout));
    expect(section.split('\n').filter((l) => l.trim() && !l.startsWith('#')).length).toBeLessThanOrEqual(12);
  });

  it('parseRoleArn accepts the GovCloud and China partitions', () => {
    expect(parseRoleArn('arn:aws-us-gov:iam::123456789012:role/x')).toBe('arn:aws-us-gov:iam::123456789012:role/x');
    expect(parseRoleArn('arn:aws-cn:iam::123456789012:role/x')).toBe('arn:aws-cn:iam::123456789012:role/x');
  });
});
