/**
 * The local Step Functions runner (dev/local/sfn-runner.ts) on the real definition
 * (statemachine/org-scan.asl.json) with small fake handlers and an in-memory S3: the payloads it
 * passes, retry with backoff, catch into ShardErrorOutput, MaxConcurrencyPath as a real limit,
 * the ResultWriter files in the AWS shape, and loud refusal of anything it does not implement.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SfnRunner, UnsupportedAslError, type LambdaHandler } from '../../dev/local/sfn-runner';

const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachine/org-scan.asl.json'), 'utf8')) as Record<string, unknown>;
const s3mock = mockClient(S3Client);
const objects = new Map<string, string>();

beforeEach(() => {
  objects.clear();
  s3mock.reset();
  s3mock.on(PutObjectCommand).callsFake((input: { Bucket: string; Key: string; Body: string }) => {
    objects.set(`${input.Bucket}/${input.Key}`, String(input.Body));
    return {};
  });
  s3mock.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const body = objects.get(`${input.Bucket}/${input.Key}`);
    if (body === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: { transformToString: async () => body } };
  });
});

const item = (accountId: string, region: string) => ({ runId: 'r', bucket: 'b', accountId, region, startedAt: '2026-12-01T00:00:00.000Z' });
const shards = [item('111111111111', 'us-east-1'), item('111111111111', 'eu-west-1'), item('222222222222', 'us-east-1'), item('222222222222', 'eu-west-1'), item('333333333333', 'us-east-1')];

function planHandler(maxConcurrency: number, items = shards): LambdaHandler {
  return async () => {
    objects.set('b/runs/r/shards.json', JSON.stringify(items));
    return { runId: 'r', bucket: 'b', planKey: 'runs/r/plan.json', shardsKey: 'runs/r/shards.json', maxConcurrency, shardCount: items.length, startedAt: '2026-12-01T00:00:00.000Z' };
  };
}

const named = (name: string, message = name) => Object.assign(new Error(message), { name });

function runner(handlers: Partial<Record<'PlanFunctionArn' | 'ShardFunctionArn' | 'AggregateFunctionArn', LambdaHandler>>, sleeps: number[] = []) {
  return new SfnRunner({
    definition,
    handlers: {
      PlanFunctionArn: handlers.PlanFunctionArn ?? planHandler(2),
      ShardFunctionArn: handlers.ShardFunctionArn ?? (async (p) => ({ status: 'SCANNED', ...(p as object) })),
      AggregateFunctionArn: handlers.AggregateFunctionArn ?? (async (p) => ({ aggregated: p })),
    },
    s3: new S3Client({ region: 'us-east-1' }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  });
}

function json<T>(key: string): T {
  const body = objects.get(key);
  if (body === undefined) throw new Error(`no object ${key}; have ${[...objects.keys()].join(', ')}`);
  return JSON.parse(body) as T;
}

describe('SfnRunner on statemachine/org-scan.asl.json', () => {
  it('passes Step Functions payloads: Plan gets { event, executionName }, each shard its item, Aggregate the plan output plus the Map results', async () => {
    const aggregateInputs: unknown[] = [];
    const r = runner({ AggregateFunctionArn: async (p) => (aggregateInputs.push(p), { done: true }) });
    const result = await r.start({ id: 'evt-1', 'detail-type': 'Scheduled Event' }, 'exec-1');
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ done: true });
    expect(result.invocations[0]).toEqual({ state: 'Plan', attempt: 0, payload: { event: { id: 'evt-1', 'detail-type': 'Scheduled Event' }, executionName: 'exec-1' } });
    expect(result.invocations.filter((i) => i.state === 'ScanShard').map((i) => i.payload)).toEqual(expect.arrayContaining(shards));
    expect(result.invocations.filter((i) => i.state === 'ScanShard')).toHaveLength(5);
    const agg = aggregateInputs[0] as { results: { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } } };
    expect(agg).toEqual({
      runId: 'r',
      bucket: 'b',
      planKey: 'runs/r/plan.json',
      shardsKey: 'runs/r/shards.json',
      maxConcurrency: 2,
      shardCount: 5,
      startedAt: '2026-12-01T00:00:00.000Z',
      results: { MapRunArn: expect.stringMatching(/^arn:aws:states:us-east-1:123456789012:mapRun:pitr-guard-org-scan-local\/ScanShards:[0-9a-f-]{36}$/), ResultWriterDetails: { Bucket: 'b', Key: expect.stringMatching(/^runs\/r\/results\/[0-9a-f-]{36}\/manifest\.json$/) } },
    });
    // The manifest and the SUCCEEDED file, in the AWS shape: Input and Output are JSON strings.
    const manifest = json<{ DestinationBucket: string; MapRunArn: string; ResultFiles: Record<string, { Key: string; Size: number }[]> }>(`b/${agg.results.ResultWriterDetails.Key}`);
    expect(manifest.DestinationBucket).toBe('b');
    expect(manifest.MapRunArn).toBe(agg.results.MapRunArn);
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    expect(manifest.ResultFiles.SUCCEEDED).toHaveLength(1);
    const records = json<Record<string, unknown>[]>(`b/${manifest.ResultFiles.SUCCEEDED![0]!.Key}`);
    expect(records).toHaveLength(5);
    for (const rec of records) {
      expect(rec).toMatchObject({ Status: 'SUCCEEDED', StateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:pitr-guard-org-scan-local/ScanShards', InputDetails: { Included: true } });
      expect(JSON.parse(rec.Output as string)).toEqual({ status: 'SCANNED', ...JSON.parse(rec.Input as string) });
    }
    expect(manifest.ResultFiles.SUCCEEDED![0]!.Size).toBe(Buffer.byteLength(objects.get(`b/${manifest.ResultFiles.SUCCEEDED![0]!.Key}`)!, 'utf8'));
  });

  it('retries a shard on ShardRetryableError and Lambda throttling with backoff 2 (full jitter), then succeeds', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const r = runner(
      {
        PlanFunctionArn: planHandler(1, [shards[0]!]),
        ShardFunctionArn: async (p) => {
          calls++;
          if (calls === 1) throw named('Lambda.TooManyRequestsException', 'Rate Exceeded.');
          if (calls <= 3) throw named('ShardRetryableError', 'ListTables failed: ThrottlingException');
          return { status: 'SCANNED', ...(p as object) };
        },
      },
      sleeps,
    );
    const result = await r.start({}, 'retry');
    expect(result.status).toBe('SUCCEEDED');
    expect(result.invocations.filter((i) => i.state === 'ScanShard').map((i) => i.attempt)).toEqual([0, 1, 2, 3]);
    // IntervalSeconds 2, BackoffRate 2, JitterStrategy FULL (random 0.5): 1 s, 2 s, 4 s.
    expect(sleeps).toEqual([1000, 2000, 4000]);
  });

  it('catches a shard that still fails into a ShardErrorOutput (never a lost shard, never a failed run)', async () => {
    const sleeps: number[] = [];
    const aggregate = jest.fn(async (p: unknown) => p);
    const r = runner(
      {
        PlanFunctionArn: planHandler(3),
        AggregateFunctionArn: aggregate,
        ShardFunctionArn: async (p) => {
          const s = p as { accountId: string; region: string };
          if (s.accountId === '222222222222' && s.region === 'us-east-1') throw named('ShardFailedError', 'ListTables in us-east-1 failed: AccessDeniedException: no');
          if (s.accountId === '333333333333') throw named('ShardRetryableError', 'throttled for good');
          return { status: 'SCANNED', accountId: s.accountId, region: s.region };
        },
      },
      sleeps,
    );
    const result = await r.start({}, 'catch');
    expect(result.status).toBe('SUCCEEDED');
    // Non-retryable: one attempt; retryable: 1 + MaxAttempts 4.
    const attempts = (acct: string, region: string) => result.invocations.filter((i) => i.state === 'ScanShard' && (i.payload as { accountId: string; region: string }).accountId === acct && (i.payload as { region: string }).region === region).length;
    expect(attempts('222222222222', 'us-east-1')).toBe(1);
    expect(attempts('333333333333', 'us-east-1')).toBe(5);
    expect(sleeps).toEqual([1000, 2000, 4000, 8000]);
    const key = (aggregate.mock.calls[0]![0] as { results: { ResultWriterDetails: { Key: string } } }).results.ResultWriterDetails.Key;
    const manifest = json<{ ResultFiles: Record<string, { Key: string }[]> }>(`b/${key}`);
    const outputs = json<{ Output: string }[]>(`b/${manifest.ResultFiles.SUCCEEDED![0]!.Key}`).map((rec) => JSON.parse(rec.Output) as Record<string, unknown>);
    expect(outputs).toHaveLength(5);
    expect(outputs.filter((o) => o.status === 'ERROR')).toEqual([
      { ...item('222222222222', 'us-east-1'), status: 'ERROR', error: { Error: 'ShardFailedError', Cause: expect.stringContaining('"errorMessage":"ListTables in us-east-1 failed: AccessDeniedException: no"') } },
      { ...item('333333333333', 'us-east-1'), status: 'ERROR', error: { Error: 'ShardRetryableError', Cause: expect.stringContaining('throttled for good') } },
    ]);
    // Cause is Lambda's error JSON, as Step Functions passes it.
    const denied = outputs.find((o) => o.accountId === '222222222222' && o.region === 'us-east-1') as { error: { Cause: string } };
    expect(JSON.parse(denied.error.Cause)).toMatchObject({ errorType: 'ShardFailedError', errorMessage: 'ListTables in us-east-1 failed: AccessDeniedException: no' });
  });

  it('records a child that fails outside the catcher (States.DataLimitExceeded) in FAILED_0.json, and the run still succeeds (ToleratedFailurePercentage 100)', async () => {
    let key = '';
    const r = runner({
      PlanFunctionArn: planHandler(2, shards.slice(0, 2)),
      ShardFunctionArn: async (p) => ((p as { region: string }).region === 'eu-west-1' ? { big: 'x'.repeat(300_000) } : { status: 'SCANNED' }),
      AggregateFunctionArn: async (p) => {
        key = (p as { results: { ResultWriterDetails: { Key: string } } }).results.ResultWriterDetails.Key;
        return {};
      },
    });
    const result = await r.start({}, 'limit');
    expect(result.status).toBe('SUCCEEDED');
    const manifest = json<{ ResultFiles: Record<string, { Key: string }[]> }>(`b/${key}`);
    const failed = json<Record<string, unknown>[]>(`b/${manifest.ResultFiles.FAILED![0]!.Key}`);
    expect(failed).toEqual([expect.objectContaining({ Status: 'FAILED', Error: 'States.DataLimitExceeded', Input: JSON.stringify(shards[1]) })]);
    expect(failed[0]).not.toHaveProperty('Output');
  });

  it('times out an EXPRESS child past its limit (AWS: 5 minutes): TIMED_OUT in FAILED_0.json, no catcher sees it (the definition’s children are STANDARD: an EXPRESS copy)', async () => {
    let key = '';
    const express = structuredClone(definition) as { States: { ScanShards: { ItemProcessor: { ProcessorConfig: { ExecutionType: string } } } } };
    express.States.ScanShards.ItemProcessor.ProcessorConfig.ExecutionType = 'EXPRESS';
    const r = new SfnRunner({
      definition: express,
      s3: new S3Client({ region: 'us-east-1' }),
      expressTimeoutMs: 30,
      handlers: {
        PlanFunctionArn: planHandler(2, shards.slice(0, 2)),
        ShardFunctionArn: async (p) => ((p as { region: string }).region === 'eu-west-1' ? new Promise(() => undefined) : { status: 'SCANNED' }),
        AggregateFunctionArn: async (p) => {
          key = (p as { results: { ResultWriterDetails: { Key: string } } }).results.ResultWriterDetails.Key;
          return {};
        },
      },
    });
    expect((await r.start({}, 'slow')).status).toBe('SUCCEEDED');
    const manifest = json<{ ResultFiles: Record<string, { Key: string }[]> }>(`b/${key}`);
    expect(json<Record<string, unknown>[]>(`b/${manifest.ResultFiles.FAILED![0]!.Key}`)).toEqual([expect.objectContaining({ Status: 'TIMED_OUT', Error: 'States.Timeout', Input: JSON.stringify(shards[1]) })]);
    expect(json<unknown[]>(`b/${manifest.ResultFiles.SUCCEEDED![0]!.Key}`)).toHaveLength(1);
  });

  it('loops a STANDARD child through its parts: CONTINUE → ScanShard again with `next`, until SCANNED; no time limit', async () => {
    let key = '';
    const r = new SfnRunner({
      definition,
      s3: new S3Client({ region: 'us-east-1' }),
      expressTimeoutMs: 1, // not an EXPRESS child: never applies
      handlers: {
        PlanFunctionArn: planHandler(2, shards.slice(0, 2)),
        ShardFunctionArn: async (p) => {
          const i = p as ReturnType<typeof item> & { continuation?: { part: number } };
          await new Promise((res) => setTimeout(res, 5));
          const part = i.continuation?.part ?? 0;
          if (i.region === 'eu-west-1' || part === 3) return { status: 'SCANNED', accountId: i.accountId, region: i.region, parts: part + 1 };
          return { status: 'CONTINUE', accountId: i.accountId, region: i.region, next: { ...item(i.accountId, i.region), continuation: { part: part + 1, startAfter: `t${part}` } } };
        },
        AggregateFunctionArn: async (p) => {
          key = (p as { results: { ResultWriterDetails: { Key: string } } }).results.ResultWriterDetails.Key;
          return {};
        },
      },
    });
    const result = await r.start({}, 'parts');
    expect(result.status).toBe('SUCCEEDED');
    const calls = result.invocations.filter((i) => i.state === 'ScanShard' && (i.payload as { region: string }).region === 'us-east-1').map((i) => (i.payload as { continuation?: unknown }).continuation);
    expect(calls).toEqual([undefined, { part: 1, startAfter: 't0' }, { part: 2, startAfter: 't1' }, { part: 3, startAfter: 't2' }]);
    const manifest = json<{ ResultFiles: Record<string, { Key: string }[]> }>(`b/${key}`);
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    const records = json<{ ExecutionArn: string; Input: string; Output: string }[]>(`b/${manifest.ResultFiles.SUCCEEDED![0]!.Key}`);
    // The record keeps the child's first input and its last output, as AWS does.
    expect(records.map((x) => [JSON.parse(x.Input), JSON.parse(x.Output)])).toEqual([
      [shards[0], { status: 'SCANNED', accountId: '111111111111', region: 'us-east-1', parts: 4 }],
      [shards[1], { status: 'SCANNED', accountId: '111111111111', region: 'eu-west-1', parts: 1 }],
    ]);
    expect(records[0]!.ExecutionArn).toMatch(/^arn:aws:states:us-east-1:123456789012:execution:pitr-guard-org-scan-local\/ScanShards:/);
  });

  it('a part that fails is caught with its continuation: ShardError keeps the item it was invoked with', async () => {
    let key = '';
    const r = runner({
      PlanFunctionArn: planHandler(1, shards.slice(0, 1)),
      ShardFunctionArn: async (p) => {
        const i = p as ReturnType<typeof item> & { continuation?: { part: number } };
        if (i.continuation) throw named('ShardFailedError', 'ListTables in us-east-1 failed: AccessDeniedException: no');
        return { status: 'CONTINUE', accountId: i.accountId, region: i.region, next: { ...i, continuation: { part: 1, startAfter: 'orders' } } };
      },
      AggregateFunctionArn: async (p) => {
        key = (p as { results: { ResultWriterDetails: { Key: string } } }).results.ResultWriterDetails.Key;
        return {};
      },
    });
    expect((await r.start({}, 'part-fails')).status).toBe('SUCCEEDED');
    const manifest = json<{ ResultFiles: Record<string, { Key: string }[]> }>(`b/${key}`);
    const outputs = json<{ Output: string }[]>(`b/${manifest.ResultFiles.SUCCEEDED![0]!.Key}`).map((x) => JSON.parse(x.Output) as unknown);
    expect(outputs).toEqual([{ ...shards[0], continuation: { part: 1, startAfter: 'orders' }, status: 'ERROR', error: { Error: 'ShardFailedError', Cause: expect.stringContaining('AccessDeniedException') } }]);
  });

  it('fails a STANDARD child whose history would pass 25,000 events (States.Runtime, not caught): FAILED_0.json', async () => {
    let key = '';
    const r = runner({
      PlanFunctionArn: planHandler(1, shards.slice(0, 1)),
      ShardFunctionArn: async (p) => ({ status: 'CONTINUE', next: p }), // never done
      AggregateFunctionArn: async (p) => {
        key = (p as { results: { ResultWriterDetails: { Key: string } } }).results.ResultWriterDetails.Key;
        return {};
      },
    });
    const result = await r.start({}, 'endless');
    expect(result.status).toBe('SUCCEEDED');
    // 5 (task) + 2 (Choice) + 2 (Pass) = 9 events a part: the 2,778th part passes 25,000.
    expect(result.invocations.filter((i) => i.state === 'ScanShard')).toHaveLength(2778);
    const manifest = json<{ ResultFiles: Record<string, { Key: string }[]> }>(`b/${key}`);
    expect(json<Record<string, unknown>[]>(`b/${manifest.ResultFiles.FAILED![0]!.Key}`)).toEqual([expect.objectContaining({ Status: 'FAILED', Error: 'States.Runtime', Input: JSON.stringify(shards[0]) })]);
  });

  it('honours MaxConcurrencyPath as a concurrency limit', async () => {
    for (const limit of [1, 2, 5]) {
      let running = 0;
      let peak = 0;
      const r = runner({
        PlanFunctionArn: planHandler(limit),
        ShardFunctionArn: async (p) => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((res) => setTimeout(res, 10));
          running--;
          return p;
        },
      });
      expect((await r.start({}, `c${limit}`)).status).toBe('SUCCEEDED');
      expect(peak).toBe(limit);
      expect(r.maxRunning).toBe(limit);
    }
  });

  it('fails the execution when Plan fails after its retries (Lambda.ServiceException retried 6 times), and on an unreadable shards file', async () => {
    const sleeps: number[] = [];
    const r = runner({ PlanFunctionArn: async () => Promise.reject(named('Lambda.ServiceException', 'boom')) }, sleeps);
    const result = await r.start({}, 'plan-fails');
    expect(result).toMatchObject({ status: 'FAILED', error: 'Lambda.ServiceException' });
    expect(result.invocations).toHaveLength(7);
    expect(sleeps).toEqual([1000, 2000, 4000, 8000, 16000, 30000]); // MaxDelaySeconds 60 caps later ones: 2^n·2 s·0.5
    const missing = runner({ PlanFunctionArn: async () => ({ runId: 'r', bucket: 'b', shardsKey: 'runs/r/none.json', maxConcurrency: 1 }) });
    expect(await missing.start({}, 'no-items')).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed', cause: expect.stringContaining('NoSuchKey') });
  });

  it('refuses a definition with anything it does not implement', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a deliberately broken copy of the definition
    type Loose = Record<string, any>;
    const make = (mutate: (d: Loose) => void) => () => {
      const d = structuredClone(definition) as Loose;
      mutate(d);
      return new SfnRunner({ definition: d, handlers: { PlanFunctionArn: planHandler(1), ShardFunctionArn: planHandler(1), AggregateFunctionArn: planHandler(1) }, s3: new S3Client({ region: 'us-east-1' }) });
    };
    expect(make(() => undefined)).not.toThrow();
    expect(make((d) => (d.States.Plan.TimeoutSeconds = 60))).toThrow(UnsupportedAslError);
    expect(make((d) => (d.States.Aggregate = { Type: 'Wait', Seconds: 1, End: true }))).toThrow(/state type Wait is not implemented/);
    expect(make((d) => (d.States.ScanShards.ItemProcessor.States.ShardError.InputPath = '$.x'))).toThrow(/ShardError: field InputPath/);
    expect(make((d) => (d.States.ScanShards.ItemReader.ReaderConfig.InputType = 'CSV'))).toThrow(/InputType CSV/);
    expect(make((d) => (d.States.ScanShards.ItemBatcher = { MaxItemsPerBatch: 10 }))).toThrow(/field ItemBatcher/);
    expect(make((d) => (d.States.Plan.Resource = 'arn:aws:states:::sqs:sendMessage'))).toThrow(/Resource arn:aws:states:::sqs:sendMessage/);
    expect(make((d) => (d.States.Plan.Retry[0].Foo = 1))).toThrow(/Retry: field Foo/);
    expect(make((d) => (d.States.Plan.Parameters.FunctionName = '${Unknown}'))).toThrow(/no handler for the definition's placeholder \$\{Unknown\}/);
    expect(make((d) => (d.States.ScanShards.ItemProcessor.States.MoreTables.Choices[0].NumericEquals = 1))).toThrow(/Choices: field NumericEquals/);
    expect(make((d) => (d.States.ScanShards.ItemProcessor.States.MoreTables.Default = 'Nowhere'))).toThrow(/Default Nowhere/);
    expect(make((d) => (d.States.ScanShards.ItemProcessor.States.ShardError.Parameters = {}))).toThrow(/both Parameters and Result/);
  });
});
