/**
 * A local interpreter for statemachine/org-scan.asl.json (moto parses state machines but cannot
 * run Lambda tasks without Docker): the same definition file, the same payloads Step Functions
 * passes, in-process handlers instead of Lambda.
 *
 * It implements exactly the Amazon States Language the definition uses, and refuses everything
 * else when it loads the definition (every state, also those a run may never reach), so the runner
 * cannot silently diverge from the file:
 *
 * - Task `arn:aws:states:::lambda:invoke` with Parameters (`FunctionName` = a `${…FunctionArn}`
 *   placeholder, `Payload` / `Payload.$`), OutputPath, ResultPath, Retry (ErrorEquals,
 *   IntervalSeconds, MaxAttempts, BackoffRate, MaxDelaySeconds, JitterStrategy), Catch; the
 *   result is Lambda's `{ ExecutedVersion, Payload, StatusCode }`, a thrown error is the error
 *   named by its `name` (Lambda's errorType) with Lambda's Cause JSON.
 * - Pass with Parameters or Result, ResultPath, OutputPath.
 * - Choice with Choices of `Variable` + `StringEquals` + `Next`, and Default; Succeed.
 * - Map, DISTRIBUTED: ItemReader `arn:aws:states:::s3:getObject` (InputType JSON, Parameters),
 *   MaxConcurrency / MaxConcurrencyPath as a real concurrency limit, ToleratedFailurePercentage,
 *   ItemProcessor run as one child execution per item, ResultWriter `arn:aws:states:::s3:putObject`
 *   writing `<Prefix>/<map run id>/manifest.json` + `SUCCEEDED_0.json` / `FAILED_0.json` (records
 *   with `Input`/`Output` as JSON strings) and returning `{ MapRunArn, ResultWriterDetails }`.
 * - Paths: `$`, `$.a.b`, `$$.Execution.Name` and the like (dotted names only); the intrinsic
 *   States.Format. Payloads over 256 KiB fail with States.DataLimitExceeded, as in AWS; an
 *   EXPRESS child that runs longer than 5 minutes is TIMED_OUT (listed with the failed children);
 *   a STANDARD child has no time limit, but one whose history would pass 25,000 events (each
 *   state it enters counted as AWS's history counts it, about: 2 per Pass/Choice/Succeed, 5 per
 *   Task attempt) fails with States.Runtime, as AWS fails such an execution.
 *
 * Tests inject `sleep` (and `random` for jitter) to make retries fast and deterministic.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';

export type LambdaHandler = (payload: unknown) => Promise<unknown>;

export interface RunnerOptions {
  /** The parsed definition, placeholders (`${PlanFunctionArn}`…) not yet substituted. */
  definition: unknown;
  /** One handler per `${…}` placeholder of the definition, by placeholder name (e.g. PlanFunctionArn). */
  handlers: Record<string, LambdaHandler>;
  /** For ItemReader and ResultWriter (the real client, against moto in tests). */
  s3: S3Client;
  stateMachineName?: string;
  region?: string;
  accountId?: string;
  sleep?: (ms: number) => Promise<void>;
  /** 0 ≤ x < 1, for FULL jitter (default Math.random). */
  random?: () => number;
  /** An EXPRESS child execution's limit (AWS: 5 minutes); tests shorten it. */
  expressTimeoutMs?: number;
}

export interface ExecutionResult {
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
  /** Every Task invocation, in order: state name, attempt (0 = first), payload. For tests. */
  invocations: { state: string; attempt: number; payload: unknown }[];
}

/** An ASL runtime error (Error/Cause as Step Functions reports them). */
export class StatesError extends Error {
  readonly error: string;
  override readonly cause: string;

  constructor(error: string, cause: string) {
    super(`${error}: ${cause}`);
    this.name = error;
    this.error = error;
    this.cause = cause;
  }
}

/** The definition uses something this runner does not implement: fail loudly, never approximate. */
export class UnsupportedAslError extends Error {
  constructor(where: string, what: string) {
    super(`sfn-runner: ${where}: ${what} is not implemented (the runner must not diverge from the definition)`);
    this.name = 'UnsupportedAslError';
  }
}

