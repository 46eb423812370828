/**
 * The Organization aggregate (lib/jobs/org-scan/aggregate.ts) against a mocked S3: the exact
 * GetObject / PutObject commands, the manifest and record parsing, a shard error for every path
 * (ShardErrorOutput, FAILED, PENDING, no result, unreadable or foreign ShardFile), the streamed
 * reports byte for byte equal to the CLI renderers' output for the same report (worst first across
 * shards), the summaries, one digest per run from bounded top-N lists, and strict input checks.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Clients } from '../../lib/aws/clients';
import { regionSummaries, sortFindings, summarize, type ScanReport } from '../../lib/aws/scan';
import { costTotals } from '../../lib/core/cost';
import { AlertDeliveryError, InvalidEventError } from '../../lib/core/errors';
import { evaluate } from '../../lib/core/evaluate';
import { linkFindings } from '../../lib/core/links';
import type { Finding, TableFacts } from '../../lib/core/types';
import { aggregate, checkShardFile, TopN, type AggregateDeps } from '../../lib/jobs/org-scan/aggregate';
import { planKey, shardFileKey, shardsKey, type AggregateInput, type RunPlan, type ShardErrorOutput, type ShardItem, type ShardOutput } from '../../lib/jobs/org-scan/contract';
import { causeMessage, parseAggregateInput, parseManifest, recordResult } from '../../lib/jobs/org-scan/results';
import type { Notifier, RenderedAlert } from '../../lib/notify';
import { renderCsv } from '../../lib/report/csv';
import { renderHtml } from '../../lib/report/html';
import { renderJson } from '../../lib/report/json';
import { silentLogger } from '../../lib/runtime/logger';
import { aggregateInput, alertOutcome, childRecord, shardFile, shardOutput, syntheticFinding as f, type RunSpec } from '../../dev/org-run';

const s3 = mockClient(S3Client);
const RUN = 'run-1';
const BUCKET = 'reports-bucket';
const [A, B] = ['111111111111', '222222222222'];
const REGIONS = ['eu-west-1', 'us-east-1'];

/** What the mocked bucket holds: key → body. */
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

