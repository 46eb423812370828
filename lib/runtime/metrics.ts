/**
 * CloudWatch metrics in the embedded metric format (EMF): one JSON line on stdout per metric, which
 * Lambda's log stream turns into a metric without a PutMetricData call (no IAM, no latency). Alarms
 * in serverless.yml watch these metrics in the `pitr-guard` namespace, dimension `function`.
 */
export const METRIC_NAMESPACE = 'pitr-guard';

/** Every metric pitr-guard emits, so alarms and docs name the same strings as the code. */
export type MetricName =
  /** An alert could not be delivered on a channel after its retries. */
  | 'AlertDeliveryFailed'
  /** The reactor runs without its de-duplication table: duplicates are acted on and alerted twice. */
  | 'DeduplicationUnavailable'
  /** Organization scan (aggregate step): shards (account, Region) that produced no findings. */
  | 'ShardErrors'
  /** Organization scan (aggregate step): accounts in scope that could not be scanned at all. */
  | 'AccountErrors';

export interface Metrics {
  /**
   * Counts `value` (default 1) of `name`, dimension `function`. `fields` go into the line (searchable
   * in CloudWatch Logs Insights); those named in `dimensions` also make a second dimension set
   * (`function` + them), so e.g. AlertDeliveryFailed exists per function and per function and channel.
   */
  count(name: MetricName, value?: number, fields?: Record<string, string>, dimensions?: readonly string[]): void;
}

export interface MetricsOptions {
  /** The Lambda function's name in pitr-guard (scheduledScan, pitrChange, configRule): the one dimension. */
  functionName: string;
  /** Where lines go; default: stdout. */
  write?: (line: string) => void;
  now?: () => Date;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  return {
    count(name, value = 1, fields = {}, dimensions = []) {
      const extra = dimensions.filter((d) => d !== 'function' && fields[d] !== undefined);
      const sets = extra.length ? [['function'], ['function', ...extra]] : [['function']];
      write(
        JSON.stringify({
          _aws: {
            Timestamp: now().getTime(),
            CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: sets, Metrics: [{ Name: name, Unit: 'Count' }] }],
          },
          ...fields,
          function: options.functionName,
          [name]: value,
        }),
      );
    },
  };
}

/** Metrics that go nowhere (tests, the CLI). */
export const silentMetrics: Metrics = { count: () => undefined };
