/**
 * `npm run bench`: figures for the speed and size targets, printed as ratios where possible.
 *  - Scan pacing: tables seeded in moto across Regions, scanned through a recording proxy; the
 *    achieved DescribeContinuousBackups / ListTagsOfResource rate per Region as a ratio of
 *    DynamoDB's documented 10 calls/s (target: 0.9–1.0, never a 1-second window above 10).
 *  - Memory: heap and RSS growth per 1,000 tables scanned.
 *  - Cold start (bundle sizes, module init) moved to `npm run bench:cold` (bench/cold-start.ts).
 * Options (env): BENCH_TABLES (per Region, default 150), BENCH_REGIONS (default us-east-1,eu-west-1).
 */
import { Clients } from '../lib/aws/clients';
import { startMoto } from '../dev/local/moto';
import { scan } from '../lib/aws/scan';
import { startFaultProxy } from '../dev/local/proxy';
import { localClients, roundRobinPlan, seed } from '../dev/seed';

const perRegion = Number(process.env.BENCH_TABLES ?? 150);
const regions = (process.env.BENCH_REGIONS ?? 'us-east-1,eu-west-1').split(',');

function rates(seen: { operation: string; region: string; at: number }[], operation: string) {
  const out: Record<string, { callsPerSecond: number; ratioOfLimit: number; peakInAnySecond: number }> = {};
  for (const region of regions) {
    const t = seen.filter((s) => s.operation === operation && s.region === region).map((s) => s.at);
    if (t.length < 2) continue;
    const perSecond = (t.length - 1) / (((t[t.length - 1] as number) - (t[0] as number)) / 1000);
    let peak = 0;
    for (let i = 0, j = 0; i < t.length; i++) {
      while ((t[i] as number) - (t[j] as number) >= 1000) j++;
      peak = Math.max(peak, i - j + 1);
    }
    out[region] = { callsPerSecond: round(perSecond), ratioOfLimit: round(perSecond / 10), peakInAnySecond: peak };
  }
  return out;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

async function scanBench() {
  const moto = await startMoto();
  const proxy = await startFaultProxy(moto.endpoint);
  try {
    const tables = roundRobinPlan(Object.fromEntries(regions.map((r) => [r, perRegion])));
    const seedStart = Date.now();
    await seed(localClients(moto.endpoint), tables, { concurrency: 16 });
    console.log(`seeded ${tables.length} tables in ${regions.length} Regions in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
    const clients = new Clients({ endpoint: proxy.endpoint });
    const request = { policy: { regions, minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, homeRegion: regions[0] as string };
    // warm-up (clients, SDK internals) on a fast pace, so the measured run shows what a scan itself costs
    await scan(request, { clients, inventory: { ratePerSecond: 1000 } });
    global.gc?.();
    const before = process.memoryUsage();
    proxy.seen.length = 0;
    const started = Date.now();
    let peakRss = before.rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const report = await scan(request, { clients });
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    global.gc?.();
    const after = process.memoryUsage(); // the report is still referenced: this is what it retains
    const ideal = perRegion / 10; // seconds per Region at exactly the documented rate
    console.log('\n== scan pacing ==');
    console.table({
      tables: report.summary.total,
      seconds: round(seconds, 1),
      'tables/s per Region': round(perRegion / seconds),
      'ideal seconds at 10 calls/s': round(ideal, 1),
      'ideal / actual (1.0 = at the limit)': round(ideal / seconds),
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
