/**
 * The report bucket (PITR_GUARD_REPORT_BUCKET; the stack's ReportBucket by default): JSON objects
 * under two prefixes, each with its own IAM scope.
 *
 * - `runs/<runId>/…`: the Organization scan's run files (plan, shards, shard files, the Map's
 *   results), read and written by the steps of statemachine/org-scan.asl.json; expire after 30 days.
 * - `reports/<runId>/…`: reports (the aggregate's, the scheduled scan's report.json); kept for
 *   the param reportRetentionDays.
 *
 * A key outside its prefix is refused before any call: a role scoped to runs/* could not write it anyway.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Clients } from './clients';
import { AwsCallError } from '../core/errors';

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
    await where.clients.get(S3Client, where.region).send(new PutObjectCommand({ Bucket: where.bucket, Key: key, Body: body, ContentType: contentType }));
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
    const out = await where.clients.get(S3Client, where.region).send(new GetObjectCommand({ Bucket: where.bucket, Key: key }));
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
  { sid: 'ReadRunFiles', actions: ['s3:GetObject'], resource: 'runFiles', why: 'reads the Organization scan’s run files', calledBy: ['getRunFile'] },
  { sid: 'WriteReports', actions: ['s3:PutObject'], resource: 'reportFiles', why: 'writes reports under reports/<runId>/', calledBy: ['putReportFile'] },
];
