/**
 * `pitr-guard scan`: inventory → evaluate over the Regions, one report on stdout (or --output),
 * optionally followed by remediation (--fix). stdout holds nothing but the report; the progress
 * bar, the fix plan and its results go to stderr.
 */
import { UsageError } from '../core/errors';
import { PacerPool, type InventoryOptions } from '../aws/inventory';
import { renderCsv } from '../report/csv';
import { renderHtml } from '../report/html';
import { renderJson } from '../report/json';
import { regionErrorLine, renderTable } from '../report/table';
import { scan, type ScanReport } from '../aws/scan';
import { colourFor } from '../report/colour';
import { envValue, parseRegionsOption, resolveCommon, resolveRegions, validateCommon, type CommonFlags, type SdkRegion } from './common';
import { applyFixes, type Remediate } from './fix';
import type { CliIo } from './io';
import { createProgressBar } from './progress';

export const FORMATS = ['table', 'json', 'csv', 'html'] as const;
export type Format = (typeof FORMATS)[number];
export const FAIL_ON = ['non-compliant', 'error', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export const EXIT = { OK: 0, PROBLEMS: 1, ERROR: 2 } as const;

export interface ScanFlags extends CommonFlags {
  regions?: string;
  format: Format;
  output?: string;
  fix?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  failOn: FailOn;
}

export interface ScanCommandDeps {
  /** lib/act/remediate's actOnFindings (injected so the CLI bundle and tests can choose). */
  remediate?: Remediate;
  /** Inventory pacing (tests speed it up; the CLI keeps AWS's documented 10 calls/s). */
  inventory?: Partial<InventoryOptions>;
  /** The SDK's Region lookup from the profile (tests check it runs only after validation). */
  sdkRegion?: SdkRegion;
}

/** The exit code a report earns under --fail-on. */
export function exitCodeFor(report: Pick<ScanReport, 'summary' | 'regionErrors'>, failOn: FailOn): number {
  const blindSpots = report.summary.error > 0 || report.regionErrors.length > 0;
  switch (failOn) {
    case 'never':
      return EXIT.OK;
    case 'error':
      return blindSpots ? EXIT.PROBLEMS : EXIT.OK;
    default:
      return blindSpots || report.summary.nonCompliant > 0 ? EXIT.PROBLEMS : EXIT.OK;
  }
}

/**
 * Where the data came from when it was not AWS: the endpoint (--endpoint-url, else
 * AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL) unless its host is an AWS one
 * (*.amazonaws.com, *.amazonaws.com.cn, *.api.aws, e.g. a FIPS or VPC endpoint). The HTML
 * report shows it in a banner.
 */
export function dataSource(endpointFlag: string | undefined, env: CliIo['env']): string | undefined {
  const endpoint = endpointFlag ?? envValue(env, 'AWS_ENDPOINT_URL_DYNAMODB') ?? envValue(env, 'AWS_ENDPOINT_URL');
  if (!endpoint) return undefined;
  const from = endpointFlag !== undefined ? '--endpoint-url' : envValue(env, 'AWS_ENDPOINT_URL_DYNAMODB') ? 'AWS_ENDPOINT_URL_DYNAMODB' : 'AWS_ENDPOINT_URL';
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return `the endpoint ${endpoint} (${from})`;
  }
  if (/(^|\.)(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$/.test(host)) return undefined;
  const local = host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  return `${local ? 'a local emulator at' : 'the endpoint'} ${endpoint} (${from})`;
}

export function render(report: ScanReport, format: Format, colour: boolean, env: CliIo['env'], source?: string): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'csv':
      return renderCsv(report);
    case 'html':
      return renderHtml(report, source ? { source } : {});
    default:
      return renderTable(report, { palette: colourFor(colour, env) });
  }
}

/** One line per Region that could not be listed: nothing in it was evaluated. */
export function notScannedLines(report: Pick<ScanReport, 'regionErrors'>): string[] {
  return report.regionErrors.map((r) => `Region ${r.region} was NOT scanned: ${regionErrorLine(r)}`);
}

