/**
 * `npm run bench`: figures for the speed and size targets, printed as ratios where possible.
 *  - Scan pacing: tables seeded in moto across Regions, scanned through the fault proxy enforcing
 *    DynamoDB's documented 10 calls/s per Region on DescribeContinuousBackups and ListTagsOfResource
 *    as AWS does (token bucket, burst 10); wall time as a ratio of the floor N/10 s per Region
 *    (goal ≤ 1.03) and the throttles AWS would have answered (goal 0).
 *  - Memory: heap and RSS growth per 1,000 tables scanned.
 *  - Cold start (bundle sizes, module init) moved to `npm run bench:cold` (bench/cold-start.ts).
 * Options (env): BENCH_TABLES (per Region, default 150), BENCH_REGIONS (default us-east-1,eu-west-1),
 * BENCH_CONCURRENCY (tables read at once per Region).
 */
import os from 'node:os';
import { Clients } from '../lib/aws/clients';
import { startMoto } from '../dev/local/moto';
import { scan } from '../lib/aws/scan';
import { DYNAMODB_LIMITS, startFaultProxy } from '../dev/local/proxy';
import { localClients, roundRobinPlan, seed } from '../dev/seed';

const perRegion = Number(process.env.BENCH_TABLES ?? 150);
const regions = (process.env.BENCH_REGIONS ?? 'us-east-1,eu-west-1').split(',');

function rates(seen: { operation: string; region: string; at: number }[], operation: string) {
  const out: Record<string, { callsPerSecond: number; ratioOfLimit: number }> = {};
  for (const region of regions) {
    const t = seen.filter((s) => s.operation === operation && s.region === region).map((s) => s.at);
    if (t.length < 2) continue;
    const perSecond = (t.length - 1) / (((t[t.length - 1] as number) - (t[0] as number)) / 1000);
    out[region] = { callsPerSecond: round(perSecond), ratioOfLimit: round(perSecond / 10) };
  }
  return out;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

async function scanBench() {
  const moto = await startMoto();
  const proxy = await startFaultProxy(moto.endpoint, [], { limits: DYNAMODB_LIMITS });
  try {
    const tables = roundRobinPlan(Object.fromEntries(regions.map((r) => [r, perRegion])));
    const seedStart = Date.now();
    await seed(localClients(moto.endpoint), tables, { concurrency: 16 });
    console.log(`seeded ${tables.length} tables in ${regions.length} Regions in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
    const clients = new Clients({ endpoint: proxy.endpoint });
    const request = { policy: { regions, minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, homeRegion: regions[0] as string };
    // warm-up (SDK internals) on a fast pace straight to moto, so the measured run shows what a scan itself costs
    await scan(request, { clients: new Clients({ endpoint: moto.endpoint }), inventory: { ratePerSecond: 1000 } });
    await new Promise((r) => setTimeout(r, 1500)); // the proxy's buckets are full, as an idle account's are
    global.gc?.();
    const before = process.memoryUsage();
    proxy.seen.length = 0;
    const started = Date.now();
    let peakRss = before.rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const concurrency = process.env.BENCH_CONCURRENCY ? { inventory: { concurrency: Number(process.env.BENCH_CONCURRENCY) } } : {};
    const report = await scan(request, { clients, ...concurrency });
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    global.gc?.();
    const after = process.memoryUsage(); // the report is still referenced: this is what it retains
    const floor = perRegion / 10; // seconds: the Regions run side by side, each at exactly the documented rate
    const calls = (op: string) => proxy.calls[op] ?? 0;
    console.log(`\n== scan pacing (load average ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} cores) ==`);
    console.table({
      tables: report.summary.total,
      seconds: round(seconds, 2),
      'floor N/10 s per Region': round(floor, 1),
      'wall / floor (goal ≤ 1.03)': round(seconds / floor, 3),
      'throttles (goal 0)': Object.values(proxy.throttled).reduce((a, b) => a + b, 0),
      'DescribeContinuousBackups per table': round(calls('DescribeContinuousBackups') / report.summary.total),
      'ListTagsOfResource per table': round(calls('ListTagsOfResource') / report.summary.total),
    });
    console.log('DescribeContinuousBackups per Region:');
    console.table(rates(proxy.seen, 'DescribeContinuousBackups'));
    console.log('ListTagsOfResource per Region:');
    console.table(rates(proxy.seen, 'ListTagsOfResource'));
    console.log('\n== memory ==');
    const per1000 = 1000 / report.summary.total;
    console.table({
      'heap retained per 1,000 tables (MB)': round(((after.heapUsed - before.heapUsed) / 2 ** 20) * per1000),
      'peak RSS during scan (MB)': round(peakRss / 2 ** 20, 1),
      'peak RSS / 512 MB Lambda memory': round(peakRss / (512 * 2 ** 20)),
      'report JSON size per table (bytes)': Math.round(JSON.stringify(report).length / report.summary.total),
    });
  } finally {
    await proxy.stop();
    await moto.stop();
  }
}

void (async () => {
  await scanBench();
  console.log('\nBundle sizes and module init: npm run bench:cold (bench/cold-start.ts).');
})().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
