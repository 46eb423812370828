/**
 * The headless browser the HTML report is tested in and photographed with (never imported by
 * Lambda code).
 *
 * - By default the Chromium that the `@sparticuz/chromium` dev dependency ships inside its npm
 *   tarball: unpacked to the OS temp folder on first use (about 2 s, then reused), so a fresh
 *   machine needs no system browser and no download from anywhere but the npm registry.
 * - `PITR_GUARD_CHROMIUM=/path/to/chromium` uses that binary instead (e.g. Debian's
 *   `/usr/bin/chromium`); a path that does not exist is an error, never a silent fallback.
 *
 * playwright-core drives either. The flags are our own, not the package's Lambda defaults (which
 * include --disable-web-security): the report must be tested under the browser's normal rules.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_ENV = 'PITR_GUARD_CHROMIUM';

const FLAGS = [
  '--no-sandbox', // root in CI containers; the page is our own local file
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--font-render-hinting=none', // the same glyphs on every machine, for stable screenshots
];

/** Where the browser binary is, and which source it came from. */
export async function chromiumPath(env: NodeJS.ProcessEnv = process.env): Promise<{ path: string; source: string }> {
  const configured = env[CHROMIUM_ENV]?.trim();
  if (configured) {
    if (!existsSync(configured)) throw new Error(`${CHROMIUM_ENV}=${configured}: no such file (unset it to use the bundled Chromium)`);
    return { path: configured, source: CHROMIUM_ENV };
  }
  // Loaded only here: the module sets FONTCONFIG_PATH for its bundled fonts when it loads.
  const { default: bundled } = await import('@sparticuz/chromium');
  return { path: await bundled.executablePath(), source: '@sparticuz/chromium' };
}

export async function launchBrowser(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  const { path } = await chromiumPath(env);
  return chromium.launch({ executablePath: path, headless: true, args: FLAGS });
}
