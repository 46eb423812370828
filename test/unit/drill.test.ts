/**
 * Restore drills with aws-sdk-client-mock: the exact commands (RestoreTableToPointInTime with
 * UseLatestRestorableTime or RestoreDateTime, DeleteTable of the temporary table only, never a
 * write to the source), polling with backoff and its timeout, the cleanup on every path (failed
 * check, error, Ctrl-C, a table still CREATING, deletion protection, an ambiguous restore failure),
 * the ledger record (UpdateItem, trimming to 20), the pure helpers and the text output.
 */
import {
  DeleteTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  RestoreTableToPointInTimeCommand,
  ScanCommand,
  TagResourceCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { runDrillCommand, type DrillFlags, type SignalSource } from '../../lib/cli/drill';
import type { CliIo } from '../../lib/cli/io';
import { main } from '../../lib/cli/main';
import { drillTableName, drillTags, parseDrillTime, TABLE_NAME_MAX } from '../../lib/core/drill';
import { recordDrill, lastSuccessfulDrill } from '../../lib/state/drills';
import type { DrillRecord } from '../../lib/core/types';
import { awsError } from '../helpers/aws-errors';

const ddbMock = mockClient(DynamoDBClient);
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const SOURCE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`;
const NOW = new Date('2026-12-02T06:00:00.000Z');
const TEMP = 'orders-pitr-drill-20261202060000';
const TEMP_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TEMP}`;
const KEYS = [{ AttributeName: 'pk', KeyType: 'HASH' as const }];
const GSI = [{ IndexName: 'byCustomer', KeySchema: [{ AttributeName: 'c', KeyType: 'HASH' as const }] }];

function tempTable(over: Partial<TableDescription> = {}): TableDescription {
  return {
    TableName: TEMP,
    TableArn: TEMP_ARN,
    TableStatus: 'ACTIVE',
    KeySchema: KEYS,
    GlobalSecondaryIndexes: GSI,
    CreationDateTime: NOW,
    RestoreSummary: { SourceTableArn: SOURCE_ARN, RestoreDateTime: new Date('2026-12-02T05:55:00Z'), RestoreInProgress: false },
    ...over,
  };
}

/** A source table with PITR on; the temporary table exists from the restore until DeleteTable. */
function serve(opts: { restored?: Partial<TableDescription>[]; pitr?: string } = {}) {
  const states = [...(opts.restored ?? [{}])];
  let exists = false;
  ddbMock.on(DescribeTableCommand, { TableName: 'orders' }).resolves({ Table: { TableName: 'orders', TableArn: SOURCE_ARN, TableStatus: 'ACTIVE', KeySchema: KEYS, GlobalSecondaryIndexes: GSI, ItemCount: 3, TableSizeBytes: 2 * 1024 ** 3 } });
  ddbMock.on(DescribeContinuousBackupsCommand, { TableName: 'orders' }).resolves({
    ContinuousBackupsDescription: {
      ContinuousBackupsStatus: 'ENABLED',
      PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: (opts.pitr ?? 'ENABLED') as 'ENABLED', EarliestRestorableDateTime: new Date('2026-11-01T00:00:00Z'), LatestRestorableDateTime: new Date('2026-12-02T05:55:00Z') },
    },
  });
  ddbMock.on(RestoreTableToPointInTimeCommand).callsFake(async () => {
    exists = true;
    return { TableDescription: tempTable({ TableStatus: 'CREATING', ...(states[0] ?? {}) }) };
  });
  ddbMock.on(DescribeTableCommand, { TableName: TEMP }).callsFake(async () => {
    if (!exists) throw awsError('ResourceNotFoundException');
    const over = states.length > 1 ? states.shift()! : (states[0] ?? {});
    return { Table: tempTable(over) };
  });
  ddbMock.on(TagResourceCommand).resolves({});
  ddbMock.on(ScanCommand).resolvesOnce({ Count: 2, LastEvaluatedKey: { pk: { S: 'b' } } }).resolves({ Count: 1 });
  ddbMock.on(DeleteTableCommand, { TableName: TEMP }).callsFake(async () => {
    exists = false;
    return { TableDescription: { TableName: TEMP, TableStatus: 'DELETING' } };
  });
}

function capture(): CliIo & { out: string; err: string } {
  const c = { out: '', err: '', env: { AWS_REGION: REGION }, stdout: (t: string) => void (c.out += t), stderr: (t: string) => void (c.err += t) };
  return c;
}

class FakeSignals implements SignalSource {
  handlers = new Map<string, () => void>();
  on(s: string, h: () => void) {
    this.handlers.set(s, h);
  }
  off(s: string) {
    this.handlers.delete(s);
  }
  fire(s: 'SIGINT' | 'SIGTERM') {
    this.handlers.get(s)?.();
  }
}

