/** The CLI with mocked AWS clients: flags, formats, exit codes, --fix, progress, colour, explain. */
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { createProgressBar, renderBar } from '../../lib/cli/progress';
import { cliSdkLogger, credentialSourceNote } from '../../lib/cli/common';
import { dataSource, exitCodeFor } from '../../lib/cli/scan-command';
import { dropNodeVersionSupportWarning, isNodeVersionSupportWarning } from '../../lib/cli/warnings';
import { disableEvent } from '../../dev/demo';
import { actOnFindings } from '../../lib/act/remediate';
import { parseCloudTrailEvent } from '../../lib/events/cloudtrail';
import type { ScanReport } from '../../lib/aws/scan';
import { awsError } from '../helpers/aws-errors';
import { loadEvent } from '../helpers/builders';

const ddbMock = mockClient(DynamoDBClient);
const stsMock = mockClient(STSClient);
const ACCOUNT = '123456789012';

type Client = { config: { region: () => Promise<string> } };
const regionOf = async (getClient: () => unknown) => (getClient() as Client).config.region();

/** A small mocked account: name prefix = state (on-, off-, short-, exempt-). PITR can be switched on. */
function serveAccount(tables: Record<string, string[]>) {
  const enabled = new Map<string, number>();
  ddbMock.on(ListTablesCommand).callsFake(async (_input, getClient) => ({ TableNames: tables[await regionOf(getClient)] ?? [] }));
  ddbMock.on(DescribeTableCommand).callsFake(async (input: { TableName: string }, getClient) => {
    const region = await regionOf(getClient);
    if (!(tables[region] ?? []).includes(input.TableName)) throw awsError('ResourceNotFoundException');
    return { Table: { TableName: input.TableName, TableArn: `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${input.TableName}`, TableStatus: 'ACTIVE' } };
  });
  ddbMock.on(DescribeContinuousBackupsCommand).callsFake(async (input: { TableName: string }, getClient) => {
    const region = await regionOf(getClient);
    const state = input.TableName.split('-')[0];
    const period = enabled.get(`${region}/${input.TableName}`) ?? (state === 'on' ? 35 : state === 'short' ? 7 : undefined);
    const d =
      period === undefined
        ? { PointInTimeRecoveryStatus: 'DISABLED' }
        : { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: period, EarliestRestorableDateTime: new Date('2025-01-01T00:00:00Z'), LatestRestorableDateTime: new Date() };
    return { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: d } };
  });
  ddbMock.on(ListTagsOfResourceCommand).callsFake(async (input: { ResourceArn: string }) => ({
    Tags: input.ResourceArn.includes('table/exempt-') ? [{ Key: 'pitr-guard:exempt', Value: 'cache, rebuilt nightly' }] : [{ Key: 'team', Value: 'core' }],
  }));
  ddbMock.on(UpdateContinuousBackupsCommand).callsFake(async (input: { TableName: string; PointInTimeRecoverySpecification: { RecoveryPeriodInDays?: number } }, getClient) => {
    enabled.set(`${await regionOf(getClient)}/${input.TableName}`, input.PointInTimeRecoverySpecification.RecoveryPeriodInDays ?? 35);
    return {};
  });
}

interface Captured extends CliIo {
  out: string;
  err: string;
  files: Record<string, string>;
  questions: string[];
}

function io(options: { env?: Record<string, string>; tty?: boolean; answer?: string } = {}): Captured {
  const c: Captured = {
    out: '',
    err: '',
    files: {},
    questions: [],
    env: { AWS_REGION: 'us-east-1', ...options.env },
    stdout: (t) => void (c.out += t),
    stderr: (t) => void (c.err += t),
    isTTY: { stdin: options.tty === true, stdout: options.tty === true, stderr: options.tty === true },
    writeFile: async (p, content) => void (c.files[p] = content),
  };
  if (options.answer !== undefined) {
    c.prompt = async (q) => {
      c.questions.push(q);
      return options.answer as string;
    };
  }
  return c;
}

const fast = { ratePerSecond: 10_000, sleep: async () => undefined, retry: { sleep: async () => undefined } };
const deps = { remediate: actOnFindings, inventory: fast };
const run = (args: string[], cio: CliIo) => main(['node', 'pitr-guard', ...args], cio, deps);

