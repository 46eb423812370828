/**
 * Structured logging: one JSON object per line. Lambda sends stdout to CloudWatch Logs; the CLI
 * writes logs to stderr so that stdout carries nothing but the report.
 */
import { parseLogLevel, type LogLevel } from '../core/config';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; default: stdout. */
  write?: (line: string) => void;
  base?: LogFields;
  now?: () => Date;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? levelFromEnv()];
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const base = options.base ?? {};

  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    write(JSON.stringify({ timestamp: now().toISOString(), level, message, ...base, ...fields }, jsonSafe));
  };

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, level: options.level ?? levelOf(min), base: { ...base, ...fields } }),
  };
}

/** PITR_GUARD_LOG_LEVEL, or info; a bad value must not stop the guard, so it is reported, not thrown. */
function levelFromEnv(): LogLevel {
  try {
    return parseLogLevel(process.env.PITR_GUARD_LOG_LEVEL?.trim() || undefined);
  } catch (error) {
    process.stderr.write(`pitr-guard: ${(error as Error).message} Logging at info.\n`);
    return 'info';
  }
}

function levelOf(rank: number): LogLevel {
  return (Object.keys(RANK) as LogLevel[]).find((l) => RANK[l] === rank) ?? 'info';
}

/** Errors become { name, message, code } instead of `{}`; the cause chain is kept by name. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.cause !== undefined) out.cause = value.cause instanceof Error ? `${value.cause.name}: ${value.cause.message}` : value.cause;
    return out;
  }
  return value;
}

/** A logger that drops everything (tests, quiet CLI runs). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