const PAYLOAD_LIMIT = 262_144;
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const S3_GET = 'arn:aws:states:::s3:getObject';
const S3_PUT = 'arn:aws:states:::s3:putObject';
const UNCATCHABLE = new Set(['States.Runtime', 'States.DataLimitExceeded']);

type Json = unknown;
type State = Record<string, unknown>;
interface Machine {
  StartAt: string;
  States: Record<string, State>;
}

const ALLOWED: Record<string, Set<string>> = {
  Task: new Set(['Type', 'Comment', 'Resource', 'Parameters', 'OutputPath', 'ResultPath', 'Retry', 'Catch', 'Next', 'End']),
  Pass: new Set(['Type', 'Comment', 'Parameters', 'Result', 'OutputPath', 'ResultPath', 'Next', 'End']),
  Choice: new Set(['Type', 'Comment', 'Choices', 'Default']),
  Succeed: new Set(['Type', 'Comment']),
  Map: new Set(['Type', 'Comment', 'Label', 'ItemReader', 'MaxConcurrency', 'MaxConcurrencyPath', 'ToleratedFailurePercentage', 'ItemProcessor', 'ResultWriter', 'ResultPath', 'Next', 'End']),
};
const RETRIER = new Set(['ErrorEquals', 'IntervalSeconds', 'MaxAttempts', 'BackoffRate', 'MaxDelaySeconds', 'JitterStrategy']);
const CATCHER = new Set(['ErrorEquals', 'Next', 'ResultPath']);
const CHOICE_RULE = new Set(['Variable', 'StringEquals', 'Next']);
/** A STANDARD execution's history limit (aws-facts-org.md §2.3). */
const HISTORY_LIMIT = 25_000;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function onlyKeys(where: string, value: unknown, allowed: Set<string>): Record<string, unknown> {
  if (!isObject(value)) throw new UnsupportedAslError(where, `a non-object ${JSON.stringify(value)}`);
  for (const k of Object.keys(value)) if (!allowed.has(k)) throw new UnsupportedAslError(where, `field ${k}`);
  return value;
}

