/**
 * `npm run bench:aggregate`: the Organization aggregate at its target scale, figures on stdout.
 * A synthetic run of BENCH_ACCOUNTS accounts (default 1,000) × BENCH_REGIONS Regions (default 17)
 * with BENCH_FINDINGS findings (default 200,000; 10 % non-compliant in alert mode, 2 % unreadable,
 * 1 % of shards failed) is written to moto S3 as the plan/shard steps and Step Functions'
 * ResultWriter would leave it. The aggregate then runs in a CHILD process (so the synthesizer's
 * memory is not counted) with real SDK clients against moto, the digest going to an SNS topic on
 * moto. With the alert lifecycle (lifecycle: true, as deployed with the stack's findings table): each
 * ShardFile holds a NEW transition per NON_COMPLIANT or ERROR table — a first run, the change
 * digest's worst case — and the one change digest keeps only its top lines. BENCH_LIFECYCLE=0: the
 * classic digest, shard files without lifecycle. The child reports its peak RSS (the kernel's maxRSS, and process.memoryUsage().rss sampled
 * every 20 ms) and wall time. Goal: peak RSS ≤ 256 MB.
 */
import { spawnSync } from 'node:child_process';
import { CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { Clients } from '../lib/aws/clients';
import { ReportBucketClient } from '../lib/aws/report-bucket-client';
import type { FindingStatus } from '../lib/core/types';
import { aggregate } from '../lib/jobs/org-scan/aggregate';
import type { AggregateInput, RunPlan, ShardItem } from '../lib/jobs/org-scan/contract';
import { buildNotifiers } from '../lib/notify';
import { silentLogger } from '../lib/runtime/logger';
import { startMoto } from '../dev/local/moto';
import { aggregateInput, alertOutcome, childRecord, shardFile, shardOutput, syntheticFinding, syntheticTransition, writeRun, type RunSpec } from '../dev/org-run';

/** BENCH_LIFECYCLE=0: no alert lifecycle (the classic digest). */
const LIFECYCLE = process.env.BENCH_LIFECYCLE !== '0';
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1000);
const REGION_COUNT = Number(process.env.BENCH_REGIONS ?? 17);
const FINDINGS = Number(process.env.BENCH_FINDINGS ?? 200_000);
const BUCKET = 'pitr-guard-bench-reports';
const RUN = 'bench-run';
const REGIONS = [
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2', 'ca-central-1', 'eu-central-1',
  'eu-north-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'sa-east-1', 'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
].slice(0, REGION_COUNT);
const creds = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

function statusOf(n: number): FindingStatus {
  const r = n % 100;
  return r < 10 ? 'NON_COMPLIANT' : r < 12 ? 'ERROR' : r < 17 ? 'EXEMPT' : r < 97 ? 'COMPLIANT' : 'NOT_APPLICABLE';
}

function synthesize(): RunSpec {
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => String(100000000000 + i * 7919).padStart(12, '0'));
  const plan: RunPlan = {
    runId: RUN,
    startedAt: '2026-12-01T10:00:00.000Z',
    accountId: accounts[0] as string,
    homeRegion: 'us-east-1',
    policy: { minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', mode: 'alert', dryRun: false },
    accounts: accounts.map((accountId) => ({ accountId, name: `acct-${accountId.slice(-4)}`, status: 'SCANNED', regions: REGIONS })),
    accountErrors: [],
    regions: [...REGIONS].sort(),
    shardCount: ACCOUNTS * REGIONS.length,
  };
  const shards: ShardItem[] = accounts.flatMap((accountId) => REGIONS.map((region) => ({ runId: RUN, bucket: BUCKET, accountId, region, startedAt: plan.startedAt })));
  const spec: RunSpec = { runId: RUN, bucket: BUCKET, plan, shards, files: new Map(), succeeded: [], failed: [], pending: [] };
  // Every 100th shard fails (its FAILED record, no file); the findings go to the others.
  const scanned = shards.filter((_, i) => i % 100 !== 99).length;
  const base = Math.floor(FINDINGS / scanned);
  let extra = FINDINGS - base * scanned;
  let n = 0;
  shards.forEach((s, i) => {
    if (i % 100 === 99) {
      spec.failed.push(childRecord(s, { failed: { Error: 'Lambda.Unknown', Cause: JSON.stringify({ errorMessage: 'Task timed out after 900.00 seconds' }) } }));
      return;
    }
    const count = base + (extra-- > 0 ? 1 : 0);
    const findings = Array.from({ length: count }, () => {
      const k = n++;
      return syntheticFinding(s.accountId, s.region, `table-${String(k).padStart(7, '0')}`, statusOf(k), '2026-11-03T08:15:42.000Z');
    });
    // The alert lifecycle's worst case, a first run: every NON_COMPLIANT or ERROR table opens an incident.
    const bad = findings.filter((f) => f.status === 'NON_COMPLIANT' || f.status === 'ERROR');
    const lifecycle = LIFECYCLE ? { lifecycle: { transitions: bad.map((f) => syntheticTransition(f, 'NEW')), openIncidents: bad.length, repeatedlyDisabled: 0 } } : {};
    const file = shardFile(RUN, s.accountId, s.region, findings, { outcomes: findings.filter((f) => f.status === 'NON_COMPLIANT').map((f) => alertOutcome(f)), ...lifecycle });
    spec.files.set(`${s.accountId}/${s.region}`, file);
    spec.succeeded.push(childRecord(s, { output: shardOutput(file) }));
  });
  return spec;
}

