/**
 * The one-command demo, as CI runs it: in-process against a moto this test owns (so the state moto
 * holds afterwards can be checked), through the CLI (`pitr-guard demo`, which starts and stops its
 * own moto), and interrupted with Ctrl-C (moto must still be stopped).
 */
import { DescribeContinuousBackupsCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { Clients } from '../../lib/aws/clients';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { CHECKS, runDemo, type DemoResult } from '../../dev/demo';
import { DEMO_REGIONS, expectedSummary } from '../../dev/seed';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { DELETED_TABLE } from '../../dev/demo/deleted-table';
import { ORG_BUCKET, ORG_MEMBERS } from '../../dev/demo/organization';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

const root = path.join(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'pitr-guard-demo-'));

function cardCounts(html: string): Record<string, number> {
  return Object.fromEntries([...html.matchAll(/data-testid="card-(\w+)" data-count="(\d+)"/g)].map((m) => [m[1], Number(m[2])]));
}

async function reachable(endpoint: string): Promise<boolean> {
  try {
    await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

describe('demo against a moto the test owns', () => {
  let moto: MotoServer;
  let result: DemoResult;
  let output = '';
  const reportPath = path.join(dir, 'in-process-report.html');

  beforeAll(async () => {
    moto = await startMoto();
    result = await runDemo({ motoEndpoint: moto.endpoint, reportPath, write: (t) => void (output += t), errorWrite: (t) => void (output += t) });
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('finishes without problems in well under 90 s', () => {
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.durationMs).toBeLessThan(90_000);
    expect(output).toContain('[6/9] Final scan and HTML report');
  });

  it('ends with a verdict over every check, and no line is wider than 100 columns', () => {
    expect(result.checks).toHaveLength(CHECKS);
    expect(result.checks.every((c) => c.ok)).toBe(true);
    expect(result.verdict).toBe(`All ${CHECKS} checks passed.`);
    const lines = output.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`All ${CHECKS} checks passed.`);
    expect(lines.filter((l) => [...l].length > 100)).toEqual([]);
    expect(output.match(/^ {2}✓ /gm)).toHaveLength(CHECKS);
  });

  it('seeds at least 60 tables in 3 Regions, and moto holds them', async () => {
    expect(result.plan.length).toBeGreaterThanOrEqual(60);
    const clients = new Clients({ endpoint: moto.endpoint });
    let total = 0;
    for (const region of DEMO_REGIONS) {
      const names = (await clients.get(DynamoDBClient, region).send(new ListTablesCommand({ Limit: 100 }))).TableNames ?? [];
      expect(names.sort()).toEqual(result.plan.filter((t) => t.region === region).map((t) => t.tableName).sort());
      total += names.length;
    }
    expect(total).toBe(result.plan.length);
    expect(new Set(result.plan.map((t) => t.state))).toEqual(new Set(['on', 'short', 'reenabled', 'off', 'exempt', 'exempt-expired', 'restored']));
  });

  it('the scheduled scan found exactly the seeded states', () => {
    const expected = expectedSummary(result.plan);
    expect(result.scheduled?.summary).toEqual(expected);
    const restored = result.scheduled?.findings.find((f) => f.tableName === 'prod-orders-restored-incident-4711');
    expect(restored?.status).toBe('NON_COMPLIANT');
    const reenabled = result.scheduled?.findings.find((f) => f.tableName === 'prod-carts');
    expect(reenabled?.reasons).toEqual(['PITR_ENABLED', 'RESTORE_WINDOW_NOT_FULL']);
    expect(result.scheduled?.findings.find((f) => f.tableName === 'analytics-backfill-tmp')?.reasons).toEqual(['PITR_DISABLED', 'EXEMPTION_EXPIRED']);
  });

  it('the reactor re-enabled the drifted table: moto reports PITR on with 35 days', async () => {
    expect(result.reactor?.status).toBe('handled');
    expect(result.reactor?.result).toBe('ENABLED');
    const ddb = new Clients({ endpoint: moto.endpoint }).get(DynamoDBClient, result.drift.region);
    const d = (await ddb.send(new DescribeContinuousBackupsCommand({ TableName: result.drift.tableName }))).ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
    expect(d?.PointInTimeRecoveryStatus).toBe('ENABLED');
    expect(d?.RecoveryPeriodInDays).toBe(35);
    expect(output).toMatch(/reactor: handled, ENABLED/);
  });

  it('alerted once on SNS (via SQS) and once on Slack, naming who did it; the duplicate was silent', () => {
    expect(result.sns).toHaveLength(1);
    expect(result.sns[0]!.subject).toContain(result.drift.tableName);
    expect(result.sns[0]!.message).toContain(result.drift.actorArn);
    expect(result.slack).toHaveLength(1);
    expect(JSON.stringify(result.slack[0]!.body)).toContain(result.drift.tableName);
    expect(result.duplicate?.status).toBe('duplicate');
    expect(output).toContain('new SNS alerts: 0, new Slack messages: 0');
  });

  it('the alert lifecycle: new, then nothing, then resolved + reminders; loop protection: two alerts and one escalation', () => {
    const digests = result.lifecycle?.digests ?? [];
    expect(digests).toHaveLength(2);
    expect(digests[0]!.subject).toMatch(/^\[pitr-guard\] \d{12}: \d+ new; \d+ still open$/);
    expect(digests[1]!.message).toContain('Resolved (1):');
    expect(digests[1]!.message).toContain('Reminders (');
    expect(result.lifecycle?.reactorAlerts.map((a) => a.kind)).toEqual(['change', 'change', 'escalation']);
    expect(result.lifecycle?.reactorAlerts[2]!.message).toContain('infrastructure as code (Terraform)');
    expect(output).toContain('[7/9] Alert lifecycle');
  });

  it('the deleted table: one alert naming who deleted it and the system backup, no UpdateContinuousBackups', () => {
    const d = result.deletedTable;
    expect(d?.result).toMatchObject({ status: 'handled', deleted: { backup: 'FOUND' } });
    expect(d?.updateContinuousBackupsCalls).toBe(0);
    expect(d?.alerts).toHaveLength(1);
    expect(d?.alerts[0]!.subject).toBe(`[pitr-guard] Table ${DELETED_TABLE} deleted (${result.accountId} eu-west-1): system backup kept`);
    expect(d?.alerts[0]!.message).toContain(`arn:aws:sts::${result.accountId}:assumed-role/DataPlatformAdmin/sam.ops`);
    expect(d?.alerts[0]!.message).toContain(`${DELETED_TABLE}$DeletedTableBackup`);
    expect(output).toContain('[8/9] A deleted table');
  });

  it('the Organization scan: 3 members × 2 Regions, the refused one in accountErrors with the fix, exact counts, the reports in moto S3', async () => {
    const o = result.organization!;
    const id = (name: string) => o.members[name]!;
    expect(o.execution.status).toBe('SUCCEEDED');
    expect(o.execution.invocations.filter((i) => i.state === 'ScanShard')).toHaveLength(4);
    const zero = { notApplicable: 0, error: 0 };
    expect(o.report.accounts.map((a) => [a.name, a.accountId, a.status, a.summary]).sort((x, y) => String(x[1]).localeCompare(String(y[1])))).toEqual([
      ['payments-prod', id('payments-prod'), 'SCANNED', { total: 4, compliant: 2, nonCompliant: 1, exempt: 1, ...zero }],
      ['analytics', id('analytics'), 'SCANNED', { total: 3, compliant: 1, nonCompliant: 2, exempt: 0, ...zero }],
      ['sandbox', id('sandbox'), 'ERROR', undefined],
    ].sort((x, y) => String(x[1]).localeCompare(String(y[1]))));
    expect(o.report.accountErrors).toEqual([expect.objectContaining({ accountId: id('sandbox'), operation: 'AssumeRole', errorName: 'AccessDenied', fix: expect.stringContaining('deploy the member template') })]);
    expect(o.report.findings.map((f) => `${f.accountId}/${f.region}/${f.tableName}`).sort()).toEqual(
      ORG_MEMBERS.filter((m) => !m.refused).flatMap((m) => m.tables.map((t) => `${id(m.name)}/${t.region}/${t.tableName}`)).sort(),
    );
    expect(o.reportKeys).toEqual(['report.csv', 'report.html', 'report.json', 'summary.json'].map((f) => `reports/${o.runId}/${f}`));
    const s3 = new Clients({ endpoint: moto.endpoint }).get(S3Client, 'us-east-1');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: ORG_BUCKET, Prefix: `reports/${o.runId}/` }));
    expect((listed.Contents ?? []).map((c) => c.Key).sort()).toEqual(o.reportKeys);
    expect(o.digests).toHaveLength(1);
    const flat = output.replace(/\n {2}(?![ |✓])/g, ' '); // the narrative's lines unfolded
    expect(flat).toContain('3 accounts × 2 Regions = 6 shards planned; 4 ran in parallel');
    expect(flat).toContain(`s3://${ORG_BUCKET}/reports/${o.runId}/report.json|csv|html`);
    expect(flat).toMatch(/refused: sandbox \(\d{12}\): AssumeRole failed with AccessDenied; fix: deploy the member template/);
  });

  it('wrote the HTML report with the seeded counts', () => {
    const expected = expectedSummary(result.plan);
    expect(cardCounts(readFileSync(reportPath, 'utf8'))).toEqual(expected);
  });
});