beforeEach(() => {
  ddbMock.reset();
  stsMock.reset();
  stsMock.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/auditor` });
});

describe('scan formats and exit codes', () => {
  it('--format json prints exactly the ScanReport and exits 1 on drift', async () => {
    serveAccount({ 'us-east-1': ['on-orders', 'off-carts'], 'eu-west-1': ['exempt-cache'] });
    const c = io();
    const code = await run(['scan', '--regions', 'us-east-1,eu-west-1', '--format', 'json'], c);
    expect(code).toBe(1);
    expect(c.err).toBe('');
    const report = JSON.parse(c.out) as ScanReport;
    expect(report.summary).toEqual({ total: 3, compliant: 1, nonCompliant: 1, exempt: 1, notApplicable: 0, error: 0 });
    expect(report.findings.map((f) => [f.region, f.tableName, f.status])).toEqual([
      ['us-east-1', 'off-carts', 'NON_COMPLIANT'],
      ['eu-west-1', 'exempt-cache', 'EXEMPT'],
      ['us-east-1', 'on-orders', 'COMPLIANT'],
    ]);
    expect(ddbMock).toHaveReceivedCommandWith(DescribeContinuousBackupsCommand, { TableName: 'off-carts' });
    expect(ddbMock).not.toHaveReceivedCommand(UpdateContinuousBackupsCommand);
  });

  it('exits 0 when every table is compliant or exempt', async () => {
    serveAccount({ 'us-east-1': ['on-orders', 'exempt-cache'] });
    const c = io();
    expect(await run(['scan'], c)).toBe(0);
    expect(c.out).toContain('2 tables in 1 Region of account 123456789012: 0 non-compliant, 0 error, 1 exempt, 1 compliant');
  });

  it.each([
    ['non-compliant', 1],
    ['error', 0],
    ['never', 0],
  ])('--fail-on %s with drift but no read errors exits %i', async (failOn, expected) => {
    serveAccount({ 'us-east-1': ['off-carts'] });
    expect(await run(['scan', '--fail-on', failOn, '--format', 'csv'], io())).toBe(expected);
  });

  it('--fail-on error exits 1 when a table could not be read', async () => {
    serveAccount({ 'us-east-1': ['on-orders', 'on-locked'] });
    ddbMock.on(DescribeContinuousBackupsCommand, { TableName: 'on-locked' }).rejects(awsError('AccessDeniedException'));
    const c = io();
    expect(await run(['scan', '--fail-on', 'error', '--format', 'json'], c)).toBe(1);
    expect((JSON.parse(c.out) as ScanReport).summary.error).toBe(1);
  });

  it('exitCodeFor treats a Region that could not be listed as a blind spot', () => {
    const summary = { total: 0, compliant: 0, nonCompliant: 0, exempt: 0, notApplicable: 0, error: 0 };
    const regionErrors = [{ region: 'ap-east-1', operation: 'ListTables', errorName: 'X', message: 'x' }];
    expect(exitCodeFor({ summary, regionErrors }, 'error')).toBe(1);
    expect(exitCodeFor({ summary, regionErrors }, 'never')).toBe(0);
    expect(exitCodeFor({ summary, regionErrors: [] }, 'non-compliant')).toBe(0);
  });

  it('--format csv and html with --output write the file and leave stdout empty', async () => {
    serveAccount({ 'us-east-1': ['on-orders', 'off-carts'] });
    const c = io();
    expect(await run(['scan', '--format', 'csv', '--output', 'r.csv'], c)).toBe(1);
    expect(await run(['scan', '--format', 'html', '--output', 'r.html'], c)).toBe(1);
    expect(c.out).toBe('');
    expect(c.files['r.csv']!.split('\r\n')[0]).toMatch(/^account_id,region,table_name,/);
    expect(c.files['r.csv']!.trimEnd().split('\r\n')).toHaveLength(4); // header, 2 tables, COST_TOTALS
    expect(c.files['r.html']).toContain('data-testid="card-nonCompliant" data-count="1"');
    expect(c.err).toContain('wrote the html report (2 tables) to r.html');
  });
});

describe('usage, configuration and credential errors: exit 2, one line, no stack', () => {
  it.each([
    [['scan', '--format', 'xml'], /option '--format <format>' argument 'xml' is invalid/],
    [['scan', '--fail-on', 'sometimes'], /argument 'sometimes' is invalid/],
    [['scan', '--bogus'], /unknown option '--bogus'/],
    [['scan', '--min-recovery-days', '0'], /^pitr-guard: Invalid --min-recovery-days="0": must be a whole number of days from 1 to 35\.$/],
    [['scan', '--regions', 'us-east-9'], /Invalid --regions="us-east-9"/],
    [['scan', '--endpoint-url', 'not a url'], /Invalid --endpoint-url/],
    [['scan', '--dry-run'], /--dry-run only applies to --fix/],
    [['explain'], /missing required argument 'table'/],
    [['explain', 'x'], /Invalid TABLE="x"/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('%j', async (args, message) => {
    serveAccount({ 'us-east-1': ['on-orders'] });
    const c = io();
    expect(await run(args, c)).toBe(2);
    expect(c.out).toBe('');
    expect(c.err.trimEnd().split('\n')).toHaveLength(1);
    expect(c.err.trimEnd()).toMatch(message);
    expect(c.err).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['scan', '--bogus'], `pitr-guard: unknown option '--bogus' (run "pitr-guard scan --help" for its options)`],
    [['explain', 'orders', '--regoin', 'x'], `pitr-guard: unknown option '--regoin' (Did you mean --region?) (run "pitr-guard explain --help" for its options)`],
    [['scna'], `pitr-guard: unknown command 'scna' (Did you mean scan?) (run "pitr-guard --help" for the commands)`],
    [['--bogus'], `pitr-guard: unknown option '--bogus' (run "pitr-guard --help" for the commands)`],
  ])('a mistyped %j points to --help in the same line', async (args, line) => {
    const c = io();
    expect(await run(args, c)).toBe(2);
    expect(c.err).toBe(line + '\n');
  });

  it('the top-level --help lists each command once', async () => {
    const c = io();
    expect(await run(['--help'], c)).toBe(0);
    for (const command of ['scan', 'explain', 'demo']) expect(c.out.match(new RegExp(`^  ${command} `, 'gm'))).toHaveLength(1);
    expect(c.out).toContain('Commands:');
    expect(c.out).not.toContain('Commands in one line each');
  });

  it('expired credentials are one clear line and exit 2', async () => {
    stsMock.on(GetCallerIdentityCommand).rejects(awsError('ExpiredToken', 403, 'The security token included in the request is expired'));
    const c = io();
    expect(await run(['scan'], c)).toBe(2);
    expect(c.err).toMatch(/^pitr-guard: AWS credentials are missing, expired or invalid \(ExpiredToken\): The security token included in the request is expired\n$/);
    expect(ddbMock).not.toHaveReceivedCommand(ListTablesCommand);
  });

  it('no Region anywhere is a usage error', async () => {
    const c = io();
    c.env = { AWS_CONFIG_FILE: '/nonexistent', AWS_REGION: '' };
    const saved = { region: process.env.AWS_REGION, config: process.env.AWS_CONFIG_FILE };
    delete process.env.AWS_REGION;
    process.env.AWS_CONFIG_FILE = '/nonexistent';
    try {
      expect(await run(['scan'], c)).toBe(2);
    } finally {
      if (saved.region !== undefined) process.env.AWS_REGION = saved.region;
      if (saved.config === undefined) delete process.env.AWS_CONFIG_FILE;
      else process.env.AWS_CONFIG_FILE = saved.config;
    }
    expect(c.err).toMatch(/no Region to scan: pass --regions/);
  });

  it('--help on every subcommand shows examples and exits 0', async () => {
    for (const command of ['scan', 'explain', 'demo']) {
      const c = io();
      expect(await run([command, '--help'], c)).toBe(0);
      expect(c.out).toContain('Examples:');
      expect(c.out).toContain(`pitr-guard ${command}`);
    }
  });
});

describe('scan --fix', () => {
  it('refuses without --yes when not on a terminal, before touching anything', async () => {
    serveAccount({ 'us-east-1': ['off-carts'] });
    const c = io();
    expect(await run(['scan', '--fix'], c)).toBe(2);
    expect(c.err).toMatch(/^pitr-guard: --fix changes tables and this is not an interactive terminal: add --yes/);
    expect(ddbMock).not.toHaveReceivedCommand(ListTablesCommand);
    expect(ddbMock).not.toHaveReceivedCommand(UpdateContinuousBackupsCommand);
  });

  it('--yes enables PITR on each NON_COMPLIANT table and reports the state afterwards', async () => {
    serveAccount({ 'us-east-1': ['off-carts', 'short-events', 'exempt-cache', 'on-orders'] });
    const c = io();
    const code = await run(['scan', '--fix', '--yes', '--format', 'json'], c);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateContinuousBackupsCommand, 2);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateContinuousBackupsCommand, {
      TableName: 'off-carts',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 },
    });
    expect(ddbMock).toHaveReceivedCommandWith(UpdateContinuousBackupsCommand, {
      TableName: 'short-events',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 },
    });
    const report = JSON.parse(c.out) as ScanReport;
    expect(report.summary).toEqual({ total: 4, compliant: 3, nonCompliant: 0, exempt: 1, notApplicable: 0, error: 0 });
    expect(code).toBe(0);
    expect(c.err).toContain('will enable PITR (recovery period 35 days) on 2 table(s)');
    expect(c.err).toMatch(/ENABLED\s+us-east-1 {2}off-carts/);
    expect(c.err).toContain('2 enabled, 0 already compliant, 0 failed');
  });

  it('does not re-read what the scan just read: per fixed table the update and one verifying read, nothing else', async () => {
    serveAccount({ 'us-east-1': ['off-carts', 'short-events', 'on-orders'] });
    const c = io();
    expect(await run(['scan', '--fix', '--yes'], c)).toBe(0);
    const count = (Command: Parameters<typeof ddbMock.commandCalls>[0], table: string) =>
      ddbMock.commandCalls(Command).filter((call) => (call.args[0].input as { TableName?: string; ResourceArn?: string }).TableName === table || String((call.args[0].input as { ResourceArn?: string }).ResourceArn).endsWith(`/${table}`)).length;
    for (const table of ['off-carts', 'short-events']) {
      expect([table, count(DescribeTableCommand, table), count(ListTagsOfResourceCommand, table), count(DescribeContinuousBackupsCommand, table)]).toEqual([table, 1, 1, 2]);
    }
    expect([count(DescribeTableCommand, 'on-orders'), count(DescribeContinuousBackupsCommand, 'on-orders')]).toEqual([1, 1]);
  });

  it('--dry-run lists the changes and changes nothing', async () => {
    serveAccount({ 'us-east-1': ['off-carts', 'on-orders'] });
    const c = io();
    expect(await run(['scan', '--fix', '--dry-run'], c)).toBe(1);
    expect(ddbMock).not.toHaveReceivedCommand(UpdateContinuousBackupsCommand);
    expect(c.err).toContain('would enable PITR (recovery period 35 days) on 1 table(s)');
    expect(c.err).toMatch(/SKIPPED_DRY_RUN\s+us-east-1 {2}off-carts/);
    expect(c.out).toMatch(/NON_COMPLIANT\s+us-east-1\s+off-carts/);
  });

  it('on a terminal asks first; "n" changes nothing', async () => {
    serveAccount({ 'us-east-1': ['off-carts'] });
    const c = io({ tty: true, answer: 'n', env: { NO_COLOR: '1' } });
    expect(await run(['scan', '--fix'], c)).toBe(1);
    expect(c.questions).toEqual(['Enable PITR on these 1 table(s)? [y/N] ']);
    expect(c.err).toContain('not confirmed; nothing was changed');
    expect(ddbMock).not.toHaveReceivedCommand(UpdateContinuousBackupsCommand);
  });

  it('on a terminal "y" goes ahead', async () => {
    serveAccount({ 'us-east-1': ['off-carts'] });
    const c = io({ tty: true, answer: 'y' });
    expect(await run(['scan', '--fix'], c)).toBe(0);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateContinuousBackupsCommand, 1);
  });
});

describe('terminal niceties', () => {
  const many = Array.from({ length: 60 }, (_, i) => `on-t${String(i).padStart(2, '0')}`);

  it('draws a progress bar on stderr for more than 50 tables on a terminal, and erases it', async () => {
    serveAccount({ 'us-east-1': many });
    const c = io({ tty: true });
    expect(await run(['scan', '--format', 'json'], c)).toBe(0);
    expect(c.err).toContain('\r[');
    expect(c.err).toContain('60/60 tables 100%');
    expect(c.err.endsWith('\r')).toBe(true);
    expect((JSON.parse(c.out) as ScanReport).summary.total).toBe(60);
  });

  it('draws no progress bar when stderr is not a terminal, or for 50 tables or fewer', async () => {
    serveAccount({ 'us-east-1': many });
    const c = io();
    await run(['scan'], c);
    expect(c.err).toBe('');
    serveAccount({ 'us-east-1': many.slice(0, 50) });
    const d = io({ tty: true });
    await run(['scan'], d);
    expect(d.err).toBe('');
  });

  it('colours the table only on a terminal and never with NO_COLOR', async () => {
    serveAccount({ 'us-east-1': ['off-carts'] });
    const tty = io({ tty: true });
    await run(['scan'], tty);
    expect(tty.out).toContain('\u001b[');
    const noColor = io({ tty: true, env: { NO_COLOR: '1' } });
    await run(['scan'], noColor);
    expect(noColor.out).not.toContain('\u001b[');
    const pipe = io();
    await run(['scan'], pipe);
    expect(pipe.out).not.toContain('\u001b[');
  });

  it('progress bar rendering', () => {
    expect(renderBar({ done: 15, total: 60, regionsListed: 1, regionsTotal: 2 }, 10)).toBe('[###.......] 15/60 tables 25%, listing 1 more Region(s)');
    const writes: string[] = [];
    let now = 0;
    const bar = createProgressBar({ write: (t) => writes.push(t), enabled: true, clock: () => now });
    bar.update({ done: 0, total: 51, regionsListed: 1, regionsTotal: 1 });
    now += 10;
    bar.update({ done: 1, total: 51, regionsListed: 1, regionsTotal: 1 }); // throttled
    now += 200;
    bar.update({ done: 51, total: 51, regionsListed: 1, regionsTotal: 1 });
    bar.done();
    expect(writes).toHaveLength(3);
    expect(writes[1]).toContain('51/51');
  });
});

describe('explain', () => {
  it('shows the facts, the verdict and the exact fix command; exit 1 for a non-compliant table', async () => {
    serveAccount({ 'eu-west-1': ['off-carts'] });
    ddbMock.on(DescribeTableCommand).resolves({
      Table: {
        TableName: 'off-carts',
        TableArn: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/off-carts`,
        TableStatus: 'ACTIVE',
        TableId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
        TableSizeBytes: 2048,
        Replicas: [{ RegionName: 'us-east-1', ReplicaStatus: 'ACTIVE' }],
        RestoreSummary: { SourceTableArn: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/carts`, RestoreDateTime: new Date('2026-11-20T10:00:00Z'), RestoreInProgress: false },
      },
    });
    const c = io();
    expect(await run(['explain', 'off-carts', '--region', 'eu-west-1'], c)).toBe(1);
    expect(ddbMock).toHaveReceivedCommandWith(DescribeContinuousBackupsCommand, { TableName: 'off-carts' });
    expect(c.out).toMatch(/PITR status\s+DISABLED/);
    expect(c.out).toMatch(/Replicas\s+us-east-1 \(ACTIVE\)/);
    expect(c.out).toContain(`restored from arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/carts at 2026-11-20T10:00:00.000Z`);
    expect(c.out).toMatch(/Status\s+NON_COMPLIANT/);
    expect(c.out).toContain('PITR_DISABLED');
    expect(c.out).toMatch(/Size\s+2048 bytes/);
    // eu-west-1 has no sourced price: said so, never guessed.
    expect(c.out).toMatch(/PITR cost\s+no price for eu-west-1\n/);
    // The single-table path names the set and the source, neither of which it read.
    expect(c.out).toContain('Replica of global table 123456789012:off-carts@eu-west-1+us-east-1 (other replicas: us-east-1 not scanned): the set is NOT compliant.');
    expect(c.out).toContain('Its source table was not scanned with it (NOT_SCANNED).');
    expect(c.out).toContain(
      'aws dynamodb update-continuous-backups --region eu-west-1 --table-name off-carts --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=35',
    );
  });

  it('takes a table ARN, and --format json', async () => {
    serveAccount({ 'eu-west-1': ['exempt-cache'] });
    const c = io();
    expect(await run(['explain', `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/exempt-cache`, '--format', 'json', '--min-recovery-days', '14'], c)).toBe(0);
    const e = JSON.parse(c.out) as { finding: { status: string; cost?: unknown }; fixCommand: string; policy: { minRecoveryDays: number } };
    expect(e.finding.status).toBe('EXEMPT');
    // The mock reports no TableSizeBytes: the cost is there, with nulls.
    expect(e.finding.cost).toEqual({ tableSizeBytes: null, lsiSizeBytes: null, pitrMonthlyUsd: null });
    expect(e.policy.minRecoveryDays).toBe(14);
    expect(e.fixCommand).toContain('RecoveryPeriodInDays=14');
  });

  it('a table that does not exist is exit 2 with one line', async () => {
    serveAccount({ 'eu-west-1': [] });
    const c = io();
    expect(await run(['explain', 'nope-table', '--region', 'eu-west-1'], c)).toBe(2);
    expect(c.err).toBe(`pitr-guard: table nope-table does not exist in eu-west-1 (account ${ACCOUNT})\n`);
  }, 10_000);
});

describe('the demo\'s CloudTrail event', () => {
  /** Every key path of a JSON value (objects only), so two events can be compared by shape. */
  function shape(value: unknown, prefix = ''): string[] {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => shape(v, prefix ? `${prefix}.${k}` : k));
  }

  it('has the shape of the sample event events/cloudtrail-pitr-disabled.json and parses as a PITR disable', () => {
    const sample = loadEvent('cloudtrail-pitr-disabled.json');
    const event = disableEvent(ACCOUNT, 'eu-west-1', 'prod-payments', new Date('2026-11-21T10:00:00.123Z'));
    expect(shape(event).sort()).toEqual(shape(sample).sort());
    const parsed = parseCloudTrailEvent(event);
    expect(parsed.status).toBe('ok');
    if (parsed.status !== 'ok') return;
    expect(parsed.change).toMatchObject({ eventName: 'UpdateContinuousBackups', kind: 'PITR_DISABLED', accountId: ACCOUNT, region: 'eu-west-1', tableName: 'prod-payments' });
    expect(parsed.change.actor.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/DataPlatformAdmin/jane.doe`);
    expect((event.detail as { eventTime: string }).eventTime).toBe('2026-11-21T10:00:00Z');
  });
});