function plan(mode = 'alert', accounts: RunPlan['accounts'] = [{ accountId: A, status: 'SCANNED' }, { accountId: B, name: 'prod', status: 'SCANNED' }]): RunPlan {
  return { runId: RUN, startedAt: '2026-12-01T10:00:00.000Z', accountId: A, homeRegion: 'us-east-1', policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', mode, dryRun: false }, accounts, accountErrors: [], regions: REGIONS, shardCount: 4 };
}
const item = (accountId: string, region: string): ShardItem => ({ runId: RUN, bucket: BUCKET, accountId, region, startedAt: '2026-12-01T10:00:00.000Z' });

/** Puts the run into the mocked bucket, as writeRun puts it into moto. */
function store(spec: Pick<RunSpec, 'plan' | 'shards' | 'files' | 'succeeded' | 'failed' | 'pending'>): AggregateInput {
  objects.set(planKey(RUN), JSON.stringify(spec.plan));
  objects.set(shardsKey(RUN), JSON.stringify(spec.shards));
  for (const [id, file] of spec.files) {
    const [accountId, region] = id.split('/') as [string, string];
    objects.set(shardFileKey(RUN, accountId, region), typeof file === 'string' ? file : JSON.stringify(file));
  }
  const files: Record<string, { Key: string; Size: number }[]> = {};
  for (const [status, records] of [['SUCCEEDED', spec.succeeded], ['FAILED', spec.failed], ['PENDING', spec.pending]] as const) {
    const Key = `runs/${RUN}/results/${status}_0.json`;
    objects.set(Key, JSON.stringify(records));
    files[status] = [{ Key, Size: 1 }];
  }
  objects.set(`runs/${RUN}/results/manifest.json`, JSON.stringify({ DestinationBucket: BUCKET, MapRunArn: 'arn', ResultFiles: files }));
  return aggregateInput({ runId: RUN, bucket: BUCKET, shards: spec.shards, plan: spec.plan });
}

interface Sent {
  alerts: RenderedAlert[];
  notifier: Notifier;
}
function notifier(fail = false): Sent {
  const alerts: RenderedAlert[] = [];
  return {
    alerts,
    notifier: {
      channel: 'sns',
      send: async (alert: RenderedAlert) => {
        alerts.push(alert);
        if (fail) throw Object.assign(new Error('topic gone'), { name: 'NotFound' });
      },
    } as Notifier,
  };
}

function deps(sent: Sent, extra: Partial<AggregateDeps> = {}): AggregateDeps {
  return { clients: new Clients({ credentials: { accessKeyId: 'k', secretAccessKey: 's' } }), homeRegion: 'us-east-1', logger: silentLogger, notifiers: [sent.notifier], now: () => new Date('2026-12-01T11:00:00.000Z'), ...extra };
}

const put = (key: string): string => {
  const call = s3.commandCalls(PutObjectCommand).find((c) => c.args[0].input.Key === key);
  if (!call) throw new Error(`no PutObject of ${key}`);
  return Buffer.from(call.args[0].input.Body as Uint8Array).toString('utf8');
};

// Two accounts × two Regions, whose findings interleave: the global order is not the shards' order.
const findings = {
  aEu: [f(A, 'eu-west-1', 'zeta', 'COMPLIANT'), f(A, 'eu-west-1', 'alpha', 'NON_COMPLIANT', '2026-11-03T08:15:42.000Z')],
  aUs: [f(A, 'us-east-1', 'beta', 'ERROR'), f(A, 'us-east-1', 'gamma', 'COMPLIANT')],
  bEu: [f(B, 'eu-west-1', 'delta', 'NON_COMPLIANT'), f(B, 'eu-west-1', 'omega', 'NOT_APPLICABLE'), f(B, 'eu-west-1', 'kappa', 'EXEMPT')],
  bUs: [f(B, 'us-east-1', 'aaa', 'NON_COMPLIANT'), f(B, 'us-east-1', 'zzz', 'COMPLIANT')],
};

function fullRun() {
  const shards = [item(A, 'eu-west-1'), item(A, 'us-east-1'), item(B, 'eu-west-1'), item(B, 'us-east-1')];
  const files = new Map<string, ReturnType<typeof shardFile>>([
    [`${A}/eu-west-1`, shardFile(RUN, A, 'eu-west-1', findings.aEu, { outcomes: [alertOutcome(findings.aEu[1]!)] })],
    [`${A}/us-east-1`, shardFile(RUN, A, 'us-east-1', findings.aUs, { generatedAt: '2026-12-01T10:02:00.000Z' })],
    [`${B}/eu-west-1`, shardFile(RUN, B, 'eu-west-1', findings.bEu, { outcomes: [alertOutcome(findings.bEu[0]!, 'FAILED', 'remediate')], vanished: [{ accountId: B, region: 'eu-west-1', tableName: 'tmp' }] })],
    [`${B}/us-east-1`, shardFile(RUN, B, 'us-east-1', findings.bUs, { outcomes: [alertOutcome(findings.bUs[0]!)] })],
  ]);
  // Results in no particular order, as ResultWriter writes them.
  const succeeded = [3, 0, 2, 1].map((i) => childRecord(shards[i]!, { output: shardOutput(files.get(`${shards[i]!.accountId}/${shards[i]!.region}`)!) }));
  return { plan: plan(), shards, files, succeeded, failed: [], pending: [] };
}

/** The same run as one in-memory ScanReport, as a multi-account scan would build it. */
function expectedReport(): ScanReport {
  const all = Object.values(findings).flat();
  const byAccount = (id: string) => summarize(all.filter((x) => x.accountId === id));
  return {
    generatedAt: '2026-12-01T10:02:00.000Z',
    accountId: A,
    accounts: [
      { accountId: A, status: 'SCANNED', regions: REGIONS, summary: byAccount(A) },
      { accountId: B, name: 'prod', status: 'SCANNED', regions: REGIONS, summary: byAccount(B) },
    ],
    accountErrors: [],
    regions: REGIONS,
    policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' },
    summary: summarize(all),
    cost: costTotals(all),
    findings: sortFindings(JSON.parse(JSON.stringify(all)) as Finding[]),
    vanished: [{ accountId: B, region: 'eu-west-1', tableName: 'tmp' }],
    regionErrors: [],
    regionSummaries: regionSummaries(all, REGIONS, true),
    shardErrors: [],
  };
}

describe('aggregate: S3 commands and the streamed reports', () => {
  it('links restore sources and global-table replicas across shards (a source read before or after its copy), and totals cost', async () => {
    const policy = { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' };
    const at = new Date('2026-12-01T10:00:00.000Z');
    const arnOf = (region: string, name: string) => `arn:aws:dynamodb:${region}:${A}:table/${name}`;
    const replicas = [{ regionName: 'eu-west-1' }, { regionName: 'us-east-1' }, { regionName: 'ap-south-1' }];
    const on = { status: 'ENABLED', recoveryPeriodInDays: 35, earliestRestorableDateTime: new Date('2026-10-01T00:00:00Z') };
    const ev = (region: string, tableName: string, extra: Partial<TableFacts>) =>
      evaluate({ accountId: A, region, tableName, tableArn: arnOf(region, tableName), tableStatus: 'ACTIVE', tags: {}, pitr: on, tableSizeBytes: 1024 ** 3, ...extra }, policy, at);
    const eu = [
      ev('eu-west-1', 'orders', { replicas }),
      ev('eu-west-1', 'copy-late', { pitr: { status: 'DISABLED' }, restoreSummary: { sourceTableArn: arnOf('us-east-1', 'src-late') } }),
      ev('eu-west-1', 'src-early', {}),
    ];
    const us = [
      ev('us-east-1', 'orders', { replicas, pitr: { status: 'DISABLED' } }),
      ev('us-east-1', 'src-late', { pitr: { status: 'DISABLED' } }),
      ev('us-east-1', 'copy-early', { pitr: { status: 'DISABLED' }, restoreSummary: { sourceTableArn: arnOf('eu-west-1', 'src-early') } }),
    ];
    const shards = [item(A, 'eu-west-1'), item(A, 'us-east-1')];
    const files = new Map([
      [`${A}/eu-west-1`, shardFile(RUN, A, 'eu-west-1', eu)],
      [`${A}/us-east-1`, shardFile(RUN, A, 'us-east-1', us)],
    ]);
    const succeeded = shards.map((s) => childRecord(s, { output: shardOutput(files.get(`${s.accountId}/${s.region}`)!) }));
    await aggregate(store({ plan: plan(), shards, files, succeeded, failed: [], pending: [] }), deps(notifier()));
    const report = JSON.parse(put(`reports/${RUN}/report.json`)) as ScanReport;
    const find = (region: string, name: string) => report.findings.find((x) => x.region === region && x.tableName === name)!;
    expect(find('eu-west-1', 'copy-late').restore?.sourceStatus).toBe('NON_COMPLIANT');
    expect(find('us-east-1', 'copy-early').restore?.sourceStatus).toBe('COMPLIANT');
    expect(find('us-east-1', 'copy-early').message).toMatch(/Its source table is COMPLIANT in this report\.$/);
    const euOrders = find('eu-west-1', 'orders');
    expect(euOrders.replicaSet?.compliant).toBe(false);
    expect(euOrders.replicaSet?.replicas.map((r) => [r.region, r.status])).toEqual([['ap-south-1', 'NOT_SCANNED'], ['eu-west-1', 'COMPLIANT'], ['us-east-1', 'NON_COMPLIANT']]);
    expect(euOrders.message).toMatch(/other replicas: ap-south-1 not scanned, us-east-1 NON_COMPLIANT\): the set is NOT compliant\.$/);
    // The same links as an in-memory report would have.
    expect(report.findings).toEqual(sortFindings(linkFindings([...eu, ...us]).map((x) => JSON.parse(JSON.stringify(x)) as Finding)));
    expect(report.cost).toEqual(costTotals([...eu, ...us]));
    expect(put(`reports/${RUN}/report.csv`)).toMatch(/replica_set_replicas/);
  });

  it('reads plan, shard list, manifest, result files, then each ShardFile in (account, Region) order; writes the four report objects', async () => {
    const sent = notifier();
    await aggregate(store(fullRun()), deps(sent));
    expect(s3.commandCalls(GetObjectCommand).map((c) => [c.args[0].input.Bucket, c.args[0].input.Key])).toEqual([
      [BUCKET, `runs/${RUN}/plan.json`],
      [BUCKET, `runs/${RUN}/shards.json`],
      [BUCKET, `runs/${RUN}/results/manifest.json`],
      [BUCKET, `runs/${RUN}/results/SUCCEEDED_0.json`],
      [BUCKET, `runs/${RUN}/results/FAILED_0.json`],
      [BUCKET, `runs/${RUN}/results/PENDING_0.json`],
      [BUCKET, `runs/${RUN}/shards/${A}/eu-west-1.json`],
      [BUCKET, `runs/${RUN}/shards/${A}/us-east-1.json`],
      [BUCKET, `runs/${RUN}/shards/${B}/eu-west-1.json`],
      [BUCKET, `runs/${RUN}/shards/${B}/us-east-1.json`],
    ]);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => ({ Bucket: c.args[0].input.Bucket, Key: c.args[0].input.Key, ContentType: c.args[0].input.ContentType }));
    expect(puts.sort((x, y) => (x.Key as string).localeCompare(y.Key as string))).toEqual([
      { Bucket: BUCKET, Key: `reports/${RUN}/report.csv`, ContentType: 'text/csv; charset=utf-8' },
      { Bucket: BUCKET, Key: `reports/${RUN}/report.html`, ContentType: 'text/html; charset=utf-8' },
      { Bucket: BUCKET, Key: `reports/${RUN}/report.json`, ContentType: 'application/json' },
      { Bucket: BUCKET, Key: `reports/${RUN}/summary.json`, ContentType: 'application/json' },
    ]);
  });

  it('report.json, report.csv and report.html are byte for byte what the CLI renderers print for the same report', async () => {
    await aggregate(store(fullRun()), deps(notifier()));
    const expected = expectedReport();
    expect(JSON.parse(put(`reports/${RUN}/report.json`))).toEqual(expected);
    expect(put(`reports/${RUN}/report.json`)).toBe(renderJson(expected));
    expect(put(`reports/${RUN}/report.csv`)).toBe(renderCsv(expected));
    expect(put(`reports/${RUN}/report.html`)).toBe(renderHtml(expected));
  });

  it('findings are worst first across shards: status, then account, Region and name', async () => {
    await aggregate(store(fullRun()), deps(notifier()));
    const report = JSON.parse(put(`reports/${RUN}/report.json`)) as ScanReport;
    expect(report.findings.map((x) => `${x.status} ${x.accountId} ${x.region} ${x.tableName}`)).toEqual([
      `NON_COMPLIANT ${A} eu-west-1 alpha`,
      `NON_COMPLIANT ${B} eu-west-1 delta`,
      `NON_COMPLIANT ${B} us-east-1 aaa`,
      `ERROR ${A} us-east-1 beta`,
      `EXEMPT ${B} eu-west-1 kappa`,
      `COMPLIANT ${A} eu-west-1 zeta`,
      `COMPLIANT ${A} us-east-1 gamma`,
      `COMPLIANT ${B} us-east-1 zzz`,
      `NOT_APPLICABLE ${B} eu-west-1 omega`,
    ]);
  });

  it('an empty run (no shard at all) still writes a complete, valid report', async () => {
    const run = { plan: plan('report', []), shards: [], files: new Map(), succeeded: [], failed: [], pending: [] };
    const out = await aggregate(store(run), deps(notifier()));
    const report = JSON.parse(put(`reports/${RUN}/report.json`)) as ScanReport;
    expect(report.findings).toEqual([]);
    expect(put(`reports/${RUN}/report.json`)).toContain('"findings": []');
    expect(out).toMatchObject({ summary: { total: 0 }, accounts: 0, shardErrors: 0, problems: false });
  });

  it('a failed upload fails the step with the key named', async () => {
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    await expect(aggregate(store(fullRun()), deps(notifier()))).rejects.toThrow(`failed: AccessDenied: Access Denied`);
  });
});

