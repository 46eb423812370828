/**
 * The reference pages document what the code has: every PITR_GUARD_* variable the policy parser
 * knows is in docs/configuration.md, and every serverless param in serverless.yml is in
 * docs/deployment.md. A variable or param added without its documentation fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ENV } from '../../lib/core/config';

const root = path.join(__dirname, '../..');
const read = (f: string) => readFileSync(path.join(root, f), 'utf8');

/** The keys of serverless.yml's `params.default` block (read as text: the file has CloudFormation tags). */
function serverlessParams(): string[] {
  const yml = read('serverless.yml');
  const block = yml.slice(yml.indexOf('\nparams:\n  default:\n'), yml.indexOf('\nprovider:'));
  return [...block.matchAll(/^ {4}([A-Za-z][A-Za-z0-9]*):/gm)].map((m) => m[1] as string);
}

describe('reference docs match the code', () => {
  it.each(Object.values(ENV))('docs/configuration.md documents %s in its table', (name) => {
    expect(read('docs/configuration.md')).toMatch(new RegExp(`^\\| \`${name}\` \\|`, 'm'));
  });

  it('finds the serverless params', () => {
    expect(serverlessParams()).toEqual(expect.arrayContaining(['mode', 'readOnly', 'idempotencyTable', 'configRule']));
  });

  it.each(serverlessParams())('docs/deployment.md documents the param %s in its table', (param) => {
    expect(read('docs/deployment.md')).toMatch(new RegExp(`^\\| \`${param}\` \\|`, 'm'));
  });
});
