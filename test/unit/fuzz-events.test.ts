/**
 * Fuzz: generated malformed and forged CloudTrail events (fast-check) through the parser, the
 * reactor's `run` and its Lambda handler, with every AWS call mocked (aws-sdk-client-mock).
 *
 * Every generated event must be rejected or ignored: no DynamoDB call at all (so no
 * UpdateContinuousBackups), no alert on any channel, no throw, and exactly one short, clear log
 * line. Each case starts from one of the real-shaped sample events and breaks one thing a forger
 * or a broken producer could: the envelope (exact values, as EventBridge compares them), missing
 * fields, the event ID, the table name, account or Region, a failed call, another API, another
 * account or Region, or the wrong types altogether.
 *
 * Cases are drawn with fixed seeds (fc.sample), so the figures are exact and repeatable. Set
 * PITR_GUARD_FUZZ_REPORT=<file> to write them (cases per kind, wrong actions, crashes).
 */
import { writeFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { handler, run, type PitrChangeDeps, type PitrChangeResult } from '../../functions/pitr-change';
import { resetPolicyCache } from '../../lib/core/config';
import { Clients } from '../../lib/aws/clients';
import { EXPECTED_DETAIL_TYPE, EXPECTED_EVENT_SOURCE, EXPECTED_SOURCE, parseCloudTrailEvent } from '../../lib/events/cloudtrail';
import { REACTOR_EVENT_NAMES } from '../../lib/core/types';
import { createLogger } from '../../lib/runtime/logger';
import { MemoryIdempotencyStore } from '../../lib/state/idempotency';
import type { Notifier } from '../../lib/notify';
import type { RenderedAlert } from '../../lib/notify/format';
import { loadEvent } from '../helpers/builders';
import { captureLogs, lambdaContext } from '../helpers/lambda';

const ddb = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
const sts = mockClient(STSClient);

type Json = Record<string, unknown>;
type Ev = Json & { detail: Json };

const SAMPLES = [
  'cloudtrail-pitr-disabled.json',
  'cloudtrail-period-shortened.json',
  'cloudtrail-create-table.json',
  'cloudtrail-restore-point-in-time.json',
  'cloudtrail-restore-from-backup.json',
  'cloudtrail-import-table.json',
  'cloudtrail-delete-table.json',
  'cloudtrail-member-pitr-disabled.json',
] as const;

/** Where each sample names its table first (the parser reads this one when it is a non-empty string). */
const TABLE_PATH: Record<string, string[]> = {
  UpdateContinuousBackups: ['requestParameters', 'tableName'],
  CreateTable: ['requestParameters', 'tableName'],
  RestoreTableToPointInTime: ['requestParameters', 'targetTableName'],
  RestoreTableFromBackup: ['requestParameters', 'targetTableName'],
  ImportTable: ['requestParameters', 'tableCreationParameters', 'tableName'],
  DeleteTable: ['requestParameters', 'tableName'],
};

const sample = (i: number): Ev => loadEvent<Ev>(SAMPLES[i % SAMPLES.length] as string);

function setPath(obj: Json, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Json;
  }
  const last = path[path.length - 1] as string;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

// ---------------------------------------------------------------- generators

/** Characters a forger pads or splices with: whitespace, line breaks, NBSP, zero-width, bidi. */
const junk = fc.constantFrom(' ', '\n', '\t', '\r', '\r\n', '\u00a0', '\u200b', '\u202e', '\ufeff', '\u0000');
/** A value that looks like `expected` but is not it. */
const nearly = (expected: string) =>
  fc.oneof(
    fc.tuple(junk, fc.boolean()).map(([j, before]) => (before ? j + expected : expected + j)),
    fc.constant(expected.toUpperCase()),
    fc.constant(expected.replace(/[.a]/, (c) => (c === '.' ? '\u2024' : '\u0430'))), // a look-alike: one dot leader, or Cyrillic a
    fc.string({ maxLength: 40 }).filter((s) => s !== expected && s !== ''),
    fc.oneof(fc.integer(), fc.boolean(), fc.constant([expected]), fc.constant({ value: expected })),
  );
const notUuid = fc.oneof(
  fc.string({ maxLength: 60 }).filter((s) => s !== '' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)),
  fc.uuid().chain((u) => junk.map((j) => u + j)),
  fc.uuid().map((u) => u.replace(/[0-9a-f]$/, 'g')),
  fc.uuid().map((u) => u.replace(/-/g, '')),
  fc.integer({ min: 150_000, max: 250_000 }).map((n) => 'e'.repeat(n)),
);
const badTableName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 2 }).filter((s) => /^[A-Za-z0-9_.-]+$/.test(s)),
  fc.integer({ min: 256, max: 300 }).map((n) => 't'.repeat(n)),
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /[^A-Za-z0-9_.-]/.test(s) && !s.includes(':table/')),
  junk.map((j) => `orders${j}`),
  fc.constant('arn:aws:dynamodb:us-east-1:12345:table/orders'),
  fc.constant('arn:aws:dynamodb:moon-base-1x:123456789012:table/orders'),
  fc.integer({ min: 150_000, max: 250_000 }).map((n) => 'x'.repeat(n)),
);
const badAccount = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/^\d{12}$/.test(s)),
  fc.constant('12345678901'),
  fc.constant('1234567890123'),
  junk.map((j) => `123456789012${j}`),
  fc.constant('１２３４５６７８９０１２'), // full-width digits
);
const badRegion = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/.test(s)),
  junk.map((j) => `us-east-1${j}`),
  fc.constant('US-EAST-1'),
);