async function drill(flags: Partial<DrillFlags> = {}, extra: { onSleep?: (ms: number) => void; signals?: FakeSignals; exit?: (c: number) => void } = {}) {
  const io = capture();
  const slept: number[] = [];
  let clock = NOW.getTime();
  const code = await runDrillCommand('orders', { format: 'json', yes: true, ...flags }, io, {
    sdkRegion: async () => undefined,
    now: () => new Date(clock),
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
      extra.onSleep?.(ms);
    },
    signals: extra.signals ?? new FakeSignals(),
    exit: extra.exit ?? (() => undefined),
  });
  return { code, io, slept, record: io.out && flags.format !== 'text' ? (JSON.parse(io.out) as DrillRecord) : undefined };
}

/** Every command sent, as [command name, the table it names]. */
function sent(): [string, unknown][] {
  return ddbMock.calls().map((c) => {
    const input = c.args[0].input as Record<string, unknown>;
    return [c.args[0].constructor.name, input.TargetTableName ?? input.TableName ?? input.ResourceArn];
  });
}

beforeEach(() => ddbMock.reset());

describe('pitr-guard drill (mocked DynamoDB)', () => {
  it('sends RestoreTableToPointInTime with UseLatestRestorableTime, checks, and deletes the temporary table only', async () => {
    serve({ restored: [{ TableStatus: 'CREATING' }, { TableStatus: 'CREATING' }, {}] });
    const { code, record, slept } = await drill();
    expect(code).toBe(0);
    expect(ddbMock).toHaveReceivedCommandWith(RestoreTableToPointInTimeCommand, { SourceTableName: 'orders', TargetTableName: TEMP, UseLatestRestorableTime: true });
    expect(ddbMock.commandCalls(RestoreTableToPointInTimeCommand)[0]!.args[0].input).toEqual({ SourceTableName: 'orders', TargetTableName: TEMP, UseLatestRestorableTime: true });
    expect(ddbMock).toHaveReceivedCommandWith(TagResourceCommand, { ResourceArn: TEMP_ARN, Tags: drillTags(record!.drillId, SOURCE_ARN, 'pitr-guard:exempt') });
    expect(ddbMock.commandCalls(DeleteTableCommand).map((c) => c.args[0].input)).toEqual([{ TableName: TEMP }]);
    // Polling backs off: 2 s, then 4 s (then ACTIVE); the Scan pages are paced at 10/s.
    expect(slept.slice(0, 2)).toEqual([2000, 4000]);
    expect(record).toMatchObject({ outcome: 'PASSED', cleanedUp: true, restorePoint: '2026-12-02T05:55:00.000Z', requested: 'LATEST' });
    expect(record!.restoreSeconds).toBeGreaterThanOrEqual(6);
    expect(record!.checks.find((c) => c.name === 'item-count')?.detail).toBe('3 items counted by Scan (Select COUNT); source ItemCount 3 (same)');
    expect(ddbMock.commandCalls(ScanCommand).map((c) => c.args[0].input)).toEqual([
      { TableName: TEMP, Select: 'COUNT' },
      { TableName: TEMP, Select: 'COUNT', ExclusiveStartKey: { pk: { S: 'b' } } },
    ]);
  });

  it('never sends the source table anything but Describe* (and the restore reads it as SourceTableName)', async () => {
    serve();
    await drill();
    const toSource = sent().filter(([, table]) => table === 'orders' || table === SOURCE_ARN);
    expect(toSource.map(([name]) => name).sort()).toEqual(['DescribeContinuousBackupsCommand', 'DescribeTableCommand']);
    for (const [name, table] of sent()) if (!/^Describe/.test(name)) expect([name, table]).toEqual([name, expect.stringMatching(/-pitr-drill-/)]);
  });

  it('sends RestoreDateTime for --to, and checks the restore point reached', async () => {
    serve({ restored: [{ RestoreSummary: { SourceTableArn: SOURCE_ARN, RestoreDateTime: new Date('2026-11-20T10:00:00Z'), RestoreInProgress: false } }] });
    const { code, record } = await drill({ to: '2026-11-20T10:00:00Z' });
    expect(ddbMock.commandCalls(RestoreTableToPointInTimeCommand)[0]!.args[0].input).toEqual({ SourceTableName: 'orders', TargetTableName: TEMP, RestoreDateTime: new Date('2026-11-20T10:00:00Z') });
    expect(code).toBe(0);
    expect(record!.checks.find((c) => c.name === 'restore-point')).toEqual({ name: 'restore-point', passed: true, detail: '2026-11-20T10:00:00.000Z reached, 2026-11-20T10:00:00.000Z asked for' });
  });

  it('a table that never becomes ACTIVE times out (FAILED, exit 1), and the cleanup waits out ResourceInUseException', async () => {
    serve({ restored: [{ TableStatus: 'CREATING' }] });
    ddbMock.on(DeleteTableCommand, { TableName: TEMP }).rejectsOnce(awsError('ResourceInUseException')).resolves({ TableDescription: { TableStatus: 'DELETING' } });
    ddbMock.on(DescribeTableCommand, { TableName: TEMP }).resolves({ Table: tempTable({ TableStatus: 'CREATING' }) });
    const { code, record } = await drill({ timeoutMinutes: '1' });
    expect(code).toBe(1);
    expect(record!.outcome).toBe('FAILED');
    expect(record!.error).toMatch(new RegExp(`^${TEMP} was not ACTIVE within 1 min \\(last status CREATING\\)`));
    // The second DeleteTable was accepted, but the table still reads CREATING: not verified.
    expect(ddbMock.commandCalls(DeleteTableCommand)).toHaveLength(2);
    expect(record!.cleanedUp).toBe(false);
    expect(record!.error).toContain(`aws dynamodb delete-table --table-name ${TEMP} --region ${REGION}`);
  });

  it('Ctrl-C during the wait stops the drill and deletes the table; a second prints the delete command; a third exits 130', async () => {
    serve({ restored: [{ TableStatus: 'CREATING' }] });
    const signals = new FakeSignals();
    const exits: number[] = [];
    let fired = false;
    const { code, record, io } = await drill(
      {},
      {
        signals,
        exit: (c) => exits.push(c),
        onSleep: () => {
          if (fired) return;
          fired = true;
          signals.fire('SIGINT');
          signals.fire('SIGINT');
          signals.fire('SIGTERM');
        },
      },
    );
    expect(code).toBe(1);
    expect(record!.error).toBe('cancelled (SIGINT) before the checks finished');
    expect(ddbMock.commandCalls(DeleteTableCommand).map((c) => c.args[0].input)).toEqual([{ TableName: TEMP }]);
    expect(record!.cleanedUp).toBe(true);
    expect(io.err).toContain(`pitr-guard: SIGINT: stopping the drill; deleting ${TEMP} first`);
    expect(io.err).toContain(`if you stop pitr-guard now, delete it with: aws dynamodb delete-table --table-name ${TEMP} --region ${REGION}`);
    expect(exits).toEqual([130]);
    expect(signals.handlers.size).toBe(0); // removed after the drill
  });

  it('switches off deletion protection on the temporary table before deleting it', async () => {
    serve();
    ddbMock.on(DeleteTableCommand, { TableName: TEMP }).rejectsOnce(awsError('ValidationException', 400, 'Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.')).resolves({});
    ddbMock.on(UpdateTableCommand).resolves({});
    ddbMock.on(DescribeTableCommand, { TableName: TEMP }).resolvesOnce({ Table: tempTable() }).rejects(awsError('ResourceNotFoundException'));
    const { code } = await drill();
    expect(code).toBe(0);
    expect(ddbMock.commandCalls(UpdateTableCommand).map((c) => c.args[0].input)).toEqual([{ TableName: TEMP, DeletionProtectionEnabled: false }]);
  });

  it('a restore refused with TableAlreadyExistsException deletes nothing when the table is not the drill\'s', async () => {
    serve();
    ddbMock.on(RestoreTableToPointInTimeCommand).rejects(awsError('TableAlreadyExistsException'));
    ddbMock.on(DescribeTableCommand, { TableName: TEMP }).resolves({ Table: tempTable({ RestoreSummary: undefined, CreationDateTime: new Date('2025-01-01T00:00:00Z') }) });
    const { code, record } = await drill();
    expect(code).toBe(1);
    expect(ddbMock.commandCalls(DeleteTableCommand)).toHaveLength(0);
    expect(record).toMatchObject({ outcome: 'FAILED', cleanedUp: true, restoreSeconds: null });
    expect(record!.error).toMatch(/^RestoreTableToPointInTime on orders failed: TableAlreadyExistsException/);
  });

  it('a restore whose answer was lost (the SDK retry says TableAlreadyExists) still deletes the table it created', async () => {
    serve();
    ddbMock.on(RestoreTableToPointInTimeCommand).rejects(awsError('TableAlreadyExistsException'));
    ddbMock.on(DescribeTableCommand, { TableName: TEMP }).resolvesOnce({ Table: tempTable() }).rejects(awsError('ResourceNotFoundException'));
    const { record } = await drill();
    expect(ddbMock.commandCalls(DeleteTableCommand).map((c) => c.args[0].input)).toEqual([{ TableName: TEMP }]);
    expect(record!.cleanedUp).toBe(true);
  });

  it('a DeleteTable that is denied leaves cleanedUp false, says how to delete, and exits 1', async () => {
    serve();
    ddbMock.on(DeleteTableCommand).rejects(awsError('AccessDeniedException'));
    const { code, record, io } = await drill({ format: 'text', yes: true });
    expect(code).toBe(1);
    expect(record).toBeUndefined();
    expect(io.out).toMatch(/^Drill [0-9a-f-]+ FAILED: orders \(eu-west-1\) restored in [\d.]+ s to 2026-12-02T05:55:00.000Z\n/);
    expect(io.out).toContain(`Temporary table   ${TEMP}: NOT deleted`);
    expect(io.err).toBe(`pitr-guard: ${TEMP} was NOT deleted: aws dynamodb delete-table --table-name ${TEMP} --region ${REGION}\n`);
  });

  it('without --yes prints the plan (2 GB to restore, price not known) and sends only Describe*', async () => {
    serve();
    const io = capture();
    const code = await runDrillCommand('orders', { format: 'text' }, io, { sdkRegion: async () => undefined, now: () => NOW });
    expect(code).toBe(0);
    expect(io.out).toContain('2.000 GB (TableSizeBytes, updated about every 6 hours) would be restored');
    expect(io.out).toContain(`Temporary table   ${TEMP}`);
    expect(sent().map(([n]) => n).sort()).toEqual(['DescribeContinuousBackupsCommand', 'DescribeTableCommand']);
  });

  it('refuses before any AWS call: a bad table name, --timeout-minutes, --ledger-table, and an ARN of another Region', async () => {
    const run = async (args: string[]) => {
      const io = capture();
      const code = await main(['node', 'pitr-guard', 'drill', ...args], io);
      return { code, err: io.err };
    };
    expect(await run(['a'])).toEqual({ code: 2, err: expect.stringMatching(/^pitr-guard: Invalid TABLE="a"/) });
    expect(await run(['orders', '--timeout-minutes', '0'])).toEqual({ code: 2, err: 'pitr-guard: Invalid --timeout-minutes="0": must be a whole number of minutes, 1-1440\n' });
    expect(await run(['orders', '--ledger-table', 'x'])).toEqual({ code: 2, err: expect.stringMatching(/^pitr-guard: Invalid --ledger-table="x"/) });
    expect(await run([SOURCE_ARN, '--region', 'us-east-1'])).toEqual({ code: 2, err: expect.stringMatching(/names Region eu-west-1 but --region is us-east-1/) });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it('stores the record with --ledger-table; a ledger failure is exit 1 with one line', async () => {
    serve();
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: { drills: { L: [{ S: '{}' }] } } });
    const ok = await drill({ ledgerTable: 'pitr-guard-findings' });
    expect(ok.code).toBe(0);
    expect(ddbMock.commandCalls(UpdateItemCommand)[0]!.args[0].input).toMatchObject({ TableName: 'pitr-guard-findings', Key: { tableArn: { S: SOURCE_ARN } } });
    ddbMock.reset();
    serve();
    ddbMock.on(UpdateItemCommand).rejects(awsError('AccessDeniedException'));
    const bad = await drill({ ledgerTable: 'pitr-guard-findings' });
    expect(bad.code).toBe(1);
    expect(bad.record!.outcome).toBe('PASSED');
    expect(bad.io.err).toMatch(/^pitr-guard: the drill record could not be stored in the ledger: UpdateItem on pitr-guard-findings \(drill record of .+\) failed: AccessDeniedException/);
  });
});

