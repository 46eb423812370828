/** The CloudTrail event the demo's drift produces: "PITR disabled" by an assumed role, as EventBridge delivers it. */
import { randomBytes, randomUUID } from 'node:crypto';

export const ACTOR = { role: 'DataPlatformAdmin', session: 'jane.doe', ip: '203.0.113.24' };

/** A DynamoDB request ID: 52 characters of A-Z and 0-9. */
function dynamoRequestId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(52), (b) => alphabet[b % alphabet.length]).join('');
}

/** The CloudTrail record of "PITR disabled", as EventBridge delivers it (aws-facts §2.3). */
export function disableEvent(accountId: string, region: string, tableName: string, at: Date): Record<string, unknown> {
  const roleArn = `arn:aws:iam::${accountId}:role/${ACTOR.role}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.dynamodb',
    account: accountId,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: {
        type: 'AssumedRole',
        principalId: `AROA4DEMOEXAMPLE7JDOE:${ACTOR.session}`,
        arn: `arn:aws:sts::${accountId}:assumed-role/${ACTOR.role}/${ACTOR.session}`,
        accountId,
        accessKeyId: 'ASIA4DEMOEXAMPLEJDOE',
        sessionContext: {
          sessionIssuer: { type: 'Role', principalId: 'AROA4DEMOEXAMPLE7JDOE', arn: roleArn, accountId, userName: ACTOR.role },
          attributes: { creationDate: new Date(at.getTime() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), mfaAuthenticated: 'true' },
        },
      },
      eventTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'dynamodb.amazonaws.com',
      eventName: 'UpdateContinuousBackups',
      awsRegion: region,
      sourceIPAddress: ACTOR.ip,
      userAgent: 'aws-cli/2.27.50 md/awscrt#0.26.1 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.13.4 md/pyimpl#CPython cfg/retry-mode#standard md/command#dynamodb.update-continuous-backups',
      requestParameters: { tableName, pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false } },
      responseElements: {
        continuousBackupsDescription: { continuousBackupsStatus: 'ENABLED', pointInTimeRecoveryDescription: { pointInTimeRecoveryStatus: 'DISABLED' } },
      },
      requestID: dynamoRequestId(),
      eventID: randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      apiVersion: '2012-08-10',
      managementEvent: true,
      recipientAccountId: accountId,
      eventCategory: 'Management',
      tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `dynamodb.${region}.amazonaws.com` },
    },
  };
}
