/** lib/aws/security-hub.ts against aws-sdk-client-mock: the exact commands, batching, retries, archive, UpdatedAt. */
import { BatchImportFindingsCommand, GetFindingsCommand, SecurityHubClient, type AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { batches, importFindings, MAX_BATCH_BYTES, ownActiveFindings, publishReport, publishToSecurityHub, targetsOf } from '../../lib/aws/security-hub';
import type { ScanReport } from '../../lib/aws/scan';
import { evaluate } from '../../lib/core/evaluate';
import type { Finding } from '../../lib/core/types';
import { findingId, toAsff } from '../../lib/report/asff';
import { REFRESH_DAYS, archivedRecord, needsImport, nextUpdatedAt } from '../../lib/report/asff-lifecycle';
import { awsError } from '../helpers/aws-errors';
import { DAY, NOW, facts, pitrEnabled } from '../helpers/builders';

const hub = mockClient(SecurityHubClient);
const POLICY = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
const RUN = { generatedAt: NOW.toISOString(), minRecoveryDays: 35, exemptTag: POLICY.exemptTag };
const fast = { sleep: async () => undefined, baseDelayMs: 0 };
const ACCOUNT = '123456789012';

const table = (name: string, overrides: Parameters<typeof facts>[0] = {}): Finding =>
  evaluate(facts({ tableName: name, tableArn: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/${name}`, ...overrides }), POLICY, NOW);
const stored = (f: Finding, updatedAt: string, extra: Partial<AwsSecurityFinding> = {}): AwsSecurityFinding => ({ ...toAsff(f, { ...RUN, generatedAt: updatedAt }), Region: 'eu-west-1', ...extra });

function report(findings: Finding[], extra: Partial<ScanReport> = {}): ScanReport {
  return {
    generatedAt: NOW.toISOString(),
    accountId: ACCOUNT,
    accounts: [{ accountId: ACCOUNT, status: 'SCANNED', regions: ['eu-west-1'] }],
    accountErrors: [],
    regions: ['eu-west-1'],
    policy: POLICY,
    summary: { total: findings.length } as ScanReport['summary'],
    findings,
    vanished: [],
    regionErrors: [],
    regionSummaries: [],
    shardErrors: [],
    ...extra,
  };
}

beforeEach(() => {
  hub.reset();
  hub.on(GetFindingsCommand).resolves({ Findings: [] });
  hub.on(BatchImportFindingsCommand).callsFake(async (input: { Findings: AwsSecurityFinding[] }) => ({ FailedCount: 0, SuccessCount: input.Findings.length, FailedFindings: [] }));
});

describe('ownActiveFindings', () => {
  it('asks for pitr-guard’s own ACTIVE findings of this account and Region, pages through NextToken, and keeps only those (filters again)', async () => {
    const mine = stored(table('orders'), '2026-11-01T00:00:00.000Z');
    const other = { ...mine, Id: 'other', GeneratorId: 'someone-else' };
    const archived = { ...mine, Id: 'archived', RecordState: 'ARCHIVED' as const };
    hub.on(GetFindingsCommand).resolvesOnce({ Findings: [mine, other], NextToken: 'page-2' }).resolvesOnce({ Findings: [archived] });
    const found = await ownActiveFindings(new SecurityHubClient({ region: 'eu-west-1' }), { accountId: ACCOUNT, region: 'eu-west-1', productArn: `arn:aws:securityhub:eu-west-1:${ACCOUNT}:product/${ACCOUNT}/default` }, fast);
    expect([...found.keys()]).toEqual([mine.Id]);
    const eq = (Value: string) => [{ Value, Comparison: 'EQUALS' }];
    expect(hub.commandCalls(GetFindingsCommand).map((c) => c.args[0].input)).toEqual([
      {
        Filters: { ProductArn: eq(`arn:aws:securityhub:eu-west-1:${ACCOUNT}:product/${ACCOUNT}/default`), GeneratorId: eq('pitr-guard/dynamodb-pitr'), AwsAccountId: eq(ACCOUNT), Region: eq('eu-west-1'), RecordState: eq('ACTIVE') },
        MaxResults: 100,
      },
      {
        Filters: { ProductArn: eq(`arn:aws:securityhub:eu-west-1:${ACCOUNT}:product/${ACCOUNT}/default`), GeneratorId: eq('pitr-guard/dynamodb-pitr'), AwsAccountId: eq(ACCOUNT), Region: eq('eu-west-1'), RecordState: eq('ACTIVE') },
        MaxResults: 100,
        NextToken: 'page-2',
      },
    ]);
  });

  it('is paced at GetFindings’ 3 calls per second', async () => {
    hub.on(GetFindingsCommand).resolvesOnce({ Findings: [], NextToken: 'a' }).resolvesOnce({ Findings: [], NextToken: 'b' }).resolvesOnce({ Findings: [] });
    const waits: number[] = [];
    let now = 0; // a virtual clock the fake sleep moves
    await ownActiveFindings(new SecurityHubClient({ region: 'eu-west-1' }), { accountId: ACCOUNT, region: 'eu-west-1', productArn: 'x'.repeat(12) }, { clock: () => now, sleep: async (ms) => void (waits.push(ms), (now += ms)) });
    // three pages: the first call goes at once, each later one a third of a second after the one before
    const positive = waits.filter((ms) => ms > 0);
    expect(positive).toHaveLength(2);
    for (const ms of positive) {
      expect(ms).toBeGreaterThan(300);
      expect(ms).toBeLessThanOrEqual(1000 / 3 + 1);
    }
    expect(now).toBeGreaterThanOrEqual(2000 / 3 - 1);
  });
});

describe('importFindings', () => {
  const records = (n: number) => Array.from({ length: n }, (_, i) => toAsff(table(`t${String(i).padStart(3, '0')}`), RUN));

  it('sends 250 findings as 100, 100 and 50, in order', async () => {
    const all = records(250);
    const out = await importFindings(new SecurityHubClient({ region: 'eu-west-1' }), all, fast);
    expect(out.failures).toEqual([]);
    const calls = hub.commandCalls(BatchImportFindingsCommand).map((c) => c.args[0].input.Findings ?? []);
    expect(calls.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(calls.flat().map((r) => r.Id)).toEqual(all.map((r) => r.Id));
  });

  it('keeps a batch under 6 MB', () => {
    const big = records(60).map((r) => ({ ...r, ProductFields: { 'pitr-guard/Pad': 'x'.repeat(200_000) } }));
    const sizes = batches(big).map((b) => b.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)), 0));
    expect(sizes.length).toBeGreaterThan(1);
    for (const s of sizes) expect(s).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(batches(big).flat()).toHaveLength(60);
  });

  it('checks FailedCount: resends only the failed findings with backoff, then reports those still failing', async () => {
    const all = records(3);
    hub
      .on(BatchImportFindingsCommand)
      .resolvesOnce({ FailedCount: 2, SuccessCount: 1, FailedFindings: [{ Id: all[1]!.Id, ErrorCode: 'InternalException', ErrorMessage: 'try again' }, { Id: all[2]!.Id, ErrorCode: 'InvalidInput', ErrorMessage: 'bad' }] })
      .resolves({ FailedCount: 1, SuccessCount: 0, FailedFindings: [{ Id: all[2]!.Id, ErrorCode: 'InvalidInput', ErrorMessage: 'bad' }] });
    const waits: number[] = [];
    const out = await importFindings(new SecurityHubClient({ region: 'eu-west-1' }), all, { attempts: 3, baseDelayMs: 100, sleep: async (ms) => void waits.push(ms) });
    const sent = hub.commandCalls(BatchImportFindingsCommand).map((c) => (c.args[0].input.Findings ?? []).map((r) => r.Id));
    expect(sent).toEqual([all.map((r) => r.Id), [all[1]!.Id, all[2]!.Id], [all[2]!.Id]]);
    expect(out.failures).toEqual([{ id: all[2]!.Id, errorName: 'InvalidInput', message: 'bad' }]);
    expect(waits.length).toBeGreaterThanOrEqual(2);
  });

  it('retries throttling with backoff; a call that keeps failing reports every finding of the batch', async () => {
    const all = records(2);
    hub.on(BatchImportFindingsCommand).rejectsOnce(awsError('TooManyRequestsException', 429)).resolves({ FailedCount: 0, SuccessCount: 2 });
    expect((await importFindings(new SecurityHubClient({ region: 'eu-west-1' }), all, fast)).failures).toEqual([]);
    hub.reset();
    hub.on(BatchImportFindingsCommand).rejects(awsError('InvalidAccessException', 401, 'Security Hub is not enabled'));
    const out = await importFindings(new SecurityHubClient({ region: 'eu-west-1' }), all, fast);
    expect(out.failures).toEqual(all.map((r) => ({ id: r.Id, errorName: 'InvalidAccessException', message: 'Security Hub is not enabled' })));
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(1);
  });

  it('counts FailedCount without FailedFindings as the whole batch failed', async () => {
    hub.on(BatchImportFindingsCommand).resolves({ FailedCount: 1, SuccessCount: 0 });
    const out = await importFindings(new SecurityHubClient({ region: 'eu-west-1' }), records(1), { ...fast, attempts: 2 });
    expect(out.failures).toHaveLength(1);
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(2);
  });
});

describe('UpdatedAt and what is re-imported', () => {
  it('is always strictly newer than the stored one', () => {
    expect(nextUpdatedAt('2026-11-21T12:00:00.000Z', undefined)).toBe('2026-11-21T12:00:00.000Z');
    expect(nextUpdatedAt('2026-11-21T12:00:00.000Z', '2026-11-20T00:00:00.000Z')).toBe('2026-11-21T12:00:00.000Z');
    expect(nextUpdatedAt('2026-11-21T12:00:00.000Z', '2026-11-21T12:00:00.000Z')).toBe('2026-11-21T12:00:00.001Z');
    expect(nextUpdatedAt('2026-11-21T12:00:00.000Z', '2026-11-22T00:00:00.000Z')).toBe('2026-11-22T00:00:00.001Z');
  });

  it('re-imports a changed finding, or an unchanged one after REFRESH_DAYS; leaves a recent unchanged one', () => {
    const f = table('orders');
    const next = toAsff(f, RUN);
    const recent = stored(f, new Date(NOW.getTime() - DAY).toISOString());
    expect(needsImport(next, undefined, RUN.generatedAt)).toBe(true);
    expect(needsImport(next, recent, RUN.generatedAt)).toBe(false);
    expect(needsImport(next, stored(table('orders', { pitr: { status: 'DISABLED' } }), recent.UpdatedAt as string), RUN.generatedAt)).toBe(true);
    expect(needsImport(next, stored(table('orders', { pitr: pitrEnabled(7) }), recent.UpdatedAt as string), RUN.generatedAt)).toBe(true);
    expect(needsImport(next, stored(f, new Date(NOW.getTime() - REFRESH_DAYS * DAY).toISOString()), RUN.generatedAt)).toBe(true);
  });

  it('imports with an UpdatedAt after the stored one and keeps the stored CreatedAt', async () => {
    const before = table('orders', { pitr: { status: 'DISABLED' } });
    const s = stored(before, '2026-11-21T12:00:00.000Z', { CreatedAt: '2026-10-01T00:00:00.000Z' });
    hub.on(GetFindingsCommand).resolves({ Findings: [s] });
    const out = await publishToSecurityHub([{ accountId: ACCOUNT, region: 'eu-west-1', findings: [table('orders')], archive: true }], RUN, { clients: new Clients(), ...fast });
    expect(out).toEqual(expect.objectContaining({ imported: 1, unchanged: 0, archived: 0, failed: 0 }));
    const sent = hub.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings![0]!;
    expect(sent).toEqual(expect.objectContaining({ Id: s.Id, UpdatedAt: '2026-11-21T12:00:00.001Z', CreatedAt: '2026-10-01T00:00:00.000Z', RecordState: 'ACTIVE' }));
    expect(sent.Compliance?.Status).toBe('PASSED');
  });
});

describe('publishReport', () => {
  it('imports every table once, archives a stored finding whose table is gone, leaves unchanged ones alone, records the delivery on the report', async () => {
    const kept = table('kept');
    const gone = stored(table('gone', { pitr: { status: 'DISABLED' } }), '2026-11-20T00:00:00.000Z');
    hub.on(GetFindingsCommand).resolves({ Findings: [stored(kept, '2026-11-20T00:00:00.000Z'), gone] });
    const r = report([kept, table('new', { pitr: { status: 'DISABLED' } })]);
    const out = await publishReport(r, { clients: new Clients(), ...fast });
    expect(out).toEqual(expect.objectContaining({ imported: 1, unchanged: 1, archived: 1, failed: 0 }));
    const sent = hub.commandCalls(BatchImportFindingsCommand).flatMap((c) => c.args[0].input.Findings ?? []);
    expect(sent.map((x) => [x.Id, x.RecordState, x.Compliance?.Status])).toEqual([
      [findingId(table('new')), 'ACTIVE', 'FAILED'],
      [gone.Id, 'ARCHIVED', 'NOT_AVAILABLE'],
    ]);
    expect(sent[1]!.UpdatedAt).toBe(NOW.toISOString());
    expect(r.securityHub).toEqual(expect.objectContaining({ imported: 1, archived: 1 }));
  });

  it('never archives in a Region that could not be listed, and keeps an ERROR table’s finding (NOT_AVAILABLE)', async () => {
    const err = table('broken', { pitr: undefined, error: { operation: 'DescribeContinuousBackups', errorName: 'AccessDeniedException', message: 'no' } });
    const r = report([err], {
      regions: ['eu-west-1', 'us-east-1'],
      accounts: [{ accountId: ACCOUNT, status: 'SCANNED', regions: ['eu-west-1', 'us-east-1'] }],
      regionErrors: [{ region: 'us-east-1', operation: 'ListTables', errorName: 'AccessDeniedException', message: 'no' }],
    });
    expect(targetsOf(r).map((t) => [t.region, t.findings.length, t.archive])).toEqual([['eu-west-1', 1, true]]);
    await publishReport(r, { clients: new Clients(), ...fast });
    expect(hub.commandCalls(GetFindingsCommand)).toHaveLength(1);
    expect(hub.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings!.map((x) => x.Compliance?.Status)).toEqual(['NOT_AVAILABLE']);
  });

  it('a Region read in parts (an Organization shard): a part that is not the last archives nothing; the last archives only what the whole listing no longer holds', async () => {
    const earlier = stored(table('alpha'), '2026-11-20T00:00:00.000Z'); // read by an earlier part, still listed
    const gone = stored(table('beta', { pitr: { status: 'DISABLED' } }), '2026-11-20T00:00:00.000Z');
    hub.on(GetFindingsCommand).resolves({ Findings: [earlier, gone] });
    const mid = report([table('omega')], { range: { region: 'eu-west-1', startAfter: 'alpha', lastTable: 'omega', done: false } });
    expect(targetsOf(mid).map((t) => [t.region, t.archive])).toEqual([['eu-west-1', false]]);
    await publishReport(mid, { clients: new Clients(), ...fast });
    expect(hub.commandCalls(BatchImportFindingsCommand).flatMap((c) => c.args[0].input.Findings ?? []).map((x) => x.RecordState)).toEqual(['ACTIVE']);
    hub.resetHistory();
    const last = report([table('zeta')], { range: { region: 'eu-west-1', startAfter: 'omega', lastTable: 'zeta', done: true } });
    expect(targetsOf(last).map((t) => t.archive)).toEqual([false]); // without the whole listing: never on a guess
    const out = await publishReport(last, { clients: new Clients(), ...fast }, new Set(['alpha', 'omega', 'zeta']));
    expect(out).toEqual(expect.objectContaining({ imported: 1, archived: 1 }));
    expect(hub.commandCalls(BatchImportFindingsCommand).flatMap((c) => c.args[0].input.Findings ?? []).map((x) => [x.Id, x.RecordState])).toEqual([
      [findingId(table('zeta')), 'ACTIVE'],
      [gone.Id, 'ARCHIVED'],
    ]);
    // A Region read in one part archives as before.
    expect(targetsOf(report([], { range: { region: 'eu-west-1', done: true } })).map((t) => t.archive)).toEqual([true]);
  });

  it('a GetFindings failure leaves the Region’s findings unimported and reported, never archived on a guess', async () => {
    hub.on(GetFindingsCommand).rejects(awsError('InvalidAccessException', 401, 'Account is not subscribed to AWS Security Hub'));
    const r = report([table('a'), table('b')]);
    const out = await publishReport(r, { clients: new Clients(), ...fast });
    expect(out.failed).toBe(2);
    expect(out.failures).toEqual([{ accountId: ACCOUNT, region: 'eu-west-1', operation: 'GetFindings', errorName: 'InvalidAccessException', message: 'Account is not subscribed to AWS Security Hub (2 finding(s) not imported)' }]);
    expect(hub.commandCalls(BatchImportFindingsCommand)).toHaveLength(0);
  });

  it('uses the clients of each table’s own account (member credentials) and Region', async () => {
    const clients = new Clients();
    const member = '210987654321';
    const f = evaluate(facts({ accountId: member, region: 'us-east-1', tableArn: `arn:aws:dynamodb:us-east-1:${member}:table/orders` }), POLICY, NOW);
    const r = report([f], { accounts: [{ accountId: member, status: 'SCANNED', regions: ['us-east-1'] }], regions: ['us-east-1'] });
    const spy = jest.spyOn(clients, 'get');
    await publishReport(r, { clients, ...fast });
    expect(spy).toHaveBeenCalledWith(SecurityHubClient, 'us-east-1', member);
    const sent = hub.commandCalls(BatchImportFindingsCommand)[0]!.args[0].input.Findings![0]!;
    expect(sent).toEqual(expect.objectContaining({ AwsAccountId: member, ProductArn: `arn:aws:securityhub:us-east-1:${member}:product/${member}/default` }));
  });
});

describe('one table (the reactor’s entry point)', () => {
  it('with archive off imports the one table and archives nothing, even with other stored findings', async () => {
    hub.on(GetFindingsCommand).resolves({ Findings: [stored(table('other'), '2026-11-20T00:00:00.000Z')] });
    const out = await publishToSecurityHub([{ accountId: ACCOUNT, region: 'eu-west-1', findings: [table('orders', { pitr: { status: 'DISABLED' } })], archive: false }], RUN, { clients: new Clients(), ...fast });
    expect(out).toEqual(expect.objectContaining({ imported: 1, archived: 0, failed: 0 }));
    expect(hub.commandCalls(BatchImportFindingsCommand).flatMap((c) => c.args[0].input.Findings ?? []).map((f) => f.Id)).toEqual([findingId(table('orders'))]);
  });
});

describe('archivedRecord', () => {
  it('is the stored record, ARCHIVED, NOT_AVAILABLE, with a newer UpdatedAt and only pitr-guard’s own ProductFields', () => {
    const s = stored(table('gone'), '2026-11-21T12:00:00.000Z', { ProductFields: { 'aws/securityhub/FindingId': 'x', 'pitr-guard/Status': 'COMPLIANT' }, Workflow: { Status: 'NEW' } });
    const a = archivedRecord(s, NOW.toISOString(), 'the tables of account 123456789012 in eu-west-1');
    expect(a).toEqual(expect.objectContaining({ Id: s.Id, RecordState: 'ARCHIVED', UpdatedAt: '2026-11-21T12:00:00.001Z', CreatedAt: s.CreatedAt, ProductFields: { 'pitr-guard/Status': 'TABLE_NOT_FOUND' } }));
    expect(a.Compliance?.Status).toBe('NOT_AVAILABLE');
    expect(a).not.toHaveProperty('Workflow');
    expect(a).not.toHaveProperty('Region');
  });
});
