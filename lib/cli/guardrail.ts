/**
 * `pitr-guard guardrail scp`: prints the service control policy of lib/core/guardrail.ts on stdout
 * (JSON only, ready for `aws organizations create-policy --content file://...`), and on stderr
 * one note on what it blocks. No AWS call. Exit 0, or 2 on a bad value (one line on stderr).
 */
import { ENV } from '../core/config';
import { guardrailScp, SCP_MAX_CHARS } from '../core/guardrail';
import { envValue } from './common';
import type { CliIo } from './io';
import { EXIT } from './scan-command';

export interface GuardrailFlags {
  allowRole?: string[];
  stage: string;
  memberRole?: string;
  centralAccount?: string;
}

export const GUARDRAIL_NOTE =
  'note: no IAM condition key tells enabling PITR from disabling it, so this policy denies dynamodb:UpdateContinuousBackups outright ' +
  "to everyone but pitr-guard's remediating roles and the roles you allowed: also IaC (CloudFormation, Terraform) that sets PITR, " +
  'unless its deploy role is allowed with --allow-role. SCPs do not bind the management account. See docs/guardrail.md.';

export function runGuardrailScp(flags: GuardrailFlags, io: CliIo): number {
  const memberRole = flags.memberRole ?? envValue(io.env, ENV.memberRole) ?? 'pitr-guard-member';
  const { text, chars } = guardrailScp({
    stage: flags.stage,
    memberRole,
    allowRoles: flags.allowRole ?? [],
    ...(flags.centralAccount !== undefined ? { centralAccount: flags.centralAccount } : {}),
  });
  io.stdout(text + '\n');
  io.stderr(`pitr-guard: ${GUARDRAIL_NOTE} (${chars} of ${SCP_MAX_CHARS} characters)\n`);
  return EXIT.OK;
}
