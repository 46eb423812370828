/**
 * The Organization aggregate with the alert lifecycle (lib/jobs/org-scan/aggregate.ts, deps.lifecycle):
 * the ShardFiles' transitions become exactly ONE change digest per run, with the scheduled scan's
 * mapping and renderer (exact sections and counts), none when nothing changed and nothing is
 * unscanned, account and shard errors in every digest, bounded top-N sections with "…and N more",
 * nothing in mode report; strict checks of ShardFile.lifecycle.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import type { Transition } from '../../lib/core/lifecycle';
import { aggregate, ChangeTotals, checkShardFile, type AggregateDeps } from '../../lib/jobs/org-scan/aggregate';
import { planKey, shardFileKey, shardsKey, type RunPlan, type ShardFile, type ShardItem } from '../../lib/jobs/org-scan/contract';
import type { Notifier, RenderedAlert } from '../../lib/notify';
import { silentLogger } from '../../lib/runtime/logger';
import { aggregateInput, alertOutcome, childRecord, shardFile, shardOutput, syntheticFinding as f, syntheticTransition as tr } from '../../dev/org-run';

const s3 = mockClient(S3Client);
const RUN = 'run-1';
const BUCKET = 'reports-bucket';
const [A, B, C] = ['111111111111', '222222222222', '333333333333'];
let objects: Map<string, string>;

beforeEach(() => {
  s3.reset();
  objects = new Map();
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const body = objects.get(input.Key);
    if (body === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: { transformToString: async () => body } };
  });
  s3.on(PutObjectCommand).resolves({ ETag: '"x"' });
});

const item = (accountId: string, region: string): ShardItem => ({ runId: RUN, bucket: BUCKET, accountId, region, startedAt: '2026-12-01T10:00:00.000Z' });

function plan(mode: string, accounts: string[], extra: Partial<RunPlan> = {}): RunPlan {
  return {
    runId: RUN,
    startedAt: '2026-12-01T10:00:00.000Z',
    accountId: A,
    homeRegion: 'us-east-1',
    policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', mode, dryRun: false },
    accounts: accounts.map((accountId) => ({ accountId, status: 'SCANNED' as const })),
    accountErrors: [],
    regions: ['eu-west-1', 'us-east-1'],
    shardCount: 0,
    ...extra,
  };
}

/** Stores a run whose shards all succeeded with these files, plus `failed` shards (Step Functions' catcher output). */
function store(p: RunPlan, files: ShardFile[], failed: ShardItem[] = []) {
  const shards = [...files.map((file) => item(file.shard.accountId, file.shard.region)), ...failed];
  objects.set(planKey(RUN), JSON.stringify({ ...p, shardCount: shards.length }));
  objects.set(shardsKey(RUN), JSON.stringify(shards));
  for (const file of files) objects.set(shardFileKey(RUN, file.shard.accountId, file.shard.region), JSON.stringify(file));
  const succeeded = files.map((file) => childRecord(item(file.shard.accountId, file.shard.region), { output: shardOutput(file) }));
  const errors = failed.map((s) => childRecord(s, { output: { status: 'ERROR', accountId: s.accountId, region: s.region, error: { Error: 'Lambda.TooManyRequestsException', Cause: 'Rate exceeded' } } }));
  objects.set(`runs/${RUN}/results/SUCCEEDED_0.json`, JSON.stringify([...succeeded, ...errors]));
  objects.set(`runs/${RUN}/results/manifest.json`, JSON.stringify({ DestinationBucket: BUCKET, MapRunArn: 'arn', ResultFiles: { SUCCEEDED: [{ Key: `runs/${RUN}/results/SUCCEEDED_0.json`, Size: 1 }], FAILED: [], PENDING: [] } }));
  return aggregateInput({ runId: RUN, bucket: BUCKET, shards, plan: p });
}

function notifier(): { alerts: RenderedAlert[]; notifier: Notifier } {
  const alerts: RenderedAlert[] = [];
  return { alerts, notifier: { channel: 'sns', send: async (alert: RenderedAlert) => void alerts.push(alert) } as Notifier };
}

