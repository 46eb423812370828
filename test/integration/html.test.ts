/**
 * The HTML report in a real browser (headless Chromium from dev/local/browser.ts: the build the
 * @sparticuz/chromium dev dependency ships, or the one PITR_GUARD_CHROMIUM names), driven by
 * playwright-core: a report of a seeded moto account renders the report's counts, sorts, filters,
 * runs no injected code, loads nothing from the network; a screenshot lands in test-artifacts/.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../../dev/local/browser';
import { Clients } from '../../lib/aws/clients';
import { DEMO_REGIONS, demoPlan, seed } from '../../dev/seed';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { PAGE_SIZE, renderHtml } from '../../lib/report/html';
import { scan, type ScanReport } from '../../lib/aws/scan';

const ARTIFACTS = path.join(__dirname, '../../test-artifacts');
const XSS = '<img src=x onerror="window.__xss=1">"><script>window.__xss=2</script>';

let moto: MotoServer;
let browser: Browser;
let page: Page;
let report: ScanReport;
const requests: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  moto = await startMoto();
  const clients = new Clients({ endpoint: moto.endpoint });
  const plan = demoPlan(new Date());
  await seed(clients, plan, { exemptTag: 'pitr-guard:exempt' });
  // A tag value that tries to inject markup into the report.
  await clients.get(DynamoDBClient, 'us-east-1').send(
    new CreateTableCommand({
      TableName: 'evil-tags',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      Tags: [{ Key: 'pitr-guard:exempt', Value: XSS }],
    }),
  );
  report = await scan(
    { policy: { regions: [...DEMO_REGIONS], minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt' }, homeRegion: 'us-east-1' },
    { clients, inventory: { ratePerSecond: 200, concurrency: 16 } },
  );
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'html-report.html');
  writeFileSync(file, renderHtml(report, { source: `a local emulator (moto, ${moto.endpoint})` }));

  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('request', (r) => requests.push(r.url()));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`file://${file}`);
});

afterAll(async () => {
  await browser?.close();
  await moto?.stop();
});

/** A table row as the page script sees it (the project's TypeScript has no DOM types). */
type Row = { hidden: boolean; cells: ArrayLike<{ textContent: string | null }> };
const visibleTableNames = () =>
  page.$$eval('#findings tbody tr', (rows) =>
    (rows as unknown as Row[]).filter((r) => !r.hidden).map((r) => r.cells[2]?.textContent ?? ''),
  );
/** Every row's table name in DOM order, on every page. */
const allTableNames = () => page.$$eval('#findings tbody tr', (rows) => (rows as unknown as Row[]).map((r) => r.cells[2]?.textContent ?? ''));
const pages = Math.ceil(64 / PAGE_SIZE);