describe('aggregate: a shard error for every way a shard can lack findings', () => {
  it('ShardErrorOutput, FAILED, PENDING, no result, unreadable and foreign ShardFiles: each (account, Region) once, never a gap', async () => {
    const regions = ['ap-south-1', 'eu-west-1', 'us-east-1', 'us-west-2'];
    const shards = [...regions.map((r) => item(A, r)), item(B, 'eu-west-1'), item(B, 'us-east-1')];
    const good = shardFile(RUN, B, 'us-east-1', [f(B, 'us-east-1', 't', 'COMPLIANT')]);
    const foreign = shardFile(RUN, A, 'us-east-1', [f(A, 'us-east-1', 't', 'COMPLIANT')]);
    const run = {
      plan: { ...plan('alert'), regions },
      shards,
      files: new Map<string, ReturnType<typeof shardFile> | string>([
        [`${B}/us-east-1`, good],
        [`${B}/eu-west-1`, '{"shard": 1'], // truncated
        [`${A}/us-west-2`, JSON.stringify(foreign)], // the wrong shard's file under this key
      ]),
      succeeded: [
        childRecord(shards[0]!, { output: { status: 'ERROR', accountId: A, region: 'ap-south-1', error: { Error: 'States.TaskFailed', Cause: 'plain cause' } } }),
        childRecord(shards[4]!, { output: shardOutput(shardFile(RUN, B, 'eu-west-1', [])) }),
        childRecord(shards[5]!, { output: shardOutput(good) }),
        childRecord(shards[3]!, { output: shardOutput(shardFile(RUN, A, 'us-west-2', [])) }),
        { Status: 'SUCCEEDED', Input: 'not json', Output: '{}' }, // names no shard
      ],
      failed: [childRecord(shards[1]!, { failed: { Error: 'Lambda.TooManyRequestsException', Cause: JSON.stringify({ errorMessage: 'Rate exceeded' }) } })],
      pending: [],
      // shards[2] (A, us-east-1): no record
    };
    const sent = notifier();
    const out = await aggregate(store(run), deps(sent));
    const report = JSON.parse(put(`reports/${RUN}/report.json`)) as ScanReport;
    expect(report.shardErrors).toEqual([
      { accountId: A, region: 'ap-south-1', errorName: 'States.TaskFailed', message: 'plain cause' },
      { accountId: A, region: 'eu-west-1', errorName: 'Lambda.TooManyRequestsException', message: 'Rate exceeded' },
      { accountId: A, region: 'us-east-1', errorName: 'NoResult', message: 'no result recorded: the shard is in shards.json but no Step Functions result names it' },
      { accountId: A, region: 'us-west-2', errorName: 'ShardFileUnreadable', message: `runs/${RUN}/shards/${A}/us-west-2.json: it is the file of ${A}/us-east-1 in run ${RUN}` },
      { accountId: B, region: 'eu-west-1', errorName: 'ShardFileUnreadable', message: expect.stringContaining(`runs/${RUN}/shards/${B}/eu-west-1.json: GetObject on s3://${BUCKET}/runs/${RUN}/shards/${B}/eu-west-1.json failed: MalformedJson: not JSON`) },
    ]);
    expect(out).toMatchObject({ shardErrors: 5, problems: true, summary: { total: 1, compliant: 1 } });
    // Every shard is either read (its Region summary) or a shard error.
    const read = report.regionSummaries.filter((r) => r.accountId).map((r) => `${r.accountId}/${r.region}`);
    const failed = report.shardErrors.map((e) => `${e.accountId}/${e.region}`);
    expect([...read, ...failed].sort()).toEqual(shards.map((s) => `${s.accountId}/${s.region}`).sort());
    // Shard errors alone make a digest in alert mode, and are listed in it
    expect(sent.alerts).toHaveLength(1);
    expect(sent.alerts[0]?.text).toContain(`- Region us-east-1 of account ${A} could not be scanned: its shard failed with NoResult`);
  });

  it('a redriven shard that failed, then succeeded, counts once, as read', () => {
    const results = new Map();
    const { mergeResult } = jest.requireActual<typeof import('../../lib/jobs/org-scan/results')>('../../lib/jobs/org-scan/results');
    const file = shardFile(RUN, A, 'eu-west-1', []);
    mergeResult(results, recordResult(childRecord(item(A, 'eu-west-1'), { output: shardOutput(file) }), 'SUCCEEDED', RUN)!);
    mergeResult(results, recordResult(childRecord(item(A, 'eu-west-1'), { failed: { Error: 'Lambda.Unknown', Cause: '' } }), 'FAILED', RUN)!);
    expect([...results.values()]).toEqual([{ kind: 'file', accountId: A, region: 'eu-west-1', key: `runs/${RUN}/shards/${A}/eu-west-1.json`, parts: 1 }]);
  });

  it('records: FAILED without Error uses the Status, TIMED_OUT included; Output pointing outside the run is refused', () => {
    const rec = childRecord(item(A, 'eu-west-1'), { failed: { Error: '', Cause: '', Status: 'TIMED_OUT' } });
    expect(recordResult(rec, 'FAILED', RUN)).toEqual({ kind: 'error', error: { accountId: A, region: 'eu-west-1', errorName: 'States.TIMED_OUT', message: 'no cause recorded' } });
    const outside = childRecord(item(A, 'eu-west-1'), { output: { status: 'SCANNED', accountId: A, region: 'eu-west-1', key: 'runs/other/x.json', parts: 1, summary: summarize([]) } });
    expect(recordResult(outside, 'SUCCEEDED', RUN)).toMatchObject({ kind: 'error', error: { errorName: 'ResultMismatch' } });
    expect(recordResult({ Input: '{}' }, 'SUCCEEDED', RUN)).toBeUndefined();
    expect(causeMessage('x'.repeat(2000))).toHaveLength(500);
  });

  it('checkShardFile: findings of another account or Region make the whole file unusable', () => {
    const file = shardFile(RUN, A, 'eu-west-1', [f(A, 'us-east-1', 't', 'COMPLIANT')]);
    expect(checkShardFile(file, { accountId: A, region: 'eu-west-1', runId: RUN })).toBe(`findings[0] is a table of ${A}/us-east-1`);
    expect(checkShardFile({ ...shardFile(RUN, A, 'eu-west-1', []), outcomes: null }, { accountId: A, region: 'eu-west-1', runId: RUN })).toBe('outcomes is not an array');
  });
});

