/**
 * The `pitr-guard` command line: `scan`, `evidence`, `explain`, `demo`, `drill`, `guardrail scp`. Exit codes: 0 nothing non-compliant or
 * in error, 1 something is, or a Region could not be listed (see --fail-on; the partial report is
 * still printed and stderr names each Region not scanned), 2 usage, configuration, credential or
 * access error before there is a report (one line on stderr, no stack trace). stdout carries only
 * the report; logs, progress and prompts go to stderr.
 */
import { Command, CommanderError, Option } from 'commander';
import { version } from '../../package.json';
import { ENV } from '../core/config';
import { PitrGuardError, errorMessage } from '../core/errors';
import { actOnFindings } from '../act/remediate';
import { runDemoCommand } from './demo-command';
import { runDrillCommand, type DrillFlags } from './drill';
import { runEvidence, type EvidenceFlags } from './evidence';
import { runExplain, type ExplainFlags } from './explain';
import { runGuardrailScp, type GuardrailFlags } from './guardrail';
import { processIo, type CliIo } from './io';
import { EXIT, FAIL_ON, FORMATS, runScan, type ScanCommandDeps, type ScanFlags } from './scan-command';
import { dropNodeVersionSupportWarning } from './warnings';

export { EXIT } from './scan-command';
export type { CliIo } from './io';
export { dropNodeVersionSupportWarning } from './warnings';

export type MainDeps = ScanCommandDeps;

function addCommonOptions(command: Command): Command {
  return command
    .option('--min-recovery-days <n>', `minimum PITR recovery period, 1-35 (default: $${ENV.minRecoveryDays}, else 35)`)
    .option('--exempt-tag <key>', `tag key whose non-empty value exempts a table (default: $${ENV.exemptTag}, else pitr-guard:exempt)`)
    .option('--endpoint-url <url>', 'send every AWS call to this endpoint (e.g. a local emulator)')
    .option('--profile <name>', 'AWS named profile to use (default: the standard credential chain)')
    .option('--verbose', 'log AWS retries and progress (JSON lines) to stderr');
}

