import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';

type Key = Record<string, unknown>;

/** Every page `read` gives, from each LastEvaluatedKey to the next: the one place the adapters paginate. */
async function* pages<Item>(
  read: (start: Key | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Key }>,
) {
  let start: Key | undefined;
  do {
    const page = await read(start);
    yield page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}

/** Every page of a Query. */
export const queryPages = (db: DynamoDBDocumentClient, input: QueryCommandInput) =>
  pages((start) => db.send(new QueryCommand({ ...input, ExclusiveStartKey: start })));

/** Every page of a Scan (recovery jobs only). */
export const scanPages = (db: DynamoDBDocumentClient, input: ScanCommandInput) =>
  pages((start) => db.send(new ScanCommand({ ...input, ExclusiveStartKey: start })));
