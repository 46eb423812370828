// `npm run moto`: starts a moto server on a free loopback port for manual use (serverless invoke
// local, the CLI), prints how to point the SDK at it, and stops it on Ctrl-C.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const port = process.env.MOTO_PORT
  ? Number(process.env.MOTO_PORT)
  : await new Promise((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
// moto's own server with DynamoDB's conditional writes made atomic (dev/local/moto_server.py)
const child = spawn(path.join(root, '.venv/bin/python'), [path.join(root, 'dev/local/moto_server.py'), '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
const endpoint = `http://127.0.0.1:${port}`;
process.stderr.write(
  `moto server on ${endpoint} (Ctrl-C stops it). In another shell:\n` +
    `  export AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1\n`,
);
const stop = () => child.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', (code) => process.exit(code ?? 0));
