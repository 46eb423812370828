/** Shared types: the policy, the facts read about a table, and what evaluation makes of them. */

export const MODES = ['report', 'alert', 'remediate'] as const;
export type Mode = (typeof MODES)[number];

export interface Policy {
  /** What to do about a non-compliant table: only report it, alert on it, or re-enable PITR. */
  mode: Mode;
  /** Minimum RecoveryPeriodInDays (1–35) a table must have. */
  minRecoveryDays: number;
  /** Tag key whose non-empty value exempts a table (the value is the reason). */
  exemptTag: string;
  /** Region codes to scan, or 'all' for every Region enabled for the account. */
  regions: string[] | 'all';
  /** Evaluate and report, but change nothing. */
  dryRun: boolean;
  /** SNS topic that receives alerts (PITR_GUARD_ALERT_TOPIC_ARN); unset = no SNS alerts. */
  alertTopicArn?: string;
  /** Name of the SSM SecureString holding the Slack incoming-webhook URL; unset = no Slack alerts. */
  slackWebhookParam?: string;
  /**
   * Read-only deployment (serverless param readOnly): no role may change a table, so mode is
   * report or alert, and a `pitr-guard:mode=remediate` tag counts as alert.
   */
  readOnly?: boolean;
}

/** The per-table tag that can make the mode stricter for one table (never weaker). */
export const MODE_TAG = 'pitr-guard:mode';

/** The tag that bounds an exemption in time: YYYY-MM-DD, exempt through the end of that UTC day. */
export const EXEMPT_UNTIL_TAG = 'pitr-guard:exempt-until';

export interface PitrState {
  /** `ENABLED`, `DISABLED`, `MISSING` (no PointInTimeRecoveryDescription) or any other value AWS returned. */
  status: string;
  recoveryPeriodInDays?: number;
  earliestRestorableDateTime?: Date;
  latestRestorableDateTime?: Date;
}

export interface ReplicaFacts {
  regionName: string;
  replicaStatus?: string;
  replicaArn?: string; // Replicas[].ReplicaArn when given: names the replica's account
}

export interface RestoreFacts {
  sourceTableArn?: string;
  sourceBackupArn?: string;
  restoreDateTime?: Date;
  restoreInProgress?: boolean;
}

export interface ReadFailure {
  /** The AWS API that failed, e.g. `DescribeContinuousBackups`. */
  operation: string;
  /** The AWS error name, e.g. `AccessDeniedException`. */
  errorName: string;
  message: string;
}

/** Everything read about one table. Missing facts are undefined; a failed read sets `error`. */
export interface TableFacts {
  accountId: string;
  region: string;
  tableName: string;
  tableArn?: string;
  tableId?: string;
  tableStatus?: string;
  creationDateTime?: Date;
  pitr?: PitrState;
  tags?: Record<string, string>;
  replicas?: ReplicaFacts[];
  restoreSummary?: RestoreFacts;
  /** DescribeTable TableSizeBytes, and the sum of its LocalSecondaryIndexes[].IndexSizeBytes (PITR bills both; undefined without LSIs). */
  tableSizeBytes?: number;
  lsiSizeBytes?: number;
  globalTableVersion?: string; // DescribeTable GlobalTableVersion (e.g. 2019.11.21)
  error?: ReadFailure;
}

export const FINDING_STATUSES = ['NON_COMPLIANT', 'ERROR', 'EXEMPT', 'COMPLIANT', 'NOT_APPLICABLE'] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];