describe('the drill record in the ledger (lib/state/drills.ts)', () => {
  const record: DrillRecord = {
    drillId: 'd-1', accountId: ACCOUNT, region: REGION, tableName: 'orders', tableArn: SOURCE_ARN, temporaryTableName: TEMP,
    startedAt: '2026-12-02T06:00:00.000Z', finishedAt: '2026-12-02T06:01:00.000Z', outcome: 'PASSED', requested: 'LATEST',
    restorePoint: '2026-12-02T05:55:00.000Z', restoreSeconds: 42, checks: [{ name: 'restored', passed: true, detail: 'ok' }], cleanedUp: true,
  };

  it('sets lastDrill and lastSuccessfulDrill, appends to drills and history in one UpdateItem', async () => {
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: { drills: { L: [{ S: '{}' }] } } });
    await recordDrill(new DynamoDBClient({ region: REGION }), 'ledger', record);
    expect(ddbMock.commandCalls(UpdateItemCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'ledger',
        Key: { tableArn: { S: SOURCE_ARN } },
        UpdateExpression: 'SET lastDrill = :drill, drills = list_append(if_not_exists(drills, :empty), :one), history = list_append(if_not_exists(history, :historyEmpty), :history), lastSuccessfulDrill = :drill',
        ExpressionAttributeValues: {
          ':drill': { S: JSON.stringify(record) },
          ':one': { L: [{ S: JSON.stringify(record) }] },
          ':empty': { L: [] },
          ':historyEmpty': { L: [] },
          ':history': { L: [{ M: { at: { S: record.finishedAt }, event: { S: 'DRILL' }, detail: { S: 'drill d-1 PASSED: restored in 42 s to 2026-12-02T05:55:00.000Z' } } }] },
        },
        ReturnValues: 'UPDATED_NEW',
      },
    ]);
  });

  it('a FAILED drill leaves lastSuccessfulDrill alone; past 20 drills the oldest are removed, conditioned on the length', async () => {
    ddbMock.on(UpdateItemCommand).resolvesOnce({ Attributes: { drills: { L: Array.from({ length: 22 }, () => ({ S: '{}' })) } } }).resolves({});
    await recordDrill(new DynamoDBClient({ region: REGION }), 'ledger', { ...record, outcome: 'FAILED', error: 'x' });
    const [append, trim] = ddbMock.commandCalls(UpdateItemCommand).map((c) => c.args[0].input);
    expect(append!.UpdateExpression).not.toContain('lastSuccessfulDrill');
    expect(trim).toEqual({ TableName: 'ledger', Key: { tableArn: { S: SOURCE_ARN } }, UpdateExpression: 'REMOVE drills[0], drills[1]', ConditionExpression: 'size(drills) = :length', ExpressionAttributeValues: { ':length': { N: '22' } } });
  });

  it('past 100 history entries the oldest are removed, conditioned on the length (best effort: a failed trim still records the drill)', async () => {
    const history = { L: Array.from({ length: 102 }, () => ({ M: {} })) };
    ddbMock.on(UpdateItemCommand).resolvesOnce({ Attributes: { drills: { L: [{ S: '{}' }] }, history } }).rejects(Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' }));
    await expect(recordDrill(new DynamoDBClient({ region: REGION }), 'ledger', record)).resolves.toBeUndefined();
    const [, trim] = ddbMock.commandCalls(UpdateItemCommand).map((c) => c.args[0].input);
    expect(trim).toEqual({ TableName: 'ledger', Key: { tableArn: { S: SOURCE_ARN } }, UpdateExpression: 'REMOVE history[0], history[1]', ConditionExpression: 'size(history) = :historyLength', ExpressionAttributeValues: { ':historyLength': { N: '102' } } });
    expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(2);
  });

  it('reads lastSuccessfulDrill back as a DrillSummary (malformed: absent)', () => {
    expect(lastSuccessfulDrill(JSON.stringify(record))).toEqual({ drillId: 'd-1', at: '2026-12-02T06:01:00.000Z', restoreSeconds: 42, restorePoint: '2026-12-02T05:55:00.000Z' });
    expect(lastSuccessfulDrill('{not json')).toBeUndefined();
    expect(lastSuccessfulDrill(undefined)).toBeUndefined();
  });
});

describe('drill helpers', () => {
  it('names the temporary table within 255 characters, with a valid charset', () => {
    expect(drillTableName('orders', NOW)).toBe(TEMP);
    const long = drillTableName('t'.repeat(255), NOW);
    expect(long).toHaveLength(TABLE_NAME_MAX);
    expect(long).toMatch(/^[A-Za-z0-9_.-]+-pitr-drill-20261202060000$/);
  });

  it('tags without a comma (DynamoDB tag values do not allow one)', () => {
    for (const t of drillTags('d', SOURCE_ARN, 'pitr-guard:exempt')) expect(t.Value).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u);
  });

  it('parses --to only as ISO 8601 with a zone', () => {
    expect(parseDrillTime('2026-12-01T08:30:00Z').toISOString()).toBe('2026-12-01T08:30:00.000Z');
    expect(parseDrillTime('2026-12-01T09:30:00+01:00').toISOString()).toBe('2026-12-01T08:30:00.000Z');
    expect(() => parseDrillTime('2026-12-01 08:30')).toThrow('must be an ISO 8601 time with a zone');
    expect(() => parseDrillTime('2026-12-01T08:30:00')).toThrow('must be an ISO 8601 time with a zone');
  });
});
