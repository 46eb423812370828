/**
 * `npm run screenshot`: regenerates docs/html-report.png from the real report, so the picture in
 * the README cannot drift from what pitr-guard renders. Seeds the demo account into a moto it
 * starts, scans it as the CLI would, renders the HTML report and photographs its first page in
 * the same headless Chromium the HTML tests use (dev/local/browser.ts): its top 1,400 pixels.
 * Options (env): SCREENSHOT_OUT (default docs/html-report.png).
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Clients } from '../lib/aws/clients';
import { scan } from '../lib/aws/scan';
import { renderHtml } from '../lib/report/html';
import { startHistoryShim } from './demo/history';
import { DEMO_REGIONS, demoPlan, seed } from './seed';
import { launchBrowser } from './local/browser';
import { projectRoot, startMoto } from './local/moto';

async function main(): Promise<void> {
  const root = projectRoot();
  const out = path.resolve(root, process.env.SCREENSHOT_OUT ?? 'docs/html-report.png');
  const moto = await startMoto();
  // As in the demo: moto starts every PITR window at enable; the shim reports months-old ones.
  const shim = await startHistoryShim(moto.endpoint);
  try {
    const clients = new Clients({ endpoint: shim.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const exemptTag = 'pitr-guard:exempt';
    const plan = demoPlan(new Date());
    await seed(clients, plan, { exemptTag });
    for (const t of plan) if (t.enabledDaysAgo !== undefined) shim.setEnabledDaysAgo(t.region, t.tableName, t.enabledDaysAgo);
    const report = await scan(
      { policy: { regions: [...DEMO_REGIONS], minRecoveryDays: 35, exemptTag }, homeRegion: 'us-east-1' },
      { clients, inventory: { ratePerSecond: 100, concurrency: 16 } },
    );
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'pitr-guard-screenshot-')), 'report.html');
    writeFileSync(file, renderHtml(report, { source: 'a local emulator (moto), seeded by npm run screenshot' }));
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
      await page.goto(`file://${file}`);
      // The first fix command open, to show what a row offers; the shot ends below the first
      // rows of the first page (the whole page is PAGE_SIZE rows).
      await page.click('#findings tbody tr [data-testid="fix"] summary');
      await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1400 } });
    } finally {
      await browser.close();
    }
    console.log(`${path.relative(root, out)}: ${report.summary.total} tables, ${Math.round(statSync(out).size / 1024)} KB`);
  } finally {
    await shim.stop();
    await moto.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`npm run screenshot failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
