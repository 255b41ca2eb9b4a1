/** The floor: one raw conditional UpdateItem per decision, the least any store-backed decision costs. */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { customerPk, STATE_SK } from '#shared/adapters/dynamodb/keys.ts';
import { runClosedLoop } from '../lib/run.ts';
import { customerId } from '../lib/workload.ts';
import { type Bench, type LineSpec, WARM_LIMIT_MS } from './bench.ts';

const write = (bench: Bench, line: string, index: number) =>
  bench.dynamo.send(
    new UpdateItemCommand({
      TableName: bench.config.GOVERNOR_TABLE_NAME,
      Key: { pk: { S: customerPk(customerId(line, index)) }, sk: { S: STATE_SK } },
      UpdateExpression: 'SET n = if_not_exists(n, :zero) + :one',
      ConditionExpression: 'attribute_not_exists(n) OR n < :max',
      ExpressionAttributeValues: { ':zero': { N: '0' }, ':one': { N: '1' }, ':max': { N: '1000000' } },
      ReturnValues: 'ALL_NEW',
    }),
  );

/** dynalite (JIT, LevelDB) takes a few thousand writes to reach its pace: warmed so before any line. */
export async function warmEngine(bench: Bench): Promise<void> {
  const { warmup, concurrency, customers } = bench.options;
  process.stderr.write('  engine warm-up…\n');
  await runClosedLoop(
    warmup * 3,
    concurrency,
    async (i) => {
      await write(bench, 'we', i % customers);
      return [];
    },
    2 * WARM_LIMIT_MS,
  );
}

export function floorLine(bench: Bench): LineSpec {
  const { warm, load } = bench;
  return {
    id: 'floor',
    label: 'floor: conditional UpdateItem',
    tasks: { warm: bench.options.warmup, run: bench.options.decisions },
    conc: bench.options.concurrency,
    task: async (phase, i) => {
      await (phase === 'warm'
        ? write(bench, 'wf', warm.customers[i]!)
        : write(bench, 'f', load.customers[i]!));
      return ['written'];
    },
    per: 'decision',
  };
}
