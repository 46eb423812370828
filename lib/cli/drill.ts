/**
 * `pitr-guard drill TABLE`: a restore drill (lib/act/drill.ts; docs/drills.md). Without --yes it
 * prints the plan and what it would cost, and changes nothing. With --yes it restores to a
 * temporary table, checks it, deletes it, and prints the DrillRecord; with a ledger
 * (--ledger-table, else PITR_GUARD_FINDINGS_TABLE) the record is also stored on the source's item.
 * Ctrl-C / SIGTERM: handlers are installed for the drill's duration; the first stops the drill and
 * goes to the cleanup, the second prints the exact delete command, the third exits (130).
 * Exit codes: 0 PASSED (or the plan printed), 1 FAILED (a check, the restore or the cleanup failed,
 * or the record could not be stored), 2 usage, configuration or access error before a drill started.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV, parseTableName } from '../core/config';
import { deleteCommand, parseDrillTime, type DrillPlan } from '../core/drill';
import { UsageError, errorMessage } from '../core/errors';
import { sanitise } from '../core/text';
import type { DrillRecord } from '../core/types';
import { DRILL_DEFAULTS, planDrill, readDrillSource, runDrill } from '../act/drill';
import { recordDrill } from '../state/drills';
import { checkOneRegion, envValue, resolveCommon, resolveOneRegion, validateCommon, type CommonFlags, type SdkRegion } from './common';
import { parseTableArgument } from './explain';
import type { CliIo } from './io';
import { EXIT } from './scan-command';

export interface DrillFlags extends CommonFlags {
  region?: string;
  to?: string;
  latest?: boolean;
  yes?: boolean;
  format: 'text' | 'json';
  ledgerTable?: string;
  timeoutMinutes?: string;
}

/** Where the CLI hears Ctrl-C (tests inject their own). */
export interface SignalSource {
  on: (signal: 'SIGINT' | 'SIGTERM', handler: () => void) => void;
  off: (signal: 'SIGINT' | 'SIGTERM', handler: () => void) => void;
}

export interface DrillCommandDeps {
  sdkRegion?: SdkRegion;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  signals?: SignalSource;
  exit?: (code: number) => void;
}

function timeoutMs(value: string | undefined): number {
  if (value === undefined) return DRILL_DEFAULTS.timeoutMs;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1440) throw new UsageError(`Invalid --timeout-minutes=${JSON.stringify(value)}: must be a whole number of minutes, 1-1440`);
  return n * 60_000;
}