describe('HTML report in headless Chromium', () => {
  it('shows the report counts in the summary cards', async () => {
    expect(report.summary.total).toBe(64);
    const card = async (id: string) => Number(await page.textContent(`[data-testid="card-${id}"] .n`));
    expect(await card('total')).toBe(report.summary.total);
    expect(await card('nonCompliant')).toBe(report.summary.nonCompliant);
    expect(await card('error')).toBe(report.summary.error);
    expect(await card('exempt')).toBe(report.summary.exempt);
    expect(await card('compliant')).toBe(report.summary.compliant);
    expect(await card('notApplicable')).toBe(report.summary.notApplicable);
    expect(await page.textContent('[data-testid="account"]')).toBe(report.accountId);
    expect(await page.getAttribute('[data-testid="generated"] time', 'datetime')).toBe(report.generatedAt);
  });

  it('has one row per finding and a chart bar per Region whose segments add up', async () => {
    expect(await page.locator('#findings tbody tr').count()).toBe(report.findings.length);
    expect(await page.textContent('#shown')).toBe(`Showing 1–${PAGE_SIZE} of ${report.findings.length} tables`);
    for (const region of DEMO_REGIONS) {
      const segments = await page.$$eval(`svg g[data-region="${region}"] rect.seg`, (rects) => rects.map((r) => Number(r.getAttribute('data-count'))));
      expect(segments.reduce((a, b) => a + b, 0)).toBe(report.findings.filter((f) => f.region === region).length);
    }
  });

  it('sorts by a column on click, both ways, and by number for numeric columns', async () => {
    const names = report.findings.map((f) => f.tableName);
    await page.click('th:nth-child(3) button');
    const ascending = [...names].sort((a, b) => a.localeCompare(b));
    expect(await allTableNames()).toEqual(ascending);
    expect(await visibleTableNames()).toEqual(ascending.slice(0, PAGE_SIZE)); // back to page 1
    expect(await page.getAttribute('th:nth-child(3)', 'aria-sort')).toBe('ascending');
    await page.click('th:nth-child(3) button');
    expect(await allTableNames()).toEqual([...names].sort((a, b) => b.localeCompare(a)));

    await page.click('th:nth-child(5) button'); // Period (days)
    const periods = await page.$$eval('#findings tbody tr td:nth-child(5)', (cells) => cells.map((c) => c.getAttribute('data-sort') ?? ''));
    const numbers = periods.filter((p) => p !== '').map(Number);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(numbers[0]).toBe(3);
    expect(periods.slice(numbers.length).every((p) => p === '')).toBe(true); // blanks last

    await page.click('th:nth-child(1) button'); // back to worst first
    const statuses = await page.$$eval('#findings tbody tr', (rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(statuses).toEqual(report.findings.map((f) => f.status));
  });

  it('filters by text and by status', async () => {
    await page.fill('#filter', 'prod-orders');
    const expected = report.findings.filter((f) => f.tableName.includes('prod-orders')).map((f) => f.tableName);
    expect((await visibleTableNames()).sort()).toEqual(expected.sort());
    await page.fill('#filter', '');
    await page.selectOption('#status-filter', 'EXEMPT');
    expect(await visibleTableNames()).toHaveLength(report.summary.exempt);
    expect(await page.textContent('#shown')).toBe(`Showing 1–${report.summary.exempt} of ${report.summary.exempt} matching (${report.findings.length} tables)`);
    expect(await page.isVisible('#pager')).toBe(false); // one page: no pager
    await page.selectOption('#status-filter', '');
  });

  it(`pages ${PAGE_SIZE} rows at a time, worst first, and shows all on request`, async () => {
    const worstFirst = report.findings.map((f) => f.tableName);
    expect(await visibleTableNames()).toEqual(worstFirst.slice(0, PAGE_SIZE));
    expect(await page.textContent('#page')).toBe(`Page 1 of ${pages}`);
    expect(await page.isDisabled('#prev')).toBe(true);
    await page.click('#next');
    expect(await visibleTableNames()).toEqual(worstFirst.slice(PAGE_SIZE, 2 * PAGE_SIZE));
    expect(await page.textContent('#shown')).toBe(`Showing ${PAGE_SIZE + 1}–${2 * PAGE_SIZE} of ${worstFirst.length} tables`);
    await page.click('#all');
    expect(await visibleTableNames()).toEqual(worstFirst);
    await page.click('#all');
    expect(await visibleTableNames()).toEqual(worstFirst.slice(0, PAGE_SIZE));
    // Page 1 holds every non-compliant table of the demo account (17 < PAGE_SIZE).
    const first = await page.$$eval('#findings tbody tr:not([hidden])', (rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(first.filter((st) => st === 'NON_COMPLIANT')).toHaveLength(report.summary.nonCompliant);
  });

  it('links each table to the DynamoDB console and shows the fix command on non-compliant rows', async () => {
    const link = page.locator('#findings tbody tr', { hasText: 'prod-device-tokens' }).locator('td.tn a');
    expect(await link.getAttribute('href')).toBe(
      'https://ap-southeast-2.console.aws.amazon.com/dynamodbv2/home?region=ap-southeast-2#table?name=prod-device-tokens',
    );
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    const fix = await page.locator('#findings tbody tr', { hasText: 'prod-device-tokens' }).locator('[data-testid="fix"] code').textContent();
    expect(fix).toBe(
      'aws dynamodb update-continuous-backups --region ap-southeast-2 --table-name prod-device-tokens --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=35',
    );
    expect(await page.locator('#findings tbody tr[data-status="NON_COMPLIANT"] [data-testid="fix"]').count()).toBe(report.summary.nonCompliant);
    expect(await page.locator('#findings tbody tr:not([data-status="NON_COMPLIANT"]) [data-testid="fix"]').count()).toBe(0);
    expect(await page.locator('#findings tbody td.tn a').count()).toBe(report.findings.length);
  });

  it('keeps every table name on one line, also on a narrow window, and shows the time to the second', async () => {
    await page.setViewportSize({ width: 760, height: 900 });
    await page.click('#all');
    const lines = await page.$$eval('#findings tbody td.tn a', (links) => links.map((a) => (a as unknown as { getClientRects: () => ArrayLike<unknown> }).getClientRects().length));
    await page.click('#all');
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(lines.length).toBe(report.findings.length);
    expect(lines.filter((n) => n !== 1)).toEqual([]);
    const shown = await page.textContent('[data-testid="generated"] time');
    expect(shown).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    expect(report.generatedAt.startsWith(shown!.slice(0, 10))).toBe(true);
  });

  it('says in a banner and in its title that the data came from a local emulator', async () => {
    const banner = page.locator('[data-testid="source"]');
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.textContent()).toBe(
      `Not AWS data: this report was generated from a local emulator (moto, ${moto.endpoint}). Its tables, accounts and findings are not those of a real AWS account.`,
    );
    expect(await page.title()).toMatch(/^NOT AWS: PITR compliance report: account \d{12}, /);
  });

  it('shows injected markup as text and runs none of it', async () => {
    const evil = await page.locator('tr', { hasText: 'evil-tags' }).textContent();
    expect(evil).toContain('<script>window.__xss=2</script>');
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator('#findings img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('loads nothing but the file itself', () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((u) => u.startsWith('file://'))).toBe(true);
  });

  it('writes a screenshot artifact', async () => {
    const shot = path.join(ARTIFACTS, 'html-report.png');
    await page.screenshot({ path: shot, fullPage: false });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
  });
});

/** window.getComputedStyle as the page script sees it (no DOM types in this project). */
type Styled = { getComputedStyle: (el: unknown) => { borderLeftColor: string } };

describe('HTML report of a partial scan in headless Chromium', () => {
  let partialPage: Page;
  let partial: ScanReport;

  beforeAll(async () => {
    partial = {
      ...report,
      regions: [...report.regions, 'ap-east-1'],
      regionErrors: [{ region: 'ap-east-1', operation: 'ListTables', errorName: 'UnrecognizedClientException', message: 'ListTables failed: UnrecognizedClientException: The security token included in the request is invalid' }],
      vanished: [{ region: 'us-east-1', tableName: 'tmp-import-2026' }],
    };
    const file = path.join(ARTIFACTS, 'html-report-partial.html');
    writeFileSync(file, renderHtml(partial));
    partialPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await partialPage.goto(`file://${file}`);
  });

  afterAll(async () => {
    await partialPage?.close();
  });

  it('shows a visible warning block above the cards, naming the Region and the deleted table', async () => {
    const block = partialPage.locator('[data-testid="not-evaluated"]');
    expect(await block.isVisible()).toBe(true);
    expect(await block.getAttribute('role')).toBe('alert');
    const text = (await block.textContent()) ?? '';
    expect(text).toContain('Incomplete report: 1 Region(s) not scanned, 1 table(s) deleted during the scan');
    expect(text).toContain('ap-east-1 was not scanned: ListTables failed with UnrecognizedClientException: The security token included in the request is invalid.');
    expect(text).toContain('us-east-1/tmp-import-2026 was deleted while the scan ran');
    const blockBox = await block.boundingBox();
    const cardsBox = await partialPage.locator('.cards').boundingBox();
    expect(blockBox!.y + blockBox!.height).toBeLessThanOrEqual(cardsBox!.y);
    expect(await partialPage.textContent('[data-testid="coverage"]')).toBe('1 Region(s) not scanned, 1 table(s) deleted during the scan');
  });

  it('has cards for both, and the Compliant card is not green while a Region is missing', async () => {
    const card = async (id: string) => Number(await partialPage.textContent(`[data-testid="card-${id}"] .n`));
    expect(await card('regionErrors')).toBe(1);
    expect(await card('vanished')).toBe(1);
    expect(await card('compliant')).toBe(partial.summary.compliant);
    const border = (selector: string) => partialPage.$eval(selector, (el) => (globalThis as unknown as Styled).getComputedStyle(el).borderLeftColor);
    const green = 'rgb(46, 125, 50)';
    expect(await border('[data-testid="card-compliant"]')).not.toBe(green);
    expect(await partialPage.textContent('[data-testid="card-compliant"] .l')).toBe('Compliant (scanned Regions only)');
    expect(await border('[data-testid="card-compliant"]')).toBe('rgb(239, 143, 0)');
    // The complete report's Compliant card is green: the colour above is the partial scan's doing.
    expect(await page.$eval('[data-testid="card-compliant"]', (el) => (globalThis as unknown as Styled).getComputedStyle(el).borderLeftColor)).toBe(green);
    await partialPage.screenshot({ path: path.join(ARTIFACTS, 'html-report-partial.png'), fullPage: false });
  });
});