describe('Regions that could not be listed (a partial report is still a report)', () => {
  const denied = 'User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: dynamodb:ListTables';

  function denyListTablesIn(region: string, tables: Record<string, string[]>) {
    serveAccount(tables);
    ddbMock.on(ListTablesCommand).callsFake(async (_input, getClient) => {
      const r = await regionOf(getClient);
      if (r === region) throw awsError('AccessDeniedException', 400, denied);
      return { TableNames: tables[r] ?? [] };
    });
  }

  it('stderr names each Region not scanned on one line; the report covers the others; exit per --fail-on', async () => {
    denyListTablesIn('eu-west-1', { 'us-east-1': ['on-orders'] });
    const c = io();
    expect(await run(['scan', '--regions', 'us-east-1,eu-west-1', '--format', 'json'], c)).toBe(1);
    expect(c.err).toBe(`pitr-guard: Region eu-west-1 was NOT scanned: ListTables failed with AccessDeniedException: ${denied}\n`);
    const report = JSON.parse(c.out) as ScanReport;
    expect(report.summary.total).toBe(1);
    expect(report.regionErrors.map((e) => [e.region, e.errorName])).toEqual([['eu-west-1', 'AccessDeniedException']]);
    const never = io();
    expect(await run(['scan', '--regions', 'us-east-1,eu-west-1', '--fail-on', 'never'], never)).toBe(0);
    expect(never.err).toContain('pitr-guard: Region eu-west-1 was NOT scanned');
    expect(never.out).toContain('Region eu-west-1 NOT SCANNED');
  });

  it('--output: every format carries the unscanned Region, and the confirmation line says so', async () => {
    denyListTablesIn('eu-west-1', { 'us-east-1': ['on-orders'] });
    for (const format of ['csv', 'html', 'table', 'json']) {
      const c = io();
      expect(await run(['scan', '--regions', 'us-east-1,eu-west-1', '--format', format, '--output', `r.${format}`], c)).toBe(1);
      expect(c.out).toBe('');
      expect(c.err).toContain(`pitr-guard: wrote the ${format} report (1 tables; 1 Region(s) NOT scanned: eu-west-1) to r.${format}\n`);
      expect(c.files[`r.${format}`]).toContain('eu-west-1');
      expect(c.files[`r.${format}`]).toContain('AccessDeniedException');
    }
    const c = io();
    await run(['scan', '--regions', 'us-east-1,eu-west-1', '--format', 'csv', '--output', 'r.csv'], c);
    const lines = c.files['r.csv']!.trimEnd().split('\r\n');
    expect(lines).toHaveLength(4); // header, the unscanned Region, 1 table, COST_TOTALS
    expect(lines[1]).toMatch(/^123456789012,eu-west-1,,,,REGION_NOT_SCANNED,/);
  });
});

