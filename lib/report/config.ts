/**
 * Findings as AWS Config evaluations, and sending them with PutEvaluations.
 *
 * IAM: config:PutEvaluations (Resource "*": the action has no resource type).
 *
 * - COMPLIANT, NON_COMPLIANT and NOT_APPLICABLE map to themselves; EXEMPT becomes NOT_APPLICABLE
 *   with the exemption's reason and expiry in the annotation; ERROR becomes no evaluation at all
 *   (Config rejects INSUFFICIENT_DATA): the caller logs it and fails after sending the rest.
 * - Every annotation is one human sentence of at most 256 characters (longer ones end in "…").
 * - PutEvaluations takes at most 100 evaluations: larger sets go in batches, all with the same
 *   ResultToken; every answer's FailedEvaluations is checked. The result token `TESTMODE` (the AWS
 *   rule development kit's convention) sends TestMode: true, so Config stores nothing.
 */
import { PutEvaluationsCommand, type ConfigServiceClient, type Evaluation } from '@aws-sdk/client-config-service';
import { AwsCallError } from '../core/errors';
import { silentLogger, type Logger } from '../runtime/logger';
import { retrying, type RetryOptions } from '../aws/pace';
import type { Finding } from '../core/types';
import { TEST_MODE_TOKEN, type ResourceItem } from '../events/config-invocation';

export const TABLE_RESOURCE_TYPE = 'AWS::DynamoDB::Table';
/** PutEvaluations accepts 0..100 evaluations per call. */
export const MAX_EVALUATIONS_PER_CALL = 100;
/** Evaluation.Annotation is 1..256 characters. */
export const MAX_ANNOTATION_LENGTH = 256;
/** The result token of a test invocation: PutEvaluations then runs with TestMode: true. */
export { TEST_MODE_TOKEN };

export type ConfigCompliance = 'COMPLIANT' | 'NON_COMPLIANT' | 'NOT_APPLICABLE';

/** An Evaluation with every member pitr-guard always sets. */
export interface ConfigEvaluation {
  ComplianceResourceType: string;
  ComplianceResourceId: string;
  ComplianceType: ConfigCompliance;
  Annotation: string;
  OrderingTimestamp: Date;
}

const ELLIPSIS = '…';

/**
 * One line of at most 256 UTF-16 code units: whitespace runs become one space, and a longer text
 * is cut (never inside a surrogate pair) and ends with an ellipsis.
 */
export function annotation(text: string, max: number = MAX_ANNOTATION_LENGTH): string {
  const line = text.replace(/\s+/g, ' ').trim() || 'No details.';
  if (line.length <= max) return line;
  let cut = max - ELLIPSIS.length;
  const last = line.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--; // do not split a surrogate pair
  return line.slice(0, cut).trimEnd() + ELLIPSIS;
}

/** The human sentence Config shows for a finding. */
export function findingAnnotation(finding: Finding, exemptTag?: string): string {
  if (finding.status === 'EXEMPT' && finding.exemption) {
    const e = finding.exemption;
    const tag = exemptTag ? ` (tag ${exemptTag})` : '';
    const expiry = e.until ? `until the end of ${e.until} UTC` : 'with no expiry date';
    return annotation(`Exempt from the PITR policy${tag} ${expiry}: ${e.reason}`);
  }
  return annotation(finding.message);
}

export function complianceOf(finding: Pick<Finding, 'status'>): ConfigCompliance | null {
  switch (finding.status) {
    case 'COMPLIANT':
      return 'COMPLIANT';
    case 'NON_COMPLIANT':
      return 'NON_COMPLIANT';
    case 'EXEMPT':
    case 'NOT_APPLICABLE':
      return 'NOT_APPLICABLE';
    case 'ERROR':
      return null;
  }
}

/**
 * The evaluation of one finding, or null for an ERROR finding (Config has no "could not tell"
 * that it accepts; the caller must log the table and fail after sending the others).
 */
