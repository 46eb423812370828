/**
 * `npm run bench:reaction`: how many sequential AWS round trips the reactor needs for one disable
 * event, and what that costs in wall time, on moto behind the fault proxy with a fixed added
 * latency on every call (a `before` rule that sleeps, default 50 ms: an AWS round trip).
 *
 * Round trips are computed from what the proxy saw, not assumed: calls are sorted by arrival and
 * a call opens a new round when it arrives at least half a latency after the current round's
 * first call (a call that depends on an answer cannot arrive sooner than one latency after the
 * call it waited for; calls sent together arrive within milliseconds). Printed per event (median
 * over N events): the round in which UpdateContinuousBackups went out (PITR re-enabled after that
 * many round trips), the rounds of the whole handler, calls per event, wall ms per event; for the
 * reactor as deployed without the findings ledger (the 8 calls) and with it.
 *
 * Options (env): BENCH_EVENTS (default 15), BENCH_LATENCY_MS (default 50).
 */
import { CreateTableCommand, DynamoDBClient, UpdateContinuousBackupsCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Clients } from '../lib/aws/clients';
import { startMoto } from '../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../dev/local/proxy';
import { makeDeps, reactorHandler } from '../lib/jobs/pitr-change';
import { silentLogger } from '../lib/runtime/logger';

const events = Number(process.env.BENCH_EVENTS ?? 15);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 50);
const region = 'us-east-1';
const account = '123456789012';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rounds from arrival times: a new round when a call arrives ≥ latency/2 after the round's first call. */
export function rounds(seen: readonly { operation: string; at: number }[], latency: number): string[][] {
  const out: { start: number; ops: string[] }[] = [];
  for (const call of [...seen].sort((a, b) => a.at - b.at)) {
    const last = out[out.length - 1];
    if (last && call.at - last.start < latency / 2) last.ops.push(call.operation);
    else out.push({ start: call.at, ops: [call.operation] });
  }
  return out.map((r) => r.ops);
}

/** The sample disable event (events/), for another table and with an eventID of its own. */
function disableEvent(tableName: string) {
  const event = JSON.parse(readFileSync(path.join(process.cwd(), 'events', 'cloudtrail-pitr-disabled.json'), 'utf8')) as { time: string; detail: Record<string, unknown> & { requestParameters: { tableName: string } } };
  const now = new Date().toISOString();
  event.time = now;
  event.detail.eventTime = now;
  event.detail.requestParameters.tableName = tableName;
  event.detail.eventID = randomUUID();
  return event;
}

/** Every call the reactor can make on this path (the proxy's rules match operations by name). */
const SLOWED = ['PutItem', 'GetItem', 'UpdateItem', 'DescribeTable', 'DescribeContinuousBackups', 'ListTagsOfResource', 'UpdateContinuousBackups', 'Publish', 'GetCallerIdentity', 'GetParameter'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function measure(label: string, proxy: FaultProxy, direct: DynamoDBClient, topicArn: string, findingsTable?: string) {
  const clients = new Clients({ endpoint: proxy.endpoint });
  const deps = makeDeps({
    policy: { mode: 'remediate', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: [region], dryRun: false, alertTopicArn: topicArn },
    clients,
    logger: silentLogger,
    homeRegion: region,
    accountId: account,
    idempotencyTable: 'pitr-guard-idempotency',
    ...(findingsTable ? { findingsTable } : {}),
  });
  const handler = reactorHandler(() => deps);
  const rows: { update: number; total: number; calls: number; wall: number; reenable: number; ops: string[][] }[] = [];
  for (let i = -1; i < events; i++) {
    const tableName = `bench-orders-${i < 0 ? 'warm' : i % 5}`;
    // the disable the event reports (sent to moto directly: not counted)
    await direct.send(new UpdateContinuousBackupsCommand({ TableName: tableName, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false } }));
    proxy.seen.length = 0;
    const started = Date.now();
    const out = await handler(disableEvent(tableName), { functionName: 'bench', awsRequestId: `r${i}`, getRemainingTimeInMillis: () => 60_000 } as never);
    const wall = Date.now() - started;
    if (out.result !== 'ENABLED') throw new Error(`${label}: event ${i} ended ${out.status} ${out.result ?? ''}: ${out.message ?? out.reason ?? ''}`);
    if (i < 0) continue; // warm-up: clients, SDK internals, credentials
    const ops = rounds(proxy.seen, latencyMs);
    const update = ops.findIndex((r) => r.includes('UpdateContinuousBackups')) + 1;
    const updateAt = proxy.seen.find((c) => c.operation === 'UpdateContinuousBackups')?.at ?? NaN;
    rows.push({ update, total: ops.length, calls: proxy.seen.length, wall, reenable: updateAt + latencyMs - started, ops });
  }
  const sample = rows[0]?.ops.map((r, n) => `${n + 1}: ${r.join(' + ')}`).join('\n    ');
  console.log(`\n== ${label} ==`);
  console.log(`  round trips until PITR is re-enabled (UpdateContinuousBackups' own included): ${median(rows.map((r) => r.update))} (max ${Math.max(...rows.map((r) => r.update))})`);
  console.log(`  ms from the handler's start until UpdateContinuousBackups is answered (median): ${median(rows.map((r) => r.reenable))}`);
  console.log(`  sequential round trips, whole handler: ${median(rows.map((r) => r.total))} (max ${Math.max(...rows.map((r) => r.total))})`);
  console.log(`  AWS calls per event: ${median(rows.map((r) => r.calls))}`);
  console.log(`  wall ms per event (median of ${rows.length}): ${median(rows.map((r) => r.wall))} at ${latencyMs} ms a round trip`);
  console.log(`  rounds of one event:\n    ${sample}`);
}

async function main() {
  const moto = await startMoto();
  const proxy = await startFaultProxy(moto.endpoint, SLOWED.map((operation) => ({ operation, before: () => sleep(latencyMs) })));
  try {
    const direct = new DynamoDBClient({ region, endpoint: moto.endpoint });
    const create = async (TableName: string, key: string, sort?: string) => {
      await direct.send(
        new CreateTableCommand({
          TableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }, ...(sort ? [{ AttributeName: sort, AttributeType: 'S' as const }] : [])],
          KeySchema: [{ AttributeName: key, KeyType: 'HASH' }, ...(sort ? [{ AttributeName: sort, KeyType: 'RANGE' as const }] : [])],
        }),
      );
      await waitUntilTableExists({ client: direct, maxWaitTime: 30 }, { TableName });
    };
    await create('pitr-guard-idempotency', 'eventId');
    await create('pitr-guard-findings', 'tableArn');
    for (const name of ['warm', 0, 1, 2, 3, 4]) await create(`bench-orders-${name}`, 'pk', 'sk');
    const topicArn = (await new SNSClient({ region, endpoint: moto.endpoint }).send(new CreateTopicCommand({ Name: 'pitr-guard-alerts' }))).TopicArn as string;
    console.log(`reactor on moto through the fault proxy, ${latencyMs} ms added to every AWS call, ${events} disable events (after one warm-up)`);
    await measure('without the findings ledger (claim, reads, update, verify, SNS, complete)', proxy, direct, topicArn);
    await measure('with the findings ledger (PITR_GUARD_FINDINGS_TABLE: incident + loop protection)', proxy, direct, topicArn, 'pitr-guard-findings');
  } finally {
    await proxy.stop();
    await moto.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