describe('fail fast on any invalid PITR_GUARD_* variable, before any AWS client', () => {
  it.each([
    ['PITR_GUARD_MODE', 'enforce'],
    ['PITR_GUARD_MIN_RECOVERY_DAYS', '90'],
    ['PITR_GUARD_EXEMPT_TAG', 'aws:exempt'],
    ['PITR_GUARD_REGIONS', 'us-east-9'],
    ['PITR_GUARD_DRY_RUN', 'yes'],
    ['PITR_GUARD_LOG_LEVEL', 'verbose'],
    ['PITR_GUARD_ALERT_TOPIC_ARN', 'pitr-guard-alerts'],
    ['PITR_GUARD_SLACK_WEBHOOK_PARAM', 'https://hooks.slack.com/services/T0/B0/x'],
    ['PITR_GUARD_IDEMPOTENCY_TABLE', 'no'],
  ])('%s=%j: exit 2, one line naming it, no AWS call (scan and explain)', async (name, value) => {
    for (const args of [['scan', '--regions', 'us-east-1'], ['explain', 'on-orders', '--region', 'us-east-1']]) {
      const sdkRegion = jest.fn(async () => 'us-east-1');
      const c = io({ env: { [name]: value } });
      expect(await main(['node', 'pitr-guard', ...args], c, { ...deps, sdkRegion })).toBe(2);
      expect(c.out).toBe('');
      expect(c.err.startsWith(`pitr-guard: Invalid ${name}=${JSON.stringify(value)}: `)).toBe(true);
      expect(c.err.trimEnd().split('\n')).toHaveLength(1);
      expect(sdkRegion).not.toHaveBeenCalled();
      expect(stsMock.calls()).toHaveLength(0);
      expect(ddbMock.calls()).toHaveLength(0);
    }
  });

  it('valid variables the CLI does not use are accepted', async () => {
    serveAccount({ 'us-east-1': ['on-orders'] });
    const c = io({
      env: {
        PITR_GUARD_MODE: 'remediate',
        PITR_GUARD_DRY_RUN: 'TRUE',
        PITR_GUARD_LOG_LEVEL: 'warn',
        PITR_GUARD_ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:pitr-guard-alerts',
        PITR_GUARD_SLACK_WEBHOOK_PARAM: '/pitr-guard/slack-webhook',
        PITR_GUARD_IDEMPOTENCY_TABLE: 'pitr-guard-idempotency',
        PITR_GUARD_REGIONS: '',
      },
    });
    expect(await run(['scan'], c)).toBe(0);
    expect(c.err).toBe('');
  });

  it('--regions and PITR_GUARD_REGIONS are checked before the SDK looks up a Region', async () => {
    for (const [args, env, message] of [
      [['scan', '--regions', 'us-east-9'], {}, /^pitr-guard: Invalid --regions="us-east-9"/],
      [['scan'], { PITR_GUARD_REGIONS: 'eu-west-1,,us-east-1' }, /^pitr-guard: Invalid PITR_GUARD_REGIONS="eu-west-1,,us-east-1"/],
      [['explain', 'on-orders', '--region', 'mars-1'], {}, /^pitr-guard: Invalid --region="mars-1"/],
    ] as const) {
      const sdkRegion = jest.fn(async () => 'us-east-1');
      const c = io({ env: { ...env, AWS_REGION: '' } });
      expect(await main(['node', 'pitr-guard', ...args], c, { ...deps, sdkRegion })).toBe(2);
      expect(c.err.trimEnd().split('\n')).toHaveLength(1);
      expect(c.err).toMatch(message);
      expect(sdkRegion).not.toHaveBeenCalled();
    }
    // Valid Regions: the SDK's Region is looked up afterwards (for account-level calls).
    serveAccount({ 'eu-west-1': ['on-orders'] });
    const sdkRegion = jest.fn(async () => 'eu-west-1');
    const c = io({ env: { AWS_REGION: '' } });
    expect(await main(['node', 'pitr-guard', 'scan', '--regions', 'eu-west-1'], c, { ...deps, sdkRegion })).toBe(0);
    expect(sdkRegion).toHaveBeenCalledTimes(1);
  });
});