/** What the --output confirmation line says the file holds, blind spots included. */
export function outputSummary(report: Pick<ScanReport, 'summary' | 'regionErrors' | 'vanished'>): string {
  const parts = [`${report.summary.total} tables`];
  if (report.regionErrors.length) {
    parts.push(`${report.regionErrors.length} Region(s) NOT scanned: ${report.regionErrors.map((r) => r.region).join(', ')}`);
  }
  if (report.vanished.length) parts.push(`${report.vanished.length} table(s) deleted during the scan`);
  return parts.join('; ');
}

export async function runScan(flags: ScanFlags, io: CliIo, deps: ScanCommandDeps = {}): Promise<number> {
  if (flags.dryRun && !flags.fix) throw new UsageError('--dry-run only applies to --fix: use --fix --dry-run to list what would change');
  if (flags.yes && !flags.fix) throw new UsageError('--yes only applies to --fix');
  const interactive = io.isTTY?.stdin === true && io.isTTY?.stderr === true && io.prompt !== undefined;
  if (flags.fix && !flags.dryRun && !flags.yes && !interactive) {
    throw new UsageError('--fix changes tables and this is not an interactive terminal: add --yes to confirm, or --dry-run to only list the changes');
  }
  if (flags.fix && !deps.remediate) throw new UsageError('--fix is not available in this build (lib/act/remediate is missing)');
  if (flags.output !== undefined && flags.output.trim() === '') throw new UsageError('--output needs a file name');

  // Everything that needs no AWS first: a bad flag or variable is one line, before any SDK client exists.
  const validated = validateCommon(flags, io);
  const requested = parseRegionsOption(flags.regions, io);
  const common = await resolveCommon(flags, io, validated, deps.sdkRegion);
  const regions = requested ?? resolveRegions(undefined, io, common.defaultRegion);
  const homeRegion = common.defaultRegion ?? (regions === 'all' ? 'us-east-1' : (regions[0] as string));

  const bar = createProgressBar({ write: io.stderr, enabled: io.isTTY?.stderr === true && !flags.verbose });
  let report: ScanReport;
  // One budget per (account, Region) for the scan's reads and --fix's after it.
  const pacers = new PacerPool(deps.inventory?.ratePerSecond);
  try {
    report = await scan(
      { policy: { regions, minRecoveryDays: common.minRecoveryDays, exemptTag: common.exemptTag }, homeRegion },
      { clients: common.clients, logger: common.logger, pacers, onProgress: bar.update, ...(deps.inventory ? { inventory: deps.inventory } : {}) },
    );
  } finally {
    bar.done();
  }

  if (flags.fix && deps.remediate) {
    report = await applyFixes(report, {
      remediate: deps.remediate,
      clients: common.clients,
      logger: common.logger,
      pacers,
      ...(deps.inventory ? { inventory: deps.inventory } : {}),
      policy: { mode: 'remediate', dryRun: flags.dryRun === true, minRecoveryDays: common.minRecoveryDays, exemptTag: common.exemptTag, regions },
      confirm: flags.dryRun || flags.yes ? undefined : io.prompt,
      io,
      palette: colourFor(io.isTTY?.stderr, io.env),
    });
  }

  // A partial report is still a report (exit code per --fail-on), but never a quiet one.
  for (const line of notScannedLines(report)) io.stderr(`pitr-guard: ${line}\n`);

  const toFile = flags.output !== undefined;
  const text = render(report, flags.format, !toFile && io.isTTY?.stdout === true, io.env, dataSource(flags.endpointUrl, io.env));
  if (toFile) {
    const write = io.writeFile ?? (async (path: string, content: string) => (await import('node:fs/promises')).writeFile(path, content, 'utf8'));
    try {
      await write(flags.output as string, text);
    } catch (error) {
      throw new UsageError(`cannot write --output ${JSON.stringify(flags.output)}: ${(error as Error).message}`);
    }
    io.stderr(`pitr-guard: wrote the ${flags.format} report (${outputSummary(report)}) to ${flags.output}\n`);
  } else {
    io.stdout(text);
  }
  return exitCodeFor(report, flags.failOn);
}