describe('aggregate: a shard in parts (continuation)', () => {
  // ListTables' order (code units) puts "Zulu" and "alpha-2" in other places than the report's localeCompare does.
  const names = ['Alpha', 'Zulu', '_tmp', 'alpha', 'alpha-2', 'alpha_1', 'beta', 'gamma', 'zeta'];
  const statuses: Finding['status'][] = ['COMPLIANT', 'NON_COMPLIANT', 'COMPLIANT', 'ERROR', 'COMPLIANT', 'NON_COMPLIANT', 'COMPLIANT', 'EXEMPT', 'COMPLIANT'];
  const all = names.map((n, i) => f(B, 'eu-west-1', n, statuses[i]!));
  /** Parts of 3 tables each, in ListTables order, with their chain. */
  const partFiles = (at: (i: number) => Partial<ReturnType<typeof shardFile>> = () => ({})) =>
    [0, 1, 2].map((i) =>
      shardFile(RUN, B, 'eu-west-1', all.slice(3 * i, 3 * i + 3), { part: { index: i, ...(i > 0 ? { startAfter: names[3 * i - 1] } : {}), lastTable: names[3 * i + 2], done: i === 2 }, ...at(i) }),
    );
  function run(parts: ReturnType<typeof shardFile>[], output: ShardOutput | ShardErrorOutput) {
    const shards = [item(B, 'eu-west-1')];
    const input = store({ plan: plan('report', [{ accountId: B, status: 'SCANNED' }]), shards, files: new Map(), succeeded: [childRecord(shards[0]!, { output })], failed: [], pending: [] });
    parts.forEach((file, i) => objects.set(shardFileKey(RUN, B, 'eu-west-1', i), JSON.stringify(file)));
    return input;
  }
  const scanned = { status: 'SCANNED' as const, accountId: B, region: 'eu-west-1', key: shardFileKey(RUN, B, 'eu-west-1'), parts: 3, summary: summarize(all) };

  it('reads every part (part 0 at <region>.json, then .part-1, .part-2) and reports every table once, in the report’s order, as one file would', async () => {
    await aggregate(run(partFiles(), scanned), deps(notifier()));
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key).filter((k) => k?.includes('/shards/'))).toEqual([0, 1, 2].map((i) => shardFileKey(RUN, B, 'eu-west-1', i)));
    expect(shardFileKey(RUN, B, 'eu-west-1', 2)).toBe(`runs/${RUN}/shards/${B}/eu-west-1.part-2.json`);
    const report = JSON.parse(put(`reports/${RUN}/report.json`)) as ScanReport;
    expect(report.findings.map((x) => x.tableName)).toEqual(sortFindings(JSON.parse(JSON.stringify(all)) as Finding[]).map((x) => x.tableName));
    expect(report.findings.map((x) => x.tableName)).not.toEqual(names); // the merge mattered
    expect(report.shardErrors).toEqual([]);
    expect(report.regionSummaries.filter((r) => r.accountId)).toEqual([{ accountId: B, region: 'eu-west-1', summary: summarize(all) }]);
    expect(report.accounts).toEqual([{ accountId: B, status: 'SCANNED', regions: ['eu-west-1'], summary: summarize(all) }]);
  });

  it('a part that breaks the chain (does not start after the previous part’s last table) is one shard error, and the later parts are left out', async () => {
    const broken = partFiles((i) => (i === 1 ? { part: { index: 1, startAfter: 'Alpha', lastTable: 'alpha_1', done: false } } : {}));
    await aggregate(run(broken, scanned), deps(notifier()));
    const report = JSON.parse(put(`reports/${RUN}/report.json`)) as ScanReport;
    expect(report.shardErrors).toEqual([{ accountId: B, region: 'eu-west-1', errorName: 'ShardFileUnreadable', message: `${shardFileKey(RUN, B, 'eu-west-1', 1)}: part 1 starts after "Alpha", not after the previous part's last table "_tmp"; parts 2-2 left out` }]);
    expect(report.findings.map((x) => x.tableName).sort()).toEqual(names.slice(0, 3).sort());
  });

  it('an incomplete shard (a later part failed after its retries, caught with its continuation): the parts written are read, and the rest is a shard error', async () => {
    const two = partFiles().slice(0, 2).map((file) => ({ ...file, part: { ...file.part!, done: false } }));
    const failed = { ...item(B, 'eu-west-1'), continuation: { part: 2, startAfter: 'alpha_1', summary: summarize(all.slice(0, 6)) }, status: 'ERROR' as const, error: { Error: 'ShardFailedError', Cause: JSON.stringify({ errorMessage: 'ListTables in eu-west-1 failed: AccessDeniedException: no' }) } };
    const out = await aggregate(run(two, failed), deps(notifier()));
    const report = JSON.parse(put(`reports/${RUN}/report.json`)) as ScanReport;
    expect(report.findings.map((x) => x.tableName).sort()).toEqual(names.slice(0, 6).sort());
    expect(report.shardErrors).toEqual([{ accountId: B, region: 'eu-west-1', errorName: 'ShardFailedError', message: 'the Region was scanned in 2 part(s) through table alpha_1; the tables after it were not scanned: ListTables in eu-west-1 failed: AccessDeniedException: no' }]);
    expect(out).toMatchObject({ shardErrors: 1, problems: true });
  });

  it('a last part that does not end the Region is refused (the output said SCANNED)', async () => {
    const files = partFiles((i) => (i === 2 ? { part: { index: 2, startAfter: 'alpha_1', lastTable: 'zeta', done: false } } : {}));
    await aggregate(run(files, scanned), deps(notifier()));
    const report = JSON.parse(put(`reports/${RUN}/report.json`)) as ScanReport;
    expect(report.shardErrors).toEqual([{ accountId: B, region: 'eu-west-1', errorName: 'ShardFileUnreadable', message: `${shardFileKey(RUN, B, 'eu-west-1', 2)}: the shard's last part 2 does not end the Region` }]);
    expect(report.findings).toHaveLength(6);
  });
});

