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
