/** Which browser binary the HTML tests and `npm run screenshot` use: never a hard-coded path. */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHROMIUM_ENV, chromiumPath } from '../../dev/local/browser';

describe('chromiumPath', () => {
  it('uses the binary PITR_GUARD_CHROMIUM names', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'pitr-guard-browser-')), 'chromium');
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, 0o755);
    await expect(chromiumPath({ [CHROMIUM_ENV]: file })).resolves.toEqual({ path: file, source: CHROMIUM_ENV });
  });

  it('refuses a PITR_GUARD_CHROMIUM that does not exist instead of falling back silently', async () => {
    await expect(chromiumPath({ [CHROMIUM_ENV]: '/nonexistent/chromium' })).rejects.toThrow(
      'PITR_GUARD_CHROMIUM=/nonexistent/chromium: no such file (unset it to use the bundled Chromium)',
    );
  });
});
