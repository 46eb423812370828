/**
 * The vocabulary of IAM declarations. Every lib/ module that sends an AWS command ends with
 * `export const permissions: readonly Permission[] = [...]`: the actions it calls and on what.
 * scripts/iam/derive.ts turns the declarations of the modules a handler reaches into that
 * function's role (serverless.yml), into docs/iam.md, and checks both in tests. Data only.
 */

/**
 * What a statement applies to, by name; scripts/iam/derive.ts maps each to CloudFormation.
 * - `*`: the action has no resource type (IAM accepts only "*").
 * - `tables`: every DynamoDB table of the account, any Region.
 * - `idempotencyTable`: the reactor's de-duplication table (the stack's own).
 * - `findingsTable`: the findings ledger (the stack's own FindingsTable).
 * - `alertTopic`: the SNS topic alerts go to (serverless param alertTopicArn).
 * - `slackWebhookParameter`: the SSM parameter named by param slackWebhookParam (granted only when set).
 * - `slackWebhookKey`: the KMS key of param slackWebhookKmsKeyArn, through SSM only (granted only when set).
 * - `memberRole`: the member role (param memberRole) in any account: arn:aws:iam::*:role/<memberRole>.
 * - `runFiles`: the Organization scan's run files in the report bucket (param reportBucket): `<bucket>/runs/*`.
 * - `reportFiles`: the reports in the report bucket: `<bucket>/reports/*`.
 * - `securityHubProduct`: the account's default Security Hub product, any Region: arn:…:securityhub:*:<account>:product/<account>/default.
 * - `securityHubHub`: the account's Security Hub hub, any Region: arn:…:securityhub:*:<account>:hub/default.
 * - `drillSources`: the tables named in the serverless param drillTables (the scheduled restore drill's sources).
 * - `drillTables`: those tables' drill copies only: `table/<name>-pitr-drill-*` (lib/core/drill.ts names them).
 * - `noGrantNeeded`: the action is always allowed (sts:GetCallerIdentity); listed, never granted.
 */
export type ResourceScope =
  | '*'
  | 'tables'
  | 'idempotencyTable'
  | 'findingsTable'
  | 'alertTopic'
  | 'slackWebhookParameter'
  | 'slackWebhookKey'
  | 'memberRole'
  | 'runFiles'
  | 'reportFiles'
  | 'securityHubProduct'
  | 'securityHubHub'
  | 'drillSources'
  | 'drillTables'
  | 'noGrantNeeded';

export interface Permission {
  /** Statement id in the role; declarations with the same sid are merged (same scope required). */
  sid: string;
  /** `service:Action`, exactly as IAM spells it; never a wildcard. */
  actions: readonly string[];
  resource: ResourceScope;
  /** Why the code calls it, for docs/iam.md: one short clause. */
  why: string;
  /**
   * The functions of the module that send the calls. A bundle that keeps none of them (esbuild
   * tree-shakes unused functions) does not get the statement; absent = any use of the module.
   */
  calledBy?: readonly string[];
  /** Changes a user's table: left out of every role when the serverless param readOnly is true. */
  remediation?: true;
  /** Only for scanning other accounts: left out of every role when the serverless param accounts is self. */
  multiAccount?: true;
  /** Only for Security Hub: granted only when the serverless param securityHub is true (member template: SecurityHub=true). */
  securityHub?: true;
  /**
   * Granted without an SDK command of its own in the module (kms:Decrypt behind a decrypting
   * GetParameter): the command-coverage test accepts it only when this says why.
   */
  implied?: string;
}
