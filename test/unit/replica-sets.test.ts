import { evaluate } from '../../lib/core/evaluate';
import { LinkIndex, linkFinding, linkFindings } from '../../lib/core/links';
import { arnAccount, replicaSetOf } from '../../lib/core/replica-sets';
import type { Finding, TableFacts } from '../../lib/core/types';
import { facts, NOW } from '../helpers/builders';

const policy = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
const replicas = [{ regionName: 'eu-west-1', replicaStatus: 'ACTIVE' }, { regionName: 'us-east-1', replicaStatus: 'ACTIVE' }, { regionName: 'ap-south-1', replicaStatus: 'ACTIVE' }];
const replica = (region: string, over: Partial<TableFacts> = {}) =>
  evaluate(facts({ region, tableArn: `arn:aws:dynamodb:${region}:123456789012:table/orders`, replicas, globalTableVersion: '2019.11.21', ...over }), policy, NOW);

describe('replica sets', () => {
  it('a regional table has no set', () => {
    expect(evaluate(facts(), policy, NOW).replicaSet).toBeUndefined();
  });

  it('evaluate alone: its own replica resolved, the others NOT_SCANNED, so the set is not compliant', () => {
    const f = replica('eu-west-1');
    expect(f.replicaSet).toEqual({
      globalTableVersion: '2019.11.21',
      setId: '123456789012:orders@ap-south-1+eu-west-1+us-east-1',
      compliant: false,
      replicas: [
        { region: 'ap-south-1', accountId: '123456789012', replicaStatus: 'ACTIVE', status: 'NOT_SCANNED' },
        { region: 'eu-west-1', accountId: '123456789012', replicaStatus: 'ACTIVE', status: 'COMPLIANT' },
        { region: 'us-east-1', accountId: '123456789012', replicaStatus: 'ACTIVE', status: 'NOT_SCANNED' },
      ],
    });
    expect(f.message).toMatch(/ Replica of global table 123456789012:orders@ap-south-1\+eu-west-1\+us-east-1 \(other replicas: ap-south-1 not scanned, us-east-1 not scanned\): the set is NOT compliant\.$/);
  });

  it('adds the own Region when Replicas does not list it', () => {
    const set = replicaSetOf({ accountId: '1', region: 'eu-west-1', tableName: 't', replicas: [{ regionName: 'us-east-1' }] }, 'NON_COMPLIANT');
    expect(set?.replicas.map((r) => [r.region, r.status])).toEqual([['eu-west-1', 'NON_COMPLIANT'], ['us-east-1', 'NOT_SCANNED']]);
  });

  it('a report links every replica: one with PITR off makes the set non-compliant and the other replica says so', () => {
    const linked = linkFindings([replica('eu-west-1'), replica('us-east-1', { pitr: { status: 'DISABLED' } })]);
    const [eu, us] = linked as [Finding, Finding];
    expect(eu.status).toBe('COMPLIANT');
    expect(eu.replicaSet?.compliant).toBe(false);
    expect(eu.replicaSet?.replicas.map((r) => [r.region, r.status])).toEqual([['ap-south-1', 'NOT_SCANNED'], ['eu-west-1', 'COMPLIANT'], ['us-east-1', 'NON_COMPLIANT']]);
    expect(eu.message).toBe('PITR is enabled with a recovery period of 35 days. Replica of global table 123456789012:orders@ap-south-1+eu-west-1+us-east-1 (other replicas: ap-south-1 not scanned, us-east-1 NON_COMPLIANT): the set is NOT compliant.');
    expect(us.message).toMatch(/^PITR is disabled\. Replica of global table .*\(other replicas: ap-south-1 not scanned, eu-west-1 COMPLIANT\): the set is NOT compliant\.$/);
    // Linking again (multi-account merge, aggregate) replaces the sentence instead of adding a second.
    expect(linkFindings(linked)).toEqual(linked);
  });

  it('EXEMPT counts as compliant; every replica scanned and compliant or exempt → compliant set', () => {
    const two = [{ regionName: 'eu-west-1' }, { regionName: 'us-east-1' }];
    const linked = linkFindings([
      replica('eu-west-1', { replicas: two }),
      replica('us-east-1', { replicas: two, pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'scratch copy' } }),
    ]);
    expect(linked.map((f) => f.replicaSet?.compliant)).toEqual([true, true]);
    expect(linked[0]?.message).toMatch(/other replicas: us-east-1 EXEMPT\): the set is compliant\.$/);
  });

  it('takes a replica account from its ReplicaArn', () => {
    expect(arnAccount('arn:aws:dynamodb:us-east-1:210987654321:table/orders')).toBe('210987654321');
    expect(arnAccount('not-an-arn')).toBeUndefined();
    const f = replica('eu-west-1', { replicas: [{ regionName: 'us-east-1', replicaArn: 'arn:aws:dynamodb:us-east-1:210987654321:table/orders' }] });
    expect(f.replicaSet?.replicas.find((r) => r.region === 'us-east-1')?.accountId).toBe('210987654321');
    expect(f.message).toMatch(/us-east-1 \(account 210987654321\) not scanned/);
  });
});

