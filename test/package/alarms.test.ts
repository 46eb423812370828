/**
 * The alarm on undelivered alerts, in the packaged template: it watches the metric the code emits
 * (namespace, metric name and the `function` dimension values come from lib/, not retyped here).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { METRIC_NAMESPACE, type MetricName } from '../../lib/runtime/metrics';

const dir = process.env.PITR_GUARD_PACKAGE_DIR ?? path.join(__dirname, '../../.serverless');
const template = JSON.parse(readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};

/** The functions that send alerts, by the name they give createMetrics (their serverless.yml key). */
const ALERTING_FUNCTIONS = ['pitrChange', 'scheduledScan'];

interface MetricQuery {
  Id: string;
  ReturnData: boolean;
  Expression?: string;
  MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] }; Period: number; Stat: string };
}

describe('AlertDeliveryFailedAlarm', () => {
  const alarm = template.Resources.AlertDeliveryFailedAlarm;

  it('sums AlertDeliveryFailed of every alerting function and fires on the first failed delivery', () => {
    expect(alarm?.Type).toBe('AWS::CloudWatch::Alarm');
    const metrics = alarm?.Properties.Metrics as MetricQuery[];
    const stats = metrics.filter((m) => m.MetricStat);
    const name: MetricName = 'AlertDeliveryFailed';
    expect(stats.map((m) => m.MetricStat?.Metric.Dimensions)).toEqual(ALERTING_FUNCTIONS.map((f) => [{ Name: 'function', Value: f }]));
    for (const m of stats) {
      expect(m).toMatchObject({ ReturnData: false, MetricStat: { Metric: { Namespace: METRIC_NAMESPACE, MetricName: name }, Stat: 'Sum' } });
    }
    const result = metrics.filter((m) => m.ReturnData);
    expect(result).toHaveLength(1);
    for (const m of stats) expect(result[0]?.Expression).toContain(`FILL(${m.Id}, 0)`);
    expect(alarm?.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'FailedEventsAlarmTopic' }],
    });
  });

  it('watches functions that exist in the template', () => {
    const described = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => String(r.Properties.FunctionName));
    for (const f of ALERTING_FUNCTIONS) expect(described.some((n) => n.endsWith(`-${f}`))).toBe(true);
  });
});

describe('DeduplicationUnavailableAlarm', () => {
  it('fires on the first DeduplicationUnavailable the reactor counts, on the alarm topic', () => {
    const alarm = template.Resources.DeduplicationUnavailableAlarm;
    const name: MetricName = 'DeduplicationUnavailable';
    expect(alarm?.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm?.Properties).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      MetricName: name,
      Dimensions: [{ Name: 'function', Value: 'pitrChange' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'FailedEventsAlarmTopic' }],
    });
  });
});