export async function runDrillCommand(table: string, flags: DrillFlags, io: CliIo, deps: DrillCommandDeps = {}): Promise<number> {
  // Everything that needs no AWS first.
  const parsed = parseTableArgument(table);
  const validated = validateCommon(flags, io);
  if (flags.to !== undefined && flags.latest) throw new UsageError('--to and --latest exclude each other: give one (the default is --latest)');
  const to = flags.to === undefined ? undefined : parseDrillTime(flags.to);
  const timeout = timeoutMs(flags.timeoutMinutes);
  const ledger = flags.ledgerTable !== undefined ? parseTableName(flags.ledgerTable, '--ledger-table') : parseTableName(envValue(io.env, ENV.findingsTable), ENV.findingsTable);
  const flagRegion = flags.region === undefined ? undefined : checkOneRegion(flags.region, '--region');
  if (parsed.region && flagRegion && flagRegion !== parsed.region) throw new UsageError(`the table ARN names Region ${parsed.region} but --region is ${flagRegion}: drop --region or make them agree`);
  const common = await resolveCommon(flags, io, validated, deps.sdkRegion);
  const region = resolveOneRegion(flagRegion ?? parsed.region, common.defaultRegion);
  const now = deps.now ?? (() => new Date());
  const ddb = common.clients.get(DynamoDBClient, region);

  const source = await readDrillSource(ddb, parsed.tableName, deps.sleep);
  if (parsed.accountId && parsed.accountId !== source.accountId) {
    throw new UsageError(`the table ARN names account ${parsed.accountId} but your credentials are for account ${source.accountId}: use credentials for account ${parsed.accountId} (e.g. --profile)`);
  }
  const plan = planDrill(source, { region, tableName: parsed.tableName, ...(to ? { to } : {}), exemptTag: validated.exemptTag, timeoutMs: timeout }, now());
  if (!flags.yes) {
    io.stdout(flags.format === 'json' ? JSON.stringify({ dryRun: true, plan, ledgerTable: ledger ?? null }, null, 2) + '\n' : renderPlan(plan, ledger));
    return EXIT.OK;
  }

  const controller = new AbortController();
  const signals = deps.signals ?? process;
  let heard = 0;
  const onSignal = (name: 'SIGINT' | 'SIGTERM') => () => {
    heard += 1;
    if (heard === 1) {
      controller.abort(name);
      io.stderr(`pitr-guard: ${name}: stopping the drill; deleting ${plan.temporaryTableName} first (again: print the delete command)\n`);
    } else {
      io.stderr(`pitr-guard: still deleting ${plan.temporaryTableName}; if you stop pitr-guard now, delete it with: ${deleteCommand(plan.temporaryTableName, region)}\n`);
      if (heard >= 3) (deps.exit ?? ((code: number) => process.exit(code)))(130);
    }
  };
  const handlers = { SIGINT: onSignal('SIGINT'), SIGTERM: onSignal('SIGTERM') };
  signals.on('SIGINT', handlers.SIGINT);
  signals.on('SIGTERM', handlers.SIGTERM);
  let record: DrillRecord;
  try {
    record = await runDrill(plan, {
      ddb,
      now,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      signal: controller.signal,
      progress: (line) => (flags.verbose || io.isTTY?.stderr ? io.stderr(`pitr-guard: ${sanitise(line)}\n`) : undefined),
    }, { timeoutMs: timeout });
  } finally {
    signals.off('SIGINT', handlers.SIGINT);
    signals.off('SIGTERM', handlers.SIGTERM);
  }
  let stored: string | undefined;
  let storeError: string | undefined;
  if (ledger) {
    try {
      await recordDrill(ddb, ledger, record, deps.sleep);
      stored = ledger;
    } catch (error) {
      storeError = errorMessage(error);
    }
  }
  io.stdout(flags.format === 'json' ? JSON.stringify(record, null, 2) + '\n' : renderRecord(record, stored));
  if (storeError) io.stderr(`pitr-guard: the drill record could not be stored in the ledger: ${sanitise(storeError)}\n`);
  if (!record.cleanedUp) io.stderr(`pitr-guard: ${plan.temporaryTableName} was NOT deleted: ${deleteCommand(plan.temporaryTableName, region)}\n`);
  return record.outcome === 'PASSED' && !storeError ? EXIT.OK : EXIT.PROBLEMS;
}

const row = (label: string, value: string) => `  ${label.padEnd(18)}${sanitise(value)}\n`;

export function renderPlan(p: DrillPlan, ledger: string | undefined): string {
  const w = p.window;
  return (
    'Restore drill plan: nothing was changed (run again with --yes to do it)\n' +
    row('Source', `${p.tableName} (${p.region}, account ${p.accountId}) ${p.tableArn}`) +
    row('Restore point', `${p.requested === 'LATEST' ? 'the latest restorable time' : p.requested.toISOString()} (window ${w.earliest?.toISOString() ?? '?'} to ${w.latest?.toISOString() ?? '?'})`) +
    row('Temporary table', p.temporaryTableName) +
    row('Tags', p.tags.map((t) => `${t.Key}=${t.Value}`).join(', ')) +
    row('Checks', 'key schema, GSI and LSI names and key schemas equal to the source; item count (Scan Select COUNT); restore point reached; tags') +
    row('Cleanup', 'the temporary table is deleted at the end: also after a failed check, an error, or Ctrl-C') +
    row('Cost: restore', p.cost.restore) +
    row('Cost: storage', p.cost.storage) +
    row('Record', ledger ? `stored in the ledger ${ledger} (lastDrill, drills, history)` : 'in the output only (no --ledger-table)')
  );
}

export function renderRecord(r: DrillRecord, ledger: string | undefined): string {
  const head = `Drill ${r.drillId} ${r.outcome}: ${r.tableName} (${r.region}) ${r.restoreSeconds === null ? 'not restored' : `restored in ${r.restoreSeconds} s to ${r.restorePoint ?? 'an unreported point'}`}`;
  const checks = r.checks.map((c) => `  ${c.passed ? 'ok  ' : 'FAIL'} ${c.name.padEnd(26)}${sanitise(c.detail)}\n`).join('');
  return (
    sanitise(head) +
    '\n' +
    checks +
    (r.error ? row('Error', r.error) : '') +
    row('Temporary table', `${r.temporaryTableName}: ${r.cleanedUp ? 'deleted' : 'NOT deleted'}`) +
    row('Record', ledger ? `stored in the ledger ${ledger}` : 'this output only (no ledger)')
  );
}