export const REASON_CODES = [
  'PITR_ENABLED',
  'PITR_DISABLED',
  'RECOVERY_PERIOD_TOO_SHORT',
  'RESTORE_WINDOW_NOT_FULL',
  'EXEMPT',
  'EXEMPTION_EXPIRED',
  'EXEMPTION_WITHOUT_REASON',
  'EXEMPTION_INVALID_EXPIRY',
  'TABLE_DELETING',
  'TABLE_ARCHIVING',
  'TABLE_ARCHIVED',
  'READ_FAILED',
  'REPEATEDLY_DISABLED',
  'RESTORED_WITHOUT_PITR',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Exemption {
  /** The exempt tag's value. */
  reason: string;
  /** The `pitr-guard:exempt-until` tag's value, if any. */
  until?: string;
  /** Whether the exemption is in force at evaluation time. */
  active: boolean;
}

export interface PitrSummary {
  status: string | null;
  recoveryPeriodInDays: number | null;
  earliestRestorableDateTime: string | null;
  latestRestorableDateTime: string | null;
  /** Days that can actually be restored now (latest − earliest restorable time), one decimal. */
  restorableDays: number | null;
}

export interface Finding {
  accountId: string;
  region: string;
  tableName: string;
  tableArn: string | null;
  tableStatus: string | null;
  status: FindingStatus;
  /** Machine-readable codes, most important first. */
  reasons: ReasonCode[];
  /** One human sentence that explains the status. */
  message: string;
  pitr: PitrSummary;
  exemption: Exemption | null;
  /**
   * The raw value of the table's `pitr-guard:mode` tag (MODE_TAG), as read; null when the table has
   * no such tag (or its tags could not be read). Not validated here: `effectiveMode` in
   * lib/core/decide.ts decides what it means (it may only make the policy's mode stricter), so a
   * scan can tell which tables to remediate without reading them again.
   */
  modeTag: string | null;
  /** Set when status is ERROR: which call failed and how. */
  error?: ReadFailure;
  /**
   * When the table entered its current status (ISO 8601), from the findings ledger
   * (lib/state/ledger.ts); absent when no ledger is configured or the write failed.
   */
  since?: string;
  /**
   * The table's size and what PITR costs for it (issue 14). Every finding carries it once the cost
   * module fills it in; null values when the size could not be read or the Region has no price.
   */
  cost?: FindingCost;
  /** Set when DescribeTable returned a RestoreSummary: where the table was restored from (issue 14). */
  restore?: RestoreSummaryInfo;
  /** Set when the table is a replica of a global table: the whole replica set (issue 14). */
  replicaSet?: ReplicaSetInfo;
  /** The last successful restore drill, from the findings ledger (issue 14); absent when unknown. */
  lastDrill?: DrillSummary;
}

export interface FindingCost {
  /** DescribeTable TableSizeBytes (updated by DynamoDB about every six hours); null if unknown. */
  tableSizeBytes: number | null;
  lsiSizeBytes: number | null; // sum of LocalSecondaryIndexes[].IndexSizeBytes, billed with the table; 0 without LSIs
  /** Estimated monthly PITR storage cost in USD for this table (size × Region price); null if size or price unknown. */
  pitrMonthlyUsd: number | null;
}

export interface RestoreSummaryInfo {
  sourceTableArn: string | null;
  sourceBackupArn: string | null;
  /** ISO 8601. */
  restoreDateTime: string | null;
  restoreInProgress: boolean;
  /** The source table's status in the same report, 'NOT_SCANNED' when it is not in the report, null for a backup source. */
  sourceStatus: FindingStatus | 'NOT_SCANNED' | null;
}

export interface ReplicaSetInfo {
  /** DescribeTable GlobalTableVersion (e.g. 2019.11.21), or null if absent. */
  globalTableVersion: string | null;
  /** A stable id for the set: the table name plus the sorted replica Regions (same account). */
  setId: string;
  /** True only when every replica is scanned and COMPLIANT (or EXEMPT). */
  compliant: boolean;
  replicas: ReplicaStatusInfo[];
}

export interface ReplicaStatusInfo {
  region: string;
  accountId: string; // from Replicas[].ReplicaArn when given, else the finding's own account
  /** DescribeTable Replicas[].ReplicaStatus (ACTIVE, CREATING…), null if absent. */
  replicaStatus: string | null;
  /** The replica's own finding status in this report, or NOT_SCANNED when its Region is outside the scan. */
  status: FindingStatus | 'NOT_SCANNED';
}

/** What reports show of a table's drills: the last successful one. */
export interface DrillSummary {
  drillId: string;
  /** When the drill finished (ISO 8601). */
  at: string;
  /** Seconds from RestoreTableToPointInTime to the temporary table ACTIVE. */
  restoreSeconds: number;
  /** The restore point reached (ISO 8601), or null when DynamoDB did not say. */
  restorePoint: string | null;
}

/**
 * One restore drill (`pitr-guard drill`, lib/act/drill.ts), as printed with --format json and as
 * stored in the findings ledger (attribute names in docs/ledger.md: `lastDrill`,
 * `lastSuccessfulDrill` as JSON strings, `drills` a list of the last 20 as JSON strings).
 */
export interface DrillRecord {
  drillId: string;
  accountId: string;
  region: string;
  tableName: string;
  tableArn: string;
  temporaryTableName: string;
  startedAt: string;
  finishedAt: string;
  outcome: 'PASSED' | 'FAILED';
  /** 'LATEST' (UseLatestRestorableTime) or the ISO time asked for with --to. */
  requested: string;
  restorePoint: string | null;
  restoreSeconds: number | null;
  checks: { name: string; passed: boolean; detail: string }[];
  /** Whether the temporary table was deleted (false only when its deletion failed; then `error` says so). */
  cleanedUp: boolean;
  error?: string;
}

/**
 * One line of a table's history in the findings ledger (attribute `history`, a list of the last 100
 * entries, appended by the scan's ledger writes, the reactor's incident writes and drills). The
 * evidence command (pitr-guard evidence) prints it.
 */
export interface HistoryEntry {
  /** ISO 8601. */
  at: string;
  event: 'STATUS_CHANGED' | 'INCIDENT_OPENED' | 'INCIDENT_CLOSED' | 'PITR_DISABLED' | 'REMEDIATED' | 'DRILL';
  /** e.g. the new status, the principal who disabled PITR, the drill outcome. */
  detail: string;
  /** The principal ARN, where one is known. */
  actor?: string;
}

// ---------------------------------------------------------------- a change to one table (CloudTrail)

export const REACTOR_EVENT_NAMES = ['UpdateContinuousBackups', 'CreateTable', 'RestoreTableToPointInTime', 'RestoreTableFromBackup', 'ImportTable', 'DeleteTable'] as const;
export type ReactorEventName = (typeof REACTOR_EVENT_NAMES)[number];

/** What the call did, as far as the event tells. */
export type ChangeKind = 'PITR_DISABLED' | 'PERIOD_SET' | 'PITR_UPDATED' | 'TABLE_CREATED' | 'TABLE_RESTORED' | 'TABLE_IMPORTED' | 'TABLE_DELETED';

/** Who made the call, from the CloudTrail record. Every field is event-derived (untrusted text). */
export interface Actor {
  /** userIdentity.arn; for AWS services / accounts without an ARN, a readable stand-in. */
  arn: string;
  type?: string;
  accountId?: string;
  /** The service that made the call on the principal's behalf (userIdentity.invokedBy). */
  invokedBy?: string;
  /** The role behind an assumed-role session (sessionContext.sessionIssuer.arn). */
  sessionIssuer?: string;
  sourceIp?: string;
  userAgent?: string;
  /** detail.eventTime (ISO 8601). */
  eventTime?: string;
}

/** DeleteTable's responseElements.tableDescription (event-derived; every field optional). */
export interface DeletedTableFacts {
  tableArn?: string;
  tableId?: string;
  tableStatus?: string;
  itemCount?: number;
  tableSizeBytes?: number;
  /** deletionProtectionEnabled as the description carried it. */
  deletionProtectionEnabled?: boolean;
}

export interface TableChange {
  /** The idempotency key: addendum.originalEventID for a re-delivery, else detail.eventID. */
  eventId: string;
  eventName: ReactorEventName;
  kind: ChangeKind;
  accountId: string;
  region: string;
  tableName: string;
  /** UpdateContinuousBackups: what the caller asked for. */
  requested?: { enabled?: boolean; recoveryPeriodInDays?: number };
  /** Restores: the source table or backup. */
  source?: string;
  /** DeleteTable: what responseElements.tableDescription said about the table as it was deleted. */
  deleted?: DeletedTableFacts;
  actor: Actor;
}
