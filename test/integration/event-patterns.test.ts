/**
 * The reactor's EventBridge patterns, read exactly as serverless.yml declares them, checked on
 * moto: a rule per pattern with an SQS target, PutEvents of real-shaped CloudTrail events, and
 * which events reach which queue. (moto's TestEventPattern answers nothing; its matching behind
 * PutEvents is real.)
 *
 * Pattern choice (aws-facts §2.5): (a) for UpdateContinuousBackups — only successful calls that
 * switch PITR off, or set a recovery period below 35 days, match; enabling calls with 35 days (or
 * no period) and failed calls never invoke the function. pitr-guard's own re-enable does match when
 * minRecoveryDays < 35 (it sends that period): the handler then finds the table compliant and does
 * nothing. Plus one rule for the calls that create a table without PITR. The handler re-reads the table anyway, so a missed casing guess costs an
 * event, never a wrong action; the scheduled scan is the safety net.
 */
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCfnYaml } from '../../scripts/cfn-yaml';
import { startMoto, type MotoServer } from '../../dev/local/moto';
import { loadEvent } from '../helpers/builders';

interface Template {
  resources: { Resources: Record<string, { Type: string; Properties: { EventPattern?: Record<string, unknown>; EventBusName?: unknown } }> };
}
const sls = parseCfnYaml(readFileSync(path.join(__dirname, '../../serverless.yml'), 'utf8')) as Template;
// The rules that match events (the Organization scan's schedule rule has a ScheduleExpression instead).
const allRules = Object.entries(sls.resources.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern !== undefined);
/** The default bus's rules; their copies on the forwarded-events bus carry the same patterns (checked below). */
const rules = allRules.filter(([, r]) => r.Properties.EventBusName === undefined);

const creds = { accessKeyId: 'testing', secretAccessKey: 'testing' };
let moto: MotoServer;
let events: EventBridgeClient;
let sqs: SQSClient;
const queues: Record<string, string> = {};

beforeAll(async () => {
  moto = await startMoto();
  events = new EventBridgeClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: creds });
  sqs = new SQSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: creds });
  for (const [name, rule] of rules) {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `matched-${name}` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await events.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(rule.Properties.EventPattern), State: 'ENABLED' }));
    await events.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }] }));
    queues[name] = QueueUrl as string;
  }
});
afterAll(() => moto?.stop());

type Ev = { source: string; 'detail-type': string; detail: Record<string, unknown>; resources: string[]; time: string };

/** PutEvents one event, then the rules whose queue received it. */
async function matching(event: Ev): Promise<string[]> {
  const out = await events.send(
    new PutEventsCommand({
      Entries: [{ Source: event.source, DetailType: event['detail-type'], Detail: JSON.stringify(event.detail), Resources: event.resources, Time: new Date(event.time) }],
    }),
  );
  expect(out.FailedEntryCount ?? 0).toBe(0);
  const hit: string[] = [];
  for (const [name, url] of Object.entries(queues)) {
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    for (const m of got.Messages ?? []) {
      const body = JSON.parse(m.Body ?? '{}') as { detail?: { eventID?: string } };
      if (body.detail?.eventID === event.detail.eventID) hit.push(name);
    }
  }
  return hit.sort();
}

const ev = (name: string, edit?: (e: Ev) => void): Ev => {
  const e = loadEvent<Ev>(name);
  edit?.(e);
  return e;
};
const spec = (e: Ev) => (e.detail.requestParameters as { pointInTimeRecoverySpecification: Record<string, unknown> }).pointInTimeRecoverySpecification;