export function buildProgram(io: CliIo, setExit: (code: number) => void, deps: MainDeps = {}): Command {
  const program = new Command('pitr-guard')
    .description('Audit and enforce DynamoDB point-in-time recovery (PITR) across Regions.')
    .version(version, '--version', 'print the version')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  pitr-guard scan --regions us-east-1,eu-west-1
  pitr-guard explain orders --region eu-west-1
  pitr-guard demo
  pitr-guard drill orders --region eu-west-1 --yes
  pitr-guard guardrail scp --allow-role arn:aws:iam::123456789012:role/break-glass

Run "pitr-guard <command> --help" for a command's options.`,
    );

  const scanCommand = program
    .command('scan')
    .summary("report every table's PITR compliance (table, json, csv, html or ocsf); --fix re-enables PITR")
    .description('Scan every table in the given Regions and report its PITR compliance.')
    .option('--regions <list>', `comma-separated Region codes, or "all" (default: $${ENV.regions}, else your default Region)`)
    .addOption(new Option('--format <format>', 'report format').choices([...FORMATS]).default('table'))
    .option('--output <file>', 'write the report to this file instead of stdout')
    .option('--accounts <scope>', `self, org (every ACTIVE account of the Organization) or a comma list of account IDs (default: $${ENV.accounts}, else self)`)
    .option('--exclude-accounts <list>', `comma list of account IDs never scanned (default: $${ENV.excludeAccounts})`)
    .option('--member-role <name>', `role assumed in every other account (default: $${ENV.memberRole}, else pitr-guard-member)`)
    .option('--external-id <id>', `sts:ExternalId sent when assuming the member role (default: $${ENV.externalId})`)
    .option('--concurrency <n>', 'accounts scanned at once, 1-100 (default 8)')
    .option('--security-hub', `import the findings into Security Hub, in each table's own account and Region (default: $${ENV.securityHub}, else off)`);
  addCommonOptions(scanCommand)
    .option('--fix', 'enable PITR on every NON_COMPLIANT table (lists them and asks first on a terminal)')
    .option('--yes', 'with --fix: do not ask for confirmation (needed when not on a terminal)')
    .option('--dry-run', 'with --fix: list every NON_COMPLIANT table --fix would enable PITR on, and change nothing')
    .addOption(
      new Option('--fail-on <when>', 'exit 1 on: non-compliant (non-compliant or unreadable tables), error (unreadable tables only), never')
        .choices([...FAIL_ON])
        .default('non-compliant'),
    )
    .addHelpText(
      'after',
      `
--fix acts in mode remediate, the strictest mode: a pitr-guard:mode tag can only make a table's mode
stricter, so no tag holds a NON_COMPLIANT table back. Exempt tables are not NON_COMPLIANT and are left
alone. Each table is re-read first and PITR is only ever enabled.

Exit codes: 0 nothing to report under --fail-on; 1 non-compliant or unreadable tables, a Region whose
tables could not be listed, or an account that could not be reached (the report covers the rest, and
stderr names each Region and account that was not scanned); 2 usage, configuration or credential error, or the account or its Regions could not be
read (STS GetCallerIdentity, Account ListRegions): no report.

Examples:
  pitr-guard scan --regions us-east-1,eu-west-1
  pitr-guard scan --regions all --format json > report.json
  pitr-guard scan --regions all --format html --output pitr-report.html
  pitr-guard scan --format csv --fail-on never > findings.csv
  pitr-guard scan --min-recovery-days 14 --profile audit
  pitr-guard scan --accounts org --member-role pitr-guard-member --regions all --format json
  pitr-guard scan --fix --dry-run          # list what --fix would change
  pitr-guard scan --fix --yes              # in CI: re-enable PITR without asking
  pitr-guard scan --regions all --security-hub   # one Security Hub finding per table (docs/security-hub.md)
  pitr-guard scan --format asff > findings.asff.json   # what BatchImportFindings would receive`,
    )
    .action(async (flags: ScanFlags) => setExit(await runScan(flags, io, deps)));

  const evidenceCommand = program
    .command('evidence')
    .summary('a self-contained folder for auditors: the reports, the policy, the ledger history, the Config results, a SHA-256 manifest')
    .description('Scan as `scan` does and write an evidence folder: report.json/.csv/.html, policy.json, history.json/.csv, config-rule.json, README.md and MANIFEST.sha256.')
    .requiredOption('--output <dir>', 'the folder to write (must be new or empty, unless --force)')
    .option('--force', 'write into a non-empty folder, overwriting the evidence files in it')
    .option('--ledger-table <name>', `the findings ledger table to read the history from (default: $${ENV.findingsTable}; without one the folder has no history and says so)`)
    .option('--ledger-region <region>', "the ledger table's Region (default: your default Region)")
    .option('--config-rule <name>', 'the pitr-guard Config rule to read results from, in each scanned Region, or none (default: pitr-guard-dev-dynamodb-pitr)')
    .option('--regions <list>', `comma-separated Region codes, or "all" (default: $${ENV.regions}, else your default Region)`)
    .option('--accounts <scope>', `self, org or a comma list of account IDs (default: $${ENV.accounts}, else self)`)
    .option('--exclude-accounts <list>', `comma list of account IDs never scanned (default: $${ENV.excludeAccounts})`)
    .option('--member-role <name>', `role assumed in every other account (default: $${ENV.memberRole}, else pitr-guard-member)`)
    .option('--external-id <id>', `sts:ExternalId sent when assuming the member role (default: $${ENV.externalId})`)
    .option('--concurrency <n>', 'accounts scanned at once, 1-100 (default 8)');
  addCommonOptions(evidenceCommand)
    .addOption(new Option('--fail-on <when>', 'exit 1 on: non-compliant, error, never (as scan)').choices([...FAIL_ON]).default('non-compliant'))
    .addHelpText(
      'after',
      `
Verify a folder with: cd DIR && sha256sum -c MANIFEST.sha256 (docs/evidence.md).

Exit codes as scan: 0 nothing to report under --fail-on; 1 non-compliant or unreadable tables, a
Region or account not scanned, or a ledger or Config rule that could not be read (the folder is
still written and says so); 2 usage, configuration or credential error, or a non-empty --output
without --force: nothing written.

Examples:
  pitr-guard evidence --output evidence-2026-12 --regions all --ledger-table pitr-guard-prod-findings
  pitr-guard evidence --output audit --accounts org --regions eu-west-1,us-east-1 --config-rule pitr-guard-prod-dynamodb-pitr`,
    )
    .action(async (flags: EvidenceFlags) => setExit(await runEvidence(flags, io, deps)));

  const explainCommand = program
    .command('explain')
    .summary('every fact about one table, the verdict and why, and the AWS CLI command that fixes it')
    .description('Show every fact read for one table, the verdict and why, and the exact AWS CLI command that would fix it.')
    .argument('<table>', 'table name or table ARN')
    .option('--region <region>', 'the Region of the table (default: the ARN\'s Region, else your default Region)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'));
  addCommonOptions(explainCommand)
    .addHelpText(
      'after',
      `
A table ARN must name the account of your credentials, and its Region must agree with --region if
both are given: otherwise exit 2.

Exit codes: 0 compliant, exempt or not applicable, 1 non-compliant or unreadable, 2 no such table, usage,
configuration or credential error.

Examples:
  pitr-guard explain orders --region eu-west-1
  pitr-guard explain arn:aws:dynamodb:eu-west-1:123456789012:table/orders
  pitr-guard explain orders --format json --min-recovery-days 14`,
    )
    .action(async (table: string, flags: ExplainFlags) => setExit(await runExplain(table, flags, io, { sdkRegion: deps.sdkRegion })));

  program
    .command('demo')
    .summary('a realistic account in a local emulator: scan, drift, automatic repair, alerts, report')
    .description('Run the local demo: moto with a seeded account, a scheduled scan, a PITR drift repaired by the reactor, alerts and an HTML report.')
    .option('--output <file>', 'where to write the HTML report', 'demo-report.html')
    .option('--verbose', "print the functions' JSON log lines to stderr")
    .addHelpText(
      'after',
      `
Needs nothing but "npm ci": moto is installed into ./.venv on first use. No AWS account is touched:
every call goes to a moto server on a free loopback port, which is stopped at the end (also on Ctrl-C).

Examples:
  pitr-guard demo
  npm run demo
  pitr-guard demo --output /tmp/report.html`,
    )
    .action(async (flags: { output: string; verbose?: boolean }) => setExit(await runDemoCommand(flags, io)));

  const drillCommand = program
    .command('drill')
    .summary('restore a table to a temporary copy, check it, delete it: proof that PITR restores work')
    .description('Restore drill: RestoreTableToPointInTime into a new tagged temporary table, wait for ACTIVE, check it against the source, delete it, and print the drill record.')
    .argument('<table>', 'table name or table ARN')
    .option('--region <region>', "the Region of the table (default: the ARN's Region, else your default Region)")
    .option('--to <time>', 'restore to this ISO 8601 time (within the restorable window), e.g. 2026-12-01T08:30:00Z')
    .option('--latest', 'restore to the latest restorable time (the default)')
    .option('--yes', 'do the drill (without it: print the plan and its cost, change nothing)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--ledger-table <name>', `store the drill record in this findings ledger (default: $${ENV.findingsTable}, else none)`)
    .option('--timeout-minutes <n>', 'longest wait for the restored table to become ACTIVE and be checked, 1-1440 (default 60)');
  addCommonOptions(drillCommand)
    .addHelpText(
      'after',
      `
The source table is only read (DescribeTable, DescribeContinuousBackups) and restored from: never
written. The temporary table <table>-pitr-drill-<yyyymmddhhmmss> is tagged exempt and deleted at the
end, also after a failed check, an error or Ctrl-C (a second Ctrl-C prints the delete command).

Exit codes: 0 the drill PASSED (or, without --yes, the plan was printed), 1 it FAILED (a check, the
restore or the cleanup failed, or the record could not be stored), 2 usage, configuration or access
error, no such table, or PITR not enabled: no drill was started.

Examples:
  pitr-guard drill orders --region eu-west-1                 # the plan and its cost only
  pitr-guard drill orders --region eu-west-1 --yes --format json
  pitr-guard drill arn:aws:dynamodb:eu-west-1:123456789012:table/orders --to 2026-12-01T08:30:00Z --yes`,
    )
    .action(async (table: string, flags: DrillFlags) => setExit(await runDrillCommand(table, flags, io, { sdkRegion: deps.sdkRegion })));

  const guardrail = program
    .command('guardrail')
    .summary('print a service control policy that stops PITR being disabled (pitr-guard guardrail scp)')
    .description('Print guardrails that prevent PITR being switched off, instead of repairing it afterwards.');
  guardrail
    .command('scp')
    .summary('an SCP denying dynamodb:UpdateContinuousBackups to all but pitr-guard and break-glass roles')
    .description(
      "Print a service control policy (JSON on stdout) that denies dynamodb:UpdateContinuousBackups to every principal except pitr-guard's remediating roles and the roles given with --allow-role.",
    )
    .option('--allow-role <arn>', 'an IAM role ARN that may still change PITR (break-glass, IaC deploy role); repeat for more', (v: string, list: string[] = []) => [...list, v])
    .option('--stage <stage>', 'the stage pitr-guard is deployed with (its roles are pitr-guard-<stage>-...)', 'dev')
    .option('--member-role <name>', `the member role name in every other account (default: $${ENV.memberRole}, else pitr-guard-member)`)
    .option('--central-account <id>', "the account of pitr-guard's central stack (default: its roles are matched by name in any account)")
    .addHelpText(
      'after',
      `
No IAM condition key tells enabling PITR from disabling it, so the policy denies the action outright
to everyone else, IaC that sets PITR included (allow its deploy role). The management account is not
bound by SCPs. Attach it with aws organizations create-policy --type SERVICE_CONTROL_POLICY and
attach-policy (docs/guardrail.md).

Exit codes: 0 printed, 2 a bad value (e.g. --allow-role that is not an IAM role ARN, or the policy
over the 5,120-character SCP limit).

Examples:
  pitr-guard guardrail scp --stage prod --allow-role arn:aws:iam::123456789012:role/break-glass > scp.json
  pitr-guard guardrail scp --stage prod --central-account 111122223333 --allow-role arn:aws:iam::*:role/cdk-deploy-*`,
    )
    .action((flags: GuardrailFlags) => setExit(runGuardrailScp(flags, io)));

  // A mistyped option or command: commander's error (and its "Did you mean …?") as one line that
  // says where the options are listed.
  const oneLineError = (hint: string) => (message: string, write: (text: string) => void) =>
    write(`pitr-guard: ${message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()} (${hint})\n`);
  program.configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: oneLineError('run "pitr-guard --help" for the commands') });
  const configure = (commands: readonly Command[], parent: string) => {
    for (const command of commands) {
      const name = `${parent}${command.name()}`;
      command.configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: oneLineError(`run "pitr-guard ${name} --help" for its options`) });
      configure(command.commands, `${name} `);
    }
  };
  configure(program.commands, '');
  return program;
}

/** Runs the CLI; resolves to the exit code instead of exiting, so tests can call it. */
export async function main(argv: string[], io: CliIo = processIo(), deps: MainDeps = { remediate: actOnFindings }): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = buildProgram(io, (code) => (exitCode = code), deps);
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
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
    io.stderr(`pitr-guard: ${message.split('\n')[0]}\n`);
    return EXIT.ERROR;
  }
}

if (require.main === module) {
  dropNodeVersionSupportWarning();
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
