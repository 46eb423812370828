/**
 * The S3 client of Clients for the report bucket (`clients.get(ReportBucketClient, region)`):
 * path-style addressing when an endpoint is set (a local emulator answers on one host, not on
 * <bucket>.<host>). Its own module so that S3 is loaded only where it is used: the aggregate
 * imports it; the scan and the plan/shard steps load it on their first write (report-bucket.ts).
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { BaseClientConfig } from './clients';

export class ReportBucketClient extends S3Client {
  constructor(config: BaseClientConfig) {
    const endpoint = config.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    super({ ...config, ...(endpoint ? { forcePathStyle: true } : {}) } as S3ClientConfig);
  }
}