describe('explain with a table ARN', () => {
  it('an ARN of another account is exit 2 and one line; the caller\'s same-named table is not read', async () => {
    serveAccount({ 'eu-west-1': ['off-carts'] });
    const c = io();
    expect(await run(['explain', 'arn:aws:dynamodb:eu-west-1:210987654321:table/off-carts'], c)).toBe(2);
    expect(c.out).toBe('');
    expect(c.err).toBe(
      'pitr-guard: the table ARN names account 210987654321 but your credentials are for account 123456789012: use credentials for account 210987654321 (e.g. --profile)\n',
    );
    expect(ddbMock).not.toHaveReceivedCommand(DescribeTableCommand);
    expect(ddbMock).not.toHaveReceivedCommand(DescribeContinuousBackupsCommand);
  });

  it('the ARN\'s Region and --region must agree: a conflict is exit 2 before any AWS call', async () => {
    serveAccount({ 'eu-west-1': ['off-carts'], 'us-east-1': ['off-carts'] });
    const c = io();
    expect(await run(['explain', `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/off-carts`, '--region', 'us-east-1'], c)).toBe(2);
    expect(c.err).toBe('pitr-guard: the table ARN names Region eu-west-1 but --region is us-east-1: drop --region or make them agree\n');
    expect(stsMock.calls()).toHaveLength(0);
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it('agreeing Regions (any case), or the ARN alone over AWS_REGION: the ARN\'s Region is read', async () => {
    serveAccount({ 'eu-west-1': ['off-carts'] });
    const c = io();
    expect(await run(['explain', `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/off-carts`, '--region', 'EU-WEST-1', '--format', 'json'], c)).toBe(1);
    expect((JSON.parse(c.out) as { facts: { region: string } }).facts.region).toBe('eu-west-1');
    const d = io({ env: { AWS_REGION: 'us-east-1' } });
    expect(await run(['explain', `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/off-carts`, '--format', 'json'], d)).toBe(1);
    expect((JSON.parse(d.out) as { facts: { region: string } }).facts.region).toBe('eu-west-1');
  });

  it('an ARN with an unknown Region is a usage error naming the argument', async () => {
    const c = io();
    expect(await run(['explain', `arn:aws:dynamodb:eu-west-9:${ACCOUNT}:table/off-carts`], c)).toBe(2);
    expect(c.err).toBe(`pitr-guard: Invalid TABLE="arn:aws:dynamodb:eu-west-9:${ACCOUNT}:table/off-carts": "eu-west-9" is not a known AWS Region code\n`);
  });
});

describe('--fix ignores pitr-guard:mode tags (remediate is the strictest mode)', () => {
  it('--help says so, and no longer promises tables that a mode tag would stop', async () => {
    const c = io();
    expect(await run(['scan', '--help'], c)).toBe(0);
    expect(c.out).toContain('--fix acts in mode remediate, the strictest mode: a pitr-guard:mode tag can only make a table\'s mode');
    const help = c.out.replace(/\s+/g, ' ');
    expect(help).toContain('--dry-run with --fix: list every NON_COMPLIANT table --fix would enable PITR on, and change nothing');
    expect(help).toContain('so no tag holds a NON_COMPLIANT table back');
    expect(help).not.toMatch(/mode tag would still stop/);
  });

  it('a NON_COMPLIANT table tagged pitr-guard:mode=report is listed by --dry-run and enabled by --yes', async () => {
    serveAccount({ 'us-east-1': ['off-reporting'] });
    ddbMock.on(ListTagsOfResourceCommand).resolves({ Tags: [{ Key: 'pitr-guard:mode', Value: 'report' }] });
    const dry = io();
    expect(await run(['scan', '--fix', '--dry-run'], dry)).toBe(1);
    expect(dry.err).toMatch(/SKIPPED_DRY_RUN\s+us-east-1 {2}off-reporting/);
    expect(dry.err).toContain('dry run: nothing was changed (1 would be enabled)');
    const yes = io();
    expect(await run(['scan', '--fix', '--yes'], yes)).toBe(0);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateContinuousBackupsCommand, {
      TableName: 'off-reporting',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 },
    });
    expect(yes.err).toContain('pitr-guard: 1 enabled, 0 already compliant, 0 failed, 0 deferred.\n');
    expect(yes.err).not.toContain('skipped by');
  });
});

