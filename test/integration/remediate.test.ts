/**
 * Remediation through the fault-injecting proxy in front of moto (moto's tables are ACTIVE at once
 * and never answer ContinuousBackupsUnavailableException): DescribeTable says CREATING and
 * UpdateContinuousBackups answers ContinuousBackupsUnavailableException for the first N calls.
 * A CreateTable event then ends ENABLED once the table is "ACTIVE", and DEFERRED (the invocation
 * fails, to be retried) when the window runs out.
 */
import { RemediationDeferredError, makeDeps, reactorHandler } from '../../functions/pitr-change';
import { Clients } from '../../lib/aws/clients';
import { MemoryIdempotencyStore } from '../../lib/state/idempotency';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { silentLogger } from '../../lib/runtime/logger';
import { act } from '../../lib/act/remediate';
import type { Policy } from '../../lib/core/types';
import { createTable, pitrOf, topicWithInbox, type TopicInbox } from '../helpers/alerting';
import { loadEvent } from '../helpers/builders';
import { lambdaContext } from '../helpers/lambda';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../dev/local/proxy';

let moto: MotoServer;
let proxy: FaultProxy;
let inbox: TopicInbox;
const policy: Policy = { mode: 'remediate', minRecoveryDays: 30, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false };
const ref = (tableName: string) => ({ accountId: '123456789012', region: 'us-east-1', tableName });
const fast = { pollMs: 50, maxPollMs: 200 };

const creating = (times?: number): FaultRule => ({
  operation: 'DescribeTable',
  ...(times !== undefined ? { times } : {}),
  rewrite: (answer) => ({ ...answer, Table: { ...(answer.Table as Record<string, unknown>), TableStatus: 'CREATING' } }),
});
const unavailable = (times?: number): FaultRule => ({
  operation: 'UpdateContinuousBackups',
  ...(times !== undefined ? { times } : {}),
  fail: { status: 400, type: 'ContinuousBackupsUnavailableException', message: 'Backups are being enabled for the table: invoices. Please retry later' },
});

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  inbox = await topicWithInbox(moto.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});
beforeEach(() => proxy.setRules([]));

describe('remediation of a table that is not ready yet', () => {
  it('waits out CREATING and ContinuousBackupsUnavailableException, then ENABLED with the policy period', async () => {
    await createTable(moto.endpoint, 'invoices');
    proxy.setRules([creating(3), unavailable(2)]);
    const out = await act(ref('invoices'), { clients: new Clients({ endpoint: proxy.endpoint }), policy }, { waitForActiveMs: 20_000, ...fast });
    expect(out).toMatchObject({ result: 'ENABLED', attempts: 3, recoveryPeriodInDays: 30 });
    expect(proxy.injected.UpdateContinuousBackups).toBe(2);
    expect(await pitrOf(moto.endpoint, 'invoices')).toEqual({ status: 'ENABLED', days: 30 });
  });

  it('DEFERRED when the table stays CREATING past the window (nothing sent)', async () => {
    await createTable(moto.endpoint, 'slow-table');
    proxy.setRules([creating()]);
    const updatesBefore = proxy.calls.UpdateContinuousBackups ?? 0;
    const started = Date.now();
    const out = await act(ref('slow-table'), { clients: new Clients({ endpoint: proxy.endpoint }), policy }, { waitForActiveMs: 1_000, ...fast });
    expect(out).toMatchObject({ result: 'DEFERRED', attempts: 0 });
    expect(out.message).toMatch(/^PITR could not be enabled yet: the table is still CREATING after 1 s\.$/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(proxy.calls.UpdateContinuousBackups ?? 0).toBe(updatesBefore);
    expect(await pitrOf(moto.endpoint, 'slow-table')).toMatchObject({ status: 'DISABLED' });
  });

  it('DEFERRED with the error name when backups stay unavailable', async () => {
    await createTable(moto.endpoint, 'no-backups-yet');
    proxy.setRules([unavailable()]);
    const out = await act(ref('no-backups-yet'), { clients: new Clients({ endpoint: proxy.endpoint }), policy }, { waitForActiveMs: 800, ...fast });
    expect(out).toMatchObject({ result: 'DEFERRED', errorName: 'ContinuousBackupsUnavailableException' });
    expect(out.attempts).toBeGreaterThan(1);
  });
});

describe('the reactor on a CreateTable event through the proxy', () => {
  const deps = () => {
    const d = makeDeps({
      policy: { ...policy, alertTopicArn: inbox.topicArn },
      clients: new Clients({ endpoint: proxy.endpoint }),
      logger: silentLogger,
      homeRegion: 'us-east-1',
      remediate: { waitForActiveMs: 1_500, ...fast },
    });
    d.idempotency = store;
    return d;
  };
  const store = new MemoryIdempotencyStore();
  const run = (event: unknown, d: ReturnType<typeof deps>) => reactorHandler(() => d)(event, lambdaContext('pitr-guard-dev-pitrChange'));

  it('window runs out: alerts "deferred" once and fails the invocation; the retry (table ACTIVE) enables PITR and alerts', async () => {
    await createTable(moto.endpoint, 'invoices-2');
    const e = loadEvent<{ detail: { requestParameters: Record<string, unknown> } }>('cloudtrail-create-table.json');
    e.detail.requestParameters.tableName = 'invoices-2';

    proxy.setRules([creating()]);
    await expect(run(e, deps())).rejects.toBeInstanceOf(RemediationDeferredError);
    await expect(run(e, deps())).rejects.toBeInstanceOf(RemediationDeferredError);
    expect((await inbox.receive(1)).map((m) => m.Subject)).toEqual(['[pitr-guard] Table invoices-2 created without PITR (123456789012 us-east-1): deferred']);

    proxy.setRules([creating(1), unavailable(1)]);
    const out = await run(e, deps());
    expect(out).toMatchObject({ status: 'handled', result: 'ENABLED' });
    expect(await pitrOf(moto.endpoint, 'invoices-2')).toEqual({ status: 'ENABLED', days: 30 });
    expect((await inbox.receive(2)).map((m) => m.Subject)[1]).toBe('[pitr-guard] Table invoices-2 created without PITR (123456789012 us-east-1): enabled');
  });
});