interface Case {
  kind: string;
  event: unknown;
}

const malformed: fc.Arbitrary<Case> = fc.oneof(
  // The envelope: one of the three fields, forged or mangled.
  fc.tuple(fc.nat(), fc.constantFrom('source', 'detail-type', 'detail.eventSource'), fc.constant(null)).chain(([i, field]) => {
    const expected = field === 'source' ? EXPECTED_SOURCE : field === 'detail-type' ? EXPECTED_DETAIL_TYPE : EXPECTED_EVENT_SOURCE;
    return nearly(expected).map((value) => {
      const e = sample(i);
      if (field === 'detail.eventSource') e.detail.eventSource = value;
      else e[field] = value;
      return { kind: `envelope:${field}`, event: e };
    });
  }),
  // Required fields missing (one or several).
  fc.tuple(fc.nat(), fc.subarray(['source', 'detail-type', 'detail', 'eventSource', 'eventName', 'eventID', 'table', 'account', 'region'] as const, { minLength: 1 })).map(([i, drop]) => {
    const e = sample(i);
    const name = String(e.detail.eventName);
    for (const d of drop) {
      if (d === 'source' || d === 'detail-type') delete e[d];
      else if (d === 'eventSource' || d === 'eventName' || d === 'eventID') delete e.detail[d];
      else if (d === 'account') {
        delete e.account;
        delete e.detail.recipientAccountId;
      } else if (d === 'region') {
        delete e.region;
        delete e.detail.awsRegion;
      } else if (d === 'table') {
        delete e.detail.requestParameters;
        delete e.detail.responseElements;
      }
    }
    if (drop.includes('detail')) delete (e as Json).detail;
    return { kind: `missing:${name}`, event: e };
  }),
  // The idempotency key is not a CloudTrail event ID.
  fc.tuple(fc.nat(), notUuid, fc.boolean()).map(([i, id, addendum]) => {
    const e = sample(i);
    if (addendum) e.detail.addendum = { reason: 'DELIVERY_DELAY', originalEventID: id };
    else e.detail.eventID = id;
    return { kind: addendum ? 'event-id:addendum' : 'event-id', event: e };
  }),
  fc.tuple(fc.nat(), badTableName).map(([i, name]) => {
    const e = sample(i);
    setPath(e.detail, TABLE_PATH[String(e.detail.eventName)] as string[], name);
    return { kind: 'table-name', event: e };
  }),
  fc.tuple(fc.nat(), badAccount).map(([i, account]) => {
    const e = sample(i);
    e.detail.recipientAccountId = account;
    return { kind: 'account', event: e };
  }),
  fc.tuple(fc.nat(), badRegion).map(([i, region]) => {
    const e = sample(i);
    e.detail.awsRegion = region;
    return { kind: 'region', event: e };
  }),
  // A failed call changed nothing.
  fc.tuple(fc.nat(), fc.oneof(fc.string({ minLength: 1, maxLength: 60 }), fc.integer({ min: 150_000, max: 250_000 }).map((n) => 'E'.repeat(n)), fc.integer(), fc.object())).map(([i, code]) => {
    const e = sample(i);
    e.detail.errorCode = code;
    return { kind: 'failed-call', event: e };
  }),
  // Another API (or a mangled name of one of ours).
  fc.tuple(fc.nat(), fc.oneof(fc.string({ maxLength: 40 }), nearly('UpdateContinuousBackups'), fc.constantFrom('UpdateTable', 'UpdateTimeToLive', 'DescribeContinuousBackups', 'TagResource'))).map(([i, name]) => {
    const e = sample(i);
    e.detail.eventName = name;
    return { kind: 'event-name', event: e };
  }),
  // Well-formed but not this deployment's: another account (also via a table ARN) or Region.
  fc.tuple(fc.nat(), fc.stringMatching(/^\d{12}$/).filter((a) => a !== '123456789012'), fc.constantFrom('recipient', 'arn')).map(([i, account, how]) => {
    const e = sample(i);
    // (A table ARN names where the table lives and wins over recipientAccountId: use a plain name here.)
    if (how === 'recipient') {
      e.detail.recipientAccountId = account;
      setPath(e.detail, TABLE_PATH[String(e.detail.eventName)] as string[], 'orders');
    } else setPath(e.detail, TABLE_PATH[String(e.detail.eventName)] as string[], `arn:aws:dynamodb:us-east-1:${account}:table/orders`);
    return { kind: `other-account:${how}`, event: e };
  }),
  fc.tuple(fc.nat(), fc.constantFrom('eu-west-1', 'ap-southeast-2', 'us-west-2', 'cn-north-1')).map(([i, region]) => {
    const e = sample(i);
    e.detail.awsRegion = region;
    setPath(e.detail, TABLE_PATH[String(e.detail.eventName)] as string[], 'orders'); // (an ARN's Region would win)
    return { kind: 'other-region', event: e };
  }),
  // Not an EventBridge event object at all, or a detail that is not an object.
  fc.anything().filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)).map((v) => ({ kind: 'not-an-object', event: v })),
  fc.tuple(fc.nat(), fc.oneof(fc.string(), fc.integer(), fc.array(fc.anything()), fc.constant(null))).map(([i, d]) => {
    const e = sample(i) as Json;
    e.detail = d;
    return { kind: 'detail-not-an-object', event: e };
  }),
);