describe('the AWS SDK\'s NodeVersionSupportWarning', () => {
  function fakeProcess() {
    const printed: unknown[][] = [];
    const proc = { emitWarning: ((...args: unknown[]) => void printed.push(args)) as NodeJS.Process['emitWarning'] };
    return { proc, printed };
  }

  it('is dropped, in each form it can take; every other warning is kept', () => {
    const { proc, printed } = fakeProcess();
    dropNodeVersionSupportWarning(proc);
    dropNodeVersionSupportWarning(proc); // idempotent: still one wrapper
    proc.emitWarning('NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)\nversions published after the first week of January 2027\nwill require node >=22.');
    proc.emitWarning('The AWS SDK will require node >=22', 'NodeVersionSupportWarning');
    proc.emitWarning('The AWS SDK will require node >=22', { type: 'NodeVersionSupportWarning' });
    proc.emitWarning(Object.assign(new Error('will require node >=22'), { name: 'NodeVersionSupportWarning' }));
    expect(printed).toEqual([]);
    proc.emitWarning('something is deprecated', 'DeprecationWarning', 'DEP0999');
    proc.emitWarning('NodeDeprecationWarning: a different SDK warning');
    proc.emitWarning('mentions NodeVersionSupportWarning: but is not it');
    expect(printed).toEqual([
      ['something is deprecated', 'DeprecationWarning', 'DEP0999'],
      ['NodeDeprecationWarning: a different SDK warning'],
      ['mentions NodeVersionSupportWarning: but is not it'],
    ]);
    expect(isNodeVersionSupportWarning('x', { type: 'Warning' })).toBe(false);
  });
});

