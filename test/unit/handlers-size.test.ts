/** README and docs/architecture.md promise thin handlers: every file in functions/ is at most 40 lines. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = path.join(__dirname, '../../functions');

test.each(readdirSync(dir).filter((f) => f.endsWith('.ts')))('functions/%s is at most 40 lines', (file) => {
  const lines = readFileSync(path.join(dir, file), 'utf8').replace(/\n$/, '').split('\n').length;
  expect(lines).toBeLessThanOrEqual(40);
});