/** Checks a (sub-)machine up front: every state and field must be one the runner implements. */
function checkMachine(where: string, machine: unknown, top: boolean): Machine {
  const m = onlyKeys(where, machine, new Set(top ? ['Comment', 'StartAt', 'States'] : ['StartAt', 'States', 'ProcessorConfig']));
  if (typeof m.StartAt !== 'string' || !isObject(m.States) || !(m.StartAt in m.States)) throw new UnsupportedAslError(where, 'a machine without a valid StartAt/States');
  for (const [name, state] of Object.entries(m.States)) {
    const at = `${where}.${name}`;
    if (!isObject(state)) throw new UnsupportedAslError(at, 'a non-object state');
    const allowed = ALLOWED[String(state.Type)];
    if (!allowed) throw new UnsupportedAslError(at, `state type ${String(state.Type)}`);
    onlyKeys(at, state, allowed);
    if (state.Type === 'Choice') {
      const choices = state.Choices;
      if (!Array.isArray(choices) || choices.length === 0) throw new UnsupportedAslError(at, 'a Choice without Choices');
      for (const c of choices) {
        const rule = onlyKeys(`${at}.Choices`, c, CHOICE_RULE);
        if (typeof rule.Variable !== 'string' || typeof rule.StringEquals !== 'string' || typeof rule.Next !== 'string' || !(rule.Next in m.States)) throw new UnsupportedAslError(`${at}.Choices`, 'a rule other than { Variable, StringEquals, Next }');
      }
      if (typeof state.Default !== 'string' || !(state.Default in m.States)) throw new UnsupportedAslError(at, `Default ${String(state.Default)}`);
      continue;
    }
    if (state.Type === 'Succeed') continue;
    if (state.Type === 'Pass' && state.Parameters !== undefined && state.Result !== undefined) throw new UnsupportedAslError(at, 'a Pass with both Parameters and Result');
    if ((state.End === true) === (typeof state.Next === 'string')) throw new UnsupportedAslError(at, 'a state without exactly one of Next / End: true');
    if (typeof state.Next === 'string' && !(state.Next in m.States)) throw new UnsupportedAslError(at, `Next ${state.Next} (no such state)`);
    for (const r of (state.Retry as unknown[] | undefined) ?? []) onlyKeys(`${at}.Retry`, r, RETRIER);
    for (const c of (state.Catch as unknown[] | undefined) ?? []) {
      const catcher = onlyKeys(`${at}.Catch`, c, CATCHER);
      if (typeof catcher.Next !== 'string' || !(catcher.Next in m.States)) throw new UnsupportedAslError(`${at}.Catch`, `Next ${String(catcher.Next)}`);
    }
    if (state.Type === 'Task' && state.Resource !== LAMBDA_INVOKE) throw new UnsupportedAslError(at, `Resource ${String(state.Resource)}`);
    if (state.Type === 'Task') onlyKeys(`${at}.Parameters`, state.Parameters, new Set(['FunctionName', 'Payload', 'Payload.$']));
    if (state.Type === 'Map') {
      const reader = onlyKeys(`${at}.ItemReader`, state.ItemReader, new Set(['Resource', 'ReaderConfig', 'Parameters']));
      if (reader.Resource !== S3_GET) throw new UnsupportedAslError(`${at}.ItemReader`, `Resource ${String(reader.Resource)}`);
      const config = onlyKeys(`${at}.ItemReader.ReaderConfig`, reader.ReaderConfig, new Set(['InputType']));
      if (config.InputType !== 'JSON') throw new UnsupportedAslError(`${at}.ItemReader`, `InputType ${String(config.InputType)}`);
      onlyKeys(`${at}.ItemReader.Parameters`, reader.Parameters, new Set(['Bucket', 'Bucket.$', 'Key', 'Key.$']));
      const writer = onlyKeys(`${at}.ResultWriter`, state.ResultWriter, new Set(['Resource', 'Parameters']));
      if (writer.Resource !== S3_PUT) throw new UnsupportedAslError(`${at}.ResultWriter`, `Resource ${String(writer.Resource)}`);
      onlyKeys(`${at}.ResultWriter.Parameters`, writer.Parameters, new Set(['Bucket', 'Bucket.$', 'Prefix', 'Prefix.$']));
      const processor = state.ItemProcessor as Record<string, unknown>;
      const pc = onlyKeys(`${at}.ItemProcessor.ProcessorConfig`, processor?.ProcessorConfig, new Set(['Mode', 'ExecutionType']));
      if (pc.Mode !== 'DISTRIBUTED') throw new UnsupportedAslError(`${at}.ItemProcessor`, `Mode ${String(pc.Mode)}`);
      checkMachine(`${at}.ItemProcessor`, processor, false);
    }
  }
  return m as unknown as Machine;
}

// ---------------------------------------------------------------- paths and payload templates

function runtime(cause: string): StatesError {
  return new StatesError('States.Runtime', cause);
}

function segments(path: string): string[] {
  if (path === '$' || path === '$$') return [];
  const m = /^\$\$?((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$/.exec(path);
  if (!m) throw new UnsupportedAslError('path', `the path ${JSON.stringify(path)} (only $, $.a.b and $$.a.b)`);
  return (m[1] as string).slice(1).split('.');
}

function select(path: string, input: Json, context: Json): Json {
  let value = path.startsWith('$$') ? context : input;
  for (const s of segments(path)) {
    if (!isObject(value) || !(s in value)) throw runtime(`the JSONPath ${path} could not be found in the input`);
    value = value[s];
  }
  return value;
}

function intrinsic(expr: string, input: Json, context: Json): Json {
  const m = /^States\.Format\('((?:[^'\\]|\\.)*)'((?:\s*,\s*\$[$A-Za-z0-9_.]*)*)\s*\)$/.exec(expr);
  if (!m) throw new UnsupportedAslError('intrinsic', JSON.stringify(expr));
  const args = (m[2] as string).split(',').map((a) => a.trim()).filter(Boolean).map((p) => select(p, input, context));
  const parts = (m[1] as string).split('{}');
  if (parts.length - 1 !== args.length) throw runtime(`States.Format: ${parts.length - 1} placeholders, ${args.length} arguments`);
  return parts.reduce((out, part, i) => out + part + (i < args.length ? (typeof args[i] === 'string' ? (args[i] as string) : JSON.stringify(args[i])) : ''), '');
}