describe('where the data came from (the HTML banner)', () => {
  it.each([
    [undefined, {}, undefined],
    ['http://127.0.0.1:5000', {}, 'a local emulator at http://127.0.0.1:5000 (--endpoint-url)'],
    ['http://localhost:4566', {}, 'a local emulator at http://localhost:4566 (--endpoint-url)'],
    [undefined, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }, 'a local emulator at http://127.0.0.1:9 (AWS_ENDPOINT_URL)'],
    [undefined, { AWS_ENDPOINT_URL_DYNAMODB: 'https://ddb.example.internal' }, 'the endpoint https://ddb.example.internal (AWS_ENDPOINT_URL_DYNAMODB)'],
    ['https://dynamodb-fips.us-east-1.amazonaws.com', {}, undefined],
    ['https://vpce-0abc-dynamodb.us-east-1.vpce.amazonaws.com', {}, undefined],
  ])('%s %j → %s', (flag, env, expected) => {
    expect(dataSource(flag, env)).toBe(expected);
  });

  it('scan --format html --endpoint-url marks the report as not AWS data', async () => {
    serveAccount({ 'us-east-1': ['on-orders'] });
    const c = io();
    expect(await run(['scan', '--format', 'html', '--endpoint-url', 'http://127.0.0.1:5000'], c)).toBe(0);
    expect(c.out).toContain('data-testid="source">Not AWS data: this report was generated from a local emulator at http://127.0.0.1:5000 (--endpoint-url).');
  });
});