export function toEvaluation(
  finding: Finding,
  target: { resourceId: string; resourceType?: string; orderingTimestamp: Date; exemptTag?: string },
): ConfigEvaluation | null {
  const compliance = complianceOf(finding);
  if (compliance === null) return null;
  return {
    ComplianceResourceType: target.resourceType ?? TABLE_RESOURCE_TYPE,
    ComplianceResourceId: target.resourceId,
    ComplianceType: compliance,
    Annotation: findingAnnotation(finding, target.exemptTag),
    OrderingTimestamp: target.orderingTimestamp,
  };
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!(size >= 1)) throw new RangeError(`chunk size must be >= 1, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface SendOptions {
  logger?: Logger;
  retry?: Partial<RetryOptions>;
}

export interface SendResult {
  testMode: boolean;
  /** PutEvaluations calls made (successful or not). */
  batches: number;
  /** Evaluations Config accepted. */
  accepted: number;
  /** Evaluations Config answered in FailedEvaluations. */
  failedEvaluations: Evaluation[];
  /** Batches whose call failed outright (after retries): none of their evaluations was stored. */
  failedBatches: { evaluations: ConfigEvaluation[]; error: AwsCallError }[];
}

/**
 * Sends every evaluation, at most 100 per call, each call with the same result token. A failed
 * batch does not stop the others: the caller checks `failedEvaluations` / `failedBatches` and
 * fails loudly once everything that could be sent was sent.
 */
export async function sendEvaluations(
  client: ConfigServiceClient,
  evaluations: readonly ConfigEvaluation[],
  resultToken: string,
  options: SendOptions = {},
): Promise<SendResult> {
  const logger = options.logger ?? silentLogger;
  const testMode = resultToken === TEST_MODE_TOKEN;
  const result: SendResult = { testMode, batches: 0, accepted: 0, failedEvaluations: [], failedBatches: [] };
  for (const batch of chunk(evaluations, MAX_EVALUATIONS_PER_CALL)) {
    result.batches++;
    try {
      const out = await retrying(
        () =>
          client.send(
            new PutEvaluationsCommand({ Evaluations: batch, ResultToken: resultToken, ...(testMode ? { TestMode: true } : {}) }),
          ),
        {
          ...options.retry,
          onRetry: (error, attempt, delayMs) => logger.debug('retrying PutEvaluations', { attempt, delayMs, error }),
        },
      );
      const failed = out.FailedEvaluations ?? [];
      result.failedEvaluations.push(...failed);
      result.accepted += batch.length - failed.length;
      if (failed.length > 0) {
        logger.error('Config rejected evaluations', {
          batch: result.batches,
          failed: failed.length,
          resourceIds: failed.slice(0, 20).map((e) => e.ComplianceResourceId),
        });
      }
    } catch (error) {
      const wrapped = new AwsCallError('PutEvaluations', error);
      result.failedBatches.push({ evaluations: batch, error: wrapped });
      logger.error('PutEvaluations failed', { batch: result.batches, size: batch.length, error: wrapped });
    }
  }
  return result;
}

/** An evaluation as sent, with the timestamp as ISO text (what the handler returns and logs). */
export interface SentEvaluation {
  ComplianceResourceType: string;
  ComplianceResourceId: string;
  ComplianceType: string;
  Annotation: string;
  OrderingTimestamp: string;
}

export function sent(e: ConfigEvaluation): SentEvaluation {
  return { ...e, OrderingTimestamp: e.OrderingTimestamp.toISOString() };
}

/** A table the run could not evaluate (ERROR finding): no evaluation, the run fails after sending the rest. */
export interface Unreported {
  tableName: string;
  message: string;
}

/** The evaluations a run sends, and the tables it could not report. */
export interface Planned {
  evaluations: ConfigEvaluation[];
  unreported: Unreported[];
}

/** NOT_APPLICABLE for a resource the rule does not evaluate (left scope, not a table, deleted). */
export function notApplicable(item: Pick<ResourceItem, 'resourceType' | 'resourceId'>, orderingTimestamp: Date, sentence: string): Planned {
  return {
    evaluations: [
      {
        ComplianceResourceType: item.resourceType,
        ComplianceResourceId: item.resourceId,
        ComplianceType: 'NOT_APPLICABLE',
        Annotation: annotation(sentence),
        OrderingTimestamp: orderingTimestamp,
      },
    ],
    unreported: [],
  };
}

/** Findings → evaluations; ERROR findings are logged and listed as unreported (Config rejects INSUFFICIENT_DATA). */
export function plan(
  findings: readonly Finding[],
  target: { orderingTimestamp: Date; exemptTag: string; resourceId: (f: Finding) => string },
  logger: Logger,
): Planned {
  const out: Planned = { evaluations: [], unreported: [] };
  for (const finding of findings) {
    const evaluation = toEvaluation(finding, { resourceId: target.resourceId(finding), orderingTimestamp: target.orderingTimestamp, exemptTag: target.exemptTag });
    if (evaluation) {
      out.evaluations.push(evaluation);
      continue;
    }
    out.unreported.push({ tableName: finding.tableName, message: finding.message });
    logger.error('table not evaluated: its state could not be read; no Config evaluation sent for it', {
      table: finding.tableName,
      region: finding.region,
      error: finding.error,
    });
  }
  return out;
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../core/iam').Permission[] = [
  { sid: 'ReportToConfig', actions: ['config:PutEvaluations'], resource: '*', why: 'reports evaluations to AWS Config' },
];
