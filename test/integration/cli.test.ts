/**
 * The CLI end to end against moto: every format, every exit code, explain on a compliant, a
 * non-compliant, an exempt and a restored table, --fix with --dry-run and with --yes (checked in
 * the state moto holds afterwards), bad flags and credentials (exit 2, one line), Regions that could
 * not be listed (exit 1, one stderr line each), and the built CLI on Node < 22 (no SDK warning).
 */
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DynamoDBClient,
  RestoreTableToPointInTimeCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Clients } from '../../lib/aws/clients';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../../dev/local/proxy';
import type { ScanReport } from '../../lib/aws/scan';

let moto: MotoServer;
let clients: Clients;
const dir = mkdtempSync(path.join(tmpdir(), 'pitr-guard-cli-'));

interface Captured extends CliIo {
  out: string;
  err: string;
}

function io(env: Record<string, string> = {}): Captured {
  const c: Captured = {
    out: '',
    err: '',
    env: { AWS_REGION: 'us-east-1', ...env },
    stdout: (t) => void (c.out += t),
    stderr: (t) => void (c.err += t),
    isTTY: { stdin: false, stdout: false, stderr: false },
  };
  return c;
}

async function cli(args: string[], c: Captured = io()): Promise<{ code: number; out: string; err: string }> {
  const code = await main(['node', 'pitr-guard', ...args, ...(args[0] === 'demo' ? [] : ['--endpoint-url', moto.endpoint])], c);
  return { code, out: c.out, err: c.err };
}

async function createTable(region: string, name: string, pitrDays?: number, tags: Record<string, string> = {}): Promise<void> {
  const ddb = clients.get(DynamoDBClient, region);
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  if (pitrDays !== undefined) {
    await ddb.send(new UpdateContinuousBackupsCommand({ TableName: name, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: pitrDays } }));
  }
}

async function pitrOf(region: string, name: string) {
  const out = await clients.get(DynamoDBClient, region).send(new DescribeContinuousBackupsCommand({ TableName: name }));
  return out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
}

beforeAll(async () => {
  moto = await startMoto();
  clients = new Clients({ endpoint: moto.endpoint });
  await createTable('us-east-1', 'prod-orders', 35);
  await createTable('us-east-1', 'prod-carts');
  await createTable('us-east-1', 'prod-sessions', undefined, { 'pitr-guard:exempt': 'TTL cache, rebuilt on loss' });
  await createTable('us-east-1', 'prod-notifications', 7);
  await createTable('eu-west-1', 'prod-payments', 35);
  await createTable('eu-west-1', 'staging-payments');
  await createTable('ap-southeast-2', 'prod-loyalty', 35);
  await clients
    .get(DynamoDBClient, 'us-east-1')
    .send(new RestoreTableToPointInTimeCommand({ SourceTableName: 'prod-orders', TargetTableName: 'prod-orders-restored', UseLatestRestorableTime: true }));
});

afterAll(async () => {
  await moto?.stop();
});

const REGIONS = ['--regions', 'us-east-1,eu-west-1'];

