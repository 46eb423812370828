/**
 * statemachine/org-scan.asl.json is valid Amazon States Language (asl-validator 4.0.0, after the
 * DefinitionSubstitutions serverless.yml makes), and it is the machine the contract
 * (lib/jobs/org-scan/contract.ts) describes: what each step is passed and where results go.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

type Validate = (definition: unknown) => { isValid: boolean; errors: { 'Error code': string; Message: string }[] };
const validate = jest.requireActual<Validate>('asl-validator');

const text = readFileSync(path.join(__dirname, '../../statemachine/org-scan.asl.json'), 'utf8');
const ARNS: Record<string, string> = {
  PlanFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:pitr-guard-ci-orgPlan',
  ShardFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:pitr-guard-ci-orgShard',
  AggregateFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:pitr-guard-ci-orgAggregate',
};

function substituted(): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- ASL is free-form JSON
  return JSON.parse(text.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, k: string) => ARNS[k] ?? `<unknown ${k}>`));
}

describe('statemachine/org-scan.asl.json', () => {
  it('uses exactly the three function placeholders serverless.yml substitutes', () => {
    expect([...new Set([...text.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]))].sort()).toEqual(['AggregateFunctionArn', 'PlanFunctionArn', 'ShardFunctionArn']);
  });

  it('is valid ASL (asl-validator), and a broken copy is not', () => {
    const result = validate(substituted());
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
    const noNext = substituted();
    delete noNext.States.Plan.Next;
    expect(validate(noNext).isValid).toBe(false);
    const badMode = substituted();
    badMode.States.ScanShards.ItemProcessor.ProcessorConfig.Mode = 'PARALLEL';
    expect(validate(badMode).errors.map((e) => e['Error code'])).toContain('SCHEMA_VALIDATION_FAILED');
    const dangling = substituted();
    dangling.States.ScanShards.Next = 'Nowhere';
    expect(validate(dangling).isValid).toBe(false);
  });

  it('is the contract: Plan gets { event, executionName }, the Map reads shards.json and writes results under runs/<runId>/results, Aggregate gets $', () => {
    const d = substituted();
    expect(d.StartAt).toBe('Plan');
    expect(d.States.Plan).toMatchObject({ Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: ARNS.PlanFunctionArn, Payload: { 'event.$': '$', 'executionName.$': '$$.Execution.Name' } }, OutputPath: '$.Payload', Next: 'ScanShards' });
    const map = d.States.ScanShards;
    expect(map.ItemReader).toEqual({ Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSON' }, Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.shardsKey' } });
    expect(map.MaxConcurrencyPath).toBe('$.maxConcurrency');
    expect(map.ToleratedFailurePercentage).toBe(100);
    // STANDARD children: a shard may take several invocations (parts), longer than EXPRESS's 5 minutes.
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.ResultWriter).toEqual({ Resource: 'arn:aws:states:::s3:putObject', Parameters: { 'Bucket.$': '$.bucket', 'Prefix.$': "States.Format('runs/{}/results', $.runId)" } });
    expect(map.ResultPath).toBe('$.results');
    const shard = map.ItemProcessor.States.ScanShard;
    expect(shard.Parameters).toEqual({ FunctionName: ARNS.ShardFunctionArn, 'Payload.$': '$' });
    expect(shard.Retry[0].ErrorEquals).toEqual(expect.arrayContaining(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException', 'ShardRetryableError']));
    expect(shard.Retry[0]).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
    expect(shard.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ShardError' }]);
    // ShardErrorOutput: the item the part was invoked with (its continuation), its error, status ERROR.
    expect(map.ItemProcessor.States.ShardError).toMatchObject({ Type: 'Pass', Result: 'ERROR', ResultPath: '$.status', End: true });
    // The continuation loop: CONTINUE → NextPart ($.next) → ScanShard; anything else ends the child.
    expect(shard.Next).toBe('MoreTables');
    expect(map.ItemProcessor.States.MoreTables).toMatchObject({ Type: 'Choice', Choices: [{ Variable: '$.status', StringEquals: 'CONTINUE', Next: 'NextPart' }], Default: 'ShardScanned' });
    expect(map.ItemProcessor.States.NextPart).toEqual({ Type: 'Pass', OutputPath: '$.next', Next: 'ScanShard' });
    expect(map.ItemProcessor.States.ShardScanned).toEqual({ Type: 'Succeed' });
    expect(d.States.Aggregate).toMatchObject({ Parameters: { FunctionName: ARNS.AggregateFunctionArn, 'Payload.$': '$' }, OutputPath: '$.Payload', End: true });
    expect(d.States.Aggregate.Retry[0].ErrorEquals).toContain('Lambda.TooManyRequestsException');
  });
});
