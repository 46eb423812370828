/**
 * What `pitr-guard evidence` reads besides the scan: every item of the findings ledger (Scan, all
 * pages: the tables' history, incidents, disables and drills) and the pitr-guard Config rule's
 * results (GetComplianceDetailsByConfigRule, all pages). CLI only (no function bundles it). A
 * failed read is a result with the error, never a silent gap; an absent rule is NO_RULE.
 */
import { ConfigServiceClient, GetComplianceDetailsByConfigRuleCommand } from '@aws-sdk/client-config-service';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsErrorName, errorMessage } from '../core/errors';

export type LedgerRead = { status: 'OK'; items: Record<string, AttributeValue>[] } | { status: 'ERROR'; errorName: string; message: string };

/** Every item of the ledger table (consistent reads, all pages). */
export async function readLedger(ddb: DynamoDBClient, tableName: string): Promise<LedgerRead> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  try {
    do {
      const out = await ddb.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
  } catch (error) {
    return { status: 'ERROR', errorName: awsErrorName(error), message: errorMessage(error) };
  }
  return { status: 'OK', items };
}

export interface ConfigRuleResult {
  resourceType: string | null;
  resourceId: string | null;
  complianceType: string | null;
  annotation: string | null;
  /** ISO 8601. */
  resultRecordedTime: string | null;
  configRuleInvokedTime: string | null;
}

export type ConfigRuleRead =
  | { region: string; ruleName: string; status: 'OK'; results: ConfigRuleResult[] }
  | { region: string; ruleName: string; status: 'NO_RULE' }
  | { region: string; ruleName: string; status: 'ERROR'; errorName: string; message: string };

const iso = (d: Date | undefined): string | null => (d instanceof Date && Number.isFinite(d.getTime()) ? d.toISOString() : null);

/** The rule's latest result per resource in one Region (all pages, every compliance type). */
export async function readConfigRule(config: ConfigServiceClient, region: string, ruleName: string): Promise<ConfigRuleRead> {
  const results: ConfigRuleResult[] = [];
  let token: string | undefined;
  try {
    do {
      const out = await config.send(new GetComplianceDetailsByConfigRuleCommand({ ConfigRuleName: ruleName, Limit: 100, ...(token ? { NextToken: token } : {}) }));
      for (const r of out.EvaluationResults ?? []) {
        const q = r.EvaluationResultIdentifier?.EvaluationResultQualifier;
        results.push({
          resourceType: q?.ResourceType ?? null,
          resourceId: q?.ResourceId ?? null,
          complianceType: r.ComplianceType ?? null,
          annotation: r.Annotation ?? null,
          resultRecordedTime: iso(r.ResultRecordedTime),
          configRuleInvokedTime: iso(r.ConfigRuleInvokedTime),
        });
      }
      token = out.NextToken;
    } while (token);
  } catch (error) {
    const name = awsErrorName(error);
    if (name === 'NoSuchConfigRuleException') return { region, ruleName, status: 'NO_RULE' };
    return { region, ruleName, status: 'ERROR', errorName: name, message: errorMessage(error) };
  }
  return { region, ruleName, status: 'OK', results };
}

export { ConfigServiceClient };

export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'EvidenceLedger',
    actions: ['dynamodb:Scan'],
    resource: 'findingsTable',
    why: 'pitr-guard evidence reads every table’s history from the findings ledger (CLI only)',
  },
  {
    sid: 'EvidenceConfigRule',
    actions: ['config:GetComplianceDetailsByConfigRule'],
    resource: '*',
    why: 'pitr-guard evidence reads the pitr-guard Config rule’s results (CLI only; restrict it to the rule’s ARN)',
  },
];
