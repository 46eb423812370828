/**
 * The `pitr-guard` command line. Exit codes: 0 nothing non-compliant or in error, 1 something is,
 * 2 usage, configuration, credential or access error (one line on stderr, no stack trace).
 * stdout carries only the report; logs go to stderr.
 */
import { STSClient } from '@aws-sdk/client-sts';
import { Command, CommanderError, Option } from 'commander';
import { Clients } from '../clients';
import { ENV, parseExemptTag, parseRecoveryDays, parseRegions } from '../config';
import { PitrGuardError, UsageError, errorMessage } from '../errors';
import { createLogger, silentLogger } from '../logger';
import { renderTable } from '../report/table';
import { hasProblems, scan } from '../scan';

export const EXIT = { OK: 0, PROBLEMS: 1, ERROR: 2 } as const;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

interface ScanFlags {
  regions?: string;
  format: 'json' | 'table';
  minRecoveryDays?: string;
  exemptTag?: string;
  endpointUrl?: string;
  profile?: string;
  verbose?: boolean;
}

function envValue(env: CliIo['env'], name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** The Region the SDK would use by default (AWS_REGION, then the profile's config), if any. */
async function defaultRegion(profile: string | undefined, env: CliIo['env']): Promise<string | undefined> {
  const fromEnv = envValue(env, 'AWS_REGION') ?? envValue(env, 'AWS_DEFAULT_REGION');
  if (fromEnv) return fromEnv;
  try {
    return await new STSClient(profile ? { profile } : {}).config.region();
  } catch {
    return undefined;
  }
}

async function runScan(flags: ScanFlags, io: CliIo): Promise<number> {
  const minRecoveryDays = parseRecoveryDays(flags.minRecoveryDays ?? envValue(io.env, ENV.minRecoveryDays), flags.minRecoveryDays ? '--min-recovery-days' : ENV.minRecoveryDays);
  const exemptTag = parseExemptTag(flags.exemptTag ?? envValue(io.env, ENV.exemptTag), flags.exemptTag ? '--exempt-tag' : ENV.exemptTag);
  const fallback = await defaultRegion(flags.profile, io.env);
  const regionsValue = flags.regions ?? envValue(io.env, ENV.regions);
  if (regionsValue === undefined && !fallback) {
    throw new UsageError('no Region to scan: pass --regions (e.g. --regions us-east-1,eu-west-1 or --regions all) or set AWS_REGION');
  }
  const regions = parseRegions(regionsValue, fallback, flags.regions ? '--regions' : ENV.regions);
  const homeRegion = fallback ?? (regions === 'all' ? 'us-east-1' : (regions[0] as string));
  if (flags.endpointUrl) {
    try {
      new URL(flags.endpointUrl);
    } catch {
      throw new UsageError(`Invalid --endpoint-url=${JSON.stringify(flags.endpointUrl)}: must be an absolute URL such as http://127.0.0.1:5000`);
    }
  }

  const clients = new Clients({ endpoint: flags.endpointUrl, profile: flags.profile });
  const logger = flags.verbose ? createLogger({ level: 'debug', write: (line) => io.stderr(line + '\n') }) : silentLogger;
  const report = await scan({ policy: { regions, minRecoveryDays, exemptTag }, homeRegion }, { clients, logger });
  io.stdout(flags.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderTable(report));
  return hasProblems(report) ? EXIT.PROBLEMS : EXIT.OK;
}

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('pitr-guard')
    .description('Audit DynamoDB point-in-time recovery (PITR) across Regions.')
    .showHelpAfterError(false)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  program
    .command('scan')
    .description('Scan every table in the given Regions and report its PITR compliance.')
    .option('--regions <list>', `comma-separated Region codes, or "all" (default: $${ENV.regions}, else your default Region)`)
    .addOption(new Option('--format <format>', 'report format').choices(['table', 'json']).default('table'))
    .option('--min-recovery-days <n>', `minimum PITR recovery period, 1-35 (default: $${ENV.minRecoveryDays}, else 35)`)
    .option('--exempt-tag <key>', `tag key whose non-empty value exempts a table (default: $${ENV.exemptTag}, else pitr-guard:exempt)`)
    .option('--endpoint-url <url>', 'send every AWS call to this endpoint (e.g. a local emulator)')
    .option('--profile <name>', 'AWS named profile to use')
    .option('--verbose', 'log AWS retries and progress to stderr')
    .addHelpText(
      'after',
      `
Exit codes: 0 all compliant, 1 non-compliant or unreadable tables found, 2 usage, configuration or credential error.

Examples:
  pitr-guard scan --regions us-east-1,eu-west-1
  pitr-guard scan --regions all --format json > report.json
  pitr-guard scan --min-recovery-days 14 --profile audit`,
    )
    .action(async (flags: ScanFlags) => setExit(await runScan(flags, io)));

  return program;
}

/** Runs the CLI; resolves to the exit code instead of exiting, so tests can call it. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return EXIT.ERROR;
    }
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; everything else commander already explained in one line.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? EXIT.OK : EXIT.ERROR;
    }
    const message = error instanceof PitrGuardError ? error.message : `unexpected error: ${errorMessage(error)}`;
    io.stderr(`pitr-guard: ${message}\n`);
    return EXIT.ERROR;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
