/**
 * SNS Publish against a local endpoint that never answers (a hanging SNS): the real SDK client,
 * bounded by the time deliver hands the channel. The other channel still delivers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Clients } from '../../lib/aws/clients';
import { DELIVERY_RESERVE_MS, deliver, isPermanentFailure, type Notifier } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';
import { SnsNotifier } from '../../lib/notify/sns';
import { createMetrics } from '../../lib/runtime/metrics';

const alert: RenderedAlert = { kind: 'change', subject: 's', text: 't\n', slack: { text: 'x', blocks: [] }, attributes: {} };

let server: Server;
let endpoint: string;
let requests = 0;
beforeAll(async () => {
  server = createServer(() => {
    requests++; // never answers
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

it('a hanging Publish is abandoned within the time left, counted as a transient failure; Slack still delivers', async () => {
  const clients = new Clients({ endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 3 });
  const sns = new SnsNotifier(clients, 'arn:aws:sns:us-east-1:123456789012:alerts');
  const sent: RenderedAlert[] = [];
  const slack: Notifier = { channel: 'slack', send: async (a) => void sent.push(a) };
  const written: string[] = [];
  const started = Date.now();
  const report = await deliver([sns, slack], alert, {
    remainingMs: () => DELIVERY_RESERVE_MS + 800 - (Date.now() - started),
    metrics: createMetrics({ functionName: 'pitrChange', write: (l) => written.push(l) }),
  });
  const took = Date.now() - started;
  expect(took).toBeGreaterThanOrEqual(700);
  expect(took).toBeLessThan(5_000);
  expect(requests).toBeGreaterThanOrEqual(1);
  expect(report.delivered).toEqual(['slack']);
  expect(report.failed).toMatchObject([{ channel: 'sns', permanent: false }]);
  expect(sent).toEqual([alert]);
  expect(written.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([{ channel: 'sns', permanent: 'false', AlertDeliveryFailed: 1 }]);
});

it('without a known time left, a hanging Publish is abandoned after the Publish timeout', async () => {
  const clients = new Clients({ endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 2 });
  const sns = new SnsNotifier(clients, 'arn:aws:sns:us-east-1:123456789012:alerts', undefined, 500);
  const started = Date.now();
  const error = (await sns.send(alert).catch((e: unknown) => e)) as Error;
  expect(Date.now() - started).toBeLessThan(3_000);
  expect(error.message).toMatch(/^Publish on arn:aws:sns:us-east-1:123456789012:alerts failed: /);
  expect(isPermanentFailure(error)).toBe(false);
});