function deps(sent: ReturnType<typeof notifier>, extra: Partial<AggregateDeps> = {}): AggregateDeps {
  return { clients: new Clients({ credentials: { accessKeyId: 'k', secretAccessKey: 's' } }), homeRegion: 'us-east-1', logger: silentLogger, notifiers: [sent.notifier], now: () => new Date('2026-12-01T11:00:00.000Z'), lifecycle: true, ...extra };
}

const lifecycle = (transitions: Transition[], openIncidents: number, repeatedlyDisabled = 0) => ({ lifecycle: { transitions, openIncidents, repeatedlyDisabled } });

describe('aggregate with the alert lifecycle: one change digest per run', () => {
  it('transitions of several shards → exactly one digest with the exact sections and counts', async () => {
    const newA = f(A, 'eu-west-1', 'orders', 'NON_COMPLIANT');
    const fixedA = f(A, 'eu-west-1', 'carts', 'NON_COMPLIANT'); // re-enabled by this shard: New, fixed by pitr-guard, closed
    const resolvedB = f(B, 'us-east-1', 'users', 'COMPLIANT');
    const remindB = f(B, 'us-east-1', 'ledger', 'ERROR');
    const loopB = f(B, 'us-east-1', 'sessions', 'COMPLIANT');
    const fileA = shardFile(RUN, A, 'eu-west-1', [newA, fixedA, f(A, 'eu-west-1', 'fine', 'COMPLIANT')], {
      outcomes: [alertOutcome(newA), { ...alertOutcome(fixedA, 'ENABLED', 'remediate'), recoveryPeriodInDays: 35 }],
      ...lifecycle([tr(newA, 'NEW'), tr(fixedA, 'NEW'), tr(fixedA, 'RESOLVED', { status: 'COMPLIANT', reasons: ['PITR_ENABLED'], fixedBy: 'pitr-guard', openedAt: '2026-12-01T10:00:00.000Z' })], 1),
    });
    const fileB = shardFile(RUN, B, 'us-east-1', [resolvedB, remindB, loopB], {
      ...lifecycle(
        [
          tr(resolvedB, 'RESOLVED', { fixedBy: 'arn:aws:iam::222222222222:user/alice' }),
          tr(remindB, 'REMINDER', { reminder: 2 }),
          tr(loopB, 'LOOP', { silencedDisables: 2, disables: [1, 2, 3, 4].map((n) => ({ eventId: `e${n}`, at: '2026-12-01T09:0' + n + ':00.000Z', principal: 'arn:aws:iam::222222222222:role/deployer' })) }),
        ],
        4,
        1,
      ),
    });
    const quiet = shardFile(RUN, B, 'eu-west-1', [f(B, 'eu-west-1', 'old', 'NON_COMPLIANT')], lifecycle([], 1));
    const sent = notifier();
    const out = await aggregate(store(plan('alert', [A, B]), [fileA, fileB, quiet]), deps(sent));
    expect(sent.alerts).toHaveLength(1);
    expect(out.delivery).toBeDefined();
    const alert = sent.alerts[0]!;
    expect(alert.subject).toBe(`[pitr-guard] ${A}: 2 new, 1 resolved, 1 reminder, 1 looping; 6 still open`);
    expect(alert.text).toBe(
      [
        `pitr-guard: what changed in 2 accounts of the Organization scan run from ${A} (eu-west-1, us-east-1) since the last scan, at 2026-12-01T10:00:00.000Z`,
        'Mode alert. 2 new, 1 resolved, 1 reminder, 1 looping; 6 still open.',
        '',
        'New (2):',
        `- carts (eu-west-1, ${A}): PITR not enabled; re-enabled (35 days) and verified: fixed by pitr-guard`,
        `- orders (eu-west-1, ${A}): PITR not enabled; alert only, not changed`,
        '',
        'Resolved (1):',
        `- users (us-east-1, ${B}): compliant again; fixed by arn:aws:iam::222222222222:user/alice (open since 2026-11-30 08:00 UTC)`,
        '',
        'Reminders (1):',
        `- ledger (us-east-1, ${B}): could not be read: DescribeContinuousBackups failed with AccessDeniedException, open since 2026-11-30 08:00 UTC (reminder 2)`,
        '',
        'Loop protection (1):',
        `- sessions (us-east-1, ${B}): switched off 4 times within the loop window; 2 disables not alerted (loop protection)`,
        '',
        'Still open: 6 incidents (each is alerted once, then reminded when due).',
        '',
      ].join('\n'),
    );
    expect(alert.attributes).toMatchObject({ kind: 'digest', new: '2', resolved: '1', reminders: '1', stillOpen: '6' });
    // Slack names the member account of each line (not the central one).
    const slack = JSON.stringify(alert.slack.blocks);
    expect(slack).toContain('`users` (us-east-1, `222222222222`)');
    expect(slack).toContain('`orders` (eu-west-1):'); // the central account's own tables as in the single-account digest
  });

  it('nothing changed and nothing unscanned: no digest at all', async () => {
    const old = f(A, 'eu-west-1', 'old', 'NON_COMPLIANT');
    const files = [shardFile(RUN, A, 'eu-west-1', [old], { outcomes: [alertOutcome(old)], ...lifecycle([], 1) }), shardFile(RUN, A, 'us-east-1', [f(A, 'us-east-1', 'ok', 'COMPLIANT')], lifecycle([], 0))];
    const sent = notifier();
    const out = await aggregate(store(plan('alert', [A]), files), deps(sent));
    expect(sent.alerts).toEqual([]);
    expect(out.delivery).toBeUndefined();
    expect(out.problems).toBe(true); // the table is still out of policy in the report
  });

  it('account and shard errors are listed in every digest, and alone send one', async () => {
    const accountErrors = [{ accountId: C, operation: 'AssumeRole', errorName: 'AccessDenied', message: 'no', fix: 'deploy the member template to this account' }];
    const p = plan('alert', [A], { accounts: [{ accountId: A, status: 'SCANNED' }, { accountId: C, status: 'ERROR' }], accountErrors: accountErrors as RunPlan['accountErrors'] });
    const sent = notifier();
    await aggregate(store(p, [shardFile(RUN, A, 'eu-west-1', [], lifecycle([], 3))], [item(A, 'us-east-1')]), deps(sent));
    expect(sent.alerts).toHaveLength(1);
    const alert = sent.alerts[0]!;
    expect(alert.subject).toBe(`[pitr-guard] ${A}: 2 not scanned; 3 still open`);
    expect(alert.text).toContain(
      ['Not scanned (2):', `- Account ${C} could not be scanned: AssumeRole failed with AccessDenied; fix: deploy the member template to this account`, `- Region us-east-1 of account ${A} could not be scanned: its shard failed with Lambda.TooManyRequestsException`].join('\n'),
    );
  });

  it('a shard file without lifecycle (shard ran without the findings table) is named, never silently left out', async () => {
    const sent = notifier();
    await aggregate(store(plan('alert', [A]), [shardFile(RUN, A, 'eu-west-1', [f(A, 'eu-west-1', 'x', 'NON_COMPLIANT')])]), deps(sent));
    expect(sent.alerts).toHaveLength(1);
    expect(sent.alerts[0]!.text).toContain(`- Region eu-west-1 of account ${A}: its shard recorded no alert lifecycle (PITR_GUARD_FINDINGS_TABLE not set for orgShard?): its tables are not in this digest`);
  });

  it('bounded: top-N lines per section with "…and N more", the full counts in subject and headings', async () => {
    const files = [A, B, C].map((account) => {
      const bad = Array.from({ length: 40 }, (_, n) => f(account, 'eu-west-1', `t${String(n).padStart(3, '0')}`, 'NON_COMPLIANT'));
      return shardFile(RUN, account, 'eu-west-1', bad, { outcomes: bad.map((x) => alertOutcome(x)), ...lifecycle(bad.map((x) => tr(x, 'NEW')), 40) });
    });
    const sent = notifier();
    await aggregate(store(plan('alert', [A, B, C]), files), deps(sent, { maxListed: 5, maxListedSlack: 3 }));
    expect(sent.alerts).toHaveLength(1);
    const alert = sent.alerts[0]!;
    expect(alert.subject).toBe(`[pitr-guard] ${A}: 120 new; 120 still open`);
    const listed = alert.text.split('\n').filter((l) => l.startsWith('- '));
    expect(listed).toEqual([
      `- t000 (eu-west-1, ${A}): PITR not enabled; alert only, not changed`,
      `- t000 (eu-west-1, ${B}): PITR not enabled; alert only, not changed`,
      `- t000 (eu-west-1, ${C}): PITR not enabled; alert only, not changed`,
      `- t001 (eu-west-1, ${A}): PITR not enabled; alert only, not changed`,
      `- t001 (eu-west-1, ${B}): PITR not enabled; alert only, not changed`,
      '- …and 115 more.',
    ]);
    expect(alert.text).toContain('New (120):');
    expect(JSON.stringify(alert.slack.blocks)).toContain('…and 117 more (the email lists up to 5).');
  });

  it('ChangeTotals holds at most 2 × maxListed lines per section, whatever the number of transitions', () => {
    const totals = new ChangeTotals(10);
    for (let s = 0; s < 200; s++) {
      const bad = Array.from({ length: 25 }, (_, n) => f(A, 'eu-west-1', `s${s}-t${n}`, 'NON_COMPLIANT'));
      totals.add(shardFile(RUN, A, 'eu-west-1', bad, lifecycle(bad.map((x) => tr(x, 'NEW')), 25)), 'alert', false, A);
      expect((totals.sections.newIncidents as unknown as { items: unknown[] }).items.length).toBeLessThanOrEqual(20);
    }
    expect(totals.sections.newIncidents.total).toBe(5000);
    expect(totals.sections.newIncidents.values()).toHaveLength(10);
    expect(totals.stillOpen).toBe(5000);
  });

  it('mode report: nothing sent, even with transitions and shard errors', async () => {
    const x = f(A, 'eu-west-1', 'x', 'NON_COMPLIANT');
    const sent = notifier();
    const out = await aggregate(store(plan('report', [A]), [shardFile(RUN, A, 'eu-west-1', [x], lifecycle([tr(x, 'NEW')], 1))], [item(A, 'us-east-1')]), deps(sent));
    expect(sent.alerts).toEqual([]);
    expect(out.delivery).toBeUndefined();
  });

  it('without a findings table (deps.lifecycle unset): the classic digest of everything out of policy, as before', async () => {
    const x = f(A, 'eu-west-1', 'x', 'NON_COMPLIANT');
    const sent = notifier();
    await aggregate(store(plan('alert', [A]), [shardFile(RUN, A, 'eu-west-1', [x], { outcomes: [alertOutcome(x)] })]), deps(sent, { lifecycle: false }));
    expect(sent.alerts).toHaveLength(1);
    expect(sent.alerts[0]!.subject).toBe(`[pitr-guard] Scan ${A}: 1 table out of policy (1 not changed)`);
  });
});

