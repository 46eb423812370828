/**
 * `pitr-guard evidence --output DIR [scope flags as scan]`: the scan `scan` runs (scanFromFlags),
 * the findings ledger's history and the Config rule's results, written as one self-contained
 * folder (lib/report/evidence.ts; docs/evidence.md). Refuses a non-empty DIR unless --force. Exit
 * codes as scan (--fail-on); a ledger or Config rule that could not be read is a blind spot (1).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { version } from '../../package.json';
import { ConfigServiceClient, readConfigRule, readLedger, type ConfigRuleRead } from '../aws/evidence-sources';
import { DEFAULTS, ENV, parseMode, parseTableName } from '../core/config';
import { UsageError } from '../core/errors';
import { evidenceFiles, type EvidenceInput } from '../report/evidence';
import { checkOneRegion, envValue } from './common';
import type { CliIo } from './io';
import { EXIT, dataSource, exitCodeFor, notScannedLines, scanFromFlags, type FailOn, type ScanCommandDeps, type ScopeFlags } from './scan-command';

/** The rule the stack creates for the default stage (serverless.yml: `${self:service}-${sls:stage}-dynamodb-pitr`). */
export const DEFAULT_CONFIG_RULE = 'pitr-guard-dev-dynamodb-pitr';

export interface EvidenceFlags extends ScopeFlags {
  output: string;
  force?: boolean;
  ledgerTable?: string;
  ledgerRegion?: string;
  configRule?: string;
  failOn: FailOn;
}

/** Whether DIR may be written: absent, an empty directory, or (with --force) any directory. */
async function checkOutputDir(dir: string, force: boolean): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new UsageError(`--output ${JSON.stringify(dir)} is a file, not a directory`);
    entries = await readdir(dir);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new UsageError(`cannot read --output ${JSON.stringify(dir)}: ${(error as Error).message}`);
  }
  if (entries.length > 0 && !force) throw new UsageError(`--output ${JSON.stringify(dir)} is not empty: choose a new directory, or add --force to overwrite the evidence files in it`);
}

/** The command line as the README records it (flag values, never credentials; the external ID only as set). */
function commandLine(flags: EvidenceFlags): string {
  const parts = ['pitr-guard evidence', `--output ${flags.output}`];
  const add = (name: string, value: string | undefined) => value !== undefined && parts.push(`${name} ${value}`);
  add('--regions', flags.regions);
  add('--accounts', flags.accounts);
  add('--exclude-accounts', flags.excludeAccounts);
  add('--member-role', flags.memberRole);
  if (flags.externalId !== undefined) parts.push('--external-id (set)');
  add('--ledger-table', flags.ledgerTable);
  add('--ledger-region', flags.ledgerRegion);
  add('--config-rule', flags.configRule);
  add('--min-recovery-days', flags.minRecoveryDays);
  add('--exempt-tag', flags.exemptTag);
  add('--profile', flags.profile);
  if (flags.force) parts.push('--force');
  return parts.join(' ');
}

export async function runEvidence(flags: EvidenceFlags, io: CliIo, deps: ScanCommandDeps = {}): Promise<number> {
  const dir = flags.output?.trim();
  if (!dir) throw new UsageError('--output needs a directory name');
  // Everything that needs no AWS first.
  const ledgerTable = parseTableName(flags.ledgerTable ?? envValue(io.env, ENV.findingsTable), flags.ledgerTable !== undefined ? '--ledger-table' : ENV.findingsTable);
  const ledgerRegionFlag = flags.ledgerRegion === undefined ? undefined : checkOneRegion(flags.ledgerRegion, '--ledger-region');
  if (ledgerRegionFlag && !ledgerTable) throw new UsageError('--ledger-region only applies with --ledger-table (or PITR_GUARD_FINDINGS_TABLE)');
  const ruleName = (flags.configRule ?? DEFAULT_CONFIG_RULE).trim();
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(ruleName)) throw new UsageError(`Invalid --config-rule=${JSON.stringify(flags.configRule)}: must be a Config rule name (1-128 letters, digits, - and _), or none`);
  const modeValue = envValue(io.env, ENV.mode);
  const mode = modeValue === undefined ? DEFAULTS.mode : parseMode(modeValue);
  await checkOutputDir(dir, flags.force === true);

  const { report, common, regions, homeRegion, scope } = await scanFromFlags(flags, io, deps);
  for (const line of notScannedLines(report)) io.stderr(`pitr-guard: ${line}\n`);

  let ledger: EvidenceInput['ledger'];
  if (ledgerTable) {
    const region = ledgerRegionFlag ?? homeRegion;
    ledger = { tableName: ledgerTable, region, read: await readLedger(common.clients.get(DynamoDBClient, region), ledgerTable) };
    if (ledger.read.status === 'ERROR') io.stderr(`pitr-guard: the findings ledger ${ledgerTable} (${region}) could not be read (${ledger.read.errorName}: ${ledger.read.message}): the folder has no status history\n`);
  } else {
    io.stderr(`pitr-guard: no findings ledger (--ledger-table or ${ENV.findingsTable}): the folder has no status history, and its README says so\n`);
  }

  const configRule: ConfigRuleRead[] = [];
  if (ruleName !== 'none') {
    for (const region of report.regions) {
      const read = await readConfigRule(common.clients.get(ConfigServiceClient, region), region, ruleName);
      configRule.push(read);
      if (read.status === 'NO_RULE') io.stderr(`pitr-guard: note: no Config rule ${ruleName} in ${region} (config-rule.json says so)\n`);
      if (read.status === 'ERROR') io.stderr(`pitr-guard: the Config rule ${ruleName} in ${region} could not be read (${read.errorName}: ${read.message})\n`);
    }
  }

  const source = dataSource(flags.endpointUrl, io.env);
  const files = evidenceFiles({
    report,
    policy: { mode, modeSource: modeValue === undefined ? 'default (the CLI only reports)' : ENV.mode, minRecoveryDays: common.minRecoveryDays, exemptTag: common.exemptTag, regions, scope, pitrGuardVersion: version },
    ...(ledger ? { ledger } : {}),
    configRule,
    command: commandLine(flags),
    ...(source ? { source } : {}),
  });
  try {
    await mkdir(dir, { recursive: true });
    for (const f of files) await writeFile(path.join(dir, f.name), f.content, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot write the evidence folder ${JSON.stringify(dir)}: ${(error as Error).message}`);
  }
  const leftOver = (await readdir(dir)).filter((n) => !files.some((f) => f.name === n));
  if (leftOver.length > 0) io.stderr(`pitr-guard: note: ${leftOver.length} other file(s) in ${dir} are not part of the evidence and not in its manifest: ${leftOver.join(', ')}\n`);
  io.stderr(`pitr-guard: wrote the evidence folder (${files.length} files, ${report.summary.total} tables) to ${dir}; verify with: cd ${dir} && sha256sum -c MANIFEST.sha256\n`);

  const code = exitCodeFor(report, flags.failOn);
  const blind = ledger?.read.status === 'ERROR' || configRule.some((c) => c.status === 'ERROR');
  return blind && flags.failOn !== 'never' ? Math.max(code, EXIT.PROBLEMS) : code;
}