/** Any of the above; one in five also carries a huge or mangled EventBridge envelope id (logged as eventBridgeId). */
const cases: fc.Arbitrary<Case> = fc
  .tuple(malformed, fc.option(fc.oneof(fc.integer({ min: 150_000, max: 250_000 }).map((n) => 'i'.repeat(n)), junk.map((j) => `id${j}\u202e`)), { freq: 4 }))
  .map(([c, id]) => {
    if (id !== null && c.event !== null && typeof c.event === 'object' && !Array.isArray(c.event)) (c.event as Json).id = id;
    return c;
  });

// ---------------------------------------------------------------- the reactor, mocked

class Channel implements Notifier {
  sent: RenderedAlert[] = [];
  constructor(readonly channel: Notifier['channel']) {}
  async send(alert: RenderedAlert): Promise<void> {
    this.sent.push(alert);
  }
}

const figures = { cases: 0, byKind: {} as Record<string, number>, wrongActions: 0, crashes: 0, logProblems: 0, handlerCases: 0 };

/** What went wrong with one case (empty when the reactor behaved). */
function verdict(result: PitrChangeResult | undefined, error: unknown, lines: Json[], channels: Channel[]): string[] {
  const problems: string[] = [];
  if (error !== undefined) problems.push(`threw ${String(error)}`);
  if (result && result.status !== 'rejected' && result.status !== 'ignored') problems.push(`status ${result.status}`);
  const calls = ddb.calls().length + sns.commandCalls(PublishCommand).length;
  const sent = channels.reduce((n, c) => n + c.sent.length, 0);
  if (calls > 0 || sent > 0) problems.push(`acted: ${ddb.calls().length} DynamoDB calls, ${sns.commandCalls(PublishCommand).length} Publish, ${sent} alerts`);
  if (lines.length !== 1) problems.push(`${lines.length} log lines`);
  const line = lines[0];
  if (line) {
    const text = JSON.stringify(line);
    if (text.length > 1_500) problems.push(`log line of ${text.length} characters`);
    const message = String(line.message);
    if (!/^(rejected malformed event|ignored event): \S/.test(message)) problems.push(`unclear log line: ${message.slice(0, 80)}`);
    if (!['event-rejected', 'event-ignored'].includes(String(line.event))) problems.push(`log event ${String(line.event)}`);
  }
  return problems;
}