describe('pitr-guard demo (the CLI starts and stops its own moto)', () => {
  it('runs, writes the report and stops moto', async () => {
    let out = '';
    let err = '';
    const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: process.env, isTTY: {} };
    const reportPath = path.join(dir, 'cli-report.html');
    const code = await main(['node', 'pitr-guard', 'demo', '--output', reportPath], io);
    expect([code, err, code === 0 ? '' : out]).toEqual([0, '', '']);
    expect(out).toMatch(/Done in \d+\.\d s: moto stopped/);
    expect(out.trimEnd().split('\n').at(-1)).toBe(`All ${CHECKS} checks passed.`);
    const endpoint = /moto on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(endpoint).toBeDefined();
    expect(await reachable(endpoint as string)).toBe(false);
    expect(cardCounts(readFileSync(reportPath, 'utf8')).total).toBeGreaterThanOrEqual(60);
  });

  it('Ctrl-C stops moto and exits 130', async () => {
    const bundle = path.join(dir, 'cli.js');
    await build({ entryPoints: [path.join(root, 'lib/cli/main.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'cjs', logLevel: 'silent' });
    const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(bundle)}).main(process.argv).then((c) => (process.exitCode = c))`, 'pitr-guard', 'demo', '--output', path.join(dir, 'interrupted.html')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let signalled = false;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!signalled && out.includes('[2/9]')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const code = await exited;
    expect(signalled).toBe(true);
    expect(code).toBe(130);
    expect(out).toContain('SIGINT: stopping moto and the local servers');
    const endpoint = /moto on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(endpoint).toBeDefined();
    expect(await reachable(endpoint as string)).toBe(false);
  });
});