describe('aggregate: the digest', () => {
  it('one digest per run, from bounded lists: the top lines and the full counts', async () => {
    // 3 shards × 40 NON_COMPLIANT tables in alert mode, one FAILED remediation, 30 unreadable tables
    const shards = [item(A, 'eu-west-1'), item(A, 'us-east-1'), item(B, 'eu-west-1')];
    const files = new Map<string, ReturnType<typeof shardFile>>();
    shards.forEach((s, i) => {
      const bad = Array.from({ length: 40 }, (_, n) => f(s.accountId, s.region, `t${String(n).padStart(3, '0')}`, 'NON_COMPLIANT'));
      const errors = Array.from({ length: 10 }, (_, n) => f(s.accountId, s.region, `e${n}`, 'ERROR'));
      const outcomes = bad.map((x, n) => alertOutcome(x, i === 2 && n === 39 ? 'FAILED' : 'SKIPPED_MODE'));
      files.set(`${s.accountId}/${s.region}`, shardFile(RUN, s.accountId, s.region, [...bad, ...errors], { outcomes }));
    });
    const run = { plan: plan(), shards, files, succeeded: shards.map((s) => childRecord(s, { output: shardOutput(files.get(`${s.accountId}/${s.region}`)!) })), failed: [], pending: [] };
    const sent = notifier();
    await aggregate(store(run), deps(sent, { maxListed: 5, maxListedSlack: 3 }));
    expect(sent.alerts).toHaveLength(1);
    const alert = sent.alerts[0]!;
    expect(alert.subject).toBe(`[pitr-guard] Scan ${A}: 120 tables out of policy (1 failed, 119 not changed, 30 unreadable)`);
    const listed = alert.text.split('\n').filter((l) => l.startsWith('- '));
    expect(listed).toHaveLength(5);
    // the worst line of all (the failed remediation, in the last shard read) is first
    expect(listed[0]).toBe('- t039 (eu-west-1): PITR not enabled; remediation FAILED: error');
    expect(alert.text).toContain(`…and ${120 + 30 - 5} more.`);
    expect(alert.text).toContain('Re-enabled: 0 · Failed or deferred: 1 · Not changed: 119 · Unreadable: 30');
    expect(alert.attributes).toMatchObject({ outOfPolicy: '120', failed: '1' });
  });

  it('report mode: no digest (nothing is listed for report-mode tables, errors are not alerted)', async () => {
    const run = fullRun();
    run.plan = plan('report');
    for (const file of run.files.values()) file.outcomes = file.outcomes.map((o) => ({ ...o, mode: 'report' as const }));
    const sent = notifier();
    const out = await aggregate(store(run), deps(sent));
    expect(sent.alerts).toEqual([]);
    expect(out.delivery).toBeUndefined();
    expect(out.problems).toBe(true); // non-compliant tables are still problems in the output
  });

  it('every channel failing fails the step (the state machine retries it), after the reports are written', async () => {
    await expect(aggregate(store(fullRun()), deps(notifier(true)))).rejects.toBeInstanceOf(AlertDeliveryError);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(4);
  });

  it('ShardFile.unrecorded (ledger failures) marks the run as having problems and is listed in summary.json', async () => {
    const run = { plan: plan('report', [{ accountId: A, status: 'SCANNED' }]), shards: [item(A, 'eu-west-1')], files: new Map(), succeeded: [] as Record<string, unknown>[], failed: [], pending: [] };
    const file = shardFile(RUN, A, 'eu-west-1', [f(A, 'eu-west-1', 'ok', 'COMPLIANT')], { unrecorded: ['arn:aws:dynamodb:eu-west-1:111111111111:table/ok: ThrottlingException'] });
    run.files.set(`${A}/eu-west-1`, file);
    run.succeeded.push(childRecord(run.shards[0]!, { output: shardOutput(file) }));
    const out = await aggregate(store(run), deps(notifier()));
    expect(out.problems).toBe(true);
    expect(JSON.parse(put(`reports/${RUN}/summary.json`))).toMatchObject({ problems: true, unrecorded: ['arn:aws:dynamodb:eu-west-1:111111111111:table/ok: ThrottlingException'], unrecordedCount: 1 });
  });

  it('ShardFile.securityHub failures (findings Security Hub did not take) mark the run as having problems and are listed in summary.json', async () => {
    const run = { plan: plan('report', [{ accountId: A, status: 'SCANNED' }]), shards: [item(A, 'eu-west-1')], files: new Map(), succeeded: [] as Record<string, unknown>[], failed: [], pending: [] };
    const failure = { accountId: A, region: 'eu-west-1', operation: 'BatchImportFindings' as const, id: 'arn:aws:dynamodb:eu-west-1:111111111111:table/ok/pitr-guard/dynamodb-pitr', errorName: 'InvalidAccess', message: 'not subscribed' };
    const file = shardFile(RUN, A, 'eu-west-1', [f(A, 'eu-west-1', 'ok', 'COMPLIANT')], { securityHub: { imported: 0, unchanged: 0, archived: 0, failed: 1, failures: [failure] } });
    run.files.set(`${A}/eu-west-1`, file);
    run.succeeded.push(childRecord(run.shards[0]!, { output: shardOutput(file) }));
    const out = await aggregate(store(run), deps(notifier()));
    expect(out.problems).toBe(true);
    expect(JSON.parse(put(`reports/${RUN}/summary.json`))).toMatchObject({
      problems: true,
      securityHubFailed: 1,
      securityHubFailures: [`${A}/eu-west-1 BatchImportFindings arn:aws:dynamodb:eu-west-1:111111111111:table/ok/pitr-guard/dynamodb-pitr: InvalidAccess: not subscribed`],
    });
  });
});

