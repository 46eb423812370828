/**
 * What a report offers next to a finding: the AWS CLI command that fixes it and the table's page
 * in the DynamoDB console. Shared by the HTML report and the CLI (`explain`, `scan --fix`).
 */
import type { Finding } from '../core/types';

/** The AWS CLI command that turns PITR on with the policy's recovery period. */
export function fixCommand(f: Pick<Finding, 'region' | 'tableName'>, days: number): string {
  return `aws dynamodb update-continuous-backups --region ${f.region} --table-name ${shellQuote(f.tableName)} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=${days}`;
}

export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_.:/=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Whether `fixCommand` fixes this finding: every NON_COMPLIANT one (PITR off, or its period short). */
export function isFixable(f: Pick<Finding, 'status'>): boolean {
  return f.status === 'NON_COMPLIANT';
}

/** The table in the DynamoDB console (the same link the alerts carry). */
export function tableConsoleUrl(region: string, tableName: string): string {
  return `https://${region}.console.aws.amazon.com/dynamodbv2/home?region=${encodeURIComponent(region)}#table?name=${encodeURIComponent(tableName)}`;
}