describe('formats (all from the same scan) and exit code 1 on drift', () => {
  it('table: aligned rows worst first and the summary line', async () => {
    const r = await cli(['scan', ...REGIONS]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^STATUS\s+REGION\s+TABLE/);
    expect(lines[1]).toMatch(/^NON_COMPLIANT\s+eu-west-1\s+staging-payments\s+DISABLED/);
    expect(r.out).toContain('7 tables in 2 Regions of account 123456789012: 4 non-compliant, 0 error, 1 exempt, 2 compliant, 0 not applicable');
  });

  it('json: exactly the ScanReport', async () => {
    const r = await cli(['scan', ...REGIONS, '--format', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as ScanReport;
    expect(Object.keys(report).sort()).toEqual(['accountErrors', 'accountId', 'accounts', 'cost', 'findings', 'generatedAt', 'policy', 'regionErrors', 'regionSummaries', 'regions', 'shardErrors', 'summary', 'vanished']);
    expect(report.shardErrors).toEqual([]);
    // one per Region, in Region order, adding up to the summary
    expect(report.regionSummaries.map((r) => r.region)).toEqual(['eu-west-1', 'us-east-1']);
    expect(report.regionSummaries.reduce((n, r) => n + r.summary.total, 0)).toBe(report.summary.total);
    expect(report.accounts).toEqual([{ accountId: '123456789012', status: 'SCANNED', regions: ['us-east-1', 'eu-west-1'], summary: report.summary }]);
    expect(report.accountErrors).toEqual([]);
    expect(report.summary).toEqual({ total: 7, compliant: 2, nonCompliant: 4, exempt: 1, notApplicable: 0, error: 0 });
    const byName = Object.fromEntries(report.findings.map((f) => [f.tableName, f]));
    expect(byName['prod-notifications']!.reasons).toEqual(['RECOVERY_PERIOD_TOO_SHORT']);
    expect(byName['prod-notifications']!.pitr.recoveryPeriodInDays).toBe(7); // moto with a current botocore returns the period
    expect(byName['prod-orders-restored']!.reasons).toEqual(['PITR_DISABLED', 'RESTORED_WITHOUT_PITR']);
    expect(byName['prod-orders-restored']!.restore?.sourceStatus).toBe('COMPLIANT');
    expect(report.findings.every((f) => f.cost !== undefined)).toBe(true);
    expect(byName['prod-sessions']!.status).toBe('EXEMPT');
  });

  it('csv: header plus one RFC 4180 row per table', async () => {
    const r = await cli(['scan', ...REGIONS, '--format', 'csv']);
    expect(r.code).toBe(1);
    const rows = r.out.trimEnd().split('\r\n');
    expect(rows).toHaveLength(9); // header, 7 tables, COST_TOTALS
    expect(rows[0]).toMatch(/^account_id,region,table_name,table_arn,table_status,status,reasons,message,/);
    expect(rows.find((l) => l.includes(',prod-sessions,'))).toContain(',EXEMPT,EXEMPT,');
  });

  it('html --output: the file, nothing on stdout', async () => {
    const file = path.join(dir, 'report.html');
    const r = await cli(['scan', ...REGIONS, '--format', 'html', '--output', file]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`pitr-guard: wrote the html report (7 tables) to ${file}\n`);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('data-testid="card-total" data-count="7"');
    expect(html).toContain('data-testid="card-nonCompliant" data-count="4"');
  });
});

describe('exit codes 0 and --fail-on', () => {
  it('0 when every table in the Regions is compliant', async () => {
    const r = await cli(['scan', '--regions', 'ap-southeast-2']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 table in 1 Region of account 123456789012: 0 non-compliant');
  });

  it('--fail-on never and --fail-on error let drift pass; the report is the same', async () => {
    const never = await cli(['scan', ...REGIONS, '--format', 'json', '--fail-on', 'never']);
    const error = await cli(['scan', ...REGIONS, '--format', 'json', '--fail-on', 'error']);
    expect(never.code).toBe(0);
    expect(error.code).toBe(0);
    expect((JSON.parse(never.out) as ScanReport).summary.nonCompliant).toBe(4);
  });
});

describe('exit code 2: one line on stderr, nothing on stdout', () => {
  it.each([
    [['scan', '--format', 'pdf'], /^pitr-guard: option '--format <format>' argument 'pdf' is invalid\. Allowed choices are table, json, csv, html, asff, ocsf\. \(run "pitr-guard scan --help" for its options\)$/],
    [['scan', '--min-recovery-days', '40'], /^pitr-guard: Invalid --min-recovery-days="40": must be a whole number of days from 1 to 35\.$/],
    [['scan', '--regions', 'eu-west-1,all'], /^pitr-guard: Invalid --regions="eu-west-1,all": all cannot be combined with Region codes\.$/],
    [['scan', '--exempt-tag', 'aws:exempt'], /^pitr-guard: Invalid --exempt-tag="aws:exempt"/],
    [['scan', '--fix'], /^pitr-guard: --fix changes tables and this is not an interactive terminal/],
    [['explain', 'no-such-table', '--region', 'us-east-1'], /^pitr-guard: table no-such-table does not exist in us-east-1 \(account 123456789012\)$/],
  ])('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.endsWith('\n')).toBe(true);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err.trimEnd()).toMatch(message);
  });

  it('a profile that does not exist is a credentials error', async () => {
    const saved = { config: process.env.AWS_CONFIG_FILE, creds: process.env.AWS_SHARED_CREDENTIALS_FILE };
    process.env.AWS_CONFIG_FILE = path.join(dir, 'no-config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'no-credentials');
    // process.env holds static keys (test/helpers/setup-integration.ts): the SDK's 9-line
    // "Multiple credential sources" console.warn must not reach the terminal; one note line does.
    const warn = jest.spyOn(console, 'warn');
    try {
      const r = await cli(['scan', '--profile', 'pitr-guard-no-such-profile'], io({ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' }));
      expect(warn).not.toHaveBeenCalled();
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      const lines = r.err.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe('pitr-guard: note: using the profile "pitr-guard-no-such-profile" (--profile); AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment are ignored');
      expect(lines[1]).toMatch(/^pitr-guard: AWS credentials are missing, expired or invalid/);
    } finally {
      warn.mockRestore();
      for (const [k, v] of [
        ['AWS_CONFIG_FILE', saved.config],
        ['AWS_SHARED_CREDENTIALS_FILE', saved.creds],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('explain', () => {
  it('a compliant table: exit 0, facts and nothing to fix', async () => {
    const r = await cli(['explain', 'prod-orders']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PITR status\s+ENABLED/);
    expect(r.out).toMatch(/Recovery period\s+35 days \(policy: at least 35\)/);
    expect(r.out).toMatch(/Table status\s+ACTIVE/);
    expect(r.out).toMatch(/Status\s+COMPLIANT/);
    expect(r.out).toContain('Nothing to do');
    expect(r.out).not.toContain('aws dynamodb update-continuous-backups');
  });

  it('a non-compliant table: exit 1 and the exact AWS CLI command', async () => {
    const r = await cli(['explain', 'staging-payments', '--region', 'eu-west-1']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/PITR status\s+DISABLED/);
    expect(r.out).toMatch(/Status\s+NON_COMPLIANT/);
    expect(r.out).toContain(
      '  aws dynamodb update-continuous-backups --region eu-west-1 --table-name staging-payments --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=35\n',
    );
  });

  it('an exempt table: exit 0, the exemption and how to enforce anyway', async () => {
    const r = await cli(['explain', 'prod-sessions', '--format', 'text']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Status\s+EXEMPT/);
    expect(r.out).toMatch(/Tags\s+pitr-guard:exempt=TTL cache, rebuilt on loss/);
    expect(r.out).toMatch(/Exemption\s+"TTL cache, rebuilt on loss": in force/);
    expect(r.out).toContain('remove the pitr-guard:exempt tag');
  });

  it('a restored table: its lineage', async () => {
    const r = await cli(['explain', 'arn:aws:dynamodb:us-east-1:123456789012:table/prod-orders-restored', '--format', 'json']);
    expect(r.code).toBe(1);
    const e = JSON.parse(r.out) as { facts: { restoreSummary?: { sourceTableArn?: string } }; finding: { status: string } };
    expect(e.facts.restoreSummary?.sourceTableArn).toBe('arn:aws:dynamodb:us-east-1:123456789012:table/prod-orders');
    expect(e.finding.status).toBe('NON_COMPLIANT');
  });
});

describe('scan --fix', () => {
  it('--dry-run lists the changes and leaves moto as it was', async () => {
    const r = await cli(['scan', ...REGIONS, '--fix', '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('would enable PITR (recovery period 35 days) on 4 table(s)');
    expect(r.err).toContain('dry run: nothing was changed (4 would be enabled)');
    expect((await pitrOf('us-east-1', 'prod-carts'))?.PointInTimeRecoveryStatus).toBe('DISABLED');
    expect((await pitrOf('us-east-1', 'prod-notifications'))?.RecoveryPeriodInDays).toBe(7);
  });

  it('--yes enables PITR on every non-compliant table, leaves the exempt one, and exits 0', async () => {
    const r = await cli(['scan', ...REGIONS, '--fix', '--yes', '--format', 'json']);
    expect(r.err).toContain('4 enabled, 0 already compliant, 0 failed');
    const report = JSON.parse(r.out) as ScanReport;
    expect(report.summary).toEqual({ total: 7, compliant: 6, nonCompliant: 0, exempt: 1, notApplicable: 0, error: 0 });
    expect(r.code).toBe(0);
    for (const [region, name] of [
      ['us-east-1', 'prod-carts'],
      ['us-east-1', 'prod-notifications'],
      ['us-east-1', 'prod-orders-restored'],
      ['eu-west-1', 'staging-payments'],
    ]) {
      const pitr = await pitrOf(region!, name!);
      expect([name, pitr?.PointInTimeRecoveryStatus, pitr?.RecoveryPeriodInDays]).toEqual([name, 'ENABLED', 35]);
    }
    expect((await pitrOf('us-east-1', 'prod-sessions'))?.PointInTimeRecoveryStatus).toBe('DISABLED');
    // A second run finds nothing to do.
    const again = await cli(['scan', ...REGIONS, '--fix', '--yes']);
    expect(again.code).toBe(0);
    expect(again.err).toContain('nothing to fix');
  });
});

describe('Regions whose tables could not be listed', () => {
  let proxy: FaultProxy;

  beforeAll(async () => {
    proxy = await startFaultProxy(moto.endpoint, [
      { operation: 'ListTables', fail: { status: 400, type: 'AccessDeniedException', message: 'not authorized to perform: dynamodb:ListTables' } },
    ]);
  });

  afterAll(async () => {
    await proxy?.stop();
  });

  async function viaProxy(args: string[]) {
    const c = io();
    const code = await main(['node', 'pitr-guard', ...args, '--endpoint-url', proxy.endpoint], c);
    return { code, out: c.out, err: c.err };
  }

  it('one stderr line per Region, exit 1 (a partial report is still a report), and the CSV rows', async () => {
    const file = path.join(dir, 'not-scanned.csv');
    const r = await viaProxy(['scan', ...REGIONS, '--format', 'csv', '--output', file]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.split('\n').filter(Boolean).sort()).toEqual([
      'pitr-guard: Region eu-west-1 was NOT scanned: ListTables failed with AccessDeniedException: not authorized to perform: dynamodb:ListTables',
      'pitr-guard: Region us-east-1 was NOT scanned: ListTables failed with AccessDeniedException: not authorized to perform: dynamodb:ListTables',
      `pitr-guard: wrote the csv report (0 tables; 2 Region(s) NOT scanned: us-east-1, eu-west-1) to ${file}`,
    ]);
    const rows = readFileSync(file, 'utf8').trimEnd().split('\r\n');
    // status_since, the cost, restore and replica-set columns and last_drill are empty (no ledger, no table read); then the COST_TOTALS row
    expect(rows.at(-1)).toMatch(/^123456789012,,,,,COST_TOTALS,,"PITR cost \(estimate, prices of \d{4}-\d{2}-\d{2}\): \$0\.00\/month now;/);
    expect(rows.slice(1, -1).sort()).toEqual([
      '123456789012,eu-west-1,,,,REGION_NOT_SCANNED,,"Region eu-west-1 was not scanned: its tables could not be listed, so none of them was evaluated",,,,,,,,,ListTables,AccessDeniedException,not authorized to perform: dynamodb:ListTables,,,,,,,,,,,,',
      '123456789012,us-east-1,,,,REGION_NOT_SCANNED,,"Region us-east-1 was not scanned: its tables could not be listed, so none of them was evaluated",,,,,,,,,ListTables,AccessDeniedException,not authorized to perform: dynamodb:ListTables,,,,,,,,,,,,',
    ]);
    const never = await viaProxy(['scan', ...REGIONS, '--fail-on', 'never']);
    expect(never.code).toBe(0);
    expect(never.out).toContain('No Region could be listed: nothing was evaluated.');
  });
});

describe('explain: a table ARN of another account', () => {
  it('exit 2 and one line, although the caller has a table of that name', async () => {
    const r = await cli(['explain', 'arn:aws:dynamodb:us-east-1:210987654321:table/prod-orders']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      'pitr-guard: the table ARN names account 210987654321 but your credentials are for account 123456789012: use credentials for account 210987654321 (e.g. --profile)\n',
    );
  });
});

describe('the built CLI (bin/pitr-guard.js) on a Node.js older than 22', () => {
  const root = path.join(__dirname, '../..');
  // The SDK decides from process.version: pretend to be Node 20 whatever Node runs the tests.
  const asNode20 = (entry: string) =>
    `Object.defineProperty(process, 'version', { value: 'v20.20.2' }); ${entry}`;

  async function run(code: string, args: string[]) {
    return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      execFile(process.execPath, ['-e', code, 'pitr-guard', ...args], { cwd: root, env: { ...process.env, AWS_REGION: 'us-east-1' } }, (error, out, err) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? (error.code as number) : 0, out, err });
      });
    });
  }

  it('prints no NodeVersionSupportWarning: stderr stays empty or one line', async () => {
    const ok = await run(asNode20(`require('./bin/pitr-guard.js')`), ['scan', '--regions', 'ap-southeast-2', '--endpoint-url', moto.endpoint]);
    expect([ok.code, ok.err]).toEqual([0, '']);
    expect(ok.out).toContain('1 table in 1 Region of account 123456789012');
    const missing = await run(asNode20(`require('./bin/pitr-guard.js')`), ['explain', 'no-such-table', '--endpoint-url', moto.endpoint]);
    expect([missing.code, missing.err]).toEqual([2, 'pitr-guard: table no-such-table does not exist in us-east-1 (account 123456789012)\n']);
  });

  it('(control) without the filter the same SDK prints it, so the test above can fail', async () => {
    const raw = await run(asNode20(`require('./dist/cli.js').main(process.argv).then((c) => (process.exitCode = c))`), [
      'scan',
      '--regions',
      'ap-southeast-2',
      '--endpoint-url',
      moto.endpoint,
    ]);
    expect(raw.code).toBe(0);
    expect(raw.err).toContain('NodeVersionSupportWarning');
  });
});
