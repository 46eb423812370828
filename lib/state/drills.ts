/**
 * A restore drill's record in the findings ledger (docs/ledger.md), on the source table's item
 * (key `tableArn`): `lastDrill` and, when it PASSED, `lastSuccessfulDrill` (each the DrillRecord as
 * a JSON string), `drills` (the last 20 records as JSON strings, oldest first) and one
 * HistoryEntry {event: 'DRILL'} appended to `history`. One UpdateItem appends; when `drills` has
 * grown past 20, a second UpdateItem removes the oldest, conditioned on the list length it saw
 * (a concurrent drill in between makes it a no-op, and the next drill trims). `history` is only
 * appended here: its bound is kept by its other writers (ledger.ts, incidents.ts).
 */
import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsCallError } from '../core/errors';
import { drillHistoryEntry } from '../core/drill';
import type { DrillRecord } from '../core/types';
import { retrying, type Sleep } from '../aws/pace';
import { LEDGER_KEY } from './ledger-item';

export { lastSuccessfulDrill } from './ledger-item';

export const DRILLS_KEPT = 20;

export async function recordDrill(ddb: DynamoDBClient, ledgerTable: string, record: DrillRecord, sleep?: Sleep): Promise<void> {
  const json = { S: JSON.stringify(record) };
  const entry = drillHistoryEntry(record);
  const passed = record.outcome === 'PASSED';
  const send = <T>(fn: () => Promise<T>) => retrying(fn, sleep ? { sleep } : {});
  let length: number;
  try {
    const out = await send(() =>
      ddb.send(
        new UpdateItemCommand({
          TableName: ledgerTable,
          Key: { [LEDGER_KEY]: { S: record.tableArn } },
          UpdateExpression:
            'SET lastDrill = :drill, drills = list_append(if_not_exists(drills, :empty), :one), history = list_append(if_not_exists(history, :empty), :entry)' +
            (passed ? ', lastSuccessfulDrill = :drill' : ''),
          ExpressionAttributeValues: {
            ':drill': json,
            ':one': { L: [json] },
            ':empty': { L: [] },
            ':entry': { L: [{ M: { at: { S: entry.at }, event: { S: entry.event }, detail: { S: entry.detail } } }] },
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    length = out.Attributes?.drills?.L?.length ?? 0;
  } catch (error) {
    throw new AwsCallError('UpdateItem', error, `${ledgerTable} (drill record of ${record.tableArn})`);
  }
  if (length <= DRILLS_KEPT) return;
  const drop = length - DRILLS_KEPT;
  try {
    await send(() =>
      ddb.send(
        new UpdateItemCommand({
          TableName: ledgerTable,
          Key: { [LEDGER_KEY]: { S: record.tableArn } },
          UpdateExpression: `REMOVE ${Array.from({ length: drop }, (_, i) => `drills[${i}]`).join(', ')}`,
          ConditionExpression: 'size(drills) = :length',
          ExpressionAttributeValues: { ':length': { N: String(length) } },
        }),
      ),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return; // another drill appended meanwhile: it trims
    throw new AwsCallError('UpdateItem', error, `${ledgerTable} (trimming the drills of ${record.tableArn})`);
  }
}

export const permissions: readonly import('../core/iam').Permission[] = [
  { sid: 'FindingsLedger', actions: ['dynamodb:UpdateItem'], resource: 'findingsTable', why: "records the drill on the source table's ledger item (lastDrill, drills, history)" },
];