function count(kind: string, problems: string[]): void {
  figures.cases++;
  const k = kind.split(':')[0] as string;
  figures.byKind[k] = (figures.byKind[k] ?? 0) + 1;
  if (problems.some((p) => p.startsWith('acted') || p.startsWith('status'))) figures.wrongActions++;
  if (problems.some((p) => p.startsWith('threw'))) figures.crashes++;
  if (problems.some((p) => p.includes('log'))) figures.logProblems++;
}

beforeEach(() => {
  ddb.reset();
  sns.reset();
  sts.reset();
});

afterAll(() => {
  const file = process.env.PITR_GUARD_FUZZ_REPORT;
  if (file) writeFileSync(file, JSON.stringify(figures, null, 2) + '\n');
});

describe('fuzz: malformed and forged CloudTrail events', () => {
  it('the samples the cases start from are valid events (so each case breaks exactly what it says)', () => {
    for (let i = 0; i < SAMPLES.length; i++) expect(parseCloudTrailEvent(sample(i)).status).toBe('ok');
    expect(REACTOR_EVENT_NAMES.every((n) => TABLE_PATH[n])).toBe(true);
  });

  it('reactor run: 400 cases, no action, no throw, one clear log line each', async () => {
    const failures: { kind: string; problems: string[] }[] = [];
    for (const { kind, event } of fc.sample(cases, { numRuns: 400, seed: 20261201 })) {
      ddb.reset();
      sns.reset();
      const lines: Json[] = [];
      const channels = [new Channel('sns'), new Channel('slack')];
      const deps: PitrChangeDeps = {
        policy: { mode: 'remediate', minRecoveryDays: 35, exemptTag: 'pitr-guard:exempt', regions: ['us-east-1'], dryRun: false },
        clients: new Clients(),
        logger: createLogger({ write: (l) => lines.push(JSON.parse(l) as Json) }),
        homeRegion: 'us-east-1',
        accountId: '123456789012',
        notifiers: channels,
        idempotency: new MemoryIdempotencyStore(),
        sleep: async () => undefined,
      };
      const parsed = parseCloudTrailEvent(event);
      let result: PitrChangeResult | undefined;
      let error: unknown;
      try {
        result = await run(event, deps);
      } catch (e) {
        error = e;
      }
      const problems = verdict(result, error, lines, channels);
      if (parsed.status === 'ok' && !kind.startsWith('other-')) problems.push(`parser accepted a ${kind} case`);
      count(kind, problems);
      if (problems.length) failures.push({ kind, problems });
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(figures.cases).toBe(400);
    expect(Object.keys(figures.byKind).length).toBeGreaterThanOrEqual(10);
    expect(figures.wrongActions + figures.crashes + figures.logProblems).toBe(0);
  });

  describe('through the Lambda handler (deps from the environment, real SDK clients on mocks)', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('150 more cases: no AWS call, no alert, no throw, one log line each', async () => {
      Object.assign(process.env, {
        AWS_REGION: 'us-east-1',
        PITR_GUARD_MODE: 'remediate',
        PITR_GUARD_REGIONS: 'us-east-1',
        PITR_GUARD_ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:pitr-guard-alerts',
        PITR_GUARD_IDEMPOTENCY_TABLE: 'pitr-guard-idempotency',
      });
      resetPolicyCache();
      const context = lambdaContext('pitr-guard-dev-pitrChange');
      const failures: { kind: string; problems: string[] }[] = [];
      const before = figures.cases;
      for (const { kind, event } of fc.sample(cases, { numRuns: 150, seed: 20261202 })) {
        ddb.reset();
        sns.reset();
        let error: unknown;
        const { result, lines } = await captureLogs(async () => {
          try {
            return await handler(event, context);
          } catch (e) {
            error = e;
            return undefined;
          }
        });
        const problems = verdict(result, error, lines, []);
        if (sts.calls().length > 0) problems.push('acted: asked STS');
        figures.handlerCases++;
        count(kind, problems);
        if (problems.length) failures.push({ kind, problems });
      }
      expect(failures.slice(0, 5)).toEqual([]);
      expect(figures.cases - before).toBe(150);
      expect(figures.wrongActions + figures.crashes + figures.logProblems).toBe(0);
    });
  });
});