function evaluate(template: Json, input: Json, context: Json): Json {
  if (Array.isArray(template)) return template.map((t) => evaluate(t, input, context));
  if (!isObject(template)) return template;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(template)) {
    if (k.endsWith('.$')) {
      if (typeof v !== 'string') throw runtime(`${k} must be a path string`);
      out[k.slice(0, -2)] = v.startsWith('States.') ? intrinsic(v, input, context) : select(v, input, context);
    } else out[k] = evaluate(v, input, context);
  }
  return out;
}

function applyResultPath(path: unknown, input: Json, result: Json): Json {
  if (path === undefined || path === '$') return result;
  if (path === null) return input;
  const segs = segments(String(path));
  if (!isObject(input)) throw runtime(`ResultPath ${String(path)} on a non-object input`);
  const root: Record<string, unknown> = structuredClone(input);
  let at = root;
  segs.forEach((s, i) => {
    if (i === segs.length - 1) at[s] = result;
    else {
      if (!isObject(at[s])) at[s] = {};
      at = at[s] as Record<string, unknown>;
    }
  });
  return root;
}

function applyOutputPath(path: unknown, value: Json, context: Json): Json {
  if (path === undefined) return value;
  if (path === null) return {};
  return select(String(path), value, context);
}

function limited(value: Json, where: string): Json {
  const text = JSON.stringify(value ?? null);
  if (Buffer.byteLength(text, 'utf8') > PAYLOAD_LIMIT) throw new StatesError('States.DataLimitExceeded', `${where}: the state/task output exceeds the maximum size of 262144 bytes`);
  return JSON.parse(text) as Json;
}

function matches(names: unknown, error: string): boolean {
  if (!Array.isArray(names)) return false;
  if (UNCATCHABLE.has(error)) return false;
  return names.some((n) => n === error || n === 'States.ALL' || (n === 'States.TaskFailed' && error !== 'States.Timeout'));
}

// ---------------------------------------------------------------- the interpreter

interface Ctx {
  Execution: { Id: string; Name: string; StartTime: string; Input: Json };
  StateMachine: { Id: string; Name: string };
  State?: { Name: string; EnteredTime: string; RetryCount: number };
}

export class SfnRunner {
  private readonly machine: Machine;
  private readonly functions = new Map<string, LambdaHandler>();
  private readonly region: string;
  private readonly accountId: string;
  private readonly name: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private invocations: ExecutionResult['invocations'] = [];

