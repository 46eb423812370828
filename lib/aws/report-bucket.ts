/**
 * The report bucket (PITR_GUARD_REPORT_BUCKET) as the Organization aggregate uses it: read one
 * object of a run (`runs/<runId>/…`) as text or JSON, and stream one report (`reports/<runId>/…`)
 * into it with @aws-sdk/lib-storage's Upload (multipart above one part, so memory stays at
 * partSize × queueSize whatever the report's size).
 *
 * A failed read is an AwsCallError naming the operation and the key (NoSuchKey; AccessDenied,
 * which S3 also answers for a missing key when the role lacks s3:ListBucket).
 */
import { GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { AwsCallError } from '../core/errors';
import type { BaseClientConfig } from './clients';

/**
 * The S3 client of Clients (`clients.get(ReportBucketClient, region)`): path-style addressing when an
 * endpoint is set (a local emulator answers on one host, not on <bucket>.<host>).
 */
export class ReportBucketClient extends S3Client {
  constructor(config: BaseClientConfig) {
    const endpoint = config.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    super({ ...config, ...(endpoint ? { forcePathStyle: true } : {}) } as S3ClientConfig);
  }
}

/** Multipart part size (S3's minimum is 5 MiB) and parts in flight: at most 10 MiB buffered per upload. */
export const PART_SIZE = 5 * 1024 * 1024;
export const QUEUE_SIZE = 2;

/** The object's body as UTF-8 text. */
export async function getObjectText(s3: S3Client, bucket: string, key: string): Promise<string> {
  try {
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

export const permissions: readonly import('../core/iam').Permission[] = [
  {
    sid: 'ReadRunFiles',
    actions: ['s3:GetObject'],
    resource: 'reportBucketRuns',
    why: 'reads the run’s plan, shard list, Step Functions result files and shard files',
    calledBy: ['getObjectText'],
  },
  {
    sid: 'WriteReports',
    actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
    resource: 'reportBucketReports',
    why: 'streams the run’s reports (multipart upload, aborted on failure)',
    calledBy: ['uploadObject'],
    implied:
      'sent by @aws-sdk/lib-storage Upload: PutObject, or CreateMultipartUpload, UploadPart and CompleteMultipartUpload (all authorised by s3:PutObject), and AbortMultipartUpload on failure',
  },
];