describe("the SDK's own warnings in CLI runs", () => {
  it('one pitr-guard line per warning; per-request records, failed calls and the credential-sources warning dropped', () => {
    let err = '';
    const sdk = cliSdkLogger({ stderr: (t) => void (err += t) });
    sdk.info({ clientName: 'DynamoDBClient', commandName: 'ListTablesCommand' });
    sdk.error({ clientName: 'STSClient', error: { name: 'CredentialsProviderError' } });
    sdk.warn('@aws-sdk/credential-provider-node - defaultProvider::fromEnv WARNING:\n    Multiple credential sources detected: \n    Both AWS_PROFILE and …');
    sdk.warn('Something the SDK\n   wants you to know.');
    expect(err).toBe('pitr-guard: AWS SDK warning: Something the SDK wants you to know.\n');
  });

  it('says once, in one line, that a profile wins over static keys', () => {
    expect(credentialSourceNote(undefined, { AWS_PROFILE: 'audit', AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's' })).toBe(
      'pitr-guard: note: using the profile "audit" (AWS_PROFILE); AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment are ignored\n',
    );
    expect(credentialSourceNote('audit', { AWS_SECRET_ACCESS_KEY: 's' })).toBeUndefined();
    expect(credentialSourceNote(undefined, { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's' })).toBeUndefined();
  });
});
