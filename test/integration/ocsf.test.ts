/**
 * `pitr-guard scan --format ocsf` end to end on moto: the CLI's output file is validated by
 * test/ocsf/validate.py with the project virtualenv's py-ocsf-models (ComplianceFinding.model_validate,
 * OCSF 1.5.0) plus the schema rules the models do not enforce; and the validator itself rejects
 * records that break those rules (so a pass means something).
 */
import { CreateTableCommand, DynamoDBClient, UpdateContinuousBackupsCommand } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Clients } from '../../lib/aws/clients';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { projectRoot, startMoto, type MotoServer } from '../../dev/local/moto';

const run = promisify(execFile);
const root = projectRoot();
const python = path.join(root, '.venv', 'bin', 'python');
const validator = path.join(root, 'test', 'ocsf', 'validate.py');
const dir = mkdtempSync(path.join(tmpdir(), 'pitr-guard-ocsf-'));
let moto: MotoServer;

interface Rec {
  [key: string]: unknown;
  time: number;
  type_uid: number;
  severity: string;
  status: string;
  compliance: { status: string; status_id: number; standards?: string[] };
  resources: { name: string; uid: string }[];
  finding_info: { uid: string };
  remediation: { desc: string };
}

async function validate(file: string, expected?: number): Promise<{ code: number; out: string }> {
  try {
    const r = await run(python, [validator, file, ...(expected === undefined ? [] : [String(expected)])]);
    return { code: 0, out: r.stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string };
    return { code: e.code ?? -1, out: e.stdout ?? '' };
  }
}

beforeAll(async () => {
  moto = await startMoto();
  const ddb = new Clients({ endpoint: moto.endpoint }).get(DynamoDBClient, 'us-east-1');
  const create = async (name: string, tags: Record<string, string> = {}) =>
    ddb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  await create('ocsf-compliant');
  await ddb.send(new UpdateContinuousBackupsCommand({ TableName: 'ocsf-compliant', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 } }));
  await create('ocsf-short');
  await ddb.send(new UpdateContinuousBackupsCommand({ TableName: 'ocsf-short', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 7 } }));
  await create('ocsf-off');
  await create('ocsf-exempt', { 'pitr-guard:exempt': 'cache, rebuilt on loss' });
});

afterAll(async () => {
  await moto?.stop();
});

describe('scan --format ocsf on moto', () => {
  const file = path.join(dir, 'findings.ocsf.json');
  let records: Rec[];

  beforeAll(async () => {
    let err = '';
    const io: CliIo = { env: { AWS_REGION: 'us-east-1' }, stdout: () => undefined, stderr: (t) => void (err += t), isTTY: { stdin: false, stdout: false, stderr: false } };
    const code = await main(['node', 'pitr-guard', 'scan', '--regions', 'us-east-1', '--format', 'ocsf', '--output', file, '--endpoint-url', moto.endpoint], io);
    expect(code).toBe(1); // two non-compliant tables
    expect(err).toContain(`wrote the ocsf report (4 tables) to ${file}`);
    records = JSON.parse(readFileSync(file, 'utf8')) as Rec[];
  });

  it('validates with py-ocsf-models and the stricter schema checks, one record per table', async () => {
    const r = await validate(file, 4);
    expect(r.out).toBe('OK: 4 OCSF 1.5.0 Compliance Finding records valid\n');
    expect(r.code).toBe(0);
  });

  it('maps each status to its compliance status, severity and finding status', () => {
    const by = Object.fromEntries(records.map((r) => [r.resources[0]!.name, r]));
    const pick = (n: string) => [by[n]!.compliance.status, by[n]!.severity, by[n]!.status, by[n]!.type_uid];
    expect(pick('ocsf-off')).toEqual(['Fail', 'High', 'New', 200301]);
    expect(pick('ocsf-short')).toEqual(['Fail', 'Medium', 'New', 200301]);
    expect(pick('ocsf-exempt')).toEqual(['Warning', 'Informational', 'Suppressed', 200301]);
    expect(pick('ocsf-compliant')).toEqual(['Warning', 'Low', 'Resolved', 200301]); // moto: the restore window only starts at the enable time
    expect(by['ocsf-off']!.resources[0]).toMatchObject({ uid: 'arn:aws:dynamodb:us-east-1:123456789012:table/ocsf-off', type: 'AWS::DynamoDB::Table', region: 'us-east-1' });
    expect(by['ocsf-off']!.cloud).toEqual({ provider: 'AWS', region: 'us-east-1', account: { uid: '123456789012', name: '123456789012', type_id: 10, type: 'AWS Account' } });
    expect(by['ocsf-off']!.finding_info.uid).toBe('pitr-guard/dynamodb-pitr:arn:aws:dynamodb:us-east-1:123456789012:table/ocsf-off');
    expect(by['ocsf-off']!.remediation.desc).toContain('aws dynamodb update-continuous-backups');
  });

  it('the validator fails loudly on records that break the schema where the models are lax', async () => {
    const broken = records.map((r) => JSON.parse(JSON.stringify(r)) as Rec);
    broken[0]!.time = Math.floor(broken[0]!.time / 1000); // seconds, as Prowler writes
    delete broken[1]!.compliance.standards;
    broken[2]!.type_uid = 200302; // activity_id stays 1
    broken[3]!.extra_field = true;
    const bad = path.join(dir, 'broken.json');
    writeFileSync(bad, JSON.stringify(broken));
    const r = await validate(bad, 4);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/record 0 .*: time \d+ is not a timestamp_t in milliseconds/);
    expect(r.out).toMatch(/record 1 .*: compliance.standards \(required\) missing or empty/);
    expect(r.out).toMatch(/record 2 .*: type_uid 200302 != class_uid\*100\+activity_id/);
    expect(r.out).toMatch(/record 3 .*: attribute extra_field is not a compliance_finding attribute/);
  });

  it('the validator passes the py-ocsf-models check only for valid enum values', async () => {
    const broken = [{ ...records[0]!, severity_id: 7, severity: undefined }];
    const bad = path.join(dir, 'broken-enum.json');
    writeFileSync(bad, JSON.stringify(broken));
    const r = await validate(bad, 1);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/py-ocsf-models rejected it: .*severity_id/);
    expect(r.out).toMatch(/severity_id 7 not in the enum/);
  });
});
