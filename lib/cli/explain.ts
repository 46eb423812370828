/**
 * `pitr-guard explain TABLE`: every fact read for one table, the verdict of the one evaluator and
 * why, and the exact AWS CLI command that would fix it. Exit code 0 when the table is fine
 * (COMPLIANT, EXEMPT, NOT_APPLICABLE), 1 when it is NON_COMPLIANT or could not be read, 2 when it
 * does not exist or the command line is wrong.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UsageError } from '../core/errors';
import { evaluate } from '../core/evaluate';
import { callerAccountId, createPacers, readTable } from '../aws/inventory';
import { isTableName, parseTableArn, TABLE_NAME_RULE } from '../core/ids';
import { KNOWN_REGIONS } from '../core/regions';
import { sanitise } from '../core/text';
import { EXEMPT_UNTIL_TAG, type Finding, type ReasonCode, type TableFacts } from '../core/types';
import { colourFor, statusColour, type Palette } from '../report/colour';
import { costCell } from '../report/links-view';
import { checkOneRegion, resolveCommon, resolveOneRegion, validateCommon, type CommonFlags, type SdkRegion } from './common';
import { fixCommand } from './fix';
import type { CliIo } from './io';
import { EXIT } from './scan-command';

export interface ExplainFlags extends CommonFlags {
  region?: string;
  format: 'text' | 'json';
}

export interface Explanation {
  facts: TableFacts;
  finding: Finding;
  /** The AWS CLI command that makes the table compliant, or null when there is nothing to fix. */
  fixCommand: string | null;
  /** The policy it was judged against. */
  policy: { minRecoveryDays: number; exemptTag: string };
}

const REASON_TEXT: Record<ReasonCode, string> = {
  PITR_ENABLED: 'point-in-time recovery is enabled with a long enough recovery period',
  PITR_DISABLED: 'point-in-time recovery is not enabled: the table cannot be restored to any earlier moment',
  RECOVERY_PERIOD_TOO_SHORT: 'the recovery period is shorter than the policy requires',
  RESTORE_WINDOW_NOT_FULL: 'PITR was enabled recently: the restorable window has not yet grown to the required length (warning only)',
  EXEMPT: 'the table carries an exemption tag with a reason that is in force',
  EXEMPTION_EXPIRED: `the exemption's ${EXEMPT_UNTIL_TAG} date has passed, so the table is judged normally`,
  EXEMPTION_WITHOUT_REASON: 'the exemption tag is empty: an exemption needs a reason, so it is ignored',
  EXEMPTION_INVALID_EXPIRY: `${EXEMPT_UNTIL_TAG} is not a YYYY-MM-DD date, so the exemption is ignored`,
  TABLE_DELETING: 'the table is being deleted',
  TABLE_ARCHIVING: 'the table is being archived',
  TABLE_ARCHIVED: 'the table is archived',
  READ_FAILED: 'the table could not be read, so its state is unknown',
  REPEATEDLY_DISABLED: 'PITR was switched off loopLimit times or more within the loop window: something (often infrastructure as code or a script) keeps reverting it',
  RESTORED_WITHOUT_PITR: 'the table was restored from a backup or a point in time, and a restored table starts with PITR off',
};

/** A table name, or a table ARN (which also names the Region and the account). */
export function parseTableArgument(value: string): { tableName: string; region?: string; accountId?: string } {
  const arn = parseTableArn(value);
  if (arn) {
    const { region } = arn;
    if (!KNOWN_REGIONS.includes(region)) {
      throw new UsageError(`Invalid TABLE=${JSON.stringify(value)}: ${JSON.stringify(region)} is not a known AWS Region code`);
    }
    return { tableName: arn.tableName, region, accountId: arn.accountId };
  }
  if (!isTableName(value)) {
    throw new UsageError(`Invalid TABLE=${JSON.stringify(value)}: a DynamoDB table name is ${TABLE_NAME_RULE}, or a table ARN`);
  }
  return { tableName: value };
}

export interface ExplainDeps {
  /** The SDK's Region lookup from the profile (tests check it runs only after validation). */
  sdkRegion?: SdkRegion;
  now?: () => Date;
}

export async function explainTable(table: string, flags: ExplainFlags, io: CliIo, deps: ExplainDeps = {}): Promise<Explanation> {
  // Everything that needs no AWS first: one line, before any SDK client exists.
  const parsed = parseTableArgument(table);
  const validated = validateCommon(flags, io);
  const flagRegion = flags.region === undefined ? undefined : checkOneRegion(flags.region, '--region');
  if (parsed.region && flagRegion && flagRegion !== parsed.region) {
    throw new UsageError(`the table ARN names Region ${parsed.region} but --region is ${flagRegion}: drop --region or make them agree`);
  }
  const common = await resolveCommon(flags, io, validated, deps.sdkRegion);
  const region = resolveOneRegion(flagRegion ?? parsed.region, common.defaultRegion);
  const accountId = await callerAccountId(common.clients, region);
  if (parsed.accountId && parsed.accountId !== accountId) {
    // Reading the caller's same-named table would explain the wrong table.
    throw new UsageError(
      `the table ARN names account ${parsed.accountId} but your credentials are for account ${accountId}: use credentials for account ${parsed.accountId} (e.g. --profile)`,
    );
  }
  const facts = await readTable(
    common.clients.get(DynamoDBClient, region),
    { accountId, region, tableName: parsed.tableName },
    createPacers(10),
    { logger: common.logger },
  );
  if (facts === 'vanished') throw new UsageError(`table ${parsed.tableName} does not exist in ${region} (account ${accountId})`);
  const policy = { minRecoveryDays: common.minRecoveryDays, exemptTag: common.exemptTag };
  const finding = evaluate(facts, policy, (deps.now ?? (() => new Date()))());
  const fixable = finding.status === 'NON_COMPLIANT' || finding.status === 'EXEMPT' || finding.status === 'ERROR';
  return { facts, finding, policy, fixCommand: fixable ? fixCommand(finding, policy.minRecoveryDays) : null };
}