  constructor(private readonly options: RunnerOptions) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.name = options.stateMachineName ?? 'pitr-guard-org-scan-local';
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = options.random ?? Math.random;
    const text = JSON.stringify(options.definition).replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, key: string) => {
      const handler = options.handlers[key];
      if (!handler) throw new Error(`sfn-runner: no handler for the definition's placeholder \${${key}}`);
      const arn = `arn:aws:lambda:${this.region}:${this.accountId}:function:${key}`;
      this.functions.set(arn, handler);
      return arn;
    });
    this.machine = checkMachine('definition', JSON.parse(text), true);
  }

  get stateMachineArn(): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${this.name}`;
  }

  /** Runs one execution to its end, as StartExecution + waiting would. */
  async start(input: Json, name: string = randomUUID()): Promise<ExecutionResult> {
    this.invocations = [];
    const ctx: Ctx = {
      Execution: { Id: `arn:aws:states:${this.region}:${this.accountId}:execution:${this.name}:${name}`, Name: name, StartTime: new Date().toISOString(), Input: input },
      StateMachine: { Id: this.stateMachineArn, Name: this.name },
    };
    try {
      const output = await this.runMachine(this.machine, limited(input, 'execution input'), ctx);
      return { status: 'SUCCEEDED', output, invocations: this.invocations };
    } catch (error) {
      if (error instanceof StatesError) return { status: 'FAILED', error: error.error, cause: error.cause, invocations: this.invocations };
      throw error; // the runner's own bug or an UnsupportedAslError: loud
    }
  }

  private async runMachine(machine: Machine, input: Json, ctx: Ctx, history?: { events: number }): Promise<Json> {
    let name = machine.StartAt;
    let value = input;
    for (;;) {
      const state = machine.States[name] as State;
      const stepCtx: Ctx = { ...ctx, State: { Name: name, EnteredTime: new Date().toISOString(), RetryCount: 0 } };
      const { output, next } = await this.runState(name, state, value, stepCtx, history);
      value = limited(output, `state ${name}`);
      if (!next) return value;
      name = next;
    }
  }

  private async runState(name: string, state: State, input: Json, ctx: Ctx, history?: { events: number }): Promise<{ output: Json; next?: string }> {
    const next = typeof state.Next === 'string' ? state.Next : undefined;
    const record = (events: number) => {
      if (!history) return;
      history.events += events;
      if (history.events > HISTORY_LIMIT) throw new StatesError('States.Runtime', `the execution's history passed ${HISTORY_LIMIT} events`);
    };
    if (state.Type !== 'Task') record(2);
    if (state.Type === 'Succeed') return { output: input };
    if (state.Type === 'Choice') {
      const rule = (state.Choices as Record<string, string>[]).find((c) => {
        let value: Json;
        try {
          value = select(c.Variable as string, input, ctx);
        } catch {
          return false; // a missing Variable does not match a StringEquals rule
        }
        return value === c.StringEquals;
      });
      return { output: input, next: rule ? (rule.Next as string) : String(state.Default) };
    }
    if (state.Type === 'Pass') {
      const result = state.Parameters !== undefined ? evaluate(state.Parameters, input, ctx) : state.Result !== undefined ? structuredClone(state.Result) : input;
      return { output: applyOutputPath(state.OutputPath, applyResultPath(state.ResultPath, input, result), ctx), ...(next ? { next } : {}) };
    }
    const retriers = ((state.Retry as Record<string, unknown>[] | undefined) ?? []).map((r) => ({ r, attempts: 0 }));
    let attempt = 0;
    for (;;) {
      try {
        if (state.Type === 'Task') record(5);
        const result = state.Type === 'Task' ? await this.invoke(name, state, input, ctx, attempt) : await this.map(name, state, input, ctx);
        return { output: applyOutputPath(state.OutputPath, applyResultPath(state.ResultPath, input, limited(result, `state ${name} result`)), ctx), ...(next ? { next } : {}) };
      } catch (error) {
        if (!(error instanceof StatesError)) throw error;
        const retrier = retriers.find((x) => matches(x.r.ErrorEquals, error.error));
        const max = retrier ? Number(retrier.r.MaxAttempts ?? 3) : 0;
        if (retrier && retrier.attempts < max) {
          const interval = Number(retrier.r.IntervalSeconds ?? 1) * 1000 * Math.pow(Number(retrier.r.BackoffRate ?? 2), retrier.attempts);
          const capped = retrier.r.MaxDelaySeconds !== undefined ? Math.min(interval, Number(retrier.r.MaxDelaySeconds) * 1000) : interval;
          const delay = retrier.r.JitterStrategy === 'FULL' ? Math.floor(this.random() * capped) : capped;
          retrier.attempts++;
          attempt++;
          await this.sleep(delay);
          continue;
        }
        const catcher = ((state.Catch as Record<string, unknown>[] | undefined) ?? []).find((c) => matches(c.ErrorEquals, error.error));
        if (!catcher) throw error;
        const errorOutput = { Error: error.error, Cause: error.cause };
        return { output: applyResultPath(catcher.ResultPath, input, errorOutput), next: String(catcher.Next) };
      }
    }
  }

  private async invoke(name: string, state: State, input: Json, ctx: Ctx, attempt: number): Promise<Json> {
    const params = state.Parameters as Record<string, unknown>;
    const fn = this.functions.get(String(params.FunctionName));
    if (!fn) throw new StatesError('Lambda.ResourceNotFoundException', `Function not found: ${String(params.FunctionName)}`);
    const payload = limited('Payload.$' in params ? select(String(params['Payload.$']), input, ctx) : evaluate(params.Payload ?? input, input, ctx), `state ${name} payload`);
    this.invocations.push({ state: name, attempt, payload });
    try {
      const result = await fn(structuredClone(payload));
      return { ExecutedVersion: '$LATEST', Payload: limited(result ?? null, `function of ${name}`), StatusCode: 200 };
    } catch (error) {
      if (error instanceof StatesError) throw error;
      const e = error as { name?: unknown; message?: unknown; stack?: unknown };
      const errorType = typeof e.name === 'string' && e.name ? e.name : 'Error';
      // A handler may throw Lambda's own service errors (e.g. named Lambda.TooManyRequestsException) to test retries.
      const cause = JSON.stringify({ errorType, errorMessage: String(e.message ?? error), trace: String(e.stack ?? '').split('\n').slice(0, 5) });
      throw new StatesError(errorType, cause);
    }
  }

  private async map(name: string, state: State, input: Json, ctx: Ctx): Promise<Json> {
    const reader = state.ItemReader as Record<string, unknown>;
    const where = evaluate(reader.Parameters, input, ctx) as { Bucket: string; Key: string };
    let items: unknown;
    try {
      const out = await this.options.s3.send(new GetObjectCommand({ Bucket: where.Bucket, Key: where.Key }));
      items = JSON.parse((await out.Body?.transformToString('utf8')) ?? '');
    } catch (error) {
      throw new StatesError('States.ItemReaderFailed', `reading s3://${where.Bucket}/${where.Key} failed: ${(error as Error).name}: ${(error as Error).message}`);
    }
    if (!Array.isArray(items)) throw new StatesError('States.ItemReaderFailed', `s3://${where.Bucket}/${where.Key} is not a JSON array`);
    const rawConcurrency = state.MaxConcurrencyPath !== undefined ? select(String(state.MaxConcurrencyPath), input, ctx) : (state.MaxConcurrency ?? 0);
    if (typeof rawConcurrency !== 'number' || !Number.isInteger(rawConcurrency) || rawConcurrency < 0) throw runtime(`MaxConcurrency must be a non-negative integer, got ${JSON.stringify(rawConcurrency)}`);
    const concurrency = rawConcurrency === 0 ? Math.max(1, items.length) : rawConcurrency;

    const label = typeof state.Label === 'string' ? state.Label : name;
    const mapRunId = randomUUID();
    const mapRunArn = `arn:aws:states:${this.region}:${this.accountId}:mapRun:${this.name}/${label}:${mapRunId}`;
    const childMachineArn = `${this.stateMachineArn}/${label}`;
    const processor = state.ItemProcessor as unknown as Machine;
    const records: Record<string, unknown>[] = new Array(items.length);
    let next = 0;
    let running = 0;
    this.maxRunning = 0;
    const lane = async () => {
      while (next < (items as unknown[]).length) {
        const index = next++;
        const item = (items as unknown[])[index];
        const childName = randomUUID();
        const express = this.childLimitMs(processor) !== undefined;
        // AWS's ARNs: an EXPRESS child is `express:<machine>/<label>:<map run>:<name>`, a STANDARD one `execution:<machine>/<label>:<name>`.
        const childArn = express ? `arn:aws:states:${this.region}:${this.accountId}:express:${this.name}/${label}:${mapRunId}:${childName}` : `arn:aws:states:${this.region}:${this.accountId}:execution:${this.name}/${label}:${childName}`;
        const childCtx: Ctx = {
          Execution: { Id: childArn, Name: childName, StartTime: new Date().toISOString(), Input: item },
          StateMachine: { Id: childMachineArn, Name: `${this.name}/${label}` },
        };
        const startDate = new Date().toISOString();
        const base = { ExecutionArn: childCtx.Execution.Id, Name: childName, StateMachineArn: childMachineArn, StartDate: startDate, Input: JSON.stringify(item), InputDetails: { Included: true }, RedriveCount: 0 };
        running++;
        this.maxRunning = Math.max(this.maxRunning, running);
        let timer: NodeJS.Timeout | undefined;
        try {
          const child = this.runMachine(processor, limited(item, 'map item'), childCtx, express ? undefined : { events: 0 });
          const limit = this.childLimitMs(processor);
          const output = limit === undefined
            ? await child
            : await Promise.race([
                child,
                new Promise<never>((_, reject) => {
                  timer = setTimeout(() => reject(new StatesError('States.Timeout', `The EXPRESS child execution exceeded its ${limit} ms limit`)), limit);
                }),
              ]);
          records[index] = { ...base, StopDate: new Date().toISOString(), Status: 'SUCCEEDED', Output: JSON.stringify(output), OutputDetails: { Included: true }, RedriveStatus: 'NOT_REDRIVABLE', RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven' };
        } catch (error) {
          if (!(error instanceof StatesError)) throw error;
          const status = error.error === 'States.Timeout' ? 'TIMED_OUT' : 'FAILED';
          records[index] = { ...base, StopDate: new Date().toISOString(), Status: status, Error: error.error, Cause: error.cause, RedriveStatus: 'REDRIVABLE_BY_MAP_RUN' };
        } finally {
          clearTimeout(timer);
          running--;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, items.length)) }, lane));

    const succeeded = records.filter((r) => r.Status === 'SUCCEEDED');
    const failed = records.filter((r) => r.Status !== 'SUCCEEDED');
    const writer = evaluate((state.ResultWriter as Record<string, unknown>).Parameters, input, ctx) as { Bucket: string; Prefix?: string };
    const base = `${writer.Prefix ? `${writer.Prefix.replace(/\/$/, '')}/` : ''}${mapRunId}/`;
    const put = async (key: string, body: string) => {
      try {
        await this.options.s3.send(new PutObjectCommand({ Bucket: writer.Bucket, Key: key, Body: body, ContentType: 'application/json' }));
      } catch (error) {
        throw new StatesError('States.ResultWriterFailed', `writing s3://${writer.Bucket}/${key} failed: ${(error as Error).name}: ${(error as Error).message}`);
      }
      return { Key: key, Size: Buffer.byteLength(body, 'utf8') };
    };
    const files: Record<'FAILED' | 'PENDING' | 'SUCCEEDED', { Key: string; Size: number }[]> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
    if (succeeded.length > 0) files.SUCCEEDED.push(await put(`${base}SUCCEEDED_0.json`, JSON.stringify(succeeded)));
    if (failed.length > 0) files.FAILED.push(await put(`${base}FAILED_0.json`, JSON.stringify(failed)));
    const manifestKey = `${base}manifest.json`;
    await put(manifestKey, JSON.stringify({ DestinationBucket: writer.Bucket, MapRunArn: mapRunArn, ResultFiles: files }));

    const tolerated = Number(state.ToleratedFailurePercentage ?? 0);
    if (items.length > 0 && (failed.length * 100) / items.length > tolerated) {
      throw new StatesError('States.ExceedToleratedFailureThreshold', `The specified tolerated failure threshold was exceeded: ${failed.length} of ${items.length} child executions failed`);
    }
    return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: writer.Bucket, Key: manifestKey } };
  }

  private childLimitMs(processor: Machine): number | undefined {
    const type = (processor as unknown as { ProcessorConfig?: { ExecutionType?: string } }).ProcessorConfig?.ExecutionType;
    return type === 'EXPRESS' ? (this.options.expressTimeoutMs ?? 300_000) : undefined;
  }

  /** The most child executions that ran at once in the last Map (for tests of MaxConcurrency). */
  maxRunning = 0;
}
