/**
 * bench:org's Organization on moto: the management account pitr-guard runs in plus `members`
 * created member accounts, `perShard` tables in each of `regions` in every account (seeded through
 * each member's role, accounts created and tables seeded concurrently), behind the fault proxy,
 * which emulates DynamoDB's documented 10 calls/s for DescribeContinuousBackups and
 * ListTagsOfResource with one token bucket per (account credentials, Region) and answers
 * ThrottlingException beyond it.
 */
import type { Context } from 'aws-lambda';
import { CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Clients } from '../lib/aws/clients';
import { startMoto, type MotoServer } from '../dev/local/moto';
import { startFaultProxy, type FaultProxy } from '../dev/local/proxy';
import { localClients, roundRobinPlan, seedTable, type SeedTable } from '../dev/seed';
import { mapLimit } from '../lib/aws/pace';
import { memberRoleCredentials } from '../lib/aws/org/member-credentials';

export const CENTRAL = '123456789012';
export const LIMITED = ['DescribeContinuousBackups', 'ListTagsOfResource'];

/** A Lambda context of the central account's `functionName` with `seconds` left (the shard stops 15 s before its deadline). */
export function lambdaContext(functionName: string, seconds: number): Context {
  const deadline = Date.now() + seconds * 1000;
  return { functionName, awsRequestId: 'bench', invokedFunctionArn: `arn:aws:lambda:us-east-1:${CENTRAL}:function:${functionName}`, getRemainingTimeInMillis: () => deadline - Date.now() } as unknown as Context;
}

export interface OrgSpec {
  members: number;
  regions: string[];
  /** Tables per account and Region. */
  perShard: number;
}

/** BENCH_MEMBERS, BENCH_REGIONS, BENCH_TABLES; the scale mode's defaults are 199 members (200 accounts) × 3 Regions × 5 tables. */
export function specFromEnv(scale: boolean): OrgSpec {
  return {
    members: Number(process.env.BENCH_MEMBERS ?? (scale ? 199 : 3)),
    regions: (process.env.BENCH_REGIONS ?? (scale ? 'us-east-1,eu-west-1,ap-southeast-2' : 'us-east-1,eu-west-1')).split(','),
    perShard: Number(process.env.BENCH_TABLES ?? (scale ? 5 : 100)),
  };
}

export interface OrgFixture {
  spec: OrgSpec;
  moto: MotoServer;
  proxy: FaultProxy;
  accounts: string[];
  /** The tables of one account (the same in every account). */
  plan: SeedTable[];
  tables: number;
  /** Seconds to create the member accounts and to seed the tables. */
  setup: { accounts: number; tables: number };
  stop(): Promise<void>;
}

export async function orgFixture(spec: OrgSpec): Promise<OrgFixture> {
  const moto = await startMoto();
  const direct = localClients(moto.endpoint);
  const org = direct.get(OrganizationsClient, 'us-east-1');
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  let started = Date.now();
  const created = await mapLimit(Array.from({ length: spec.members }, (_, i) => i + 1), 8, async (n) => {
    const out = await org.send(new CreateAccountCommand({ AccountName: `member-${n}`, Email: `member-${n}@example.com` }));
    return out.CreateAccountStatus?.AccountId as string;
  });
  const accounts = [CENTRAL, ...created];
  const accountSeconds = (Date.now() - started) / 1000;
  const plan = roundRobinPlan(Object.fromEntries(spec.regions.map((r) => [r, spec.perShard])));
  started = Date.now();
  for (const account of created) direct.setAccountCredentials(account, memberRoleCredentials(direct, { accountId: account, roleName: 'pitr-guard-member', homeRegion: 'us-east-1', runId: 'seed' }));
  const work = accounts.flatMap((account) => plan.map((t) => ({ account, t })));
  await mapLimit(work, 32, ({ account, t }) => seedTable(direct.get(DynamoDBClient, t.region, account === CENTRAL ? undefined : account), t));
  const tableSeconds = (Date.now() - started) / 1000;
  console.log(`created ${spec.members} member accounts in ${accountSeconds.toFixed(1)} s; seeded ${accounts.length} accounts × ${spec.regions.length} Regions × ${spec.perShard} tables in ${tableSeconds.toFixed(1)} s`);
  const proxy = await startFaultProxy(moto.endpoint, [], { limits: LIMITED.map((operation) => ({ operation, ratePerSecond: 10 })) });
  return {
    spec,
    moto,
    proxy,
    accounts,
    plan,
    tables: accounts.length * plan.length,
    setup: { accounts: accountSeconds, tables: tableSeconds },
    stop: async () => {
      await proxy.stop();
      await moto.stop();
    },
  };
}

export interface OrgScanEnv {
  endpoint: string;
  mode: 'report' | 'alert' | 'remediate';
  regions: readonly string[];
  /** PITR_GUARD_ACCOUNTS (default `org`). */
  accounts?: string;
  bucket: string;
  ledger?: string;
  topicArn?: string;
  maxConcurrency?: number;
}

/** The environment of orgPlan, orgShard and orgAggregate for a run against `endpoint` (moto or the fault proxy). */
export function orgScanEnv(o: OrgScanEnv): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: o.endpoint,
    AWS_REGION: 'us-east-1',
    PITR_GUARD_MODE: o.mode,
    PITR_GUARD_REGIONS: o.regions.join(','),
    PITR_GUARD_ACCOUNTS: o.accounts ?? 'org',
    PITR_GUARD_REPORT_BUCKET: o.bucket,
    PITR_GUARD_MAX_CONCURRENCY: String(o.maxConcurrency ?? 3),
    ...(o.ledger ? { PITR_GUARD_FINDINGS_TABLE: o.ledger } : {}),
    ...(o.topicArn ? { PITR_GUARD_ALERT_TOPIC_ARN: o.topicArn } : {}),
  };
}

/**
 * The report bucket, created in moto, and the environment the Organization scan's functions read
 * (report mode, accounts=org, through the fault proxy), for a run of the state machine on `fx`.
 * Returns the bucket's S3 client (straight to moto).
 */
export async function orgScanEnvironment(fx: OrgFixture, bucket: string, regions: readonly string[], maxConcurrency: number): Promise<S3Client> {
  const s3 = new Clients({ endpoint: fx.moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }).get(S3Client, 'us-east-1');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  Object.assign(process.env, {
    ...orgScanEnv({ endpoint: fx.proxy.endpoint, mode: 'report', regions, bucket, maxConcurrency }),
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    PITR_GUARD_LOG_LEVEL: 'error',
  });
  return s3;
}
