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
import { exitCodeFor } from '../../lib/cli/scan-command';
import { disableEvent } from '../../lib/demo';
import { remediateTable } from '../../lib/remediate';
import { parseCloudTrailEvent } from '../../lib/triggers/cloudtrail';
import type { ScanReport } from '../../lib/scan';
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
const deps = { remediate: remediateTable, inventory: fast };
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
    expect(c.out).toContain('2 tables in 1 region(s) of account 123456789012: 0 non-compliant, 0 error, 1 exempt, 1 compliant');
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
    expect(c.files['r.csv']!.trimEnd().split('\r\n')).toHaveLength(3);
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
    expect(c.out).toContain(
      'aws dynamodb update-continuous-backups --region eu-west-1 --table-name off-carts --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=35',
    );
  });

  it('takes a table ARN, and --format json', async () => {
    serveAccount({ 'eu-west-1': ['exempt-cache'] });
    const c = io();
    expect(await run(['explain', `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/exempt-cache`, '--format', 'json', '--min-recovery-days', '14'], c)).toBe(0);
    const e = JSON.parse(c.out) as { finding: { status: string }; fixCommand: string; policy: { minRecoveryDays: number } };
    expect(e.finding.status).toBe('EXEMPT');
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