describe('serverless.yml event patterns on moto (PutEvents → rule → SQS)', () => {
  it('has the same two patterns on the forwarded-events bus (YAML aliases), so forwarded events match exactly as local ones', () => {
    expect(allRules.map(([n]) => n).sort()).toEqual(['ForwardedPitrDisabledRule', 'ForwardedTableCreatedRule', 'PitrDisabledRule', 'TableCreatedRule']);
    for (const name of ['PitrDisabledRule', 'TableCreatedRule']) {
      expect(sls.resources.Resources[`Forwarded${name}`]?.Properties.EventBusName).toEqual({ Ref: 'ForwardedEventsBus' });
      expect(sls.resources.Resources[`Forwarded${name}`]?.Properties.EventPattern).toEqual(sls.resources.Resources[name]?.Properties.EventPattern);
    }
  });

  it('declares the two reactor rules, read with their exact patterns', () => {
    expect(rules.map(([n]) => n).sort()).toEqual(['PitrDisabledRule', 'TableCreatedRule']);
    expect(sls.resources.Resources.PitrDisabledRule?.Properties.EventPattern).toMatchObject({
      source: ['aws.dynamodb'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: { eventName: ['UpdateContinuousBackups'], errorCode: [{ exists: false }] },
    });
  });

  it('the disable call matches', async () => {
    expect(await matching(ev('cloudtrail-pitr-disabled.json'))).toEqual(['PitrDisabledRule']);
  });

  it('a call that shortens the recovery period matches', async () => {
    expect(await matching(ev('cloudtrail-period-shortened.json'))).toEqual(['PitrDisabledRule']);
  });

  it('enabling calls do not match: pitr-guard’s own (35 days), and one with no period', async () => {
    expect(await matching(ev('cloudtrail-pitr-enabled.json'))).toEqual([]);
    expect(
      await matching(
        ev('cloudtrail-pitr-enabled.json', (e) => {
          e.detail.eventID = 'enable-without-period';
          delete spec(e).recoveryPeriodInDays;
        }),
      ),
    ).toEqual([]);
  });

  it('pitr-guard’s own re-enable with minRecoveryDays < 35 (here 7) DOES match: the handler must (and does) find it compliant', async () => {
    expect(
      await matching(
        ev('cloudtrail-pitr-enabled.json', (e) => {
          e.detail.eventID = 'own-enable-7-days';
          spec(e).recoveryPeriodInDays = 7;
        }),
      ),
    ).toEqual(['PitrDisabledRule']);
  });

  it('a failed call does not match (disable refused, table creation refused)', async () => {
    expect(await matching(ev('cloudtrail-failed-call.json'))).toEqual([]);
    expect(
      await matching(
        ev('cloudtrail-create-table.json', (e) => {
          e.detail.eventID = 'create-failed';
          e.detail.errorCode = 'ResourceInUseException';
          e.detail.errorMessage = 'Table already exists: invoices';
          e.detail.responseElements = null;
        }),
      ),
    ).toEqual([]);
  });

  it('unrelated event names and sources do not match', async () => {
    expect(await matching(ev('cloudtrail-update-table.json'))).toEqual([]);
    expect(
      await matching(
        ev('cloudtrail-pitr-disabled.json', (e) => {
          e.detail.eventID = 'other-source';
          e.source = 'aws.s3';
          e.detail.eventSource = 's3.amazonaws.com';
        }),
      ),
    ).toEqual([]);
  });

  it('table-creating calls match the second rule: CreateTable, both restores, ImportTable', async () => {
    for (const name of ['cloudtrail-create-table.json', 'cloudtrail-restore-point-in-time.json', 'cloudtrail-restore-from-backup.json', 'cloudtrail-import-table.json']) {
      expect([name, await matching(ev(name))]).toEqual([name, ['TableCreatedRule']]);
    }
  });

  it('DeleteTable matches the second rule (alert only), a failed DeleteTable does not', async () => {
    expect(await matching(ev('cloudtrail-delete-table.json'))).toEqual(['TableCreatedRule']);
    expect(
      await matching(
        ev('cloudtrail-delete-table.json', (e) => {
          e.detail.eventID = 'delete-refused';
          e.detail.errorCode = 'ResourceInUseException';
          e.detail.responseElements = null;
        }),
      ),
    ).toEqual([]);
  });

  it('an event from a member account (account and recipientAccountId B, its own Region) matches exactly as the central account’s own: the patterns name no account', async () => {
    expect(await matching(ev('cloudtrail-member-pitr-disabled.json'))).toEqual(['PitrDisabledRule']);
    expect(await matching(ev('cloudtrail-member-pitr-disabled.json', (e) => {
      e.detail.eventID = 'member-enable';
      (e.detail.requestParameters as Record<string, unknown>).pointInTimeRecoverySpecification = { pointInTimeRecoveryEnabled: true };
    }))).toEqual([]);
    for (const [, rule] of rules) expect(Object.keys(rule.Properties.EventPattern ?? {})).not.toContain('account');
  });
});
