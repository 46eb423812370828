/**
 * The call rates AWS documents, in one place (DynamoDB API reference, model text; see
 * /work/shared/reference/aws-facts.md §1.6). Pacers (lib/aws/pace.ts, createPacers) run at these
 * rates, with a small burst credit, and slow down on a throttle. Rates are per account and Region.
 */
export const DOCUMENTED_RATES = {
  /** DescribeContinuousBackups: 10 calls/s. */
  describeContinuousBackups: 10,
  /** ListTagsOfResource: 10 calls/s per account. */
  listTagsOfResource: 10,
} as const;

/** The rate one table read is paced at (both paced calls share it): 10 calls/s. */
export const DEFAULT_RATE_PER_SECOND = Math.min(DOCUMENTED_RATES.describeContinuousBackups, DOCUMENTED_RATES.listTagsOfResource);

/** Slack incoming webhooks: about 1 message per second (bursts allowed), 429 + Retry-After above it. */
export const SLACK_MESSAGES_PER_SECOND = 1;
