/**
 * The report bucket (PITR_GUARD_REPORT_BUCKET; the stack's ReportBucket by default): objects under
 * two prefixes, each with its own IAM scope.
 *
 * - `runs/<runId>/…`: the Organization scan's run files (plan, shards, shard files, the Map's
 *   results), read and written by the steps of statemachine/org-scan.asl.json; expire after 30 days.
 * - `reports/<runId>/…`: reports (the aggregate's, streamed with @aws-sdk/lib-storage's Upload:
 *   multipart above one part, so memory stays at partSize × queueSize whatever the report's size;
 *   the scheduled scan's report.json); kept for the param reportRetentionDays.
 *
 * A key outside its prefix is refused before any call: a role scoped to runs/* could not write it
 * anyway. A failed read is an AwsCallError naming the operation and the key (NoSuchKey;
 * AccessDenied, which S3 also answers for a missing key when the role lacks s3:ListBucket).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { AwsCallError } from '../core/errors';
import type { Clients } from './clients';

/** The bucket's client, loaded on first use (S3 too, at each call below): a scan without a report bucket never loads it. */
const bucketClient = async (where: BucketLocation) => where.clients.get((await import('./report-bucket-client')).ReportBucketClient, where.region);

/** Multipart part size (S3's minimum is 5 MiB) and parts in flight: at most 10 MiB buffered per upload. */
export const PART_SIZE = 5 * 1024 * 1024;
export const QUEUE_SIZE = 2;

/** The object's body as UTF-8 text. */
export async function getObjectText(s3: S3Client, bucket: string, key: string): Promise<string> {
  try {
    const { GetObjectCommand } = await import('./sdk/client-s3');
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!out.Body) throw Object.assign(new Error('the object has no body'), { name: 'EmptyBody' });
    return await out.Body.transformToString('utf-8');
  } catch (error) {
    throw new AwsCallError('GetObject', error, `s3://${bucket}/${key}`);
  }
}

/** The object parsed as JSON; a body that is not JSON is an error naming the key. */
export async function getObjectJson(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  const text = await getObjectText(s3, bucket, key);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AwsCallError('GetObject', Object.assign(new Error(`not JSON: ${(error as Error).message}`), { name: 'MalformedJson' }), `s3://${bucket}/${key}`);
  }
}

export interface PutOptions {
  contentType: string;
}

/**
 * Streams `body` to s3://bucket/key: one PutObject when it fits one part, else a multipart
 * upload (aborted on failure, so no orphan parts are left to pay for). Encrypted with the
 * bucket's default encryption.
 */
export async function uploadObject(s3: S3Client, bucket: string, key: string, body: Readable | string, options: PutOptions): Promise<void> {
  try {
    const { Upload } = await import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: options.contentType },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    await upload.done();
  } catch (error) {
    throw new AwsCallError('PutObject', error, `s3://${bucket}/${key}`);
  }
}

export interface BucketLocation {
  clients: Clients;
  /** The Region the bucket is in (the stack's own). */
  region: string;
  bucket: string;
}

function checkPrefix(key: string, prefix: 'runs/' | 'reports/'): void {
  if (!key.startsWith(prefix) || key.includes('..') || key.length > 1024) throw new Error(`refusing S3 key ${JSON.stringify(key)}: expected a key under ${prefix}`);
}

async function put(where: BucketLocation, key: string, body: string, contentType: string): Promise<void> {
  try {
    const { PutObjectCommand } = await import('./sdk/client-s3');
    await (await bucketClient(where)).send(new PutObjectCommand({ Bucket: where.bucket, Key: key, Body: body, ContentType: contentType }));
  } catch (error) {
    throw new AwsCallError('PutObject', error, `s3://${where.bucket}/${key}`);
  }
}

/** Writes a run file (`runs/…`) as JSON. */
export async function putRunFile(where: BucketLocation, key: string, value: unknown): Promise<void> {
  checkPrefix(key, 'runs/');
  await put(where, key, JSON.stringify(value), 'application/json');
}

/** Reads a run file (`runs/…`) and parses it as JSON (the caller checks its shape). */
export async function getRunFile(where: BucketLocation, key: string): Promise<unknown> {
  checkPrefix(key, 'runs/');
  let text: string;
  try {
    const { GetObjectCommand } = await import('./sdk/client-s3');
    const out = await (await bucketClient(where)).send(new GetObjectCommand({ Bucket: where.bucket, Key: key }));
    text = (await out.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    throw new AwsCallError('GetObject', error, `s3://${where.bucket}/${key}`);
  }
  return JSON.parse(text) as unknown;
}

/** Writes a report file (`reports/…`): the text as rendered (JSON, CSV, HTML). */
export async function putReportFile(where: BucketLocation, key: string, body: string, contentType = 'application/json'): Promise<void> {
  checkPrefix(key, 'reports/');
  await put(where, key, body, contentType);
}

/** IAM for the calls above (scripts/iam/derive.ts builds each function's role from these). */
export const permissions: readonly import('../core/iam').Permission[] = [
  { sid: 'WriteRunFiles', actions: ['s3:PutObject'], resource: 'runFiles', why: 'writes the Organization scan’s run files (plan, shards, shard results)', calledBy: ['putRunFile'] },
  {
    sid: 'ReadRunFiles',
    actions: ['s3:GetObject'],
    resource: 'runFiles',
    why: 'reads the run’s plan, shard list, Step Functions result files and shard files',
    calledBy: ['getRunFile', 'getObjectText'],
  },
  { sid: 'WriteReports', actions: ['s3:PutObject'], resource: 'reportFiles', why: 'writes reports under reports/<runId>/', calledBy: ['putReportFile'] },
  {
    sid: 'StreamReports',
    actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
    resource: 'reportFiles',
    why: 'streams the run’s reports (multipart upload, aborted on failure)',
    calledBy: ['uploadObject'],
    implied:
      'sent by @aws-sdk/lib-storage Upload: PutObject, or CreateMultipartUpload, UploadPart and CompleteMultipartUpload (all authorised by s3:PutObject), and AbortMultipartUpload on failure',
  },
];
