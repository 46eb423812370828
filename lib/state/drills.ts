/**
 * A restore drill's record in the findings ledger (docs/ledger.md), on the source table's item
 * (key `tableArn`): `lastDrill` and, when it PASSED, `lastSuccessfulDrill` (each the DrillRecord as
 * a JSON string), `drills` (the last 20 records as JSON strings, oldest first) and one
 * HistoryEntry {event: 'DRILL'} appended to `history`. One UpdateItem appends; when `drills` has
 * grown past 20, a second UpdateItem removes the oldest, conditioned on the list length it saw
 * (a concurrent drill in between makes it a no-op, and the next drill trims). `history` is appended
 * and trimmed to HISTORY_LIMIT with history.ts, as its other writers (ledger.ts, incidents.ts) do.
 */
import { ConditionalCheckFailedException, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsCallError } from '../core/errors';
import { drillHistoryEntry } from '../core/drill';
import type { DrillRecord } from '../core/types';
import { retrying, type Sleep } from '../aws/pace';
import { LEDGER_KEY } from './ledger-item';
import { HISTORY_APPEND, historyLength, historyValues, trimInput } from './history';

export { lastSuccessfulDrill } from './ledger-item';

export const DRILLS_KEPT = 20;

export async function recordDrill(ddb: DynamoDBClient, ledgerTable: string, record: DrillRecord, sleep?: Sleep): Promise<void> {
  const json = { S: JSON.stringify(record) };
  const entry = drillHistoryEntry(record);
  const passed = record.outcome === 'PASSED';
  const send = <T>(fn: () => Promise<T>) => retrying(fn, sleep ? { sleep } : {});
  let length: number;
  let attributes: Record<string, AttributeValue> | undefined;
  try {
    const out = await send(() =>
      ddb.send(
        new UpdateItemCommand({
          TableName: ledgerTable,
          Key: { [LEDGER_KEY]: { S: record.tableArn } },
          UpdateExpression:
            `SET lastDrill = :drill, drills = list_append(if_not_exists(drills, :empty), :one), ${HISTORY_APPEND}` + (passed ? ', lastSuccessfulDrill = :drill' : ''),
          ExpressionAttributeValues: { ':drill': json, ':one': { L: [json] }, ':empty': { L: [] }, ...historyValues([entry]) },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    length = out.Attributes?.drills?.L?.length ?? 0;
    attributes = out.Attributes;
  } catch (error) {
    throw new AwsCallError('UpdateItem', error, `${ledgerTable} (drill record of ${record.tableArn})`);
  }
  const historyTrim = trimInput(historyLength(attributes));
  if (historyTrim) {
    try {
      await ddb.send(new UpdateItemCommand({ TableName: ledgerTable, Key: { [LEDGER_KEY]: { S: record.tableArn } }, ...historyTrim }));
    } catch {
      // best effort, as incidents.ts: a concurrent append (condition failed) or AWS pushing back leaves the list longer until the next append trims it
    }
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