describe('checkShardFile: ShardFile.lifecycle', () => {
  const where = { accountId: A, region: 'eu-west-1', runId: RUN };
  const x = f(A, 'eu-west-1', 'x', 'NON_COMPLIANT');
  it('accepts a well-formed lifecycle and refuses malformed ones, naming the field', () => {
    expect(typeof checkShardFile(shardFile(RUN, A, 'eu-west-1', [x], lifecycle([tr(x, 'NEW')], 1)), where)).toBe('object');
    expect(checkShardFile(shardFile(RUN, A, 'eu-west-1', [x], { lifecycle: { transitions: 'no', openIncidents: 1, repeatedlyDisabled: 0 } as never }), where)).toBe('lifecycle.transitions is not an array');
    expect(checkShardFile(shardFile(RUN, A, 'eu-west-1', [x], lifecycle([], -1)), where)).toBe('lifecycle.openIncidents is not a count');
    expect(checkShardFile(shardFile(RUN, A, 'eu-west-1', [x], lifecycle([{ ...tr(x, 'NEW'), kind: 'OPENED' as never }], 1)), where)).toBe('lifecycle.transitions[0] is not a Transition');
    expect(checkShardFile(shardFile(RUN, A, 'eu-west-1', [x], lifecycle([tr(f(B, 'eu-west-1', 'y', 'NON_COMPLIANT'), 'NEW')], 1)), where)).toBe(`lifecycle.transitions[0] is a table of ${B}/eu-west-1`);
  });
});