/** The child: only the aggregate, measured. */
async function child(endpoint: string, topicArn: string): Promise<void> {
  const input = JSON.parse(process.env.BENCH_INPUT as string) as AggregateInput;
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const clients = new Clients({ endpoint, credentials: creds });
  const started = Date.now();
  const out = await aggregate(input, { clients, homeRegion: 'us-east-1', logger: silentLogger, lifecycle: LIFECYCLE, notifiers: buildNotifiers({ policy: { alertTopicArn: topicArn }, clients, homeRegion: 'us-east-1' }) });
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(JSON.stringify({ seconds, peakRssSampled: peak, maxRss: process.resourceUsage().maxRSS * 1024, rssAtStart: before, out }));
}

async function main(): Promise<void> {
  const moto = await startMoto();
  try {
    const clients = new Clients({ endpoint: moto.endpoint, credentials: creds });
    const s3 = clients.get(ReportBucketClient, 'us-east-1');
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const { TopicArn } = await new SNSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: creds }).send(new CreateTopicCommand({ Name: 'bench-alerts' }));
    const synthStart = Date.now();
    const spec = synthesize();
    await writeRun(s3, spec, 32);
    const findings = [...spec.files.values()].reduce((a, f) => a + (typeof f === 'string' ? 0 : f.findings.length), 0);
    console.log(`wrote ${spec.files.size} ShardFiles (${findings} findings, ${ACCOUNTS} accounts × ${REGIONS.length} Regions, ${spec.failed.length} failed shards) to moto S3 in ${((Date.now() - synthStart) / 1000).toFixed(1)} s`);
    const input = aggregateInput(spec);
    spec.files.clear();
    // BENCH_NODE_FLAGS: Node flags for the aggregate's process; ';' separates variants. Default: the
    // deployed orgAggregate's NODE_OPTIONS (serverless.yml), then Node's defaults for comparison.
    for (const variant of (process.env.BENCH_NODE_FLAGS ?? '--max-old-space-size=160;').split(';')) {
    const flags = variant.split(' ').filter(Boolean);
    const run = spawnSync(process.execPath, ['--expose-gc', ...flags, __filename, 'child', moto.endpoint, TopicArn as string], { env: { ...process.env, BENCH_INPUT: JSON.stringify(input) }, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    if (run.status !== 0) throw new Error(`aggregate child failed: ${run.stderr}`);
    const r = JSON.parse(run.stdout.trim().split('\n').pop() as string) as { seconds: number; peakRssSampled: number; maxRss: number; rssAtStart: number; out: { summary: { total: number }; shardErrors: number; reportKeys: Record<string, string> } };
    const sizes: Record<string, number> = {};
    for (const [k, key] of Object.entries(r.out.reportKeys)) sizes[`${k} (MB)`] = mb((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ContentLength ?? 0);
    console.log(`\n== aggregate (child process${flags.length ? ` with ${flags.join(' ')}` : ''}, moto S3) ==`);
    console.table({
      findings: r.out.summary.total,
      shards: ACCOUNTS * REGIONS.length,
      'shard errors': r.out.shardErrors,
      'wall time (s)': Math.round(r.seconds * 10) / 10,
      'peak RSS, kernel maxRSS (MB)': mb(r.maxRss),
      'peak RSS, sampled every 20 ms (MB)': mb(r.peakRssSampled),
      'RSS before the aggregate (MB)': mb(r.rssAtStart),
      'peak RSS / 256 MB goal': Math.round((r.maxRss / (256 * 2 ** 20)) * 100) / 100,
      ...sizes,
    });
    }
  } finally {
    await moto.stop();
  }
}

if (process.argv[2] === 'child') {
  child(process.argv[3] as string, process.argv[4] as string).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
