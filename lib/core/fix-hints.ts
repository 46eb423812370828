/**
 * What every report and alert offers next to a finding, built in one place: the AWS CLI command
 * that fixes it and the table's page in the DynamoDB console. Pure (no I/O).
 */

/** Table names are [A-Za-z0-9_.-] (a shell-safe set); anything else is quoted for a POSIX shell. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_.:/=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The fix a person can run when pitr-guard did not (alert mode, dry run, failure). */
export function manualFixCommand(region: string, tableName: string, periodDays: number): string {
  return `aws dynamodb update-continuous-backups --region ${shellQuote(region)} --table-name ${shellQuote(tableName)} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true,RecoveryPeriodInDays=${periodDays}`;
}

/** The table in the DynamoDB console (the same link in alerts and reports). */
export function tableConsoleUrl(region: string, tableName: string): string {
  return `https://${region}.console.aws.amazon.com/dynamodbv2/home?region=${encodeURIComponent(region)}#table?name=${encodeURIComponent(tableName)}`;
}