describe('multi-account global tables', () => {
  it('a multi-account report links replicas named by ReplicaArn in another account', () => {
    const other = '210987654321';
    const mk = (accountId: string, region: string, pitr: 'ENABLED' | 'DISABLED') =>
      evaluate(
        facts({
          accountId,
          region,
          tableArn: `arn:aws:dynamodb:${region}:${accountId}:table/orders`,
          pitr: pitr === 'ENABLED' ? { status: 'ENABLED', recoveryPeriodInDays: 35 } : { status: 'DISABLED' },
          replicas: [
            { regionName: 'eu-west-1', replicaArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders' },
            { regionName: 'us-east-1', replicaArn: `arn:aws:dynamodb:us-east-1:${other}:table/orders` },
          ],
        }),
        policy,
        NOW,
      );
    const [a, b] = linkFindings([mk('123456789012', 'eu-west-1', 'ENABLED'), mk(other, 'us-east-1', 'DISABLED')]) as [Finding, Finding];
    expect(a.replicaSet?.replicas.map((r) => [r.accountId, r.region, r.status])).toEqual([['123456789012', 'eu-west-1', 'COMPLIANT'], [other, 'us-east-1', 'NON_COMPLIANT']]);
    expect(b.replicaSet?.replicas.map((r) => [r.accountId, r.region, r.status])).toEqual([['123456789012', 'eu-west-1', 'COMPLIANT'], [other, 'us-east-1', 'NON_COMPLIANT']]);
    expect(a.message).toMatch(/other replicas: us-east-1 \(account 210987654321\) NON_COMPLIANT\): the set is NOT compliant\.$/);
    // Each account computes its own set id (documented limit): the sets are not merged by id.
    expect(a.replicaSet?.setId).not.toBe(b.replicaSet?.setId);
  });
});

describe('restored tables', () => {
  const source = 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders';
  const restored = (over: Partial<TableFacts> = {}) =>
    evaluate(facts({ tableName: 'orders-copy', tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders-copy', pitr: { status: 'DISABLED' }, restoreSummary: { sourceTableArn: source, restoreDateTime: new Date('2026-11-20T00:00:00Z'), restoreInProgress: false }, ...over }), policy, NOW);

  it('names its source and the source status from the report', () => {
    const [copy] = linkFindings([restored(), evaluate(facts(), policy, NOW)]) as [Finding];
    expect(copy.restore).toEqual({ sourceTableArn: source, sourceBackupArn: null, restoreDateTime: '2026-11-20T00:00:00.000Z', restoreInProgress: false, sourceStatus: 'COMPLIANT' });
    expect(copy.reasons).toEqual(['PITR_DISABLED', 'RESTORED_WITHOUT_PITR']);
    expect(copy.message).toMatch(/restored from table .*orders at 2026-11-20T00:00:00\.000Z, and a restored table starts with PITR off\. Its source table is COMPLIANT in this report\.$/);
  });

  it('a source outside the report is NOT_SCANNED; a backup source has no status', () => {
    expect(linkFindings([restored()])[0]?.restore?.sourceStatus).toBe('NOT_SCANNED');
    const backup = `${source}/backup/01700000000000-abcdef12`;
    const fromBackup = linkFindings([restored({ restoreSummary: { sourceBackupArn: backup, sourceTableArn: source } }), evaluate(facts(), policy, NOW)])[0] as Finding;
    expect(fromBackup.restore).toMatchObject({ sourceBackupArn: backup, sourceTableArn: source, sourceStatus: null });
    expect(fromBackup.message).toMatch(/backup: the source table's current status does not apply to it\.$/);
  });

  it('a table restored under its deleted source name does not report its own status as the source status', () => {
    const same = restored({ tableName: 'orders', tableArn: source });
    expect(linkFindings([same])[0]?.restore?.sourceStatus).toBe('NOT_SCANNED');
  });

  it('a compliant restored table still shows its source', () => {
    const f = linkFindings([restored({ pitr: { status: 'ENABLED', recoveryPeriodInDays: 35 } }), evaluate(facts({ pitr: { status: 'DISABLED' } }), policy, NOW)])[0] as Finding;
    expect(f.status).toBe('COMPLIANT');
    expect(f.message).toBe(`PITR is enabled with a recovery period of 35 days. Restored from table ${source} at 2026-11-20T00:00:00.000Z. Its source table is NON_COMPLIANT in this report.`);
  });

  it('an exemption on the source does not carry over to the restored table', () => {
    const [copy] = linkFindings([restored(), evaluate(facts({ pitr: { status: 'DISABLED' }, tags: { 'pitr-guard:exempt': 'test data' } }), policy, NOW)]) as [Finding];
    expect(copy.status).toBe('NON_COMPLIANT');
    expect(copy.restore?.sourceStatus).toBe('EXEMPT');
  });

  it('the bounded index resolves a source seen before or after its restored table (second pass)', () => {
    const src = evaluate(facts({ pitr: { status: 'DISABLED' } }), policy, NOW);
    const copy = restored();
    const index = new LinkIndex();
    for (const f of [src, copy, evaluate(facts({ tableName: 'plain', tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/plain' }), policy, NOW)]) index.add(f);
    expect(index.unresolved).toBe(1);
    index.resolve(src);
    expect(index.unresolved).toBe(0);
    expect(index.size).toBe(1);
    expect(linkFinding(copy, index).restore?.sourceStatus).toBe('NON_COMPLIANT');
  });
});
