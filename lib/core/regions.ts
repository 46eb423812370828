/**
 * AWS Region codes pitr-guard accepts. A code not listed here is rejected as unknown instead of
 * being scanned and silently returning nothing. `all` does not depend on this list: it asks
 * Account ListRegions which Regions the account has enabled, so a newly launched Region is
 * scanned by `all` before it is added here.
 */
export const KNOWN_REGIONS: readonly string[] = [
  // aws partition
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  // aws-us-gov, aws-cn and the European Sovereign Cloud partitions
  'us-gov-east-1',
  'us-gov-west-1',
  'cn-north-1',
  'cn-northwest-1',
  'eusc-de-east-1',
];

const REGION_SHAPE = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

export function isRegionCode(value: string): boolean {
  return REGION_SHAPE.test(value);
}
