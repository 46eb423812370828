/**
 * One error hierarchy for pitr-guard. Every error carries a stable `code` and, where it wraps
 * another failure, the original as `cause` (never flattened into the message).
 */
export class PitrGuardError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An environment variable, CLI flag or rule parameter has a value that is not allowed. */
export class ConfigError extends PitrGuardError {
  constructor(
    readonly variable: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super('CONFIG_INVALID', `Invalid ${variable}=${JSON.stringify(value)}: ${allowed}.`);
  }
}

/** The command line could not be understood. */
export class UsageError extends PitrGuardError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** No usable AWS credentials (missing, expired, or rejected by STS). */
export class CredentialsError extends PitrGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CREDENTIALS', message, options);
  }
}

/** An event that does not have the shape pitr-guard acts on: rejected, never guessed at. */
export class InvalidEventError extends PitrGuardError {
  constructor(message: string) {
    super('EVENT_INVALID', message);
  }
}

/** An AWS call failed after retries; `operation` names the API, `errorName` the AWS error. */
export class AwsCallError extends PitrGuardError {
  readonly errorName: string;

  constructor(
    readonly operation: string,
    cause: unknown,
    readonly target?: string,
  ) {
    const errorName = awsErrorName(cause);
    super('AWS_CALL_FAILED', `${operation}${target ? ` on ${target}` : ''} failed: ${errorName}: ${errorMessage(cause)}`, {
      cause,
    });
    this.errorName = errorName;
  }
}

/**
 * Not everything could be reported: some tables had no result (their facts could not be read) or
 * the receiver rejected part of the report (Config FailedEvaluations). Everything that could be
 * reported was; `problems` lists what was not, `cause` holds the underlying failure(s).
 */
export class IncompleteReportError extends PitrGuardError {
  constructor(
    message: string,
    readonly problems: string[],
    options?: { cause?: unknown },
  ) {
    super('REPORT_INCOMPLETE', message, options);
  }
}

/** A table was listed (or named) but no longer exists when read: deleted meanwhile, not an error of the read. */
export class TableVanishedError extends PitrGuardError {
  constructor(readonly tableName?: string) {
    super('TABLE_VANISHED', `${tableName ?? 'the table'} was deleted while it was being read`);
  }
}

/** Slack did not take the alert. `slackError` is Slack's error string (or what went wrong). */
export class SlackError extends PitrGuardError {
  constructor(
    readonly status: number | undefined,
    readonly slackError: string,
    readonly permanent: boolean,
    attempts: number,
    /** Why pitr-guard stopped retrying early (e.g. a Retry-After longer than the time left). */
    readonly note?: string,
  ) {
    super(
      permanent ? 'SLACK_REJECTED' : 'SLACK_UNAVAILABLE',
      `Slack webhook ${status !== undefined ? `answered HTTP ${status}` : 'could not be reached'} (${slackError})${permanent ? '' : ` after ${attempts} attempt${attempts === 1 ? '' : 's'}`}${note ? `: ${note}` : ''}`,
    );
  }
}

/** One alert channel's failure, as `deliver` reports it. */
export interface DeliveryFailure {
  channel: 'sns' | 'slack';
  errorName: string;
  message: string;
  /** Retrying later cannot help (topic missing, access denied, webhook revoked…) until someone fixes the setup. */
  permanent: boolean;
}

/** Every configured alert channel failed: the alert was not delivered anywhere. */
export class AlertDeliveryError extends PitrGuardError {
  constructor(readonly failures: DeliveryFailure[]) {
    super('ALERT_DELIVERY_FAILED', `alert delivery failed on every channel: ${failures.map((f) => `${f.channel}: ${f.errorName}: ${f.message}`).join('; ')}`);
  }
}

/**
 * One Organization-scan shard (one account, one Region) could not be scanned for a reason that may
 * pass (throttling or 5xx after the SDK's retries, Lambda time running out). The state machine
 * retries errors of this name with backoff (statemachine/org-scan.asl.json); after the last retry
 * the shard becomes a shard error in the report.
 */
export class ShardRetryableError extends PitrGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SHARD_RETRYABLE', message, options);
  }
}

/**
 * One Organization-scan shard could not be scanned and retrying cannot help (access denied, a
 * malformed shard item): the state machine does not retry it, it catches it into a shard error.
 */
export class ShardFailedError extends PitrGuardError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SHARD_FAILED', message, options);
  }
}

/** The AWS error name (`ThrottlingException`, `AccessDeniedException`, …) of anything thrown. */
export function awsErrorName(error: unknown): string {
  if (error instanceof AwsCallError) return error.errorName;
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; code?: unknown; Code?: unknown };
    for (const candidate of [e.name, e.code, e.Code]) {
      if (typeof candidate === 'string' && candidate && candidate !== 'Error') return candidate;
    }
    // The SDK's retry layer wraps a throwable it does not recognise as an Error (e.g. one from another
    // realm) as "AWS SDK error wrapper for TimeoutError: socket hang up": keep the name it carried.
    const wrapped = /^AWS SDK error wrapper for ([A-Za-z][\w.]*)(?::|$)/.exec(String((error as { message?: unknown }).message ?? ''));
    if (wrapped?.[1]) return wrapped[1];
  }
  return 'UnknownError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'MissingAuthenticationToken',
  'InvalidAccessKeyId',
  'TokenRefreshRequired',
]);

export function isCredentialError(error: unknown): boolean {
  return CREDENTIAL_ERRORS.has(awsErrorName(error));
}

// ---- the reactor's failure paths (each makes the invocation fail, so Lambda retries the event;
// after the last retry it lands in the failed-events queue, whose alarm fires)

/** The table is not ready for PITR yet (still CREATING, backups not available): try again later. */
export class RemediationDeferredError extends PitrGuardError {
  constructor(message: string) {
    super('REMEDIATION_DEFERRED', message);
  }
}

/** Remediation failed for a reason that passes (throttling, 5xx, timeout, network): try again later. */
export class RemediationRetryError extends PitrGuardError {
  constructor(
    message: string,
    readonly errorName: string,
  ) {
    super('REMEDIATION_RETRY', message);
  }
}

/** Another invocation holds this event right now: fail, so Lambda retries once it is done. */
export class EventInProgressError extends PitrGuardError {
  constructor(eventId: string) {
    super('EVENT_IN_PROGRESS', `event ${eventId} is being handled by another invocation; will look again on retry`);
  }
}

/**
 * The invocation's time ran out: the handler was abandoned just before Lambda's timeout
 * (lib/runtime/handler.ts), so that onError logs it. Named TimeoutError, as middy names it.
 */
export class InvocationTimeoutError extends PitrGuardError {
  constructor(readonly remainingMs: number) {
    super('INVOCATION_TIMEOUT', `the invocation's time ran out (${remainingMs} ms were left when the handler started)`);
    this.name = 'TimeoutError';
  }
}

/** An alert reached some channels but not all: the retry re-sends it to `channels` only. */
export class AlertNotDeliveredError extends PitrGuardError {
  constructor(
    readonly channels: string[],
    detail: string,
  ) {
    super('ALERT_NOT_DELIVERED', `alert not delivered on ${channels.join(', ')}: ${detail}`);
  }
}