describe('aggregate: strict input', () => {
  const good = (): AggregateInput => aggregateInput({ runId: RUN, bucket: BUCKET, shards: [], plan: plan() });

  it.each([
    ['not an object', [], 'aggregate: input must be an object (AggregateInput), got an array'],
    ['no runId', { ...good(), runId: undefined }, 'aggregate: input.runId must be a non-empty string, got nothing'],
    ['a runId with a slash', { ...good(), runId: '../x' }, 'aggregate: input.runId must be 1-128 of'],
    ['a plan key of another run', { ...good(), planKey: 'runs/other/plan.json' }, `aggregate: input.planKey must be runs/${RUN}/plan.json`],
    ['a negative shard count', { ...good(), shardCount: -1 }, 'aggregate: input.shardCount must be an integer ≥ 0, got -1'],
    ['no results', { ...good(), results: undefined }, 'aggregate: input.results must be the Map state’s output'],
    ['no ResultWriter', { ...good(), results: {} }, 'aggregate: input.results.ResultWriterDetails must be an object { Bucket, Key }'],
    ['results in another bucket', { ...good(), results: { ResultWriterDetails: { Bucket: 'elsewhere', Key: `runs/${RUN}/results/manifest.json` } } }, "aggregate: input.results.ResultWriterDetails.Bucket must be the run's bucket reports-bucket"],
  ])('%s is a clear InvalidEventError', (_name, input, message) => {
    expect(() => parseAggregateInput(input)).toThrow(InvalidEventError);
    expect(() => parseAggregateInput(input)).toThrow(message);
  });

  it('a malformed plan or manifest fails with the file and field named, before anything is written', async () => {
    const input = store(fullRun());
    objects.set(planKey(RUN), JSON.stringify({ ...plan(), policy: { ...plan().policy, mode: 'loud' } }));
    await expect(aggregate(input, deps(notifier()))).rejects.toThrow('aggregate: plan.json.policy.mode must be one of report, alert, remediate, got "loud"');
    expect(() => parseManifest({ ResultFiles: { SUCCEEDED: [{ Size: 1 }] } })).toThrow('aggregate: manifest.json.ResultFiles.SUCCEEDED[0] must be { Key, Size }');
    objects.delete(planKey(RUN));
    await expect(aggregate(input, deps(notifier()))).rejects.toThrow(`GetObject on s3://${BUCKET}/runs/${RUN}/plan.json failed: NoSuchKey`);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('TopN', () => {
  it('keeps the lowest n and never holds more than 2n', () => {
    const top = new TopN<number>(3, (a, b) => a - b);
    let peak = 0;
    for (let i = 1000; i > 0; i--) {
      top.add(i);
      peak = Math.max(peak, (top as unknown as { items: number[] }).items.length);
    }
    expect(top.values()).toEqual([1, 2, 3]);
    expect(top.total).toBe(1000);
    expect(peak).toBeLessThanOrEqual(6);
  });
});