export async function runExplain(table: string, flags: ExplainFlags, io: CliIo, deps: ExplainDeps = {}): Promise<number> {
  const explanation = await explainTable(table, flags, io, deps);
  io.stdout(flags.format === 'json' ? JSON.stringify(explanation, null, 2) + '\n' : renderExplanation(explanation, colourFor(io.isTTY?.stdout, io.env)));
  const s = explanation.finding.status;
  return s === 'NON_COMPLIANT' || s === 'ERROR' ? EXIT.PROBLEMS : EXIT.OK;
}

function iso(d: Date | undefined): string {
  return d ? d.toISOString() : '-';
}

/** Control and format characters (from tag values, error messages) must not reach the terminal. */
const clean = sanitise;

export function renderExplanation(e: Explanation, p: Palette): string {
  const { facts, finding: f, policy } = e;
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${p.dim(label.padEnd(22))}${clean(value)}`);
  lines.push(p.bold(`${facts.tableName} (${facts.region}, account ${facts.accountId})`));
  lines.push('');
  lines.push(p.bold('Facts read'));
  row('Table ARN', facts.tableArn ?? '-');
  row('Table ID', facts.tableId ?? '-');
  row('Table status', facts.tableStatus ?? '-');
  row('Created', iso(facts.creationDateTime));
  if (facts.error) {
    row('Read error', `${facts.error.operation} failed with ${facts.error.errorName}: ${facts.error.message}`);
  }
  const pitr = facts.pitr;
  row('PITR status', pitr ? pitr.status : 'not read');
  row('Recovery period', f.pitr.recoveryPeriodInDays === null ? '-' : `${f.pitr.recoveryPeriodInDays} days${pitr?.recoveryPeriodInDays === undefined && pitr?.status === 'ENABLED' ? ' (not returned: AWS default)' : ''} (policy: at least ${policy.minRecoveryDays})`);
  row('Earliest restorable', iso(pitr?.earliestRestorableDateTime));
  row('Latest restorable', iso(pitr?.latestRestorableDateTime));
  row('Restorable now', f.pitr.restorableDays === null ? '-' : `${f.pitr.restorableDays} days`);
  row('Size', facts.tableSizeBytes === undefined ? 'not reported' : `${facts.tableSizeBytes} bytes${facts.lsiSizeBytes ? ` + ${facts.lsiSizeBytes} bytes of LSIs` : ''} (DynamoDB updates it about every six hours)`);
  row('PITR cost', `${costCell(f)}${f.cost?.pitrMonthlyUsd != null ? '/month (estimate, docs/cost.md)' : ''}`);
  const tags = facts.tags ? Object.entries(facts.tags) : undefined;
  row('Tags', tags === undefined ? 'not read' : tags.length === 0 ? 'none' : tags.map(([k, v]) => `${k}=${v}`).join(', '));
  row('Replicas', facts.replicas?.length ? facts.replicas.map((r) => `${r.regionName} (${r.replicaStatus ?? 'status unknown'})`).join(', ') : 'none reported by DescribeTable');
  const r = facts.restoreSummary;
  row(
    'Restore lineage',
    r
      ? `restored from ${r.sourceTableArn ?? r.sourceBackupArn ?? 'an unnamed source'} at ${iso(r.restoreDateTime)}${r.restoreInProgress ? ' (restore in progress)' : ''}; a restored table starts without PITR`
      : 'not a restored table',
  );
  lines.push('');
  lines.push(p.bold('Verdict'));
  row('Status', statusColour(p, f.status)(f.status));
  row('Why', f.message);
  for (const code of f.reasons) row(`  ${code}`, REASON_TEXT[code] ?? code);
  if (f.exemption) {
    row('Exemption', `${f.exemption.reason ? JSON.stringify(f.exemption.reason) : '(empty)'}${f.exemption.until ? ` until ${f.exemption.until}` : ''}: ${f.exemption.active ? 'in force' : 'not in force'}`);
  }
  lines.push('');
  lines.push(p.bold('Fix'));
  switch (f.status) {
    case 'NON_COMPLIANT':
      lines.push(`  ${e.fixCommand}`);
      lines.push(p.dim('  (or: pitr-guard scan --fix, which re-reads the table first and only ever enables PITR)'));
      break;
    case 'EXEMPT':
      lines.push(`  Nothing to do while the exemption holds. To enforce PITR anyway, remove the ${policy.exemptTag} tag and run:`);
      lines.push(`  ${e.fixCommand}`);
      break;
    case 'ERROR':
      lines.push(`  Grant the reader dynamodb:DescribeTable, dynamodb:DescribeContinuousBackups and dynamodb:ListTagsOfResource on this table, then run explain again.`);
      lines.push(`  If PITR turns out to be off, this enables it:`);
      lines.push(`  ${e.fixCommand}`);
      break;
    case 'NOT_APPLICABLE':
      lines.push('  Nothing to do: PITR does not apply to a table in this state.');
      break;
    default:
      lines.push(
        f.reasons.includes('RESTORE_WINDOW_NOT_FULL') && facts.pitr?.earliestRestorableDateTime
          ? `  Nothing to do: the window reaches ${policy.minRecoveryDays} days on ${new Date(facts.pitr.earliestRestorableDateTime.getTime() + policy.minRecoveryDays * 86_400_000).toISOString()} if PITR stays on.`
          : '  Nothing to do.',
      );
  }
  return lines.join('\n') + '\n';
}
